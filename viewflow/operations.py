"""The operations on tasks and processes, for code outside the engine.

Views, admin actions, management commands, the REST API and users' own code
call these functions; each takes the flow's lock on the process, re-reads the
task under it, and runs the task's activation, so every caller gets the same
checks, conditional updates and signals. ``by`` is the user asking: their
permission is checked (``PermissionDenied``); ``by=None`` is trusted code.

A state that does not allow the operation raises
:class:`~viewflow.exceptions.FlowIllegalTransition`; a task changed by someone
else meanwhile raises :class:`~viewflow.exceptions.FlowConflict`.
"""

from __future__ import annotations

from .activation import activate
from .activation import cancel_process as _cancel_process

__all__ = ["assign", "claim", "unassign", "reassign", "cancel", "undo", "retry", "cancel_process"]


def assign(task, user, by=None):
    """Give a NEW human task to ``user``; returns the task as it is now."""
    with activate(task) as activation:
        activation.assign(user, by=by)
    return activation.task


def claim(task, user):
    """``user`` takes a NEW task from their queue for themselves."""
    return assign(task, user, by=user)


def unassign(task, by=None):
    """Put an ASSIGNED task back in its queue."""
    with activate(task) as activation:
        activation.unassign(by=by)
    return activation.task


def reassign(task, user, by=None):
    """Give a NEW or ASSIGNED task to ``user`` (a manager's operation)."""
    with activate(task) as activation:
        activation.reassign(user, by=by)
    return activation.task


def cancel(task, by=None):
    """Cancel an active task (a manager's operation); a Join it held open may fire."""
    with activate(task) as activation:
        activation.cancel(by=by)
    return activation.task


def undo(task, by=None):
    """Reopen a DONE task whose successors have not run yet."""
    with activate(task) as activation:
        activation.undo(by=by)
    return activation.task


def retry(task, by=None):
    """Run a task in ERROR again."""
    with activate(task) as activation:
        activation.retry(by=by)
    return activation.task


def cancel_process(process, by=None):
    """Cancel a running process and every task still active in it."""
    return _cancel_process(process, by=by)
