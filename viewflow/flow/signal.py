"""Signal: a task that waits for a Django signal about its process."""

from __future__ import annotations

from .func import Function

__all__ = ["Signal", "SignalReceiver"]


class SignalReceiver:
    """A node that listens to ``self.signal`` (from ``self.sender``) once its flow class is created."""

    def __set_name__(self, owner, name):
        super().__set_name__(owner, name)
        self.signal.connect(
            self.on_signal, sender=self.sender, weak=False, dispatch_uid=f"viewflow-{owner.__qualname__}-{name}"
        )


class Signal(SignalReceiver, Function):
    """Wait until ``signal`` arrives; ``receiver(activation, **signal_kwargs)`` runs and the flow goes on.

    The receiver's task loader (``@flow_signal(task_loader)``) picks the waiting
    task from the signal's kwargs; a signal for no waiting task (none found, or
    one already done or canceled) is ignored, so the sender never sees an error
    from a process that has moved on.
    """

    task_type = "SIGNAL"

    def __init__(self, signal, receiver, sender=None, task_loader=None):
        super().__init__(receiver, task_loader)
        self.signal = signal
        self.sender = sender

    def on_signal(self, sender, **kwargs):
        kwargs.pop("signal", None)
        if self.task_loader is None:
            raise TypeError(f"Signal node {self.name} needs a task loader: use @flow_signal(task_loader)")
        task = self.task_loader(self, sender=sender, **kwargs)
        if task is None:
            return None
        return self.resume(task, sender=sender, **kwargs)

    def moved_on(self, task, /, *args, **kwargs):
        """The task was finished or canceled while the signal waited for the lock: ignore the signal."""
        return None
