"""Running a background job's task: shared by every job runner (Celery, in-process)."""

from __future__ import annotations

import functools
import logging

from django.utils import timezone

from ..activation import AutomatedActivation, run_step
from ..fields import import_node
from ..status import TaskStatus

__all__ = ["JobActivation", "run_job", "flow_job"]

logger = logging.getLogger(__name__)


class JobActivation(AutomatedActivation):
    """A job task: SCHEDULED in the step that reached it, run later by a worker."""

    def retry(self, by=None):
        self.check_permission(by is None or self.flow_class.can_manage(by), by, "retry")
        self.require(TaskStatus.ERROR, action="retried")
        self.flow_task.reschedule(self)


def run_job(func, node_path, process_pk, task_pk, args=()):
    """Lock the process, run ``func(*args, activation)`` if the task is still SCHEDULED, go on.

    A redelivered or duplicated message finds the task no longer SCHEDULED and
    does nothing, so a job runs to DONE at most once. If ``func`` raises, the
    whole step is rolled back (the job's own writes too) and a new step saves
    the task in ERROR with the traceback. Celery's ``Retry`` passes through.
    """
    node = import_node(node_path)
    if node is None:
        logger.error("viewflow job: unknown node %r (task %s)", node_path, task_pk)
        return None
    flow_class = node.flow_class
    try:
        with run_step(flow_class, process_pk) as step:
            task = _load_scheduled(step, flow_class, task_pk)
            if task is None:
                return None
            activation = node.activation_class(step, task)
            task.started = timezone.now()
            func(*args, activation)
            activation.finish()
            return task.status
    except Exception as exc:
        if type(exc).__name__ == "Retry" and type(exc).__module__.startswith("celery"):
            raise
        with run_step(flow_class, process_pk) as step:
            task = _load_scheduled(step, flow_class, task_pk)
            if task is not None:
                node.activation_class(step, task).fail(exc)
        logger.warning("viewflow job %s of process %s failed", node_path, process_pk, exc_info=True)
        return TaskStatus.ERROR


def _load_scheduled(step, flow_class, task_pk):
    task = flow_class.task_cls._base_manager.using(step.using).filter(pk=task_pk).first()
    if task is None or task.status != TaskStatus.SCHEDULED:
        return None
    task.process = step.process
    return task


def flow_job(func=None, **options):
    """Make ``func(activation)`` a job body; use under ``@shared_task``. ``@flow_job()`` works too.

    The job's message carries ``(node path, process pk, task pk)`` as its last
    three arguments; a bound Celery task still gets ``self`` first.
    """
    if func is None:
        return functools.partial(flow_job, **options)

    @functools.wraps(func)
    def job(*args):
        *own_args, node_path, process_pk, task_pk = args
        return run_job(func, node_path, process_pk, task_pk, own_args)

    job.is_flow_job = True
    return job
