"""Nodes run by code: Handler (at once, in the step) and Function (when code calls it)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..activation import task_label
from ..exceptions import FlowConflict, FlowRuntimeError
from .base import Gateway, WaitingTask

__all__ = ["Handler", "Function"]


class Handler(Gateway):
    """``func(activation)`` runs synchronously inside the step (``Handler(this.method)`` too).

    The step inserts its new tasks in one statement when it ends: while ``func``
    runs, ``activation.task`` is not a row yet (its fields set here are saved with it).
    """

    task_type = "HANDLER"
    shape = "task"

    def __init__(self, func):
        super().__init__()
        self.func = func

    def resolve_edges(self, flow_class):
        super().resolve_edges(flow_class)
        if not callable(self.func):
            self.func = self._resolve_ref(self.func, flow_class)

    def execute(self, activation):
        self.func(activation)


class Function(WaitingTask):
    """A task that waits until code calls ``MyFlow.node.run(...)``.

    The task loader finds the waiting task from the call's arguments (set it with
    ``@flow_func(task_loader)``); without one, the first argument is the task.
    Then ``func(activation, *args, **kwargs)`` runs under the lock and the flow goes on
    (:meth:`WaitingTask.resume`).
    """

    task_type = "FUNCTION"

    def __init__(self, func=None, task_loader=None):
        super().__init__()
        self.func = func
        self.task_loader = task_loader or getattr(func, "task_loader", None)

    def resolve_edges(self, flow_class):
        super().resolve_edges(flow_class)
        if self.func is not None and not callable(self.func):
            self.func = self._resolve_ref(self.func, flow_class)
            self.task_loader = self.task_loader or getattr(self.func, "task_loader", None)

    def load_task(self, *args, **kwargs):
        if self.task_loader is not None:
            return self.task_loader(self, *args, **kwargs), args, kwargs
        if not args:
            raise TypeError(f"{self.name}.run() needs the task as first argument, or a task_loader")
        return args[0], args[1:], kwargs

    def run(self, *args, **kwargs):
        """Do the waiting task found from the arguments; returns the activation."""
        task, args, kwargs = self.load_task(*args, **kwargs)
        return self.complete(task, *args, **kwargs)

    def complete(self, task, *args, **kwargs):
        """Run ``func`` for ``task`` under the lock and send the flow on.

        If ``func`` raises, the whole step is rolled back and the exception
        reaches the caller: the task still waits and the call can be repeated.
        A task no longer waiting raises :class:`~viewflow.exceptions.FlowConflict`.
        """
        if task is None:
            raise FlowRuntimeError(_("%(node)s.run(): no waiting task was found.") % {"node": self.name})
        if task.flow_task is not self:
            raise FlowRuntimeError(
                _("%(node)s.run() got a task of %(other)s.") % {"node": self.name, "other": task.flow_task}
            )
        return self.resume(task, *args, **kwargs)

    def on_resume(self, activation, /, *args, **kwargs):
        if self.func is not None:
            self.func(activation, *args, **kwargs)

    def moved_on(self, task, /, *args, **kwargs):
        """The caller named this task, which is no longer waiting: a conflict, naming its status."""
        if task is None:
            raise FlowConflict(_("%(node)s: the task no longer exists.") % {"node": self.name})
        raise FlowConflict(
            _("%(task)s is no longer waiting: its status is %(status)s.")
            % {"task": task_label(task), "status": task.get_status_display()}
        )
