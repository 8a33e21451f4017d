"""The End node."""

from __future__ import annotations

from django.utils import timezone

from .. import signals
from ..status import ProcessStatus, TaskStatus
from .base import Event

__all__ = ["End"]


class End(Event):
    """Finish the process; any task still active in it is canceled."""

    task_type = "END"

    def activate(self, step, previous, token, task=None):
        now = timezone.now()
        task = self.make_task(step, previous, token, task, status=TaskStatus.DONE, started=now, finished=now)
        step.cancel_active(exclude=[task])
        step.set_process_status(ProcessStatus.DONE, finished=now)
        step.emit(signals.task_finished, process=step.process, task=task)
        step.emit(signals.flow_finished, process=step.process)
        return task

    def outgoing(self):
        return []
