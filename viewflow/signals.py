"""Signals sent once a step that changed a process or a task has committed.

Every signal's sender is the flow class; receivers get ``process`` and, for
task signals, ``task`` (``task_failed`` also gets ``exception``). Each is sent
once per event, in the order the events happened in the step, and never for
a step that rolled back:

* ``flow_started``: a process was created (also gets its start ``task``);
* ``flow_finished``: a process ended, DONE at an End or CANCELED;
* ``task_started``: a task was created, whatever its node (a person claiming
  or being given a task later is not a new start);
* ``task_finished``: a task is DONE;
* ``task_failed``: a task went to ERROR (again at each failed retry).
"""

from django.dispatch import Signal

__all__ = ["flow_started", "flow_finished", "task_started", "task_finished", "task_failed"]

flow_started = Signal()
flow_finished = Signal()
task_started = Signal()
task_finished = Signal()
task_failed = Signal()
