"""The scheduler for real (PostgreSQL): run_timers processes and threads racing users.

* three ``manage.py run_timers`` processes at once fire each due timer exactly once, and share the work;
* a timer whose task was finished or canceled meanwhile never fires;
* a scheduler killed with SIGKILL in the middle of a batch loses and duplicates nothing;
* a task completed a moment before its deadline is never escalated, in both orders (forced, as in
  tests/test_interleaving.py), and a deadline that wins leaves the late user a clean refusal.
"""

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from tests.celery_workers import wait_for
from tests.integrity_support import PausePoint, Worker, postgres_only, wait_until_blocked
from tests.testapp.timer_flows import DeadlineFlow, SlowWaitFlow, WaitFlow
from viewflow import operations
from viewflow.activation import Step
from viewflow.exceptions import FlowRuntimeError
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, postgres_only]

ROOT = Path(__file__).resolve().parent.parent
FIRED = re.compile(r"fired \S+: process #(\d+) task #(\d+)")


class Scheduler:
    """One ``manage.py run_timers`` process on the test database, logging to a file."""

    def __init__(self, name, workdir, *args):
        self.name = name
        self.log_path = Path(workdir) / f"{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
            "VIEWFLOW_WORKER_DB_NAME": connection.settings_dict["NAME"],
            "PYTHONPATH": str(ROOT),
        }
        command = [sys.executable, "-m", "django", "run_timers", "--interval", "0.2", *args]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def fired(self):
        return [int(task_pk) for _process, task_pk in FIRED.findall(self.log())]

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout)
        return self.process.returncode


@pytest.fixture
def schedulers(tmp_path):
    started = []

    def start(name, *args):
        scheduler = Scheduler(name, tmp_path, *args)
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        if scheduler.process.poll() is None:
            scheduler.process.kill()
            scheduler.process.wait(10)


def due_timers_of(flow_class, count):
    """``count`` processes of ``flow_class``, each with its timer due already."""
    processes = [flow_class.start.run() for _ in range(count)]
    Task.objects.filter(flow_task=flow_class.wait, status=TaskStatus.SCHEDULED).update(due="2020-01-01T00:00:00Z")
    return processes


def waiting(node):
    return Task.objects.filter(flow_task=node, status=TaskStatus.SCHEDULED).count()


def ran_per_process(node):
    """How many tasks of ``node`` each process has (a timer fired twice would make two)."""
    return Counter(Task.objects.filter(flow_task=node).values_list("process_id", flat=True))


def test_three_schedulers_fire_each_timer_exactly_once_and_share_the_work(schedulers):
    processes = due_timers_of(SlowWaitFlow, 150)
    running = [schedulers(f"s{n}", "--batch", "10") for n in range(3)]
    wait_for(lambda: waiting(SlowWaitFlow.wait) == 0, 120, "every timer to fire", lambda: running[0].log())
    for scheduler in running:
        assert scheduler.stop() == 0  # SIGTERM: a graceful exit
    fired = [pk for scheduler in running for pk in scheduler.fired()]
    timers = set(Task.objects.filter(flow_task=SlowWaitFlow.wait).values_list("pk", flat=True))
    assert sorted(fired) == sorted(timers)  # every timer fired, by one scheduler only
    assert sum(1 for scheduler in running if scheduler.fired()) >= 2  # they shared the batches
    after = ran_per_process(SlowWaitFlow.after)
    assert set(after) == {process.pk for process in processes} and set(after.values()) == {1}
    assert set(Task.objects.filter(flow_task=SlowWaitFlow.wait).values_list("status", flat=True)) == {TaskStatus.DONE}


def test_a_timer_finished_or_canceled_meanwhile_never_fires(schedulers, user_factory):
    boss = user_factory("boss", superuser=True)
    processes = due_timers_of(WaitFlow, 6)
    canceled, fired_early = processes[:2], processes[2:4]
    for process in canceled:
        operations.cancel(Task.objects.get(process_id=process.pk, flow_task=WaitFlow.wait), by=boss)
    for process in fired_early:
        operations.fire_now(Task.objects.get(process_id=process.pk, flow_task=WaitFlow.wait), by=boss)
    scheduler = schedulers("s", "--once")
    assert scheduler.process.wait(60) == 0
    fired = set(scheduler.fired())
    expected = set(Task.objects.filter(flow_task=WaitFlow.wait, process__in=processes[4:]).values_list("pk", flat=True))
    assert fired == expected
    assert not Task.objects.filter(flow_task=WaitFlow.after, process__in=canceled).exists()
    assert set(ran_per_process(WaitFlow.after).values()) == {1}


