"""Background jobs on Celery: ``celery.Job(task)`` runs a ``@flow_job`` task.

The job's task row is SCHEDULED in the step that reached it; the Celery
message is sent only once that step commits. With no broker configured (the
embedded default) the job runs in this process right after the commit.
Configure ``task_acks_late`` and ``task_reject_on_worker_lost`` on the Celery
app (see the README) so a worker killed mid-job loses nothing.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils.translation import gettext as _

from ..fields import node_path
from ..flow.base import Task
from ..flow.job import JobActivation, flow_job
from ..status import TaskStatus

__all__ = ["Job", "flow_job"]


class Job(Task):
    """A task done by a Celery task decorated with ``@flow_job``."""

    task_type = "JOB"
    activation_class = JobActivation

    def __init__(self, celery_task, **apply_options):
        super().__init__()
        self.celery_task = celery_task
        self.apply_options = apply_options

    def activate(self, step, previous, token, task=None):
        task = self.make_task(
            step, previous, token, task, status=TaskStatus.SCHEDULED, external_task_id=uuid.uuid4().hex
        )
        self._dispatch_on_commit(step, task)
        return self.activation_class(step, task)

    def reschedule(self, activation):
        """ERROR → SCHEDULED with a new message id; the message goes out on commit."""
        step, task = activation.step, activation.task
        step.update_task(
            task, (TaskStatus.ERROR,), status=TaskStatus.SCHEDULED, error="", external_task_id=uuid.uuid4().hex
        )
        from ..activation import _refresh_error_status

        _refresh_error_status(step)
        self._dispatch_on_commit(step, task)

    def _dispatch_on_commit(self, step, task):
        transaction.on_commit(lambda: self.dispatch(task), using=step.using)

    @property
    def runs_in_process(self):
        """No broker configured: run jobs here, right after commit."""
        conf = self.celery_task.app.conf
        return not conf.broker_url or conf.task_always_eager

    def dispatch(self, task):
        args = [node_path(self), task.process_id, task.pk]
        if self.runs_in_process:
            self.celery_task.apply(args=args, task_id=task.external_task_id, throw=False)
        else:
            self.celery_task.apply_async(args=args, task_id=task.external_task_id, **self.apply_options)

    def __str__(self):
        return _("Job %(name)s") % {"name": self.name}
