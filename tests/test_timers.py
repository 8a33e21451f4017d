"""Timers, deadlines, due dates and scheduled starts (DESIGN §10), on the engine's one scheduler function."""

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from tests.schedule_flows import HourlyAllFlow, HourlyFlow, HourlyNoneFlow, WeeklyFlow
from tests.testapp.timer_flows import DeadlineFlow, SplitDeadlineFlow, UntilFlow, WaitFlow
from viewflow import operations
from viewflow.exceptions import FlowIllegalTransition
from viewflow.models import Process, Schedule, Task
from viewflow.status import ProcessStatus, TaskStatus

UTC = datetime.UTC
T0 = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
pytestmark = pytest.mark.django_db(transaction=True)


def tasks_of(process, node=None):
    queryset = Task.objects.filter(process_id=process.pk).order_by("pk")
    return [task for task in queryset if node is None or task.flow_task.name == node]


def fire(now):
    return operations.fire_due(now, flows=[])


def test_a_timer_waits_scheduled_with_its_due_time_then_the_flow_goes_on():
    with time_machine.travel(T0, tick=False):
        process = WaitFlow.start.run("x")
    [timer] = tasks_of(process, "wait")
    assert timer.status == TaskStatus.SCHEDULED and timer.due == T0 + datetime.timedelta(hours=1)
    assert fire(T0 + datetime.timedelta(minutes=59)) == []
    timer.refresh_from_db()
    assert timer.status == TaskStatus.SCHEDULED
    fired = fire(T0 + datetime.timedelta(hours=1))
    assert [item.task_pk for item in fired] == [timer.pk]
    process.refresh_from_db()
    timer.refresh_from_db()
    assert timer.status == TaskStatus.DONE and process.status == ProcessStatus.DONE
    assert fire(T0 + datetime.timedelta(hours=2)) == []  # fired once


def test_an_aware_until_in_another_zone_fires_at_that_instant():
    tokyo = datetime.timezone(datetime.timedelta(hours=9))
    until = datetime.datetime(2026, 3, 2, 18, 30, tzinfo=tokyo)  # 09:30 UTC
    process = UntilFlow.start.run(until.isoformat())
    [timer] = tasks_of(process, "wait")
    assert timer.due == datetime.datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert fire(datetime.datetime(2026, 3, 2, 9, 29, 59, tzinfo=UTC)) == []
    assert len(fire(datetime.datetime(2026, 3, 2, 9, 30, tzinfo=UTC))) == 1


def test_a_delay_callable_that_fails_leaves_the_timer_in_error_and_retry_arms_it():
    process = UntilFlow.start.run("not a date")
    [timer] = tasks_of(process, "wait")
    process.refresh_from_db()
    assert timer.status == TaskStatus.ERROR and "not a date" in timer.error
    assert process.status == ProcessStatus.ERROR
    SampleProcess = UntilFlow.process_cls
    SampleProcess.objects.filter(pk=process.pk).update(text="2026-03-02T10:00:00+00:00")
    operations.retry(timer)
    timer.refresh_from_db()
    process.refresh_from_db()
    assert timer.status == TaskStatus.SCHEDULED and timer.due == datetime.datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert process.status == ProcessStatus.STARTED


def test_a_naive_datetime_is_refused():
    process = UntilFlow.start.run("2026-03-02T10:00:00")
    [timer] = tasks_of(process, "wait")
    assert timer.status == TaskStatus.ERROR and "aware" in timer.error


def test_due_and_deadlines_are_armed_with_the_task():
    with time_machine.travel(T0, tick=False):
        process = DeadlineFlow.start.run()
    [review] = tasks_of(process, "review")
    assert review.due == T0 + datetime.timedelta(days=2)
    [remind] = tasks_of(process, "review__deadline")
    [escalate] = tasks_of(process, "review__deadline2")
    assert remind.status == escalate.status == TaskStatus.SCHEDULED
    assert remind.due == T0 + datetime.timedelta(days=1) and escalate.due == T0 + datetime.timedelta(days=3)
    assert list(remind.previous.all()) == [review] and remind.token == review.token


def test_a_reminder_starts_its_path_beside_the_task_and_the_escalation_cancels_it():
    with time_machine.travel(T0, tick=False):
        process = DeadlineFlow.start.run()
    fire(T0 + datetime.timedelta(days=1))
    process.refresh_from_db()
    assert process.items == ["remind"]
    [review] = tasks_of(process, "review")
    assert review.status == TaskStatus.NEW  # a reminder leaves the task
    fire(T0 + datetime.timedelta(days=3))
    process.refresh_from_db()
    review.refresh_from_db()
    assert process.items == ["remind", "escalate"]
    assert review.status == TaskStatus.CANCELED
    [manager] = tasks_of(process, "manager")
    assert manager.status == TaskStatus.NEW and manager.token == review.token
    assert process.status == ProcessStatus.STARTED


