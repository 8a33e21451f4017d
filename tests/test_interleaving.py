"""Forced interleavings at every synchronisation point (PostgreSQL, real threads).

Each test stops thread A at a chosen point inside its step (after it has read,
before it writes — a :class:`PausePoint`), starts thread B, proves that B is
really waiting for the process lock, then lets A go: the order is forced, not
left to timing. The tests assert who wins and that the loser fails cleanly
(a :class:`FlowRuntimeError`, or nothing done) with the database consistent.

Every test runs with ``select_for_update_lock`` and with ``cache_lock`` on
Redis; two tests show what the documented-unsafe ``no_lock`` lets happen.
"""

import pytest
from django.test import Client

from tests.integrity_support import (
    PausePoint,
    Worker,
    flow_lock,  # noqa: F401 (fixture)
    nodes,
    postgres_only,
    start_integrity,
    task_of,
    use_lock,
    wait_until_blocked,
)
from tests.testapp import integrity_flows
from tests.testapp.integrity_flows import JOB_RUNS, IntegrityFlow, JobFlow, ParallelFlow, PingFlow, ping
from tests.testapp.models import SampleProcess
from viewflow.activation import Step
from viewflow.contrib.celery import Job
from viewflow.exceptions import FlowRuntimeError
from viewflow.fields import node_path
from viewflow.flow.gateway import Join
from viewflow.lock import no_lock
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, postgres_only]

VET_PERM = "testapp.can_vet_sampleprocess"


def pause_on_update(monkeypatch, thread, node, status, when="before"):
    """Stop ``thread`` when its step is about to move a task of ``node`` to ``status``."""
    return PausePoint(
        monkeypatch,
        Step,
        "update_task",
        thread,
        when=when,
        match=lambda step, task, expected, **fields: task.flow_task is node and fields.get("status") == status,
    )


def race(pause, first, second, flow_class, second_blocks=True):
    """A runs until ``pause``; B starts (and must wait for the lock); then A goes on, then B."""
    a = Worker("A", first).start()
    pause.wait()
    b = Worker("B", second).start()
    if second_blocks:
        wait_until_blocked(b, flow_class)
    else:
        b.finish()
    pause.release()
    return a.finish(), b.finish()


def vet_task(owner):
    process = start_integrity("interleaving", approved=False)
    task = task_of(process, IntegrityFlow.vet)
    with task.activation() as activation:
        activation.assign(owner, by=owner)
    return process, task


def complete_vet(task, owner, approved=True):
    def run():
        with task.activation() as activation:
            if approved is not None:  # a form field to save, as the vet view does
                activation.process.approved = approved
                activation.process.save(update_fields=["approved"])
            activation.done(by=owner)
        return "done"

    return run


# -- competing arrivals at a Join -------------------------------------------------


def test_competing_join_arrivals_fire_the_join_once(flow_lock, monkeypatch):
    process = ParallelFlow.start.run(branches=2)
    first, second = Task.objects.filter(process_id=process.pk, flow_task=ParallelFlow.branch).order_by("pk")
    # A stops right after reading the open branches (it saw B's still open)
    pause = PausePoint(monkeypatch, Join, "_find", "A", when="after")
    a, b = race(pause, lambda: ParallelFlow.branch.run(first), lambda: ParallelFlow.branch.run(second), ParallelFlow)
    assert a.error is None and b.error is None

    process = SampleProcess.objects.get(pk=process.pk)
    assert process.status == ProcessStatus.DONE and process.items == ["tallied"]
    gather = Task.objects.get(process_id=process.pk, flow_task=ParallelFlow.gather)
    assert gather.status == TaskStatus.DONE
    assert sorted(gather.previous.values_list("pk", flat=True)) == [first.pk, second.pk]
    assert Task.objects.filter(process_id=process.pk, flow_task=ParallelFlow.end).count() == 1


