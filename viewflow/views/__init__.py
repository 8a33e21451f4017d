"""Views for the people in a process: ready-made ones, and mixins for your own."""

from .mixins import StartViewMixin, TaskViewMixin
from .start import StartProcessView, StartView
from .task import ProcessView

__all__ = ["StartView", "StartProcessView", "ProcessView", "StartViewMixin", "TaskViewMixin"]
