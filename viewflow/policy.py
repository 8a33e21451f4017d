"""Who may do what in a flow, and what a user sees: the flow's policy (``Flow.policy_class``).

A project changes its rules in one place: a subclass of :class:`FlowPolicy`
named by the flow::

    class ExpensePolicy(FlowPolicy):
        def can_cancel(self, user, task):
            return user.is_superuser  # only superusers cancel expense tasks

    class ExpenseFlow(Flow):
        policy_class = ExpensePolicy

The engine asks it before every operation done for a user (``by=user``), the
site before every page and button, the admin before every action; the state
half of each operation (which task statuses allow it) is the table in
:mod:`viewflow.rules`. Every method receives the user asking (possibly
anonymous); answers are plain booleans.
"""

from __future__ import annotations

import inspect

from django.db.models import Q

from .permissions import all_permissions, has_perm, load_permissions
from .rules import TASK_RULES, node_allows, state_allows
from .status import TaskStatus

__all__ = ["FlowPolicy", "restrict_tasks", "VISIBLE_TO_FLOW", "VISIBLE_TO_PARTICIPANTS"]

#: :attr:`FlowPolicy.visibility`: everyone who may see the flow sees every process of it (the default)
VISIBLE_TO_FLOW = "flow"
#: :attr:`FlowPolicy.visibility`: a user sees the processes they take part in (:meth:`FlowPolicy.participant_filter`)
VISIBLE_TO_PARTICIPANTS = "participants"


