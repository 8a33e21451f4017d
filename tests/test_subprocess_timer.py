"""A child whose last task is a timer (issue 17's flow.Timer) moves its parent on once when the timer fires.

Skipped while ``flow.Timer`` does not exist (the timers feature lands separately).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.testapp.models import SampleProcess
from tests.testapp.subprocess_flows import count_run, fill_child
from viewflow import flow, operations
from viewflow.base import Flow, this
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not hasattr(flow, "Timer"), reason="flow.Timer (issue 17) is not there yet"),
]

if hasattr(flow, "Timer"):

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


def test_children_whose_last_task_is_a_timer_move_the_parent_on_once_when_it_fires():
    parent = TimerParentFlow.start.run()
    kids = list(SampleProcess.objects.filter(parent_task__process_id=parent.pk).order_by("pk"))
    assert len(kids) == 2
    waits = Task.objects.filter(process_id__in=[kid.pk for kid in kids], flow_task=TimerChildFlow.wait)
    assert [task.status for task in waits] == [TaskStatus.SCHEDULED] * 2
    assert operations.fire_due(timezone.now()) == []  # not due yet
    fired = operations.fire_due(timezone.now() + timedelta(hours=2))
    assert len(fired) == 2
    parent = SampleProcess.objects.get(pk=parent.pk)
    assert parent.status == ProcessStatus.DONE and parent.count == 1
    assert Task.objects.filter(process_id=parent.pk, flow_task=TimerParentFlow.after).count() == 1
    assert operations.fire_due(timezone.now() + timedelta(hours=3)) == []
    assert SampleProcess.objects.get(pk=parent.pk).count == 1