def test_no_lock_is_unsafe_competing_join_arrivals_lose_the_join(monkeypatch):
    """DOCUMENTED UNSAFE: without a lock, two last arrivals each see the other open and nobody fires.

    This demonstrates why ``no_lock`` is only for strictly sequential flows;
    the test above shows both real locks preventing it.
    """
    use_lock(monkeypatch, no_lock)
    process = ParallelFlow.start.run(branches=2)
    first, second = Task.objects.filter(process_id=process.pk, flow_task=ParallelFlow.branch).order_by("pk")
    pause = PausePoint(monkeypatch, Join, "_find", "A", when="after")
    a, b = race(
        pause,
        lambda: ParallelFlow.branch.run(first),
        lambda: ParallelFlow.branch.run(second),
        ParallelFlow,
        second_blocks=False,  # nothing stops B: it runs to its commit while A sleeps
    )
    assert a.error is None and b.error is None
    gathers = Task.objects.filter(process_id=process.pk, flow_task=ParallelFlow.gather)
    # the race: two join tasks, neither fired; the process never ends
    assert [task.status for task in gathers] == [TaskStatus.STARTED, TaskStatus.STARTED]
    assert SampleProcess.objects.get(pk=process.pk).status == ProcessStatus.STARTED
    assert not Task.objects.filter(process_id=process.pk, flow_task=ParallelFlow.end).exists()


# -- complete vs complete, complete vs cancel ---------------------------------------


def test_complete_vs_complete_second_fails_cleanly(flow_lock, monkeypatch, user_factory):
    owner = user_factory("owner", VET_PERM)
    process, task = vet_task(owner)
    pause = pause_on_update(monkeypatch, "A", IntegrityFlow.vet, TaskStatus.DONE)
    a, b = race(pause, complete_vet(task, owner, True), complete_vet(task, owner, False), IntegrityFlow)
    assert a.error is None
    assert isinstance(b.error, FlowRuntimeError) and "cannot be completed: its status is Done" in str(b.error)
    process = SampleProcess.objects.get(pk=process.pk)
    assert process.approved is True  # B's form was rolled back with its step
    assert [name for name, _s in nodes(process)].count("split") == 1


def test_no_lock_complete_vs_complete_stale_writer_still_fails(monkeypatch, user_factory):
    """Even with ``no_lock`` the conditional UPDATE stops a stale second completion."""
    use_lock(monkeypatch, no_lock)
    owner = user_factory("owner", VET_PERM)
    process, task = vet_task(owner)
    pause = pause_on_update(monkeypatch, "A", IntegrityFlow.vet, TaskStatus.DONE)
    # A has read the task (ASSIGNED) and stops before writing; B completes and commits.
    # (No form field is saved: a write to the process row would itself make B wait.)
    a, b = race(
        pause, complete_vet(task, owner, None), complete_vet(task, owner, None), IntegrityFlow, second_blocks=False
    )
    assert b.error is None
    assert isinstance(a.error, FlowRuntimeError) and "changed by someone else" in str(a.error)
    process = SampleProcess.objects.get(pk=process.pk)
    assert nodes(process) == [("start", "DONE"), ("vet", "DONE"), ("check", "DONE"), ("end", "DONE")]


@pytest.mark.parametrize("winner", ["complete", "cancel"])
def test_complete_vs_cancel(flow_lock, monkeypatch, user_factory, winner):
    owner = user_factory("owner", VET_PERM)
    manager = user_factory("manager", superuser=True)
    process, task = vet_task(owner)

    def cancel():
        with task.activation() as activation:
            activation.cancel(by=manager)
        return "canceled"

    if winner == "complete":
        pause = pause_on_update(monkeypatch, "A", IntegrityFlow.vet, TaskStatus.DONE)
        a, b = race(pause, complete_vet(task, owner), cancel, IntegrityFlow)
        assert a.error is None
        assert isinstance(b.error, FlowRuntimeError) and "cannot be canceled: its status is Done" in str(b.error)
        assert task_of(process, IntegrityFlow.vet).status == TaskStatus.DONE
        assert task_of(process, IntegrityFlow.wait).status == TaskStatus.NEW
    else:
        pause = pause_on_update(monkeypatch, "A", IntegrityFlow.vet, TaskStatus.CANCELED)
        a, b = race(pause, cancel, complete_vet(task, owner), IntegrityFlow)
        assert a.error is None
        assert isinstance(b.error, FlowRuntimeError) and "cannot be completed: its status is Canceled" in str(b.error)
        assert nodes(process) == [("start", "DONE"), ("vet", "CANCELED")]
        assert SampleProcess.objects.get(pk=process.pk).approved is False


