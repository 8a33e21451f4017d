"""Crash at every step: abort each transaction at each of its write points in turn.

For a flow using most node types (Start, View, If, Split, Handler, Function,
Join, End; with an ERROR and a retry) and for a flow with a background job,
every step is first run with a crash injected at its 1st, 2nd, ... engine call
(creating, inserting, updating a task, moving the process, saving a model,
flushing, and after the flush just before COMMIT). A crash is either an
exception raised inside the transaction or the database connection dropped
under it. After each crash the database must be exactly at the last committed
state (every row of process, task and task links), and redoing the step must
reach the same end state as an uninterrupted run.
"""

import functools
import sqlite3

import pytest
from django.db import DatabaseError, connection, models

from tests.integrity_support import shape, start_integrity, task_of
from tests.testapp import integrity_flows
from tests.testapp.integrity_flows import IntegrityFlow, JobFlow
from tests.testapp.models import SampleProcess
from viewflow.activation import Step
from viewflow.contrib.celery import Job
from viewflow.fields import node_path
from viewflow.models import Process, Task
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db(transaction=True)

STEP_CALLS = (
    "new_task",
    "update_task",
    "set_process_status",
    "insert",
    "flush",
    "cancel_active",
    "count_active",
    "emit",
)


class SimulatedCrash(BaseException):
    """The process running the step dies (a BaseException: no ``except Exception`` swallows it)."""


class Crasher:
    """Count the engine's calls inside a step; crash at call number ``target``."""

    def __init__(self, monkeypatch):
        self.armed = False
        self.calls = 0
        self.target = None
        self.mode = "raise"
        for name in STEP_CALLS:
            self._wrap(monkeypatch, Step, name, f"Step.{name}")
        self._wrap(monkeypatch, models.Model, "save", "Model.save")

    def _wrap(self, monkeypatch, owner, name, label):
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            self.hit(f"before {label}")
            result = original(*args, **kwargs)
            if name == "flush":
                self.hit("after Step.flush")  # the last moment before COMMIT
            return result

        monkeypatch.setattr(owner, name, wrapper)

    def hit(self, where):
        if not self.armed:
            return
        self.calls += 1
        if self.calls == self.target:
            self.armed = False
            self.crashed_at = where
            if self.mode == "raise":
                raise SimulatedCrash(where)
            connection.connection.close()  # the connection drops under the open transaction


def everything():
    """Every row of the process, task and task-link tables (and the processes' own data)."""
    return {
        "processes": list(Process.objects.order_by("pk").values()),
        "process data": list(SampleProcess.objects.order_by("pk").values()),
        "tasks": list(Task.objects.order_by("pk").values()),
        "links": list(Task.previous.through.objects.order_by("pk").values()),
    }


def integrity_scenario(user, fail_first):
    """The steps of one IntegrityFlow process; each is one transaction."""
    ctx = {}

    def start():
        ctx["process"] = start_integrity("fail" if fail_first else "crash")

    def assign():
        with task_of(ctx["process"], IntegrityFlow.vet).activation() as activation:
            activation.assign(user, by=user)

    def complete():
        with task_of(ctx["process"], IntegrityFlow.vet).activation() as activation:
            activation.process.approved = True
            activation.process.save(update_fields=["approved"])
            activation.done(by=user)

    def fix_and_retry():
        with task_of(ctx["process"], IntegrityFlow.handle).activation() as activation:
            activation.process.text = "fixed"
            activation.process.save(update_fields=["text"])
            activation.retry()

    def run_wait():
        IntegrityFlow.wait.run(task_of(ctx["process"], IntegrityFlow.wait), note="noted")

    steps = [start, assign, complete] + ([fix_and_retry] if fail_first else []) + [run_wait]
    return ctx, steps


def job_scenario(user, broker):
    ctx = {}

    def start():
        ctx["process"] = JobFlow.start.run(text="job")

    def worker():
        for process_pk, task_pk in list(broker):
            integrity_flows.integrity_job(node_path(JobFlow.crunch), process_pk, task_pk)

    def assign():
        with task_of(ctx["process"], JobFlow.sign_off).activation() as activation:
            activation.assign(user, by=user)

    def complete():
        with task_of(ctx["process"], JobFlow.sign_off).activation() as activation:
            activation.done(by=user)

    return ctx, [start, worker, assign, complete]


@pytest.fixture
def broker(monkeypatch):
    sent = []
    monkeypatch.setattr(Job, "dispatch", lambda node, task: sent.append((task.process_id, task.pk)))
    integrity_flows.JOB_RUNS.clear()
    return sent


@pytest.mark.parametrize(
    "fail_first, mode",
    [(False, "raise"), (True, "raise"), (False, "drop")],
    ids=["straight-raise", "error-retry-raise", "straight-drop-connection"],
)
def test_integrity_flow_survives_a_crash_at_every_point(monkeypatch, user_factory, mode, fail_first):
    user = user_factory("vetter", "testapp.can_vet_sampleprocess")
    reference, steps = integrity_scenario(user, fail_first)
    for step in steps:
        step()
    expected = shape(reference["process"].pk)
    assert expected["process"]["status"] == ProcessStatus.DONE and expected["process"]["count"] == 11

    crasher = Crasher(monkeypatch)
    ctx, steps = integrity_scenario(user, fail_first)
    crashes = crash_every_step(crasher, steps, mode)
    assert crashes >= 40  # every write point of every step was crashed at
    assert shape(ctx["process"].pk) == expected


def test_job_flow_survives_a_crash_at_every_point(monkeypatch, user_factory, broker):
    user = user_factory("signer", "testapp.can_sign_off_sampleprocess")
    reference, steps = job_scenario(user, broker)
    for step in steps:
        step()
    expected = shape(reference["process"].pk)
    assert expected["process"]["status"] == ProcessStatus.DONE
    broker.clear()
    integrity_flows.JOB_RUNS.clear()

    crasher = Crasher(monkeypatch)
    ctx, steps = job_scenario(user, broker)
    crash_every_step(crasher, steps, "raise")
    assert shape(ctx["process"].pk) == expected
    # crashed runs of the job body were rolled back with their step: its write is there once
    assert SampleProcess.objects.get(pk=ctx["process"].pk).items == ["crunched"]
    assert task_of(ctx["process"], JobFlow.crunch).status == TaskStatus.DONE


def crash_every_step(crasher, steps, mode):
    """For each step: crash at its point 1, 2, ... until the step goes through; check the rows each time.

    Returns the number of crashes. The run that finally goes through (the
    target is past the step's last point) is the redo of the step.
    """
    crashes = 0
    for step in steps:
        before = everything()
        target = 0
        while True:
            target += 1
            crasher.calls, crasher.target, crasher.mode, crasher.armed = 0, target, mode, True
            try:
                step()
            except SimulatedCrash:
                assert mode == "raise"
            # the dropped connection, as the engine saw it (Django 6 on SQLite lets the driver's own error through)
            except (DatabaseError, sqlite3.DatabaseError) as exc:
                assert mode == "drop", repr(exc)
                connection.close()  # Django reconnects on the next query
            else:
                break
            finally:
                crasher.armed = False
            assert everything() == before, f"{step.__name__}: a crash {crasher.crashed_at} left rows behind"
            crashes += 1
    return crashes
