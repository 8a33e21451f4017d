"""Start nodes: a person through a view, code through a call, or a Django signal."""

from __future__ import annotations

from contextlib import contextmanager

from django.contrib.auth import get_user_model

from ..activation import StartActivation, Step, start_step
from .base import Event, PermissionMixin
from .signal import SignalReceiver
from .view import ViewMixin

__all__ = ["BaseStart", "Start", "StartFunction", "StartSignal"]


class BaseStart(Event):
    """Base of the start nodes: :meth:`start` opens the step that creates a process."""

    task_type = "START"
    activation_class = StartActivation

    def new_activation(self, process=None):
        """An activation for showing a start form: no transaction, nothing written."""
        step = Step(self.flow_class, process if process is not None else self.flow_class.process_cls())
        return self.activation_class(step, step.new_task(self, "start"))

    @contextmanager
    def start(self, process=None):
        """Yield a :class:`StartActivation`; call its ``done()`` to create the process."""
        process = process if process is not None else self.flow_class.process_cls()
        with start_step(self.flow_class, process) as step:
            task = step.new_task(self, "start")
            yield self.activation_class(step, task)

    def run(self, *args, **kwargs):
        """Start a process from code: :meth:`on_start` fills it, then it is created and the flow runs on.

        Returns the process; an exception leaves nothing written.
        """
        return self.run_with(None, *args, **kwargs)

    def run_with(self, process, *args, **kwargs):
        """:meth:`run` with the new process given (unsaved): a Subprocess node sets its ``parent_task``."""
        with self.start(process) as activation:
            self.on_start(activation, *args, **kwargs)
            return activation.done()

    def on_start(self, activation, *args, **fields):
        """Set the new process's ``fields`` (names of the process model's fields)."""
        if args:
            raise TypeError(f"{self.name}.run() takes the process's fields as keywords only")
        process = activation.process
        known = {field.name for field in process._meta.concrete_fields} | {
            field.attname for field in process._meta.concrete_fields
        }
        unknown = sorted(set(fields) - known)
        if unknown:
            raise TypeError(f"{self.name}.run(): {type(process).__name__} has no field {', '.join(unknown)}")
        for name, value in fields.items():
            setattr(process, name, value)


class Start(ViewMixin, PermissionMixin, BaseStart):
    """A person starts a process through a view (``StartView`` or a view using ``StartViewMixin``)."""

    def __init__(self, view=None, **view_kwargs):
        super().__init__(view, **view_kwargs)
        self._available = None

    def Available(self, rule=None, **lookup):
        """Who may start: ``callable(user) -> bool`` or a user lookup such as ``{"is_staff": True}``.

        The lookup may also be given as keywords: ``.Available(is_staff=True)``.

        With ``.Permission(...)`` too, a user needs both. With neither, any
        logged-in user may start the process.
        """
        if rule is not None and lookup:
            raise TypeError("Available() takes a callable or a lookup, not both.")
        self._available = rule if rule is not None else (lookup or None)
        return self

    def available_to(self, user):
        """Does the node's ``.Available(...)`` rule let ``user`` start (True without one)?"""
        if self._available is None:
            return True
        if callable(self._available):
            return bool(self._available(user))
        return get_user_model()._default_manager.filter(pk=user.pk, **self._available).exists()

    def can_execute(self, user):
        """May ``user`` start here? The flow's policy answers (:meth:`FlowPolicy.can_start`)."""
        return self.policy.can_start(user, self)

    def has_any_permission(self, user):
        return self.can_execute(user)


class StartFunction(BaseStart):
    """Start a process from code: ``MyFlow.start.run(*args, **kwargs)`` returns the process."""

    def __init__(self, func=None):
        super().__init__()
        self.func = func

    def resolve_edges(self, flow_class):
        super().resolve_edges(flow_class)
        if self.func is not None and not callable(self.func):
            self.func = self._resolve_ref(self.func, flow_class)

    def on_start(self, activation, *args, **kwargs):
        """``func(activation, *args, **kwargs)`` fills the process; without a function, ``kwargs`` are its fields."""
        if self.func is not None:
            self.func(activation, *args, **kwargs)
        else:
            super().on_start(activation, *args, **kwargs)


class StartSignal(SignalReceiver, BaseStart):
    """Start a process when a Django signal is sent; ``receiver(activation, **signal_kwargs)``."""

    def __init__(self, signal, receiver, sender=None):
        super().__init__()
        self.signal = signal
        self.receiver = receiver
        self.sender = sender

    def on_signal(self, sender, **kwargs):
        kwargs.pop("signal", None)
        with self.start() as activation:
            self.receiver(activation, sender=sender, **kwargs)
            return activation.done()
