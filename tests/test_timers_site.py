"""Timers on the site, in the admin, in the checks, the chart, the commands and Celery beat."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.testapp.timer_flows import DeadlineFlow, WaitFlow
from viewflow import flow, operations
from viewflow.base import Flow, this
from viewflow.checks import check_flow
from viewflow.models import Task
from viewflow.status import TaskStatus

pytestmark = pytest.mark.django_db

REVIEW = "testapp.can_review_sampleprocess"


def timer_of(process, node=WaitFlow.wait):
    return Task.objects.get(process_id=process.pk, flow_task=node)


def url(task, action):
    node = task.flow_task
    return f"/flows/{node.flow_class._meta.flow_label}/{task.process_id}/{node.name}/{task.pk}/{action}/"


@pytest.fixture
def boss(user_factory):
    return user_factory("boss", superuser=True)


# -- inbox and queue ---------------------------------------------------------------


def test_the_queue_shows_due_times_sorts_by_them_and_marks_overdue_tasks(user_factory, client_for):
    user = user_factory("rita", REVIEW)
    client = client_for(user)
    late, soon, later = (DeadlineFlow.start.run() for _ in range(3))
    now = timezone.now()
    for process, due in ((late, now - datetime.timedelta(hours=1)), (soon, now + datetime.timedelta(hours=1)),
                         (later, now + datetime.timedelta(days=3))):
        Task.objects.filter(process_id=process.pk, flow_task=DeadlineFlow.review).update(due=due)
    plain = Task.objects.get(process_id=WaitFlow.start.run("x").pk, flow_task=WaitFlow.wait)  # not in the queue
    assert plain
    page = client.get("/flows/queue/").content.decode()
    assert "overdue" in page and page.count("vf-overdue") == 1
    assert "?sort=due" in page
    by_due = client.get("/flows/queue/?sort=due")
    reviews = [task.process_id for task in by_due.context["object_list"]]
    assert reviews == [late.pk, soon.pk, later.pk]
    newest = [task.process_id for task in client.get("/flows/queue/").context["object_list"]]
    assert newest == [later.pk, soon.pk, late.pk]
    assert client.get("/flows/queue/?sort=nonsense").context["object_list"][0].process_id == later.pk


def test_the_inbox_puts_tasks_without_a_due_time_last(user_factory, client_for):
    user = user_factory("rita", REVIEW, "testapp.can_manager_sampleprocess")
    client = client_for(user)
    with_due = DeadlineFlow.start.run()
    operations.claim(Task.objects.get(process_id=with_due.pk, flow_task=DeadlineFlow.review), user)
    without = DeadlineFlow.start.run()
    task = Task.objects.get(process_id=without.pk, flow_task=DeadlineFlow.review)
    Task.objects.filter(pk=task.pk).update(due=None)
    operations.claim(task, user)
    listed = client.get("/flows/inbox/?sort=due").context["object_list"]
    assert [task.process_id for task in listed] == [with_due.pk, without.pk]


# -- the process page and the manager's operations -------------------------------------


def test_the_process_page_shows_pending_timers_and_offers_managers_to_fire_or_move_them(boss, user_factory, client_for):
    process = WaitFlow.start.run("x")
    timer = timer_of(process)
    page = client_for(boss).get(f"/flows/wait/{process.pk}/").content.decode()
    assert "fires at" in page and url(timer, "fire") in page and url(timer, "due") in page
    viewer = user_factory("viewer", "testapp.view_sampleprocess")
    page = client_for(viewer).get(f"/flows/wait/{process.pk}/").content.decode()
    assert "fires at" in page and url(timer, "fire") not in page


def test_a_manager_fires_a_timer_now_through_its_page(boss, user_factory, client_for):
    process = WaitFlow.start.run("x")
    timer = timer_of(process)
    viewer = user_factory("viewer", "testapp.view_sampleprocess")
    assert client_for(viewer).post(url(timer, "fire")).status_code == 403
    client = client_for(boss)
    assert client.get(url(timer, "fire")).status_code == 200  # a confirmation; nothing happens
    assert timer_of(process).status == TaskStatus.SCHEDULED
    response = client.post(url(timer, "fire"), follow=True)
    assert timer_of(process).status == TaskStatus.DONE
    assert "has fired" in response.content.decode()
    again = client.post(url(timer, "fire"), follow=True)  # done already: a message, not an error page
    assert again.status_code == 200 and "no longer waits" in again.content.decode()


def test_a_manager_moves_a_due_time_and_bad_input_gets_a_field_error(boss, user_factory, client_for):
    process = WaitFlow.start.run("x")
    timer = timer_of(process)
    viewer = user_factory("viewer", "testapp.view_sampleprocess")
    assert client_for(viewer).post(url(timer, "due"), {"due": "2031-01-01T10:00"}).status_code == 403
    client = client_for(boss)
    bad = client.post(url(timer, "due"), {"due": "someday"})
    assert bad.status_code == 200 and bad.context["form"].errors["due"]
    assert timer_of(process).due == timer.due  # nothing stored
    response = client.post(url(timer, "due"), {"due": "2031-01-01T10:00"})
    assert response.status_code == 302
    assert timer_of(process).due == datetime.datetime(2031, 1, 1, 10, 0, tzinfo=timezone.get_current_timezone())


def test_the_admin_fires_timers_and_moves_due_times(boss, client_for):
    client = client_for(boss)
    first, second = WaitFlow.start.run("a"), WaitFlow.start.run("b")
    timers = [timer_of(first), timer_of(second)]
    data = {"action": "set_due", "_selected_action": [task.pk for task in timers]}
    page = client.post("/admin/viewflow/task/", data)
    assert page.status_code == 200 and "due" in page.context["form"].fields  # the intermediate page
    client.post("/admin/viewflow/task/", {**data, "apply": "1", "due": "2031-05-01 08:00"}, follow=True)
    assert {timer_of(p).due.year for p in (first, second)} == {2031}
    response = client.post(
        "/admin/viewflow/task/", {"action": "fire_timers", "_selected_action": [timers[0].pk]}, follow=True
    )
    assert "1 timer fired." in response.content.decode()
    assert timer_of(first).status == TaskStatus.DONE and timer_of(second).status == TaskStatus.SCHEDULED


# -- checks and chart ---------------------------------------------------------------------


def test_the_checks_catch_a_dangling_deadline_a_bad_cron_and_a_bad_delay():
    class BadTimersFlow(Flow):
        start = flow.StartTimer(cron="0 25 * * *").Next(this.review)
        review = (
            flow.View().Permission("auth.view_user").Deadline(datetime.timedelta(hours=1), then=this.nowhere)
            .Due("tomorrow").Next(this.wait)
        )
        wait = flow.Timer(datetime.datetime(2030, 1, 1)).Next(this.end)
        end = flow.End()

    errors = {(error.id, error.msg.split(":")[0].rpartition("<locals>.")[2]) for error in check_flow(BadTimersFlow)}
    assert ("viewflow.E001", "BadTimersFlow.review") in errors  # the deadline's then names no node
    assert ("viewflow.E013", "BadTimersFlow.start") in errors
    assert ("viewflow.E014", "BadTimersFlow.review") in errors  # Due("tomorrow")
    assert ("viewflow.E014", "BadTimersFlow.wait") in errors  # a naive datetime
    assert not any("leads nowhere" in error.msg for error in check_flow(DeadlineFlow))  # the reminder's path


def test_the_chart_draws_timers_and_dashed_deadline_lines(boss, client_for):
    svg = client_for(boss).get("/flows/deadline/chart.svg").content.decode()
    assert svg.count('class="vf-timer"') == 2  # two deadlines
    assert 'data-edge="review-review__deadline"' in svg and "vf-deadline" in svg
    assert "after 1 d" in svg and "escalate" in svg


# -- the commands and Celery beat --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_run_timers_once_fires_what_is_due_and_logs_it():
    process = WaitFlow.start.run("x")
    timer = timer_of(process)
    Task.objects.filter(pk=timer.pk).update(due=timezone.now() - datetime.timedelta(seconds=1))
    out = StringIO()
    call_command("run_timers", "--once", stdout=out)
    assert f"task #{timer.pk}" in out.getvalue() and "1 fired." in out.getvalue()
    assert timer_of(process).status == TaskStatus.DONE


@pytest.mark.django_db(transaction=True)
def test_the_celery_beat_task_fires_due_timers():
    from viewflow.contrib.celery import fire_due_timers

    process = WaitFlow.start.run("x")
    Task.objects.filter(pk=timer_of(process).pk).update(due=timezone.now() - datetime.timedelta(seconds=1))
    assert fire_due_timers.name == "viewflow.fire_due_timers"
    assert fire_due_timers.apply().get() == 1
    assert fire_due_timers.apply().get() == 0  # a beat that ticks twice fires nothing twice
    assert timer_of(process).status == TaskStatus.DONE


# -- queries ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_firing_costs_a_fixed_number_of_statements_per_timer(user_factory):
    """A fired deadline that leads to a person's task: the statements per timer do not grow with the batch."""
    now = timezone.now()

    def fire_batch(count):
        for _ in range(count):
            DeadlineFlow.start.run()
        Task.objects.filter(flow_task=DeadlineFlow.review__deadline, status=TaskStatus.SCHEDULED).update(due=now)
        with CaptureQueriesContext(connection) as queries:
            fired = operations.fire_due(now, flows=[])
        assert len(fired) == count
        return len(queries)

    small, large = fire_batch(2), fire_batch(12)
    per_timer = (large - small) / 10
    # per timer: the lock and the task read under it, the task marked DONE, the reminder's handler (its
    # savepoint, its save), its task and link inserted; on SQLite BEGIN and COMMIT of the timer's own
    # transaction (and the lock is a write), on PostgreSQL the savepoint of the step inside the batch
    assert per_timer == (9 if connection.vendor == "postgresql" else 10), (small, large)
    # the batch: one read (on PostgreSQL in its transaction), and on PostgreSQL one more for the timers of
    # subprocesses, which fire outside the locked batch (their steps lock the parent first: viewflow.lineage)
    assert small - 2 * per_timer <= (4 if connection.vendor == "postgresql" else 3)