def test_a_task_done_before_its_deadline_is_never_escalated(user_factory):
    user = user_factory("rita", "testapp.can_review_sampleprocess")
    with time_machine.travel(T0, tick=False):
        process = DeadlineFlow.start.run()
    [review] = tasks_of(process, "review")
    operations.claim(review, user)
    with review.activation() as activation:
        activation.done(by=user)
    timers = tasks_of(process, "review__deadline") + tasks_of(process, "review__deadline2")
    assert {task.status for task in timers} == {TaskStatus.CANCELED}
    assert fire(T0 + datetime.timedelta(days=10)) == []
    process.refresh_from_db()
    assert process.items == ["done"] and process.status == ProcessStatus.DONE


def test_a_canceled_task_takes_its_deadlines_with_it(user_factory):
    manager = user_factory("boss", superuser=True)
    with time_machine.travel(T0, tick=False):
        process = SplitDeadlineFlow.start.run()
    [first] = tasks_of(process, "first")
    operations.cancel(first, by=manager)
    [timer] = tasks_of(process, "first__deadline")
    assert timer.status == TaskStatus.CANCELED
    assert fire(T0 + datetime.timedelta(days=1)) == []


def test_an_escalation_in_a_split_continues_the_branch_to_the_join(user_factory):
    user = user_factory("rita", "testapp.can_second_sampleprocess")
    with time_machine.travel(T0, tick=False):
        process = SplitDeadlineFlow.start.run()
    fire(T0 + datetime.timedelta(hours=1))
    process.refresh_from_db()
    assert process.items == ["late"]
    [second] = tasks_of(process, "second")
    operations.claim(second, user)
    with second.activation() as activation:
        activation.done(by=user)
    process.refresh_from_db()
    assert process.status == ProcessStatus.DONE


def test_undo_rearms_the_deadlines_from_now(user_factory):
    user = user_factory("rita", "testapp.can_first_sampleprocess")
    boss = user_factory("boss", superuser=True)
    with time_machine.travel(T0, tick=False):
        process = SplitDeadlineFlow.start.run()
        [first] = tasks_of(process, "first")
        operations.claim(first, user)
    later = T0 + datetime.timedelta(minutes=30)
    with time_machine.travel(later, tick=False):
        with first.activation() as activation:
            activation.done(by=user)  # the Join still waits for the second branch: undo is allowed
        [closed] = tasks_of(process, "first__deadline")
        assert closed.status == TaskStatus.CANCELED
        operations.undo(first, by=boss)
    first.refresh_from_db()
    assert first.status == TaskStatus.ASSIGNED
    closed.refresh_from_db()
    assert closed.status == TaskStatus.CANCELED
    [rearmed] = [task for task in tasks_of(process, "first__deadline") if task.pk != closed.pk]
    assert rearmed.status == TaskStatus.SCHEDULED and rearmed.due == later + datetime.timedelta(hours=1)
    assert list(rearmed.previous.all()) == [first]
    assert fire(T0 + datetime.timedelta(hours=1)) == []  # the old deadline is gone
    assert len(fire(later + datetime.timedelta(hours=1))) == 1
    first.refresh_from_db()
    assert first.status == TaskStatus.CANCELED


def test_a_manager_fires_a_timer_now_or_moves_its_due_time(user_factory):
    boss = user_factory("boss", superuser=True)
    nobody = user_factory("nobody")
    with time_machine.travel(T0, tick=False):
        process = WaitFlow.start.run("x")
    [timer] = tasks_of(process, "wait")
    later = T0 + datetime.timedelta(days=1)
    with pytest.raises(PermissionDenied):
        operations.set_due(timer, later, by=nobody)
    operations.set_due(timer, later, by=boss)
    timer.refresh_from_db()
    assert timer.due == later
    assert fire(T0 + datetime.timedelta(hours=2)) == []  # no longer due at the old time
    with pytest.raises(FlowIllegalTransition):
        operations.set_due(timer, datetime.datetime(2026, 3, 3, 8, 0), by=boss)  # naive
    operations.fire_now(timer, by=boss)
    timer.refresh_from_db()
    assert timer.status == TaskStatus.DONE
    with pytest.raises(FlowIllegalTransition):
        operations.fire_now(timer, by=boss)  # done already


