"""One table of task rules: for each operation on a task, the task statuses that allow it and who may.

Every place that asks "may this be done to this task now?" reads :data:`TASK_RULES`:
the activations (before they change anything), the site's operation pages
(their "not now" messages), the buttons of lists and task pages
(:meth:`viewflow.policy.FlowPolicy.task_actions`), the admin's actions (which
selected tasks they skip) and, later, the REST API and the timers.

A rule has two halves. The *state* half is data: the task statuses in which
the operation makes sense, whether the process must still be running, and a
node flag that must hold (``can_cancel``, ``can_undo``, ``has_queue``). The
*who* half names a method of the flow's policy
(:class:`~viewflow.policy.FlowPolicy`), the one place a project changes who
may do what; ``by=None`` (trusted code) skips it.
"""

from __future__ import annotations

from typing import NamedTuple

from .status import ACTIVE_TASK_STATUSES, RUNNING_PROCESS_STATUSES, TaskStatus

__all__ = ["TaskRule", "TASK_RULES", "state_allows", "node_allows", "statuses_for"]


class TaskRule(NamedTuple):
    """What one operation on a task requires."""

    #: the task statuses in which the operation is allowed
    statuses: tuple
    #: the policy method saying who may: ``policy.<who>(user, task)``
    who: str
    #: the past participle the messages use ("… cannot be assigned")
    past: str
    #: must the task's process still be running (NEW, STARTED or ERROR)?
    process_running: bool = False
    #: a node attribute that must be true for the operation to exist at all ("" for none)
    node_allows: str = ""
    #: check the state before who may: the loser of a claim race learns the task is taken, not that they may not
    state_first: bool = False


TASK_RULES = {
    "assign": TaskRule((TaskStatus.NEW,), "can_assign", "assigned", state_first=True),
    "unassign": TaskRule(
        (TaskStatus.ASSIGNED,), "can_unassign", "unassigned", node_allows="has_queue", state_first=True
    ),
    "reassign": TaskRule((TaskStatus.NEW, TaskStatus.ASSIGNED), "can_reassign", "reassigned"),
    "complete": TaskRule((TaskStatus.ASSIGNED, TaskStatus.STARTED), "can_complete", "completed"),
    "cancel": TaskRule(ACTIVE_TASK_STATUSES, "can_cancel", "canceled", node_allows="can_cancel"),
    "undo": TaskRule((TaskStatus.DONE,), "can_undo", "undone", process_running=True, node_allows="can_undo"),
    "retry": TaskRule((TaskStatus.ERROR,), "can_retry", "retried"),
    # timers (viewflow.flow.timer): fire a waiting timer now; move an active task's due time
    "fire": TaskRule((TaskStatus.SCHEDULED,), "can_fire", "fired", node_allows="fires_on_due"),
    "due": TaskRule(ACTIVE_TASK_STATUSES, "can_reschedule", "rescheduled"),
}


def statuses_for(action):
    """The task statuses in which ``action`` is allowed (for a queryset's ``status__in``)."""
    return TASK_RULES[action].statuses


def state_allows(action, task, process=None):
    """Does the state of ``task`` (and of ``process``, if known) allow ``action``? Neither who nor the node is asked.

    An action without a rule (``detail``) is always allowed. ``process`` None
    means unknown: the process-running half is not checked then.
    """
    rule = TASK_RULES.get(action)
    if rule is None:
        return True
    if task.status not in rule.statuses:
        return False
    return not (rule.process_running and process is not None and process.status not in RUNNING_PROCESS_STATUSES)


def node_allows(action, node):
    """Does ``node`` offer ``action`` at all (its flag, such as ``can_undo``, holds)?"""
    rule = TASK_RULES.get(action)
    return rule is None or not rule.node_allows or bool(getattr(node, rule.node_allows, False))
