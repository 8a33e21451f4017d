"""``manage.py list_tasks``: tasks that need a look — in ERROR, or waiting for too long."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ...fields import flow_path
from ...models import Task
from ...status import TaskStatus
from ._flows import bounded_int, find_flow

_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "": "minutes"}


def parse_duration(value):
    """``"90"`` (minutes), ``"30s"``, ``"15m"``, ``"2h"``, ``"1d"`` → a timedelta."""
    match = _DURATION.match(value.strip().lower())
    if match is None:
        raise CommandError(f"Bad duration {value!r}: use a number with s, m, h or d (e.g. 30m, 2h).")
    amount, unit = match.groups()
    try:
        return timedelta(**{_UNITS[unit]: int(amount)})
    except OverflowError:
        raise CommandError(f"Bad duration {value!r}: too long.") from None


def older_than_moment(value):
    """The moment ``value`` (a duration, as for :func:`parse_duration`) ago."""
    try:
        return timezone.now() - parse_duration(value)
    except OverflowError:  # before the year 1
        raise CommandError(f"Bad duration {value!r}: too long.") from None


class Command(BaseCommand):
    help = (
        "List stuck or failed tasks: every task in ERROR, and SCHEDULED or NEW tasks created longer "
        "ago than --older-than. Filter by --flow and --status."
    )

    #: statuses listed whatever their age
    always = (TaskStatus.ERROR,)
    #: statuses listed once older than the threshold (a job nobody ran, a task nobody claimed)
    waiting = (TaskStatus.SCHEDULED, TaskStatus.NEW)
    #: the largest ``--limit``: more rows than anyone reads on a terminal
    max_limit = 10000

    def add_arguments(self, parser):
        parser.add_argument("--flow", help="only this flow (dotted path or label)")
        parser.add_argument(
            "--status",
            action="append",
            choices=[
                status.value
                for status in (
                    TaskStatus.ERROR,
                    TaskStatus.SCHEDULED,
                    TaskStatus.NEW,
                    TaskStatus.ASSIGNED,
                    TaskStatus.STARTED,
                )
            ],
            help="only these statuses (repeatable); default: ERROR, SCHEDULED and NEW",
        )
        parser.add_argument(
            "--older-than",
            default="60m",
            help="age from which a waiting task counts as stuck (default 60m; 30s, 2h, 1d...)",
        )
        parser.add_argument(
            "--limit",
            type=bounded_int(self.max_limit),
            default=100,
            help=f"show at most this many, up to {self.max_limit} (default 100)",
        )

    def get_queryset(self, flow=None, statuses=None, older_than="60m"):
        threshold = older_than_moment(older_than)
        statuses = statuses or list(self.always + self.waiting)
        always = [status for status in statuses if status in self.always]
        aged = [status for status in statuses if status not in self.always]
        queryset = Task.objects.filter(status__in=always) | Task.objects.filter(
            status__in=aged, created__lt=threshold
        )
        if flow is not None:
            queryset = queryset.filter(flow_task__startswith=f"{flow_path(flow)}.")
        return queryset.select_related("owner").order_by("created", "pk")

    def handle(self, *args, flow=None, status=None, older_than="60m", limit=100, **options):
        flow_class = find_flow(flow) if flow else None
        queryset = self.get_queryset(flow_class, status, older_than)
        total = queryset.count()
        if not total:
            self.stdout.write("No stuck or failed tasks.")
            return
        now = timezone.now()
        header = f"{'task':>8} {'process':>8}  {'status':<9} {'age':>8}  {'owner':<12} node"
        self.stdout.write(header)
        for task in queryset[:limit]:
            node = task.flow_task
            where = f"{node.flow_class._meta.flow_label}.{node.name}" if node else "?"
            owner = task.owner.get_username() if task.owner else "-"
            self.stdout.write(
                f"{task.pk:>8} {task.process_id:>8}  {task.status:<9} "
                f"{_age(now - task.created):>8}  {owner:<12} {where}"
            )
            if task.error:
                self.stdout.write(f"{'':>19}{_last_line(task.error)}")
        if total > limit:
            self.stdout.write(f"... and {total - limit} more (use --limit).")
        self.stdout.write(f"{total} task(s).")


def _age(delta):
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _last_line(error):
    """The exception line of a traceback: its last non-empty line."""
    lines = [line for line in error.strip().splitlines() if line.strip()]
    return lines[-1].strip()[:200] if lines else ""
