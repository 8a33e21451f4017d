"""Background jobs on Celery: ``celery.Job(task)`` runs a ``@flow_job`` task.

The job's task row is SCHEDULED in the step that reached it and gets a message
id (``external_task_id``, the Celery task id); the Celery message is sent only
once that step commits. A worker then runs :func:`viewflow.flow.job.run_job`:
under the process lock, a task no longer SCHEDULED is skipped, so a redelivered
or duplicated message never runs a job to DONE twice.

With no broker configured (the embedded default) the job runs in this process
right after the commit. On a real broker, configure the Celery app with
``task_acks_late``, ``task_reject_on_worker_lost`` and a prefetch multiplier of
1 (see the README) so a worker killed mid-job loses nothing: its message is
delivered again and the next worker does the job.

Timers on Celery beat: :func:`fire_due_timers` is a Celery task that calls
:func:`viewflow.scheduler.fire_due`, the function ``manage.py run_timers``
loops on. Schedule it, and make the worker import this module::

    CELERY_IMPORTS = ["viewflow.contrib.celery"]
    CELERY_BEAT_SCHEDULE = {
        "viewflow-timers": {"task": "viewflow.fire_due_timers", "schedule": 5.0, "options": {"expires": 5.0}},
    }

(django-celery-beat's database scheduler works too: a periodic task named
``viewflow.fire_due_timers``.) A beat that ticks twice, two beats at once, or a
tick delivered late start nothing twice: each timer and each StartTimer slot is
claimed in the database. No timer rides on a Celery ETA message.
"""

from __future__ import annotations

import functools
import logging
import traceback
import uuid

from celery import shared_task
from django.utils.translation import gettext as _

from ..activation import run_task_step
from ..fields import node_path
from ..flow.job import JobNode, flow_job, jobs_are_held
from ..status import TaskStatus

__all__ = ["Job", "flow_job", "fire_due_timers"]

logger = logging.getLogger(__name__)


class Job(JobNode):
    """A task done by a Celery task decorated with ``@flow_job``.

    ``Job(task, **apply_options)``: the options (``queue``, ``priority``,
    ``countdown``...) go to ``apply_async`` when the message is sent.
    """

    def __init__(self, celery_task, **apply_options):
        super().__init__()
        self.celery_task = celery_task
        self.apply_options = apply_options

    def activate(self, step, previous, token, task=None):
        task = self.make_task(
            step, previous, token, task, status=TaskStatus.SCHEDULED, external_task_id=uuid.uuid4().hex
        )
        self.dispatch_on_commit(step, task)
        return self.activation_class(step, task)

    def reschedule(self, activation):
        """Back to SCHEDULED with a new message id; the new message goes out on commit."""
        activation.reschedule()

    def dispatch_on_commit(self, step, task):
        """Send the job's message (:meth:`dispatch`) once ``step`` commits."""
        step.on_commit(functools.partial(self.dispatch, task))

    @property
    def runs_in_process(self):
        """No broker configured (or eager mode): run jobs here, right after commit."""
        conf = self.celery_task.app.conf
        return not conf.broker_url or conf.task_always_eager

    def dispatch(self, task):
        """Send the job's message, or run the job here when no broker is configured.

        Called once the step that scheduled ``task`` has committed. A failure to
        send (the broker is down) must not turn that committed step into an
        error: it is logged and written to the task's ``error`` field, and the
        task stays SCHEDULED until ``manage.py retry_tasks --scheduled`` (or
        ``activation.retry(scheduled=True)``) sends a new message.
        """
        if jobs_are_held():  # whoever holds them runs them later (viewflow.testing's run_jobs)
            return
        try:
            if self.runs_in_process:
                self.run_here(task)
            else:
                args = self.message_args(task)
                self.celery_task.apply_async(args=args, task_id=task.external_task_id, **self.apply_options)
        except Exception as exc:
            logger.exception("viewflow: could not send the message of job task %s (%s)", task.pk, self)
            self._note_dispatch_failure(task, exc)

    def message_args(self, task):
        """What the job's message carries: the node's dotted path, the process and the task."""
        return [node_path(self), task.process_id, task.pk]

    def run_here(self, task):
        """Run the job of a SCHEDULED ``task`` in this process, as a worker would run its message."""
        self.celery_task.apply(args=self.message_args(task), task_id=task.external_task_id, throw=False)

    def _note_dispatch_failure(self, task, exc):
        note = _("The job's message could not be sent; retry the task with its SCHEDULED status allowed.")
        error = note + "\n\n" + "".join(traceback.format_exception(exc))
        try:
            with run_task_step(self.flow_class, task.process_id, task.pk) as (step, fresh):
                # under the lock, and only on the task as this message left it: a retry may have sent a new one
                if fresh.status == TaskStatus.SCHEDULED and fresh.external_task_id == task.external_task_id:
                    self.activation_class(step, fresh).note_error(error)
                    task.error = error
        except Exception:  # the database may be what failed: the log above is all we can do
            logger.exception("viewflow: could not note the dispatch failure on task %s", task.pk)

    def __str__(self):
        return _("Job %(name)s") % {"name": self.name}


@shared_task(name="viewflow.fire_due_timers", ignore_result=True)
def fire_due_timers(batch=None):
    """Fire the due timers and start the scheduled processes (the Celery beat entry); returns how many fired."""
    from ..scheduler import DEFAULT_BATCH, fire_due

    return len(fire_due(batch=batch or DEFAULT_BATCH))  # the scheduler logs each timer it fires
