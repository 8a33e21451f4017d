"""URLs of flows, processes and tasks (what ``{% flowurl %}`` returns)."""

from __future__ import annotations

from django.urls import reverse

from ..status import TaskStatus

__all__ = ["flow_url", "process_url", "process_url_of", "task_url", "next_task_url"]

NAMESPACE = "viewflow"


def flow_url(flow_class, action="process-list"):
    return reverse(f"{NAMESPACE}:{flow_class._meta.flow_label}:{action}")


def process_url(process, action="process-detail"):
    return process_url_of(process.flow_class, process.pk, action)


def process_url_of(flow_class, process_pk, action="process-detail"):
    """A process page from its flow class and primary key (no process row needed)."""
    return reverse(f"{NAMESPACE}:{flow_class._meta.flow_label}:{action}", kwargs={"process_pk": process_pk})


def task_url(task, action=None):
    """The task's page (``action=None``), or one of ``detail``, ``assign``, ``unassign``, ``cancel``..."""
    node = task.flow_task
    name = node.name if action is None else f"{node.name}__{action}"
    return reverse(
        f"{NAMESPACE}:{node.flow_class._meta.flow_label}:{name}",
        kwargs={"process_pk": task.process_id, "task_pk": task.pk},
    )


def next_task_url(user, process):
    """Where ``user`` goes after a step: their next task in ``process``, or one they may claim."""
    tasks = process.flow_class.task_cls._default_manager.filter(
        process_id=process.pk, status__in=(TaskStatus.NEW, TaskStatus.ASSIGNED)
    ).order_by("created", "pk")
    claimable = None
    for task in tasks:
        node = task.flow_task
        if node is None or not hasattr(node, "can_execute") or node.task_type == "START":
            continue
        task.process = process
        if task.owner_id == user.pk and hasattr(node, "view"):
            return task_url(task)
        if claimable is None and task.owner_id is None and node.can_assign(user, task):
            claimable = task
    return task_url(claimable, "assign") if claimable is not None else None
