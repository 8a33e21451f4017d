"""Signals sent once a step that changed a process or a task has committed.

Every signal's sender is the flow class; receivers get ``process`` and, for
task signals, ``task`` (``task_failed`` also gets ``exception``).
"""

from django.dispatch import Signal

__all__ = ["flow_started", "flow_finished", "task_started", "task_finished", "task_failed"]

flow_started = Signal()
flow_finished = Signal()
task_started = Signal()
task_finished = Signal()
task_failed = Signal()