class FlowPolicy:
    """The default policy: Django permissions, as the documentation's permissions page describes.

    **The flow.** :meth:`can_view` — who sees the flow's pages (superusers, its
    managers, holders of ``viewflow.view_process`` or of the process model's
    ``view_`` permission, and anyone holding a permission of one of its nodes);
    :meth:`can_manage` — who manages every task of it (superusers and holders of
    ``viewflow.change_task``); :meth:`can_start` — who may start it at a start
    node (the node's ``.Permission`` and ``.Available``).

    **A task.** One method per operation of :data:`viewflow.rules.TASK_RULES`,
    each ``(user, task)``: :meth:`can_assign` (a user claiming a task the node
    permits them, or a manager giving it to anyone), :meth:`can_unassign`
    (its owner or a manager), :meth:`can_complete` (its owner),
    :meth:`can_reassign`, :meth:`can_cancel`, :meth:`can_undo`,
    :meth:`can_retry`, and for timers :meth:`can_fire` and
    :meth:`can_reschedule` (managers); :meth:`can_view_task` (its owner, a manager,
    or anyone who sees the flow); :meth:`can_see_error` (a failed task's
    traceback: managers). The task's state is not their business: the
    rules check it before or after them. :meth:`task_actions` puts it all
    together for the pages' buttons.

    **What a user sees.** :attr:`visibility` says which of the flow's
    processes a user who may see the flow sees: ``"flow"`` (the default) all
    of them; ``"participants"`` those they take part in (see
    :meth:`participant_filter`); or a callable ``(user) -> Q`` of the process
    model. Managers see every process. :meth:`process_filter` and
    :meth:`task_filter` turn it into a ``Q`` narrowing the processes and tasks
    ``user`` sees, or None (everything); override them for a rule of your own.
    The process list, process and task pages, the chart, the inbox, queue and
    archive (and the REST API) apply them through one queryset filter
    (:meth:`processes`, :meth:`tasks`, :func:`restrict_tasks`).

    A flow that still overrides ``Flow.can_manage`` or
    ``Flow.has_view_permission`` (the 0.1 way) keeps its rule: the policy asks
    the flow class for both.
    """

    def __init__(self, flow_class):
        self.flow_class = flow_class

    def __repr__(self):
        return f"<{type(self).__name__} of {self.flow_class.__qualname__}>"

    # -- the flow ------------------------------------------------------------

    def can_view(self, user):
        """May ``user`` see this flow's processes? Its managers and anyone with any permission in it may."""
        if not user.is_authenticated:
            return False
        flow_class = self.flow_class
        if user.is_superuser or has_perm(user, "viewflow.view_process") or flow_class.can_manage(user):
            return True  # a manager's operations (retry, cancel...) land on the process pages
        model = flow_class.process_cls._meta
        if has_perm(user, f"{model.app_label}.view_{model.model_name}"):
            return True
        return any(node.has_any_permission(user) for node in flow_class._meta.nodes.values())

    def can_manage(self, user):
        """May ``user`` assign, reassign, cancel, undo and retry any task of this flow, and cancel its processes?"""
        return user.is_authenticated and (user.is_superuser or has_perm(user, "viewflow.change_task"))

    def can_start(self, user, node):
        """May ``user`` start a process at the start node ``node`` (its ``.Permission`` and ``.Available``)?

        A node without them (``StartFunction``, ``StartSignal``) is started by code only: nobody may.
        """
        if not user.is_authenticated or not hasattr(node, "available_to"):
            return False
        if node.owner_permission and not node.has_perm(user):
            return False
        return node.available_to(user)

    def can_cancel_process(self, user, process):
        """May ``user`` cancel ``process`` (and every active task in it)?"""
        return self.flow_class.can_manage(user)

    # -- a task --------------------------------------------------------------

    def can_view_task(self, user, task):
        return user.is_authenticated and (
            task.owner_id == user.pk or self.flow_class.can_manage(user) or self.flow_class.has_view_permission(user)
        )

    def can_see_error(self, user, task):
        """May ``user`` read ``task.error``, the traceback of its failure? Its managers may.

        A traceback can carry what the failing code held (a password in a URL,
        a customer's data); the managers are who retry or cancel the task.
        Everyone else who sees the task learns that it failed, not why.
        """
        return self.flow_class.can_manage(user)

    def can_claim(self, user, task):
        """Is ``task`` waiting for someone like ``user`` (unowned, and they hold the node's permission)?"""
        node = task.flow_task
        return (
            user.is_authenticated
            and task.status == TaskStatus.NEW
            and task.owner_id is None
            and hasattr(node, "has_perm")
            and node.has_perm(user, task.process)
        )

    def can_assign(self, user, task, to=None):
        """May ``user`` give ``task`` to ``to`` (themselves when None): a claim, or a manager's choice."""
        return ((to is None or to == user) and self.can_claim(user, task)) or self.flow_class.can_manage(user)

    def can_unassign(self, user, task):
        return user.is_authenticated and (task.owner_id == user.pk or self.flow_class.can_manage(user))

    def can_reassign(self, user, task):
        return self.flow_class.can_manage(user)

    def can_complete(self, user, task):
        return user.is_authenticated and task.owner_id == user.pk

    def can_cancel(self, user, task):
        return self.flow_class.can_manage(user)

    def can_undo(self, user, task):
        return self.flow_class.can_manage(user)

    def can_retry(self, user, task):
        return self.flow_class.can_manage(user)

    def can_fire(self, user, task):
        """May ``user`` fire a waiting timer now (managers)?"""
        return self.flow_class.can_manage(user)

    def can_reschedule(self, user, task):
        """May ``user`` move a task's due time (managers)?"""
        return self.flow_class.can_manage(user)

    def may(self, action, user, task, **kwargs):
        """The policy's answer for ``action`` of :data:`~viewflow.rules.TASK_RULES` (who only, not the state)."""
        return bool(getattr(self, TASK_RULES[action].who)(user, task, **kwargs))

    def task_actions(self, user, task):
        """What ``user`` may do with ``task`` now: a set of action names for views and templates.

        ``detail`` (see it), ``execute`` (open its form: the ``complete`` rule),
        and the operations the node offers (``node.task_actions``) whose rule
        the task's state passes and the policy grants: ``assign``,
        ``unassign``, ``reassign``, ``cancel``, ``retry``, ``undo``.
        """
        node = task.flow_task
        if node is None or task.pk is None or not user.is_authenticated:  # unsaved: a start page's task
            return set()
        load_permissions(user)
        process = task.process if task._meta.get_field("process").is_cached(task) else None
        allowed = set()
        if self.can_view_task(user, task):
            allowed.add("detail")
        if (
            node.task_type != "START"
            and hasattr(node, "view")
            and hasattr(node, "can_execute")
            and state_allows("complete", task, process)
            and self.may("complete", user, task)
        ):
            allowed.add("execute")
        for action in node.task_actions:
            if (
                action in TASK_RULES
                and state_allows(action, task, process)
                and node_allows(action, node)
                and self.may(action, user, task)
            ):
                allowed.add(action)
        return allowed

    # -- what a user sees ----------------------------------------------------

    #: which processes of the flow a user who may see it sees: "flow" (all), "participants", or a callable(user) -> Q
    visibility = VISIBLE_TO_FLOW

    def visibility_rule(self):
        """:attr:`visibility` as declared: a plain function given as the attribute is not bound to the policy."""
        rule = inspect.getattr_static(self, "visibility")
        return rule.__func__ if isinstance(rule, (staticmethod, classmethod)) else rule

    def process_filter(self, user):
        """A ``Q`` of the flow's processes ``user`` sees, or None: all of them (when they may see the flow).

        Built from :attr:`visibility`; the flow's managers see every process.
        """
        rule = self.visibility_rule()
        if rule == VISIBLE_TO_FLOW:
            return None
        if not user.is_authenticated:
            return Q(pk__in=[])
        if self.flow_class.can_manage(user):
            return None
        if rule == VISIBLE_TO_PARTICIPANTS:
            return self.participant_filter(user)
        return rule(user)

    def task_filter(self, user):
        """A ``Q`` of the flow's tasks ``user`` sees, or None: all of them.

        The tasks of the processes :meth:`process_filter` lets them see.
        """
        if self.visibility_rule() == VISIBLE_TO_PARTICIPANTS:
            return None if self.flow_class.can_manage(user) else self.participant_filter(user, key="process_id")
        condition = self.process_filter(user)
        if condition is None:
            return None
        return Q(process_id__in=self.flow_class.process_cls._base_manager.filter(condition).values("pk"))

    def participant_filter(self, user, key="pk"):
        """A ``Q`` of the processes ``user`` takes part in: on ``key``, a process's key (or a task's ``process_id``).

        A user takes part in a process when they own one of its tasks (the
        starter owns its start task; whoever claimed, was assigned or did a
        task owns it) or may claim one of its waiting tasks (without these, a
        process could never reach a new person). Two subqueries of the task
        table, each read through an index: the owned-tasks index by owner, the
        queue index by permission.
        """
        tasks = self.flow_class.task_cls._base_manager
        owned = tasks.filter(owner=user).values("process_id")
        permissions = {getattr(node, "owner_permission", "") for node in self.flow_class._meta.nodes.values()}
        claimable = sorted(all_permissions(user) & (permissions - {""}))
        waiting = tasks.filter(status=TaskStatus.NEW, owner__isnull=True, owner_permission__in=claimable)
        return Q(**{f"{key}__in": owned}) | Q(**{f"{key}__in": waiting.values("process_id")})

    def processes(self, user, queryset):
        """``queryset`` (processes of this flow) narrowed to those ``user`` sees."""
        condition = self.process_filter(user)
        return queryset if condition is None else queryset.filter(condition)

    def tasks(self, user, queryset):
        """``queryset`` (tasks of this flow) narrowed to those ``user`` sees."""
        condition = self.task_filter(user)
        return queryset if condition is None else queryset.filter(condition)


    def sees_process(self, user, process):
        """Does ``user`` see ``process`` (read already)? No query unless :meth:`process_filter` narrows."""
        condition = self.process_filter(user)
        return condition is None or type(process)._base_manager.filter(condition, pk=process.pk).exists()

    def sees_task(self, user, task):
        """Does ``user`` see ``task`` (read already)? No query unless :meth:`task_filter` narrows."""
        condition = self.task_filter(user)
        return condition is None or type(task)._base_manager.filter(condition, pk=task.pk).exists()


def restrict_tasks(user, queryset, flows):
    """``queryset`` (tasks of any of ``flows``) narrowed by each flow's policy's :meth:`~FlowPolicy.task_filter`.

    For the lists across flows (inbox, queue, archive): a flow whose policy
    narrows nothing adds nothing to the query.
    """
    from .fields import node_path

    for flow_class in flows:
        condition = flow_class.policy.task_filter(user)
        if condition is not None:
            nodes = [node_path(node) for node in flow_class._meta.nodes.values()]
            queryset = queryset.filter(~Q(flow_task__in=nodes) | condition)
    return queryset