def test_a_scheduler_killed_mid_batch_loses_and_duplicates_nothing(schedulers):
    processes = due_timers_of(SlowWaitFlow, 120)
    first = schedulers("first", "--batch", "40")
    # the first batch committed; the second one is running (each takes about a second)
    wait_for(lambda: waiting(SlowWaitFlow.wait) <= 80, 60, "a first batch", first.log)
    first.stop(signal.SIGKILL)
    left = waiting(SlowWaitFlow.wait)
    assert 0 < left < 120  # killed with work done and work left
    second = schedulers("second", "--batch", "40")
    wait_for(lambda: waiting(SlowWaitFlow.wait) == 0, 60, "the rest to fire", second.log)
    assert second.stop() == 0
    after = ran_per_process(SlowWaitFlow.after)
    assert set(after) == {process.pk for process in processes} and set(after.values()) == {1}
    assert len(second.fired()) == left  # the killed batch fired again, once


# -- a task done a moment before its deadline ------------------------------------------


def deadline_process(user):
    process = DeadlineFlow.start.run()
    review = Task.objects.get(process_id=process.pk, flow_task=DeadlineFlow.review)
    operations.claim(review, user)
    Task.objects.filter(process_id=process.pk, flow_task=DeadlineFlow.review__deadline2).update(
        due="2020-01-01T00:00:00Z"
    )  # the escalation is due; the reminder is not
    return process, review


def complete(review, user):
    def run():
        with review.activation() as activation:
            activation.done(by=user)
        return "done"

    return run


@pytest.mark.parametrize("scheduler_call", ["fire_due", "fire"])
def test_the_user_first_the_deadline_never_fires(monkeypatch, user_factory, scheduler_call):
    user = user_factory("rita", "testapp.can_review_sampleprocess")
    process, review = deadline_process(user)
    timer = Task.objects.get(process_id=process.pk, flow_task=DeadlineFlow.review__deadline2)
    pause = PausePoint(
        monkeypatch, Step, "update_task", "A",
        match=lambda step, task, expected, **fields: task.pk == review.pk and fields.get("status") == TaskStatus.DONE,
    )
    a = Worker("A", complete(review, user)).start()
    pause.wait()  # A holds the process lock, about to finish the review
    if scheduler_call == "fire_due":  # the batch skips the locked process: nothing waits, nothing fires
        b = Worker("B", lambda: operations.fire_due(flows=[])).start().finish()
        assert b.error is None and b.result == []
    else:  # a direct fire waits for the lock, then finds its task canceled with the review
        b = Worker("B", lambda: DeadlineFlow.review__deadline2.fire(timer)).start()
        wait_until_blocked(b, DeadlineFlow)
    pause.release()
    assert a.finish().error is None and a.result == "done"
    b.finish()
    assert b.error is None and not b.result
    assert operations.fire_due(flows=[]) == []
    process.refresh_from_db()
    timer.refresh_from_db()
    assert timer.status == TaskStatus.CANCELED
    assert process.items == ["done"] and process.status == ProcessStatus.DONE


def test_the_deadline_first_the_late_user_is_refused_cleanly(monkeypatch, user_factory):
    user = user_factory("rita", "testapp.can_review_sampleprocess")
    process, review = deadline_process(user)
    pause = PausePoint(
        monkeypatch, Step, "update_task", "A",
        match=lambda step, task, expected, **fields: (
            task.pk == review.pk and fields.get("status") == TaskStatus.CANCELED
        ),
    )
    a = Worker("A", lambda: operations.fire_due(flows=[])).start()
    pause.wait()  # the scheduler holds the process lock, about to cancel the review
    b = Worker("B", complete(review, user)).start()
    wait_until_blocked(b, DeadlineFlow)
    pause.release()
    assert a.finish().error is None and len(a.result) == 1
    assert isinstance(b.finish().error, FlowRuntimeError)  # the review was canceled under it
    process.refresh_from_db()
    review.refresh_from_db()
    assert review.status == TaskStatus.CANCELED
    assert process.items == ["escalate"]
    assert Task.objects.get(process_id=process.pk, flow_task=DeadlineFlow.manager).status == TaskStatus.NEW
    assert DeadlineFlow.review__deadline in set(
        Task.objects.filter(process_id=process.pk, status=TaskStatus.CANCELED).values_list("flow_task", flat=True)
    )  # the reminder went with the review


def test_two_beats_at_once_start_a_scheduled_process_once():
    """Two schedulers (or a beat that ticks twice) reach the same StartTimer slot together: one process."""
    import datetime

    from tests.integrity_support import run_all
    from tests.schedule_flows import HourlyFlow
    from viewflow.models import Process, Schedule

    t0 = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.UTC)
    operations.fire_due(t0, flows=[HourlyFlow])  # armed: the first slot is at 09:00
    slot = t0 + datetime.timedelta(hours=1)
    workers = run_all(*[lambda: operations.fire_due(slot, flows=[HourlyFlow]) for _ in range(3)])
    assert [worker.error for worker in workers] == [None] * 3
    assert sorted(len(worker.result) for worker in workers) == [0, 0, 1]
    assert Process.objects.filter(flow_class=HourlyFlow).count() == 1
    assert Schedule.objects.get().due == slot + datetime.timedelta(hours=1)