def test_a_timer_moved_later_between_the_read_and_the_lock_does_not_fire():
    with time_machine.travel(T0, tick=False):
        process = WaitFlow.start.run("x")
    [timer] = tasks_of(process, "wait")
    node = timer.flow_task
    Task.objects.filter(pk=timer.pk).update(due=T0 + datetime.timedelta(days=5))  # a manager, meanwhile
    assert node.fire(timer, now=T0 + datetime.timedelta(hours=2)) is None
    timer.refresh_from_db()
    assert timer.status == TaskStatus.SCHEDULED


# -- StartTimer -----------------------------------------------------------------


def test_a_start_timer_is_armed_then_starts_one_process_per_slot():
    monday_9_berlin = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 CET
    start = monday_9_berlin - datetime.timedelta(days=1)
    assert operations.fire_due(start, flows=[WeeklyFlow]) == []
    slot = Schedule.objects.get()
    assert slot.due == monday_9_berlin
    fired = operations.fire_due(monday_9_berlin, flows=[WeeklyFlow])
    assert len(fired) == 1
    process = WeeklyFlow.process_cls.objects.get(pk=fired[0].process_pk)
    assert process.status == ProcessStatus.DONE and process.text == monday_9_berlin.isoformat()
    [start_task] = tasks_of(process, "start")
    assert start_task.due == monday_9_berlin
    assert operations.fire_due(monday_9_berlin, flows=[WeeklyFlow]) == []  # a beat that ticks twice
    slot.refresh_from_db()
    assert slot.due == monday_9_berlin + datetime.timedelta(days=7) and slot.last_process_id == process.pk


def test_a_cron_schedule_across_a_dst_change_keeps_its_local_hour():
    # Europe/Berlin moves to summer time on Sunday 2026-03-29: Monday 9:00 is 08:00 UTC before, 07:00 UTC after
    before = datetime.datetime(2026, 3, 23, 8, 0, tzinfo=UTC)
    operations.fire_due(before - datetime.timedelta(hours=1), flows=[WeeklyFlow])
    assert len(operations.fire_due(before, flows=[WeeklyFlow])) == 1
    after = datetime.datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert Schedule.objects.get().due == after
    assert operations.fire_due(after - datetime.timedelta(seconds=1), flows=[WeeklyFlow]) == []
    assert len(operations.fire_due(after, flows=[WeeklyFlow])) == 1
    assert len(operations.fire_due(after + datetime.timedelta(hours=1), flows=[WeeklyFlow])) == 0


@pytest.mark.parametrize(
    "flow_class, started, next_slot",
    [
        (HourlyFlow, 1, T0 + datetime.timedelta(hours=6)),  # last: one process for the missed slots
        (HourlyNoneFlow, 0, T0 + datetime.timedelta(hours=6)),  # none: nothing for them
        (HourlyAllFlow, 5, T0 + datetime.timedelta(hours=6)),  # all: one each, never more
    ],
)
def test_after_downtime_a_start_timer_catches_up_as_told(flow_class, started, next_slot):
    operations.fire_due(T0, flows=[flow_class])  # armed: first slot at 09:00
    down_until = T0 + datetime.timedelta(hours=5, minutes=30)  # 09, 10, 11, 12, 13 passed
    for _round in range(10):
        operations.fire_due(down_until, flows=[flow_class])
    assert Process.objects.filter(flow_class=flow_class).count() == started
    assert Schedule.objects.get().due == next_slot


def test_a_reassigned_task_keeps_its_deadlines(user_factory):
    rita = user_factory("rita", "testapp.can_review_sampleprocess")
    bob = user_factory("bob", "testapp.can_review_sampleprocess")
    boss = user_factory("boss", superuser=True)
    with time_machine.travel(T0, tick=False):
        process = DeadlineFlow.start.run()
        [review] = tasks_of(process, "review")
        operations.claim(review, rita)
    with time_machine.travel(T0 + datetime.timedelta(hours=30), tick=False):
        operations.reassign(review, bob, by=boss)
        operations.unassign(review, by=boss)
    timers = tasks_of(process, "review__deadline") + tasks_of(process, "review__deadline2")
    assert [(task.status, task.due) for task in timers] == [
        (TaskStatus.SCHEDULED, T0 + datetime.timedelta(days=1)),
        (TaskStatus.SCHEDULED, T0 + datetime.timedelta(days=3)),
    ]  # counted from the task's creation, whoever holds it
    assert len(fire(T0 + datetime.timedelta(days=3))) == 2
    review.refresh_from_db()
    assert review.status == TaskStatus.CANCELED


def test_deadline_delays_without_a_callable_open_no_savepoint():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        DeadlineFlow.start.run()
    assert not [query for query in queries.captured_queries if "SAVEPOINT" in query["sql"]]
