"""Views for the people in a process: ready-made ones, mixins and decorators for your own."""

from .decorators import flow_start_view, flow_view, get_next_task_url
from .mixins import StartViewMixin, TaskViewMixin
from .start import StartProcessView, StartView
from .task import ProcessView

__all__ = [
    "StartView",
    "StartProcessView",
    "ProcessView",
    "StartViewMixin",
    "TaskViewMixin",
    "flow_start_view",
    "flow_view",
    "get_next_task_url",
]
