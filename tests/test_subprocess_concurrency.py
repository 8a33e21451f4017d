"""Subprocesses under real concurrency on PostgreSQL: threads with their own connections.

Locks are taken parent first, then child, in every path (viewflow.lineage): a
child ending moves its parent on under the parent's lock, a parent canceled
cancels its children under its own. Each test runs with the row lock and with
the cache lock on Redis; the bad interleavings are forced with pause points,
not hoped for.
"""

import functools
import threading

import pytest

from tests.integrity_support import (
    PausePoint,
    Worker,
    postgres_only,
    redis_cache_lock,
    run_all,
    wait_until_blocked,
)
from tests.testapp import subprocess_flows
from tests.testapp.models import SampleProcess
from tests.testapp.subprocess_flows import HoldingParentFlow, NParentFlow, WaitingChildFlow
from viewflow import lineage, operations
from viewflow.exceptions import FlowRuntimeError
from viewflow.lock import select_for_update_lock
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, postgres_only]

FLOWS = [getattr(subprocess_flows, name) for name in subprocess_flows.__all__]


@pytest.fixture(params=["select_for_update_lock", "cache_lock"])
def flow_lock(request, monkeypatch, settings):
    """Parents and children take the row lock, then (second run) the cache lock on Redis."""
    lock = redis_cache_lock(settings) if request.param == "cache_lock" else select_for_update_lock
    for flow_class in FLOWS:
        monkeypatch.setattr(flow_class, "lock_impl", lock)
    return lock


def children(process):
    return list(SampleProcess.objects.filter(parent_task__process_id=process.pk).order_by("pk"))


def end_child(child):
    def run():
        return WaitingChildFlow.wait.run(Task.objects.get(process_id=child.pk, flow_task=WaitingChildFlow.wait))

    return run


def fresh(process):
    return SampleProcess.objects.get(pk=process.pk)


def test_twenty_children_ending_at_once_move_the_parent_on_once(flow_lock):
    for _round in range(2):
        parent = NParentFlow.start.run([f"parcel {n}" for n in range(20)])
        kids = children(parent)
        assert len(kids) == 20
        workers = run_all(*(end_child(child) for child in kids))
        assert [worker.error for worker in workers] == [None] * 20

        parent = fresh(parent)
        assert parent.status == ProcessStatus.DONE
        assert parent.count == 1  # the step after the NSubprocess ran once
        assert Task.objects.filter(process_id=parent.pk, flow_task=NParentFlow.after).count() == 1
        assert Task.objects.filter(process_id=parent.pk, flow_task=NParentFlow.end).count() == 1
        assert Task.objects.get(process_id=parent.pk, flow_task=NParentFlow.subs).status == TaskStatus.DONE
        assert all(child.status == ProcessStatus.DONE for child in children(parent))


def test_a_child_ending_while_its_parent_is_canceled_child_first(flow_lock, monkeypatch):
    """The child's step holds the parent's lock: the cancel waits, then cancels the parent as it moved on."""
    parent = HoldingParentFlow.start.run()
    (child,) = children(parent)
    pause = PausePoint(monkeypatch, lineage, "notify_parent", "child")  # child and parent locked, nothing written
    ending = Worker("child", end_child(child)).start()
    pause.wait()
    canceling = Worker("cancel", lambda: operations.cancel_process(parent)).start()
    wait_until_blocked(canceling, HoldingParentFlow)  # waits for the parent's lock, holding no child's
    pause.release()
    assert ending.finish().error is None
    assert canceling.finish().error is None

    parent = fresh(parent)
    assert parent.status == ProcessStatus.CANCELED and parent.count == 1  # moved on once, then canceled
    assert fresh(child).status == ProcessStatus.DONE
    assert Task.objects.get(process_id=parent.pk, flow_task=HoldingParentFlow.sub).status == TaskStatus.DONE
    assert Task.objects.get(process_id=parent.pk, flow_task=HoldingParentFlow.hold).status == TaskStatus.CANCELED


def test_a_child_ending_while_its_parent_is_canceled_parent_first(flow_lock, monkeypatch):
    """The cancel holds parent and child: the child's step waits for the parent's lock, then finds it canceled."""
    parent = HoldingParentFlow.start.run()
    (child,) = children(parent)
    # the cancel stops with parent and children canceled, not yet committed
    pause = PausePoint(monkeypatch, lineage, "cancel_children", "cancel", when="after")
    canceling = Worker("cancel", lambda: operations.cancel_process(parent)).start()
    pause.wait()
    ending = Worker("child", end_child(child)).start()
    wait_until_blocked(ending, HoldingParentFlow)  # the child's step waits for its parent's lock first
    pause.release()
    assert canceling.finish().error is None
    ending.finish()
    assert isinstance(ending.error, FlowRuntimeError)
    assert "is no longer waiting: its status is Canceled" in str(ending.error)

    parent = fresh(parent)
    assert parent.status == ProcessStatus.CANCELED and parent.count == 0  # never moved on
    assert fresh(child).status == ProcessStatus.CANCELED
    assert Task.objects.get(process_id=parent.pk, flow_task=HoldingParentFlow.sub).status == TaskStatus.CANCELED
    assert not Task.objects.filter(process_id__in=[parent.pk, child.pk], status__in=["NEW", "STARTED"]).exists()


def test_children_ending_while_the_parent_is_canceled_all_at_once(flow_lock):
    """No forced order: ten children end while the parent is canceled; no deadlock, one consistent outcome."""
    for _round in range(3):
        parent = NParentFlow.start.run([str(n) for n in range(10)])
        kids = children(parent)
        cancel = functools.partial(operations.cancel_process, parent)
        workers = run_all(cancel, *(end_child(child) for child in kids))
        for worker in workers:
            assert worker.error is None or isinstance(worker.error, FlowRuntimeError), worker.error
            assert "deadlock" not in str(worker.error)
        parent = fresh(parent)
        statuses = [child.status for child in children(parent)]
        if parent.status == ProcessStatus.DONE:  # every child ended before the cancel took the lock
            assert parent.count == 1 and statuses == [ProcessStatus.DONE] * 10
            assert isinstance(workers[0].error, FlowRuntimeError)
        else:  # the cancel won: the children that had not ended are canceled, the parent never moved on
            assert parent.status == ProcessStatus.CANCELED and parent.count == 0
            assert set(statuses) <= {ProcessStatus.DONE, ProcessStatus.CANCELED}
            ended = sum(worker.error is None for worker in workers[1:])
            assert statuses.count(ProcessStatus.DONE) == ended


def test_locks_are_taken_parent_first_by_every_step_of_a_child(flow_lock, monkeypatch):
    """Record the order in which a child's step takes its locks."""
    parent = HoldingParentFlow.start.run()
    (child,) = children(parent)
    taken = []
    lock = flow_lock
    original = type(lock).read

    def read(self, flow_class, process_pk, task_pk, using):
        if threading.current_thread().name == "child":
            taken.append(int(process_pk))
        return original(self, flow_class, process_pk, task_pk, using)

    monkeypatch.setattr(type(lock), "read", read)
    assert Worker("child", end_child(child)).start().finish().error is None
    assert taken == [parent.pk, child.pk]
