"""The scheduler: one function, :func:`fire_due`, fires every timer that is due.

``manage.py run_timers`` calls it in a loop, a Celery beat entry calls it
periodically (``viewflow.contrib.celery.fire_due_timers``), and a test calls it
to move time forward. Whoever calls it, and however many call it at once on
however many machines, each timer fires once:

* a due timer is a task in SCHEDULED whose ``due`` has passed; the batch is
  read through the ``vf_task_due`` index, oldest due first;
* on PostgreSQL the batch is taken with ``SELECT ... FOR UPDATE OF <process>
  SKIP LOCKED`` in a transaction that holds those processes until the batch is
  done: another scheduler takes the next due timers instead of waiting, and a
  process busy with a user's step waits for the next round. Each timer then
  fires in its own step (a savepoint) under the flow's lock;
* on other databases (SQLite) each timer fires in its own transaction under
  the flow's lock;
* either way the step re-reads the task under the lock and goes on only if it
  is still SCHEDULED and due (the conditional UPDATE of the engine marks it
  DONE): a timer whose task was finished, canceled or moved to a later time
  meanwhile is left alone, and a timer fired by another scheduler is not fired
  again. A scheduler killed mid-batch has committed nothing of that batch: its
  timers are still due, and the next scheduler fires them (late, never lost).

StartTimer slots (``viewflow.models.Schedule``) are claimed the same way: an
UPDATE that moves ``due`` on, carrying the ``due`` it read.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.utils import timezone

from .exceptions import FlowLockFailed
from .fields import node_path
from .models import Schedule, Task
from .registry import all_flows
from .status import TaskStatus

__all__ = ["fire_due", "due_timers", "Fired", "DEFAULT_BATCH"]

logger = logging.getLogger("viewflow.scheduler")

#: timers fired per batch (one transaction on PostgreSQL)
DEFAULT_BATCH = 100


@dataclass(frozen=True)
class Fired:
    """One thing :func:`fire_due` did: a timer fired (``task_pk``) or a scheduled process started."""

    node: object
    process_pk: object
    task_pk: object
    due: object

    def __str__(self):
        label = f"{self.node.flow_class.__qualname__}.{self.node.name}" if self.node is not None else "?"
        what = f"task #{self.task_pk}" if self.task_pk is not None else "started"
        return f"{label}: process #{self.process_pk} {what} (due {self.due.isoformat()})"


def due_timers(now=None, using=None):
    """The timers due at ``now``: SCHEDULED tasks whose ``due`` has passed, oldest first (a queryset)."""
    now = now or timezone.now()
    queryset = Task._base_manager.using(using or router.db_for_write(Task))
    return queryset.filter(status=TaskStatus.SCHEDULED, due__isnull=False, due__lte=now).order_by("due", "pk")


def fire_due(now=None, *, batch=DEFAULT_BATCH, max_batches=None, flows=None, using=None):
    """Fire every timer due at ``now`` (default: the present) and start the scheduled processes; return what fired.

    ``now`` may lie in the future (a test moving time forward): the timers due
    by then fire. Works in batches of ``batch`` timers; ``max_batches`` bounds
    one call (the rest fires on the next). ``flows`` are the flow classes whose
    StartTimers are looked after (default: :func:`viewflow.base.all_flows`).

    Returns a list of :class:`Fired`, in the order they fired.
    """
    now = now or timezone.now()
    using = using or router.db_for_write(Task)
    fired = fire_schedules(now, flows=flows, using=using)
    rounds = 0
    while max_batches is None or rounds < max_batches:
        rounds += 1
        done, seen = _fire_batch(now, batch, using)
        fired.extend(done)
        if seen < batch or not done:  # the last batch, or nothing could be fired (busy or failing): next round
            break
    return fired


def _skip_locked(using):
    features = connections[using].features
    return features.has_select_for_update_skip_locked and features.has_select_for_update_of


def _fire_batch(now, batch, using):
    """Fire one batch; returns ``(fired, number of due timers read)``."""
    timers = due_timers(now, using)
    if not _skip_locked(using):
        candidates = list(timers.values_list("pk", "process_id", "flow_task", "due")[:batch])
        return [item for item in (_fire_one(row, now) for row in candidates) if item is not None], len(candidates)
    # A subprocess's timer fires outside the locked batch, in its own transaction: its step locks the
    # child's parent before the child (viewflow.lineage), so a batch already holding the child would take
    # the parent after it, the reverse of a parent canceling its children: a deadlock. The step re-reads the
    # task under the locks, so two schedulers firing the same child timer still fire it once.
    children = list(
        timers.filter(process__parent_task__isnull=False).values_list("pk", "process_id", "flow_task", "due")[:batch]
    )
    fired = [item for item in (_fire_one(row, now) for row in children) if item is not None]
    if len(children) >= batch:
        return fired, len(children)
    with transaction.atomic(using=using):
        # the processes are locked (the flow's lock is a lock of the process row), not the tasks: every step
        # locks its process before any task, so a user's step on the process never waits for us in reverse
        locked = (
            timers.filter(process__parent_task__isnull=True)
            .select_related("process")
            .only("pk", "process_id", "flow_task", "due", "process__status")
            .select_for_update(skip_locked=True, of=("process",))
        )
        candidates = [(task.pk, task.process_id, task.flow_task, task.due) for task in locked[: batch - len(children)]]
        fired.extend(item for item in (_fire_one(row, now) for row in candidates) if item is not None)
        return fired, len(children) + len(candidates)


def _fire_one(row, now):
    """Fire one timer in its own step; a failure is logged, and saved on the task unless it may pass by itself."""
    task_pk, process_pk, node, due = row
    if node is None or not getattr(node, "fires_on_due", False):
        logger.error("viewflow scheduler: task %s has a due time but no timer node (%r)", task_pk, node)
        return None
    try:
        activation = node.resume_by_pk(process_pk, task_pk, now=now)
    except (FlowLockFailed, DatabaseError):  # busy or a lost race on the database: the next round tries again
        logger.warning(
            "viewflow scheduler: timer task %s of process %s could not fire now", task_pk, process_pk, exc_info=True
        )
        return None
    except Exception as exc:
        logger.exception("viewflow scheduler: timer task %s of process %s failed", task_pk, process_pk)
        node.record_failure(process_pk, task_pk, exc)
        return None
    if activation is None:  # moved on meanwhile (done, canceled, fired elsewhere, due later)
        return None
    item = Fired(node, process_pk, task_pk, due)
    logger.info("viewflow scheduler: fired %s", item)
    return item


# -- StartTimer ---------------------------------------------------------------


def start_timer_nodes(flows=None):
    """Every StartTimer node of ``flows`` (default: the project's flows).

    By default a flow whose module is no longer loaded (a test's, declared
    and dropped) starts nothing: only flows the project can import are armed.
    """
    if flows is None:
        flows = [flow_class for flow_class in all_flows() if flow_class.__module__ in sys.modules]
    return [
        node
        for flow_class in flows
        for node in flow_class._meta.nodes.values()
        if getattr(node, "starts_on_schedule", False)
    ]


def fire_schedules(now, flows=None, using=None):
    """Arm the StartTimers that have no slot yet, and start a process for each slot that is due."""
    nodes = start_timer_nodes(flows)
    if not nodes:
        return []
    using = using or router.db_for_write(Schedule)
    rows = {node_path(row.flow_task): row for row in Schedule.objects.using(using).filter(
        flow_task__in=[node_path(node) for node in nodes]
    ) if row.flow_task is not None}
    fired = []
    for node in nodes:
        row = rows.get(node_path(node))
        if row is None:
            _arm_schedule(node, now, using)
        elif row.due <= now:
            item = _fire_slot(node, row, now, using)
            if item is not None:
                fired.append(item)
    return fired


def _arm_schedule(node, now, using):
    """Create the node's first slot; another scheduler may have just done it (the unique node decides)."""
    try:
        with transaction.atomic(using=using):
            Schedule.objects.using(using).create(flow_task=node, due=node.first_slot(now))
    except IntegrityError:  # another scheduler armed this slot first: the unique node decided, nothing to do
        pass


def _fire_slot(node, row, now, using):
    """Claim the slot ``row.due`` and start its process; None when another scheduler claimed it first."""
    following = node.following_slot(row.due, now)
    with transaction.atomic(using=using):
        claimed = Schedule.objects.using(using).filter(pk=row.pk, due=row.due).update(due=following, last_due=row.due)
        if not claimed:
            return None
        if not node.starts_at(row.due, now):
            logger.info("viewflow scheduler: %s skipped the slot of %s (catch_up='none')", node.name, row.due)
            return None
        try:
            process = node.start_for(row.due)
        except Exception:
            # the slot is spent either way (retrying every round would only repeat the error): the log says why
            logger.exception("viewflow scheduler: %s could not start the process of %s", node.name, row.due.isoformat())
            return None
        Schedule.objects.using(using).filter(pk=row.pk).update(last_process=process.pk)
    item = Fired(node, process.pk, None, row.due)
    logger.info("viewflow scheduler: fired %s", item)
    return item

