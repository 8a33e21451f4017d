"""Decorators that mark plain functions as flow callbacks."""

from __future__ import annotations

__all__ = ["flow_func", "flow_signal", "flow_start_func", "flow_start_signal"]


def _with_loader(task_loader):
    def decorator(func):
        func.task_loader = task_loader
        return func

    return decorator


def flow_func(task_loader):
    """``@flow_func(loader)``: ``loader(flow_task, *args, **kwargs)`` finds the waiting task."""
    return _with_loader(task_loader)


def flow_signal(task_loader):
    """``@flow_signal(loader)``: ``loader(flow_task, sender=..., **signal_kwargs)`` finds the task."""
    return _with_loader(task_loader)


def _marker(func=None):
    if func is None:
        return _marker
    return func


#: Mark ``func(activation, *args, **kwargs)`` as the body of a ``StartFunction``.
flow_start_func = _marker
#: Mark ``receiver(activation, **signal_kwargs)`` as the body of a ``StartSignal``.
flow_start_signal = _marker