def test_process_canceled_while_its_task_is_done_no_deadlock(flow_lock, monkeypatch, user_factory):
    """A cancels the whole process (locking only the process, then UPDATE of its tasks) while B waits
    to complete one of them. B's step reads its task and process in one locking statement: it must take
    the process first, or it would hold the task A is about to update and both would wait forever."""
    owner = user_factory("owner", VET_PERM)
    process, task = vet_task(owner)
    pause = PausePoint(monkeypatch, Step, "cancel_active", "A")
    a, b = race(pause, lambda: process.cancel(), complete_vet(task, owner), IntegrityFlow)
    assert a.error is None
    # B read the task as A left it (CANCELED), not as it was when B started waiting
    assert isinstance(b.error, FlowRuntimeError) and "cannot be completed: its status is Canceled" in str(b.error)
    assert SampleProcess.objects.get(pk=process.pk).status == ProcessStatus.CANCELED
    assert nodes(process) == [("start", "DONE"), ("vet", "CANCELED")]


# -- a job and a person on one process ------------------------------------------------


@pytest.fixture
def broker(monkeypatch):
    """Jobs are sent to a pretend broker (a list) instead of running at commit."""
    sent = []
    monkeypatch.setattr(Job, "dispatch", lambda node, task: sent.append((task.process_id, task.pk)))
    JOB_RUNS.clear()
    return sent


def worker_runs(process_pk, task_pk):
    """What a Celery worker does with the job's message."""
    return lambda: integrity_flows.integrity_job(node_path(JobFlow.crunch), process_pk, task_pk)


@pytest.mark.parametrize("first", ["job", "view"])
def test_job_and_view_on_one_process_are_serialised(flow_lock, monkeypatch, broker, user_factory, first):
    user = user_factory("signer", "testapp.can_sign_off_sampleprocess")
    process = JobFlow.start.run()
    crunch = task_of(process, JobFlow.crunch)
    sign_off = task_of(process, JobFlow.sign_off)
    assert crunch.status == TaskStatus.SCHEDULED and broker == [(process.pk, crunch.pk)]
    with sign_off.activation() as activation:
        activation.assign(user, by=user)
    client = Client()
    client.force_login(user)

    def view():
        response = client.post(f"/flows/job/{process.pk}/sign_off/{sign_off.pk}/")
        assert response.status_code == 302
        return "signed"

    job = worker_runs(process.pk, crunch.pk)
    if first == "job":
        pause = pause_on_update(monkeypatch, "A", JobFlow.crunch, TaskStatus.DONE)
        a, b = race(pause, job, view, JobFlow)
    else:
        pause = pause_on_update(monkeypatch, "A", JobFlow.sign_off, TaskStatus.DONE)
        a, b = race(pause, view, job, JobFlow)
    assert a.error is None and b.error is None
    assert [run[0] for run in JOB_RUNS] == [crunch.pk]
    assert SampleProcess.objects.get(pk=process.pk).status == ProcessStatus.DONE
    merge = task_of(process, JobFlow.merge)
    assert merge.status == TaskStatus.DONE and merge.previous.count() == 2
    assert Task.objects.filter(process_id=process.pk, flow_task=JobFlow.end).count() == 1


def failed_job_process(broker):
    process = JobFlow.start.run(text="fail")
    crunch = task_of(process, JobFlow.crunch)
    assert integrity_flows.integrity_job(node_path(JobFlow.crunch), process.pk, crunch.pk) == TaskStatus.ERROR
    SampleProcess.objects.filter(pk=process.pk).update(text="fixed")
    broker.clear()
    return process, crunch


@pytest.mark.parametrize("first", ["retry", "worker"])
def test_admin_retry_vs_redelivered_job_runs_it_once(flow_lock, monkeypatch, broker, user_factory, first):
    admin = user_factory("admin", superuser=True)
    process, crunch = failed_job_process(broker)
    assert SampleProcess.objects.get(pk=process.pk).status == ProcessStatus.ERROR
    client = Client()
    client.force_login(admin)

    def retry():
        response = client.post(f"/flows/job/{process.pk}/crunch/{crunch.pk}/retry/")
        assert response.status_code == 302
        return "retried"

    redelivered = worker_runs(process.pk, crunch.pk)  # the old message, delivered again
    if first == "retry":
        # the retry has made the task SCHEDULED again when the old message arrives
        pause = pause_on_update(monkeypatch, "A", JobFlow.crunch, TaskStatus.SCHEDULED, when="after")
        a, b = race(pause, retry, redelivered, JobFlow)
        assert b.result == TaskStatus.DONE  # the redelivered message did the job
    else:
        # the worker has found the task in ERROR (not SCHEDULED) when the retry arrives
        pause = PausePoint(monkeypatch, type(JobFlow.crunch), "moved_on", "A", when="after")
        a, b = race(pause, redelivered, retry, JobFlow)
        assert a.result is None  # nothing to do for the worker
    assert a.error is None and b.error is None
    assert broker == [(process.pk, crunch.pk)]  # the retry sent one new message
    for process_pk, task_pk in broker:  # ... which a worker now receives
        integrity_flows.integrity_job(node_path(JobFlow.crunch), process_pk, task_pk)
    assert [run[0] for run in JOB_RUNS] == [crunch.pk]  # the job ran once
    crunch.refresh_from_db()
    assert crunch.status == TaskStatus.DONE and crunch.error == ""
    assert SampleProcess.objects.get(pk=process.pk).status == ProcessStatus.STARTED  # sign-off still open


