"""URLs of flows, processes and tasks (what ``{% flowurl %}`` returns), and the keys they carry."""

from __future__ import annotations

import re

from django.urls import register_converter, reverse

from ..status import RUNNING_PROCESS_STATUSES, TaskStatus

__all__ = [
    "flow_url",
    "process_url",
    "process_url_of",
    "task_url",
    "next_task_url",
    "KeyConverter",
    "parse_key",
    "KEY_CONVERTER",
]

NAMESPACE = "viewflow"

#: the largest primary key a database stores (a signed 64-bit integer, as BigAutoField)
MAX_KEY = 2**63 - 1


def parse_key(text):
    """``text`` as a primary key when it is one (ASCII digits, within 64 bits), else None.

    A longer number cannot name a row; handing it to the database would fail on
    SQLite ("Python int too large to convert to SQLite INTEGER") instead of
    finding nothing. ``str.isdigit`` is not used: it accepts "²", which ``int()`` refuses.
    """
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{1,19}", text):
        return None
    key = int(text)
    return key if key <= MAX_KEY else None


class KeyConverter:
    """``<viewflow_pk:process_pk>``: a primary key in a URL, at most a signed 64-bit integer.

    A URL with a longer number does not resolve (a 404), on every database.
    """

    regex = "[0-9]{1,19}"

    def to_python(self, value):
        key = parse_key(value)
        if key is None:
            raise ValueError(f"{value!r} is not a primary key")  # the URL does not match
        return key

    def to_url(self, value):
        return str(value)


#: the converter's name in URL patterns
KEY_CONVERTER = "viewflow_pk"
register_converter(KeyConverter, KEY_CONVERTER)


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


def next_task_url(user, process, tasks=None):
    """Where ``user`` goes after a step: their next task in ``process``, or one they may claim.

    ``tasks``: every task of the process, when the caller holds them all (the step
    that created the process does), so they need not be read again. A finished
    process has no next task: nothing is read.
    """
    if process.status not in RUNNING_PROCESS_STATUSES:
        return None
    waiting = (TaskStatus.NEW, TaskStatus.ASSIGNED)
    if tasks is None:
        tasks = process.flow_class.task_cls._default_manager.filter(
            process_id=process.pk, status__in=waiting
        ).order_by("created", "pk")
    else:
        tasks = sorted((task for task in tasks if task.status in waiting), key=lambda task: (task.created, task.pk))
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
