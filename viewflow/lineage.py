"""Processes started by other processes: who is whose parent, the order of their locks, and how they talk.

A ``Subprocess`` task of a *parent* process starts *child* processes of
another flow and waits for them (``Process.parent_task`` names the task).
Children change their parent (one ending moves it on, one canceled or in
ERROR puts the waiting task in ERROR) and parents change their children (a
canceled parent task cancels them). Both directions write two processes in
one transaction, so both need two locks.

The order: ancestors before descendants, always
--------------------------------------------------
Every step on a process that has a parent locks the whole line of its
ancestors first, root first, then the process itself
(:func:`ancestors` finds them, :func:`viewflow.lock.lock_in_order` takes
them). A parent canceling its children holds its own lock and takes each
child's after it, in key order. So no two steps ever wait for each other's
locks in opposite orders: a step that holds a child's lock always holds its
parent's, and one that waits for a parent's lock holds no child's. Two
steps on two siblings both go through their shared parent, which serialises
them. The cost: the steps of a parent's children take turns on the parent's
lock (each holds it for one short transaction), and one extra SELECT per
step finds the line of ancestors, paid only by flows that some
``Subprocess`` node starts (:func:`may_be_child`).

Why not move the parent on in a step of its own, after the child's commits?
Because between the two commits a crash would leave the parent waiting for
a child that has ended, with nothing left to wake it. Here the child's last
step and the parent's next one are one transaction: both happen or neither.

Exactly once
------------
A child that ends in its own step tells its parent in the same transaction
(:func:`notify_parent`), under the parent's lock, which the step took before
its own. The parent's task re-reads its children's statuses under that lock;
twenty children ending at once take the parent's lock one after the other,
and only the step that finds every child DONE finishes the task (its update
is conditional on the task still waiting, as every update is). A child that
runs from start to end inside the parent's own step (nothing in it waits)
tells a parent that is still starting its children: the parent's task is
*busy* (:attr:`Step.busy`) and ignores the news; once every child is
started, the task looks at all of them once. So the steps after a
subprocess run once whichever way its children end.
"""

from __future__ import annotations

import functools
import logging
import threading
from contextlib import contextmanager

from .models import Process
from .status import ACTIVE_TASK_STATUSES, ProcessStatus

__all__ = [
    "ACTIVE_PROCESS_STATUSES",
    "Link",
    "may_be_child",
    "starts_children",
    "ancestors",
    "opened",
    "open_step",
    "notify_parent",
    "cancel_children",
]

logger = logging.getLogger(__name__)

ACTIVE_PROCESS_STATUSES = (ProcessStatus.NEW, ProcessStatus.STARTED, ProcessStatus.ERROR)

_local = threading.local()


class Link(tuple):
    """``(flow_class, process_pk, task_pk)``: a process above, and its task that leads down the line."""

    __slots__ = ()

    def __new__(cls, flow_class, process_pk, task_pk):
        return super().__new__(cls, (flow_class, process_pk, task_pk))

    flow_class = property(lambda self: self[0])
    process_pk = property(lambda self: self[1])
    task_pk = property(lambda self: self[2])


def may_be_child(flow_class):
    """May a process of ``flow_class`` have a parent? Only if some Subprocess node starts this flow."""
    return bool(getattr(flow_class._meta, "started_by", None))


@functools.cache
def starts_children(flow_class):
    """Does ``flow_class`` have a node that starts child processes?"""
    return any(getattr(node, "starts_subprocesses", False) for node in flow_class._meta.nodes.values())


def ancestors(flow_class, process_pk, using):
    """The line of processes above ``process_pk``, root first, as :class:`Link` items; ``[]`` for a top-level one.

    One SELECT answers for the process and its parent (a child of a top-level
    parent, the usual case, costs one statement), one more per level above;
    none for a flow no Subprocess node starts. A process's parent never
    changes once it is created, so the line read here, before any lock is
    taken, is still true when the locks are.
    """
    if not may_be_child(flow_class):
        return []
    row = (
        Process._base_manager.using(using)
        .filter(pk=process_pk)
        .values_list(
            "parent_task_id",
            "parent_task__process_id",
            "parent_task__process__flow_class",
            "parent_task__process__parent_task_id",
        )
        .first()
    )
    if row is None or row[0] is None:
        return []
    task_pk, parent_pk, parent_flow, grand_task_pk = row
    if parent_flow is None:  # the parent's flow class is gone: nothing above can be moved on
        logger.error("viewflow: process %s has a parent #%s of an unknown flow", process_pk, parent_pk)
        return []
    above = ancestors(parent_flow, parent_pk, using) if grand_task_pk is not None else []
    return [*above, Link(parent_flow, parent_pk, task_pk)]


