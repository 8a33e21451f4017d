"""Real concurrency on PostgreSQL: threads, each with its own connection, hit one process at once.

Each test runs twice: with the row lock (``select_for_update_lock``) and with
the cache lock on Redis (``cache_lock``). The unsafe ``no_lock`` is shown
losing a Join in test_interleaving.py, where the bad interleaving is forced.
"""

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from tests.integrity_support import (
    Worker,
    flow_lock,  # noqa: F401 (fixture)
    nodes,
    postgres_only,
    run_all,
    start_integrity,
    task_of,
    use_lock,
)
from tests.testapp.integrity_flows import IntegrityFlow, ParallelFlow
from tests.testapp.models import SampleProcess
from viewflow.exceptions import FlowLockFailed, FlowRuntimeError
from viewflow.lock import SelectForUpdateLock
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, postgres_only]

VET_PERM = "testapp.can_vet_sampleprocess"


def assigned_vet_task(user, text="race"):
    process = start_integrity(text)
    task = task_of(process, IntegrityFlow.vet)
    with task.activation() as activation:
        activation.assign(user, by=user)
    return process, task


def complete(task, approved, user):
    """What the vet view does on a valid POST: save the form's field, then complete the task."""

    def run():
        with task.activation() as activation:
            activation.process.approved = approved
            activation.process.save(update_fields=["approved"])
            activation.done(by=user)
        return approved

    return run


def test_task_completed_twice_at_once_completes_once(flow_lock, user_factory):
    owner = user_factory("owner", VET_PERM)
    for _round in range(4):
        process, task = assigned_vet_task(owner)
        first, second = run_all(complete(task, True, owner), complete(task, False, owner))
        outcomes = [w for w in (first, second) if w.error is None]
        losers = [w for w in (first, second) if w.error is not None]
        assert len(outcomes) == 1 and len(losers) == 1, [(w.result, w.error) for w in (first, second)]
        assert isinstance(losers[0].error, FlowRuntimeError)
        assert "cannot be completed: its status is Done" in str(losers[0].error)

        process = SampleProcess.objects.get(pk=process.pk)
        assert process.approved is outcomes[0].result  # the loser's form was rolled back
        if process.approved:
            # one set of downstream tasks: the split ran once, the Function waits once
            assert sorted(nodes(process)) == sorted(
                [
                    ("start", "DONE"), ("vet", "DONE"), ("check", "DONE"), ("split", "DONE"),
                    ("handle", "DONE"), ("wait", "NEW"), ("join", "STARTED"),
                ]
            )
        else:
            assert nodes(process) == [("start", "DONE"), ("vet", "DONE"), ("check", "DONE"), ("end", "DONE")]
            assert process.status == ProcessStatus.DONE


def test_task_posted_twice_at_once_through_the_web(flow_lock, user_factory):
    owner = user_factory("owner", VET_PERM)
    process, task = assigned_vet_task(owner)
    url = f"/flows/integrity/{process.pk}/vet/{task.pk}/"

    def post(data):
        def run():
            client = Client()
            client.force_login(owner)
            response = client.post(url, data)
            return response.status_code, [str(m) for m in get_messages(response.wsgi_request)]

        return run

    first, second = run_all(post({"approved": "on"}), post({}))
    assert first.error is None and second.error is None
    results = sorted([first.result, second.result], key=lambda r: "already" in " ".join(r[1]))
    (done_status, done_messages), (late_status, late_messages) = results
    assert done_status == late_status == 302
    assert any("is done" in m for m in done_messages)
    assert any("already done" in m for m in late_messages)
    assert Task.objects.filter(process_id=process.pk, flow_task=IntegrityFlow.check).count() == 1


def test_parallel_branches_finishing_together_fire_each_join_once(flow_lock):
    processes = [ParallelFlow.start.run(branches=10) for _ in range(3)]
    branches = {
        process.pk: list(Task.objects.filter(process_id=process.pk, flow_task=ParallelFlow.branch).order_by("pk"))
        for process in processes
    }
    assert all(len(tasks) == 10 for tasks in branches.values())

    def finish_branch(index):
        def run():
            for process in processes:  # every thread hits every process: ten arrivals per Join
                ParallelFlow.branch.run(branches[process.pk][index])

        return run

    workers = run_all(*(finish_branch(index) for index in range(10)))
    assert [w.error for w in workers] == [None] * 10

    for process in processes:
        process = SampleProcess.objects.get(pk=process.pk)
        assert process.status == ProcessStatus.DONE
        assert process.items == ["tallied"]  # the Handler after the Join ran once
        gather = Task.objects.get(process_id=process.pk, flow_task=ParallelFlow.gather)
        assert gather.status == TaskStatus.DONE
        assert gather.previous.count() == 10  # every branch arrived at the one join task
        assert Task.objects.filter(process_id=process.pk, flow_task=ParallelFlow.tally).count() == 1
        assert Task.objects.filter(process_id=process.pk, flow_task=ParallelFlow.end).count() == 1
        assert not Task.objects.filter(process_id=process.pk, status__in=("NEW", "STARTED", "ERROR")).exists()


def test_assign_race_leaves_one_owner(flow_lock, user_factory):
    users = [user_factory(f"user{n}", VET_PERM) for n in range(5)]
    for _round in range(3):
        process = start_integrity("claim me")
        task = task_of(process, IntegrityFlow.vet)

        def claim(user):
            def run():
                with task.activation() as activation:  # noqa: B023 (run in this round)
                    activation.assign(user, by=user)
                return user.pk

            return run

        workers = run_all(*(claim(user) for user in users))
        winners = [w.result for w in workers if w.error is None]
        assert len(winners) == 1
        for worker in workers:
            if worker.error is not None:
                assert isinstance(worker.error, FlowRuntimeError), worker.error
                assert "cannot be assigned: its status is Assigned" in str(worker.error)
        task.refresh_from_db()
        assert task.status == TaskStatus.ASSIGNED and task.owner_id == winners[0]


def test_nowait_lock_fails_at_once_while_another_step_holds_the_process(monkeypatch, user_factory):
    """``SelectForUpdateLock(nowait=True)``: a step on the process, or on one of its tasks, raises
    FlowLockFailed instead of waiting; once the holder commits, the same step goes through."""
    import threading

    use_lock(monkeypatch, SelectForUpdateLock(nowait=True))
    owner = user_factory("owner", VET_PERM)
    process, task = assigned_vet_task(owner)
    held, release = threading.Event(), threading.Event()

    def hold():
        with IntegrityFlow.lock(process.pk):
            held.set()
            release.wait(10)

    holder = Worker("holder", hold).start()
    try:
        assert held.wait(10)
        with pytest.raises(FlowLockFailed):
            with task.activation():
                pass
        with pytest.raises(FlowLockFailed):
            with IntegrityFlow.lock(process.pk):
                pass
    finally:
        release.set()
        holder.finish()
    assert holder.error is None
    with task.activation() as activation:  # the holder is gone: no wait, no error
        activation.unassign(by=owner)
    assert task_of(process, IntegrityFlow.vet).status == TaskStatus.NEW
