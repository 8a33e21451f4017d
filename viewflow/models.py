"""The rows behind every process and task.

A project subclasses :class:`Process` (multi-table inheritance) to hold its own
process data; tasks always live in :class:`Task`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .exceptions import FlowRuntimeError
from .fields import FlowReferenceField, TaskReferenceField
from .statements import update_own_row
from .status import ACTIVE_TASK_STATUSES, RUNNING_PROCESS_STATUSES, ProcessStatus, TaskStatus

__all__ = ["Process", "Task", "Schedule", "ProcessStatus", "TaskStatus"]


class Process(models.Model):
    """One run of a flow."""

    flow_class = FlowReferenceField(_("flow"))
    status = models.CharField(
        _("status"), max_length=20, choices=ProcessStatus.choices, default=ProcessStatus.NEW
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    finished = models.DateTimeField(_("finished"), blank=True, null=True)
    # the Subprocess/NSubprocess task that started this process, which waits for it to end;
    # set once, when the process is created (see viewflow.lineage). Indexed: a parent's page
    # lists its children, a canceled task cancels its own, lists show top-level processes only.
    parent_task = models.ForeignKey(
        "viewflow.Task",
        on_delete=models.CASCADE,
        blank=True,
        null=True,
        related_name="subprocesses",
        verbose_name=_("parent task"),
    )

    class Meta:
        verbose_name = _("process")
        verbose_name_plural = _("processes")
        ordering = ["-created"]
        indexes = [models.Index(fields=["flow_class", "status", "created"], name="vf_process_flow_status")]

    def __str__(self):
        title = self.flow_class._meta.title if self.flow_class else _("Unknown flow")
        return f"{title} #{self.pk}"

    #: the columns only the engine writes, with updates conditional on the status it read
    ENGINE_FIELDS = ("flow_class", "status", "created", "finished", "parent_task")

    def save(self, *args, **kwargs):
        """Save the process; on a row that exists, leave the engine's own columns alone.

        The status and the timestamps change only through the engine's
        conditional updates (DESIGN §4): a process saved by user code from
        stale memory must not put an old status back. So ``save()`` of an
        existing process writes the project's fields only (for a subclass, its
        own table's). Name engine columns in ``update_fields`` to write them anyway.
        """
        if not self._state.adding and not kwargs.get("force_insert"):
            if kwargs.get("update_fields") is None:
                kwargs["update_fields"] = [
                    field.name
                    for field in self._meta.concrete_fields
                    if not field.primary_key and field.name not in self.ENGINE_FIELDS
                ]
            if not args and set(kwargs) <= {"using", "update_fields"}:
                if update_own_row(self, kwargs.get("using"), list(kwargs["update_fields"])):
                    return  # one UPDATE written without the ORM's compiling (see viewflow.statements)
        super().save(*args, **kwargs)

    @property
    def is_active(self) -> bool:
        return self.status in RUNNING_PROCESS_STATUSES

    def active_tasks(self):
        return self.task_set.filter(status__in=ACTIVE_TASK_STATUSES)

    def cancel(self, by=None):
        """Cancel this process and every task still active in it (takes the flow's lock).

        Kept for 0.1's callers: the engine does it (``viewflow.operations.cancel_process``),
        reached through the flow class so that the models import nothing of the engine.
        """
        if self.flow_class is None:
            raise FlowRuntimeError(_("Process #%(pk)s names no known flow.") % {"pk": self.pk})
        return self.flow_class._meta.cancel_process(self, by=by)


class Task(models.Model):
    """One step of a process: a node of the flow reached by one token."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, db_index=False, verbose_name=_("process"))
    flow_task = TaskReferenceField(_("node"))
    flow_task_type = models.CharField(_("type"), max_length=50)
    status = models.CharField(
        _("status"), max_length=20, choices=TaskStatus.choices, default=TaskStatus.NEW
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    started = models.DateTimeField(_("started"), blank=True, null=True)
    finished = models.DateTimeField(_("finished"), blank=True, null=True)
    previous = models.ManyToManyField(
        "self",
        through="TaskLink",
        through_fields=("from_task", "to_task"),
        symmetrical=False,
        related_name="leading",
        blank=True,
        verbose_name=_("previous"),
    )
    token = models.CharField(_("token"), max_length=150, default="start")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        blank=True,
        null=True,
        db_index=False,
        related_name="+",
        verbose_name=_("owner"),
    )
    owner_permission = models.CharField(_("permission"), max_length=255, blank=True, default="")
    external_task_id = models.CharField(_("external id"), max_length=255, blank=True, default="")
    #: when the task is due: a timer or a deadline fires then (SCHEDULED); a person's task shows it
    due = models.DateTimeField(_("due"), blank=True, null=True)
    data = models.JSONField(_("data"), blank=True, default=dict)
    comments = models.TextField(_("comments"), blank=True, default="")
    error = models.TextField(_("error"), blank=True, default="")

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["-created"]
        # Every index costs each INSERT and UPDATE of a task: none repeats another's leading columns
        # (the foreign keys' own indexes are left out for that reason).
        indexes = [
            # the archive page: a user's done tasks, last finished first, read in index order;
            # also a user's tasks by status, and the owner foreign key (a lookup by owner implies
            # the condition, so the tasks nobody owns, most automated ones, are left out of it)
            models.Index(
                fields=["owner", "status", "-finished"],
                condition=models.Q(owner__isnull=False),
                name="vf_task_archive",
            ),
            # the inbox page: a user's open tasks, newest first, read in index order
            models.Index(
                fields=["owner", "-created"],
                condition=models.Q(status__in=["ASSIGNED", "STARTED"]),
                name="vf_task_inbox",
            ),
            # a permission's queue of unclaimed tasks: only NEW ones, so a task is written to it
            # when it enters the queue and when it leaves, not at every later change
            models.Index(
                fields=["owner_permission", "created"], condition=models.Q(status="NEW"), name="vf_task_queue"
            ),
            # a process's tasks, a Join looking for its branches, and the process foreign key
            models.Index(fields=["process", "flow_task", "status"], name="vf_task_process_node"),
            # a node's active tasks
            models.Index(fields=["flow_task", "status"], name="vf_task_node_status"),
            # tasks in ERROR, SCHEDULED, ... across flows (list_tasks, the admin's status filter); declared
            # here rather than with db_index, which on PostgreSQL adds a second, LIKE-only copy
            models.Index(fields=["status"], name="vf_task_status"),
            # the scheduler's question, "which timers are due now?", oldest due first: only waiting timers
            # (SCHEDULED with a due time; jobs have none) are in it, so a task enters it when its timer is
            # armed and leaves it when it fires. Both databases use it for ``status = 'SCHEDULED' AND due
            # IS NOT NULL AND due <= %s ORDER BY due``: PostgreSQL proves the condition, SQLite finds its
            # terms. ``status`` leads (one value) so that SQLite, which has no statistics, prefers it to
            # vf_task_status: it matches one more term of the query and needs no sort.
            models.Index(
                fields=["status", "due"],
                condition=models.Q(status="SCHEDULED", due__isnull=False),
                name="vf_task_due",
            ),
        ]

    def __str__(self):
        node = self.flow_task
        return f"{node.task_title if node else _('Unknown task')} #{self.pk} ({self.get_status_display()})"

    @property
    def flow_class(self):
        return self.flow_task.flow_class if self.flow_task else None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_TASK_STATUSES

    def activation(self):
        """Return a context manager that locks the process and yields this task's activation.

        ``with task.activation() as act: act.assign(user)``. Kept for 0.1's callers: the
        engine does it (``viewflow.activation.activate``), reached through the flow class.
        """
        if self.flow_task is None:
            raise FlowRuntimeError(_("Task #%(pk)s names no known node.") % {"pk": self.pk})
        return self.flow_task.flow_class._meta.activate(self)


class TaskLink(models.Model):
    """``from_task`` was made by the step that finished ``to_task``: one row of ``Task.previous``.

    Declared rather than left to Django so that ``from_task`` has no index of its
    own: the unique (from_task, to_task) index already leads with it, and every
    link written would pay for the copy.
    """

    from_task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="+", db_index=False)
    to_task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="+")

    class Meta:
        db_table = "viewflow_task_previous"
        unique_together = [("from_task", "to_task")]
        verbose_name = _("task link")
        verbose_name_plural = _("task links")

    def __str__(self):
        return f"#{self.to_task_id} → #{self.from_task_id}"


class Schedule(models.Model):
    """The next slot of a ``flow.StartTimer``: when it starts its next process.

    One row per StartTimer node, created by the scheduler when it first sees the
    node. A scheduler claims a slot by moving ``due`` on with an UPDATE that
    carries the ``due`` it read: two schedulers, or a beat that ticks twice,
    cannot both start the same slot.
    """

    flow_task = TaskReferenceField(_("node"), unique=True)
    due = models.DateTimeField(_("due"), db_index=True)
    last_due = models.DateTimeField(_("last slot"), blank=True, null=True)
    last_process = models.ForeignKey(
        Process, on_delete=models.SET_NULL, blank=True, null=True, related_name="+", verbose_name=_("last process")
    )

    class Meta:
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")
        ordering = ["due"]

    def __str__(self):
        node = self.flow_task
        return f"{node.flow_class._meta.title if node else _('Unknown flow')}: {self.due:%Y-%m-%d %H:%M %Z}"