# -- the steps open in this thread ---------------------------------------------------------


def _open_steps():
    steps = getattr(_local, "steps", None)
    if steps is None:
        steps = _local.steps = []
    return steps


@contextmanager
def opened(step):
    """Note ``step`` as open in this thread while the block runs (a child started in it finds it)."""
    steps = _open_steps()
    steps.append(step)
    try:
        yield step
    finally:
        steps.remove(step)


def open_step(process_pk):
    """The innermost step of this thread on process ``process_pk``, or None."""
    for step in reversed(_open_steps()):
        if step.process is not None and step.process.pk == process_pk:
            return step
    return None


# -- a child tells its parent ------------------------------------------------------------


def notify_parent(step):
    """The process of ``step`` (a child) changed status: let its parent's waiting task look again.

    Runs at the end of the child's step, in its transaction. The parent is
    locked already: either its own step is open in this thread (the child was
    started or canceled from it), or the child's step locked it first (see
    the module's docstring). A step opened for the parent here is flushed
    here, so the parent's own parent hears of it in turn.
    """
    parent = step.lineage[-1]
    news = {str(step.process.pk): step.process.status}
    parent_step = open_step(parent.process_pk)
    if parent_step is not None:
        if parent.task_pk not in parent_step.busy:
            _child_changed(parent_step, parent.task_pk, news)
        return
    process = step.locked.get(parent.process_pk)
    if process is None:  # not locked by this step: only if the child's step began elsewhere
        logger.warning(
            "viewflow: process %s moved its parent #%s without holding its lock first",
            step.process.pk,
            parent.process_pk,
        )
        with parent.flow_class.lock(parent.process_pk) as process:
            _notify_in_new_step(step, parent, process, news)
        return
    _notify_in_new_step(step, parent, process, news)


def _notify_in_new_step(step, parent, process, news):
    parent_step = type(step)(parent.flow_class, process)
    parent_step.lineage = step.lineage[:-1]
    parent_step.locked = step.locked
    with opened(parent_step):
        _child_changed(parent_step, parent.task_pk, news)
        parent_step.flush()


def _child_changed(parent_step, task_pk, news):
    task = next((task for task in parent_step.tasks if task.pk == task_pk), None)
    if task is None:
        task_cls = parent_step.flow_class.task_cls
        task = task_cls._base_manager.using(parent_step.using).filter(pk=task_pk).first()
    node = task.flow_task if task is not None else None
    if node is None or not hasattr(node, "child_changed"):
        logger.error("viewflow: a child process of task %s changed, but the task waits for no children", task_pk)
        return
    if task.status in ACTIVE_TASK_STATUSES:
        node.child_changed(parent_step, task, news)


# -- a parent cancels its children --------------------------------------------------------


def cancel_children(step):
    """Cancel the active children of every task of ``step``'s process that is no longer active.

    Called at the end of a step that canceled tasks (a task canceled by a
    manager, the process canceled, an End canceling what was still running),
    in its transaction. Each child is locked (after the parent, which the
    step holds), canceled with its tasks, and its own children after it.
    """
    children = list(
        Process._base_manager.using(step.using)
        .filter(parent_task__process_id=step.process.pk, status__in=ACTIVE_PROCESS_STATUSES)
        .exclude(parent_task__status__in=ACTIVE_TASK_STATUSES)
        .order_by("pk")
        .values_list("pk", "flow_class", "parent_task_id")
    )
    for child_pk, flow_class, task_pk in children:
        if flow_class is None:
            logger.error("viewflow: child process %s has an unknown flow and cannot be canceled", child_pk)
            continue
        cancel_child(step, flow_class, child_pk, task_pk)


def cancel_child(step, flow_class, child_pk, task_pk):
    """Lock child ``child_pk`` (its parent's lock is held by ``step``) and cancel it with its active tasks."""
    with flow_class.lock(child_pk) as process:
        if process.status not in ACTIVE_PROCESS_STATUSES:
            return
        child_step = type(step)(flow_class, process)
        child_step.lineage = [*step.lineage, Link(step.flow_class, step.process.pk, task_pk)]
        child_step.locked = {**step.locked, step.process.pk: step.process}
        with opened(child_step):
            child_step.cancel_process()
            child_step.flush()
