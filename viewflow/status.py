"""The statuses a process and a task move through."""

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = [
    "ProcessStatus",
    "TaskStatus",
    "RUNNING_PROCESS_STATUSES",
    "ACTIVE_TASK_STATUSES",
    "FINISHED_TASK_STATUSES",
]


class ProcessStatus(models.TextChoices):
    NEW = "NEW", _("New")
    STARTED = "STARTED", _("Started")
    DONE = "DONE", _("Done")
    ERROR = "ERROR", _("Error")
    CANCELED = "CANCELED", _("Canceled")


class TaskStatus(models.TextChoices):
    NEW = "NEW", _("New")
    ASSIGNED = "ASSIGNED", _("Assigned")
    STARTED = "STARTED", _("Started")
    SCHEDULED = "SCHEDULED", _("Scheduled")
    DONE = "DONE", _("Done")
    ERROR = "ERROR", _("Error")
    CANCELED = "CANCELED", _("Canceled")


#: A process in one of these runs: its tasks can still move (it is not DONE or CANCELED).
RUNNING_PROCESS_STATUSES = (ProcessStatus.NEW, ProcessStatus.STARTED, ProcessStatus.ERROR)

#: A task in one of these still holds its branch open (a Join waits for it).
ACTIVE_TASK_STATUSES = (
    TaskStatus.NEW,
    TaskStatus.ASSIGNED,
    TaskStatus.STARTED,
    TaskStatus.SCHEDULED,
    TaskStatus.ERROR,
)
FINISHED_TASK_STATUSES = (TaskStatus.DONE, TaskStatus.CANCELED)
