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

from django.utils import timezone

from ..activation import AutomatedActivation, run_task_step
from ..fields import import_node
from ..status import TaskStatus

__all__ = ["JobActivation", "run_job", "flow_job"]

logger = logging.getLogger(__name__)


class JobActivation(AutomatedActivation):
    """A job task: SCHEDULED in the step that reached it, run later by :func:`run_job`."""

    def retry(self, by=None, scheduled=False):
        """Dispatch the job again: an ERROR task, or with ``scheduled=True`` a SCHEDULED one too.

        ``scheduled=True`` is for a task whose message was never sent (the
        broker was down when its step committed) or was lost: the task gets a
        new message id and a new message. Should the old message still turn
        up, whichever arrives first runs the job; the other finds the task no
        longer SCHEDULED and does nothing.
        """
        self.check_permission(by is None or self.flow_class.can_manage(by), by, "retry")
        allowed = (TaskStatus.ERROR, TaskStatus.SCHEDULED) if scheduled else (TaskStatus.ERROR,)
        self.require(*allowed, action="retried")
        self.flow_task.reschedule(self)


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

    Returns the task's new status, or None when there was nothing to do.
    """
    node = import_node(node_path)
    if node is None:
        logger.error("viewflow job: unknown node %r (task %s)", node_path, task_pk)
        return None
    try:
        with _scheduled_task_step(node, process_pk, task_pk) as (step, task):
            if task is None:
                return None
            activation = node.activation_class(step, task)
            task.started = timezone.now()
            func(*args, activation)
            if task.error:  # a note that an earlier message could not be sent: no longer true
                step.update_task(task, (TaskStatus.SCHEDULED,), error="")
            activation.finish()
            return task.status
    except _celery_control_flow():
        raise
    except Exception as exc:
        with _scheduled_task_step(node, process_pk, task_pk) as (step, task):
            if task is None:
                return None
            node.activation_class(step, task).fail(exc)
        logger.warning("viewflow job %s of process %s failed", node_path, process_pk, exc_info=True)
        return TaskStatus.ERROR


@contextmanager
def _scheduled_task_step(node, process_pk, task_pk):
    """A locked step on the message's task, read with its process in one statement.

    Yields ``(step, None)`` when there is nothing to do: the task or its process
    is gone, the task is another node's, or it is no longer SCHEDULED.
    """
    flow_class = node.flow_class
    read = False
    try:
        with run_task_step(flow_class, process_pk, task_pk) as (step, task):
            read = True
            yield step, (task if _still_scheduled(node, task) else None)
    except flow_class.task_cls.DoesNotExist:
        if read:
            raise  # raised by the job's own code
        logger.error("viewflow job %s: task %s of process %s no longer exists", node.name, task_pk, process_pk)
        yield None, None


def _still_scheduled(node, task):
    """Is ``task`` (read under the lock) this node's, and still SCHEDULED?"""
    if task.flow_task is node and task.status == TaskStatus.SCHEDULED:
        return True
    logger.info(
        "viewflow job: task %s of process %s (%s) is %s, not SCHEDULED: nothing to do",
        task.pk, task.process_id, node.name, task.status,
    )
    return False


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
