"""A child whose last task is a timer (flow.Timer) moves its parent on once when the timer fires.

And the scheduler, which locks a batch of processes on PostgreSQL, takes a child's locks parent first
like every other step (viewflow/scheduler.py fires child timers outside the locked batch).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.integrity_support import postgres_only
from tests.testapp.models import SampleProcess
from tests.testapp.subprocess_flows import count_run, fill_child
from viewflow import flow, operations
from viewflow.base import Flow, this
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db(transaction=True)


class TimerChildFlow(Flow):
    """A child that waits an hour, then ends."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.wait)
    wait = flow.Timer(timedelta(hours=1)).Next(this.end)
    end = flow.End()


class TimerParentFlow(Flow):
    """Two timer children, then a step that counts its runs."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.subs)
    subs = flow.NSubprocess(TimerChildFlow.start, items=lambda activation: ["a", "b"]).Next(this.after)
    after = flow.Handler(count_run).Next(this.end)
    end = flow.End()


def mine(fired):
    """The timers of this module's flows among those fired (other test flows may have StartTimers)."""
    return [item for item in fired if item.node is TimerChildFlow.wait]


def test_children_whose_last_task_is_a_timer_move_the_parent_on_once_when_it_fires():
    parent = TimerParentFlow.start.run()
    kids = list(SampleProcess.objects.filter(parent_task__process_id=parent.pk).order_by("pk"))
    assert len(kids) == 2
    waits = Task.objects.filter(process_id__in=[kid.pk for kid in kids], flow_task=TimerChildFlow.wait)
    assert [task.status for task in waits] == [TaskStatus.SCHEDULED] * 2
    assert mine(operations.fire_due(timezone.now())) == []  # not due yet
    assert len(mine(operations.fire_due(timezone.now() + timedelta(hours=2)))) == 2
    parent = SampleProcess.objects.get(pk=parent.pk)
    assert parent.status == ProcessStatus.DONE and parent.count == 1
    assert Task.objects.filter(process_id=parent.pk, flow_task=TimerParentFlow.after).count() == 1
    assert mine(operations.fire_due(timezone.now() + timedelta(hours=3))) == []
    assert SampleProcess.objects.get(pk=parent.pk).count == 1


@pytest.mark.postgres
@postgres_only
def test_a_childs_timer_firing_while_its_parent_is_canceled_takes_the_locks_parent_first(monkeypatch):
    """The scheduler locks a batch of processes; a child's timer must not hold its process while it asks for the parent.

    Forced: the scheduler stops once it has read its batch; a cancel of the parent locks the parent and
    goes for the child. Were the child locked by the batch, the timer's step would then wait for the
    parent while holding the child: a deadlock. Child timers fire outside the locked batch instead.
    """
    from tests.integrity_support import PausePoint, Worker, wait_until_blocked
    from viewflow import scheduler
    from viewflow.exceptions import FlowRuntimeError

    parent = TimerParentFlow.start.run()
    later = timezone.now() + timedelta(hours=2)
    pause = PausePoint(monkeypatch, scheduler, "_fire_one", "timer")
    timer = Worker("timer", lambda: operations.fire_due(later)).start()
    pause.wait()
    canceling = Worker("cancel", lambda: operations.cancel_process(parent)).start()
    try:
        wait_until_blocked(canceling, TimerParentFlow)
        blocked = True
    except AssertionError:
        blocked = False  # the cancel went through: the scheduler held no child
    pause.release()
    timer.finish()
    canceling.finish()
    assert timer.error is None, timer.error
    assert canceling.error is None or isinstance(canceling.error, FlowRuntimeError), canceling.error
    assert "deadlock" not in str(canceling.error or "")
    assert not blocked  # nobody waited on a child the scheduler held
    parent = SampleProcess.objects.get(pk=parent.pk)
    assert parent.status == ProcessStatus.CANCELED and parent.count == 0
    assert set(SampleProcess.objects.filter(parent_task__process_id=parent.pk).values_list("status", flat=True)) == {
        ProcessStatus.CANCELED
    }
