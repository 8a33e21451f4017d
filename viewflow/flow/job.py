"""Running a background job's task: shared by every job runner (Celery, in-process).

A job's message names its task; whoever delivers it (a Celery worker, or this
process right after commit) calls :func:`run_job`. Messages may arrive twice
(a redelivery after a lost worker, a duplicate publish, a manual re-dispatch):
the task's status, read under the process lock, decides whether the job runs.
"""

from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone

from ..activation import JobActivation
from ..fields import import_node
from ..status import TaskStatus
from .base import WaitingTask

__all__ = ["JobActivation", "JobNode", "run_job", "flow_job", "jobs_held", "jobs_are_held"]

logger = logging.getLogger(__name__)

_held = ContextVar("viewflow_jobs_held", default=False)


@contextmanager
def jobs_held():
    """Send no job message from the steps that commit in this block: their tasks stay SCHEDULED.

    For code that runs those jobs itself later, through the worker's own path:
    :meth:`viewflow.testing.FlowTester.run_jobs` does, so a test can look at a
    job's task before it runs. Outside such code, ``retry_tasks --scheduled``
    sends what was held.
    """
    token = _held.set(True)
    try:
        yield
    finally:
        _held.reset(token)


def jobs_are_held():
    """Is a :func:`jobs_held` block holding the job messages of this thread (or task)?"""
    return _held.get()


class JobNode(WaitingTask):
    """Base of job nodes (``celery.Job``): a task SCHEDULED until its message runs it.

    A job is a waiting task whose payload is the job's function: :func:`run_job`
    resumes it, and a job that raises leaves its task in ERROR (nobody else
    would receive the exception).
    """

    task_type = "JOB"
    activation_class = JobActivation
    waiting_statuses = (TaskStatus.SCHEDULED,)

    def on_resume(self, activation, /, func, args=()):
        """Run ``func(*args, activation)``: the job's own work."""
        task = activation.task
        task.started = timezone.now()
        func(*args, activation)
        if task.error:  # a note that an earlier message could not be sent: no longer true
            activation.note_error("")

    def moved_on(self, task, /, *args, **payload):
        if task is None:
            logger.error("viewflow job %s: its task no longer exists", self.name)
        else:
            logger.info(
                "viewflow job: task %s of process %s (%s) is %s, not SCHEDULED: nothing to do",
                task.pk, task.process_id, self.name, task.status,
            )
        return None

    def resume_failed(self, process_pk, task_pk, exc):
        """Celery's control flow passes through (the task stays SCHEDULED); any other error is saved on the task."""
        if isinstance(exc, _celery_control_flow()):
            raise exc
        activation = self.record_failure(process_pk, task_pk, exc)
        logger.warning("viewflow job %s of process %s failed", self.name, process_pk, exc_info=exc)
        return activation


def run_job(func, node_path, process_pk, task_pk, args=()):
    """Lock the process, run ``func(*args, activation)`` if the task is still SCHEDULED, go on.

    All in one transaction: the job's own writes, its task marked DONE and the
    flow moved on to the next nodes commit together, or not at all. A
    redelivered or duplicated message finds the task no longer SCHEDULED and
    does nothing, so a job runs to DONE at most once. If ``func`` raises, the
    step is rolled back (the job's own writes too) and a new step saves the
    task in ERROR with the traceback. Celery's control-flow exceptions
    (``self.retry()``'s ``Retry``, ``Ignore``, ``Reject``) roll the step back
    and pass through to Celery, leaving the task SCHEDULED for the next message.
    It is :meth:`JobNode.resume <viewflow.flow.base.WaitingTask.resume>` with the job's function as payload.

    Returns the task's new status, or None when there was nothing to do.
    """
    node = import_node(node_path)
    if node is None:
        logger.error("viewflow job: unknown node %r (task %s)", node_path, task_pk)
        return None
    activation = node.resume_by_pk(process_pk, task_pk, func, args)
    return activation.task.status if activation is not None else None


@functools.cache
def _celery_control_flow():
    """The exceptions a Celery task raises to talk to its worker (none without Celery)."""
    try:
        from celery.exceptions import TaskPredicate
    except ImportError:  # Celery is optional: in-process runners never raise these
        return ()
    return (TaskPredicate,)


def flow_job(func=None):
    """Make ``func(activation)`` a job body; put it under ``@shared_task``. ``@flow_job()`` works too.

    The job's message carries ``(node path, process pk, task pk)`` as its last
    three arguments; a bound task (``@shared_task(bind=True)``) still gets
    ``self`` first, so ``func(self, activation)`` may call ``self.retry()``.
    """
    if func is None:
        return flow_job

    @functools.wraps(func)
    def job(*args):
        *own_args, node_path, process_pk, task_pk = args
        return run_job(func, node_path, process_pk, task_pk, own_args)

    job.is_flow_job = True
    return job