def test_cancel_vs_job_worker_does_nothing(flow_lock, monkeypatch, broker, user_factory):
    process = JobFlow.start.run()
    crunch = task_of(process, JobFlow.crunch)
    pause = PausePoint(monkeypatch, Step, "set_process_status", "A")
    a, b = race(pause, lambda: process.cancel(), worker_runs(process.pk, crunch.pk), JobFlow)
    assert a.error is None and b.error is None and b.result is None
    assert JOB_RUNS == []
    assert SampleProcess.objects.get(pk=process.pk).status == ProcessStatus.CANCELED
    assert task_of(process, JobFlow.crunch).status == TaskStatus.CANCELED


# -- a signal and a cancel -------------------------------------------------------------


@pytest.mark.parametrize("first", ["signal", "cancel"])
def test_signal_vs_cancel(flow_lock, monkeypatch, first):
    process = PingFlow.start.run()
    waiting = task_of(process, PingFlow.wait_ping)

    def signal():
        ping.send(sender=None, process_pk=process.pk, text="pong")
        return "sent"

    def cancel():
        process.cancel()
        return "canceled"

    if first == "signal":
        pause = pause_on_update(monkeypatch, "A", PingFlow.wait_ping, TaskStatus.DONE)
        a, b = race(pause, signal, cancel, PingFlow)
        assert a.error is None
        assert isinstance(b.error, FlowRuntimeError) and "cannot be canceled: its status is Done" in str(b.error)
        assert SampleProcess.objects.get(pk=process.pk).text == "pong"
        assert nodes(process) == [("start", "DONE"), ("wait_ping", "DONE"), ("end", "DONE")]
    else:
        # the signal's task loader has found the task waiting; then the cancel takes the lock
        pause = PausePoint(monkeypatch, Step, "set_process_status", "A")
        a, b = race(pause, cancel, signal, PingFlow)
        assert a.error is None and b.error is None  # a signal for a task no longer waiting is ignored
        process = SampleProcess.objects.get(pk=process.pk)
        assert process.status == ProcessStatus.CANCELED and process.text == ""
        assert nodes(process) == [("start", "DONE"), ("wait_ping", "CANCELED")]
    waiting.refresh_from_db()
    assert not waiting.is_active


# -- reading never waits ------------------------------------------------------------------


def test_pages_do_not_wait_for_a_step_holding_the_lock(flow_lock, monkeypatch, user_factory):
    """A GET takes no lock: while a step holds the process, its pages still answer (with the committed state)."""
    owner = user_factory("owner", VET_PERM)
    process, task = vet_task(owner)
    pause = pause_on_update(monkeypatch, "A", IntegrityFlow.vet, TaskStatus.DONE)
    a = Worker("A", complete_vet(task, owner, True)).start()
    pause.wait()

    def read_pages():
        client = Client()
        client.force_login(owner)
        pages = [
            f"/flows/integrity/{process.pk}/vet/{task.pk}/",
            f"/flows/integrity/{process.pk}/vet/{task.pk}/detail/",
            f"/flows/integrity/{process.pk}/",
            "/flows/inbox/",
        ]
        return [client.get(page).status_code for page in pages]

    reader = Worker("B", read_pages).start().finish()  # finishes while A still holds the lock
    assert a.is_alive()
    pause.release()
    assert a.finish().error is None
    assert reader.error is None and reader.result == [200, 200, 200, 200]
