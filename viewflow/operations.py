"""The operations on tasks and processes, for code outside the engine.

Views, admin actions, management commands, jobs, the REST API and users' own
code call these functions; each takes the flow's lock on the process, re-reads
the task under it, and runs the task's activation, so every caller gets the
same checks, conditional updates and signals. ``by`` is the user asking: their
permission is checked (``PermissionDenied``); ``by=None`` is trusted code.

A state that does not allow the operation raises
:class:`~viewflow.exceptions.FlowIllegalTransition`; a task changed by someone
else meanwhile raises :class:`~viewflow.exceptions.FlowConflict`.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .activation import activate, task_label
from .activation import cancel_process as _cancel_process
from .exceptions import FlowIllegalTransition

__all__ = [
    "start",
    "assign",
    "claim",
    "unassign",
    "reassign",
    "complete",
    "cancel",
    "undo",
    "retry",
    "resume",
    "fire_due",
    "fire_now",
    "set_due",
    "cancel_process",
]


def start(node, /, *args, by=None, **kwargs):
    """Start a process at the start node ``node``; returns the new process.

    A ``StartFunction`` runs its function with the arguments; any other start
    node takes the process's field values as keywords. With ``by=user`` the
    user must be allowed to start the flow there (a ``StartFunction`` is
    started by code only: no user may).
    """
    if by is not None and not (hasattr(node, "can_execute") and node.can_execute(by)):
        flow = node.flow_class._meta.title
        raise PermissionDenied(_("%(user)s may not start %(flow)s.") % {"user": by, "flow": flow})
    return node.run(*args, **kwargs)


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


def complete(task, by=None, save=None):
    """A person's task done by ``by`` (its owner): the flow runs on; returns the task as it is now.

    ``save(activation)``, if given, stores the person's data first (say, a
    validated form's ``save()`` on ``activation.process``): in the same step,
    under the lock, after the permission and the task's status were checked,
    so an error rolls the data back with everything else.
    """
    with activate(task) as activation:
        activation.check_done(by)
        if save is not None:
            save(activation)
        activation.done(by=by)
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


def resume(task, /, *args, by=None, **payload):
    """Resume a waiting task (Function, Signal, Job, ...) with ``payload``: the node's work runs, the flow goes on.

    Returns the task as it is now, or None when it no longer waited and its
    node ignores late arrivals (a Function raises
    :class:`~viewflow.exceptions.FlowConflict` instead). See
    :class:`viewflow.flow.base.WaitingTask`.

    With ``by=user`` a person resumes it by hand (an admin action, say, in
    place of the event the task waits for): only the flow's managers may.
    The event itself (a signal, a job's message, code) is trusted: ``by=None``.
    """
    node = task.flow_task
    if not hasattr(node, "resume"):
        raise FlowIllegalTransition(
            _("%(task)s cannot be resumed: it does not wait to be resumed.") % {"task": task_label(task)}
        )
    if by is not None and not node.flow_class.can_manage(by):
        raise PermissionDenied(_("%(user)s may not resume %(task)s.") % {"user": by, "task": task_label(task)})
    activation = node.resume(task, *args, **payload)
    return activation.task if activation is not None else None


def fire_due(now=None, *, batch=None, max_batches=None, flows=None):
    """Fire every timer due at ``now`` (default: the present) and start the scheduled processes; return what fired.

    The one function behind ``manage.py run_timers``, the Celery beat entry and
    ``viewflow.testing``'s "move time forward": a list of
    :class:`viewflow.scheduler.Fired`. Safe to call from several processes at
    once; see :mod:`viewflow.scheduler`.
    """
    from .scheduler import DEFAULT_BATCH
    from .scheduler import fire_due as _fire_due

    return _fire_due(now, batch=batch or DEFAULT_BATCH, max_batches=max_batches, flows=flows)


def fire_now(task, by=None):
    """Fire a waiting timer (a Timer's or a deadline's task) now, before its due time (a manager's operation)."""
    with activate(task) as activation:
        if not hasattr(activation, "fire"):
            raise FlowIllegalTransition(_("%(task)s cannot be fired: it is not a timer.") % {"task": task_label(task)})
        activation.fire(by=by)
    return activation.task


def set_due(task, due, by=None):
    """Move an active task's due time to ``due`` (an aware datetime); a timer then fires at that time."""
    with activate(task) as activation:
        activation.set_due(due, by=by)
    return activation.task


def cancel_process(process, by=None):
    """Cancel a running process and every task still active in it."""
    return _cancel_process(process, by=by)
