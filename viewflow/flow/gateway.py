"""Gateways: the engine decides where the token goes, at once, in the same step."""

from __future__ import annotations

import json
import secrets

from django.db.models import Q
from django.utils.translation import gettext as _

from .. import statements
from ..exceptions import FlowRuntimeError
from ..status import ACTIVE_TASK_STATUSES, TaskStatus
from .base import Edge, Gateway, closing_join

__all__ = ["If", "Switch", "Split", "Join", "closing_join"]


class If(Gateway):
    """``cond(process)`` decides: ``.OnTrue(node)`` or ``.OnFalse(node)``."""

    task_type = "IF"

    def __init__(self, cond):
        super().__init__()
        self.cond = cond
        self._on_true_ref = self._on_false_ref = None
        self._on_true = self._on_false = None

    def OnTrue(self, node):
        self._on_true_ref = node
        return self

    def OnFalse(self, node):
        self._on_false_ref = node
        return self

    def resolve_edges(self, flow_class):
        super().resolve_edges(flow_class)
        self._on_true = self._resolve_ref(self._on_true_ref, flow_class)
        self._on_false = self._resolve_ref(self._on_false_ref, flow_class)

    def outgoing(self):
        edges = []
        if self._on_true is not None:
            edges.append(Edge(self, self._on_true, _("true")))
        if self._on_false is not None:
            edges.append(Edge(self, self._on_false, _("false")))
        return edges

    def execute(self, activation):
        activation.result = bool(self.cond(activation.process))
        if (self._on_true if activation.result else self._on_false) is None:
            raise FlowRuntimeError(
                _("If node %(node)s has no branch for %(result)s.") % {"node": self.name, "result": activation.result}
            )

    def next_nodes(self, activation):
        node = self._on_true if activation.result else self._on_false
        return [(node, activation.task.token)]


class Switch(Gateway):
    """``.Case(node, cond=...)`` … ``.Default(node)``: the first case whose cond holds wins."""

    task_type = "SWITCH"

    def __init__(self):
        super().__init__()
        self._case_refs = []
        self._cases = []
        self._default_ref = self._default = None

    def Case(self, node, cond):
        self._case_refs.append((node, cond))
        return self

    def Default(self, node):
        self._default_ref = node
        return self

    def resolve_edges(self, flow_class):
        super().resolve_edges(flow_class)
        self._cases = [(self._resolve_ref(ref, flow_class), cond) for ref, cond in self._case_refs]
        self._default = self._resolve_ref(self._default_ref, flow_class)

    def outgoing(self):
        edges = [Edge(self, node, _("case %(n)s") % {"n": n}) for n, (node, _c) in enumerate(self._cases, 1) if node]
        if self._default is not None:
            edges.append(Edge(self, self._default, _("default")))
        return edges

    def execute(self, activation):
        for node, cond in self._cases:
            if cond(activation.process):
                activation.result = node
                return
        if self._default is None:
            raise FlowRuntimeError(_("Switch %(node)s: no case matched and there is no Default.") % {"node": self.name})
        activation.result = self._default

    def next_nodes(self, activation):
        return [(activation.result, activation.task.token)]


def checked_branches(split, branches):
    """Return ``branches`` (``[(node, task data), ...]``) if :func:`start_branches` can start them.

    A split-like node calls this in ``execute()``, where a refusal still leaves
    its task in ERROR and keeps the step that reached it: no branch with no Join
    to fire, or a branch's data that the task's JSON field cannot store.
    """
    if not branches and split.join is None:
        raise FlowRuntimeError(_("Split %(node)s started no branch and has no Join.") % {"node": split.name})
    encoder = split.flow_class.task_cls._meta.get_field("data").encoder
    for _node, data in branches:
        try:
            json.dumps(data, cls=encoder)
        except (TypeError, ValueError) as exc:
            raise FlowRuntimeError(
                _("Split %(node)s: a branch's data is not a JSON value: %(error)s") % {"node": split.name, "error": exc}
            ) from exc
    return branches


def start_branches(split, activation, branches):
    """Start ``branches`` (``[(node, task data), ...]``) of a split-like node in a new token group.

    Every branch's task is created first, then each branch is activated, so a
    fast synchronous branch never finds its Join complete too early. A branch
    whose prepared task an earlier branch canceled (it reached an End, or a
    ``wait_all=False`` Join) is not run. With no branch at all, the Join fires.
    """
    step, split_task = activation.step, activation.task
    group = f"{split_task.token}/{secrets.token_hex(4)}"
    step.split_groups.add(group)
    prepared = [
        (node, step.new_task(node, f"{group}.{n}", [split_task], data=data))
        for n, (node, data) in enumerate(branches)
    ]
    if not prepared:
        join = split.join
        if join is None:
            raise FlowRuntimeError(_("Split %(node)s started no branch and has no Join.") % {"node": split.name})
        join.arrive(step, [split_task], group)
        return
    for node, task in prepared:
        if task.status in ACTIVE_TASK_STATUSES:
            node.activate(step, [], task.token, task=task)


class Split(Gateway):
    """Run branches in parallel: ``.Next(node, cond=None, task_data_source=None)``, ``.Always(node)``.

    Each branch gets a token ``<split token>/<group>.<n>``; the Join that
    follows waits until no task of the group is active. Every branch's task is
    created before any branch runs, so a fast branch never finds the Join
    complete too early. With ``task_data_source=callable(process)``, one
    branch starts per item and the item is in the branch task's ``data["item"]``.
    """

    task_type = "SPLIT"
    opens_branches = True

    def __init__(self):
        super().__init__()
        self._branch_refs = []
        self._branches = []

    def Next(self, node, cond=None, task_data_source=None):
        self._branch_refs.append((node, cond, task_data_source))
        return self

    def Always(self, node):
        return self.Next(node)

    def resolve_edges(self, flow_class):
        super().resolve_edges(flow_class)
        self._branches = [
            (self._resolve_ref(ref, flow_class), cond, source) for ref, cond, source in self._branch_refs
        ]

    def outgoing(self):
        return [Edge(self, node, _("if") if cond else "") for node, cond, _s in self._branches if node]

    @property
    def join(self):
        """The Join that closes this split: the first one reachable from its branches."""
        return closing_join([node for node, _c, _s in self._branches if node])

    def execute(self, activation):
        process = activation.process
        started = []
        for node, cond, source in self._branches:
            if cond is not None and not cond(process):
                continue
            if source is not None:
                started.extend((node, {"item": item}) for item in source(process))
            else:
                started.append((node, {}))
        activation.result = checked_branches(self, started)

    def activate_next(self, activation):
        start_branches(self, activation, activation.result)


class Join(Gateway):
    """Wait for every branch its Split started; ``wait_all=False`` goes on at the first and cancels the rest."""

    task_type = "JOIN"
    closes_branches = True
    runs_user_code = False
    can_cancel = False  # a waiting Join is closed by its branches, not by hand

    def __init__(self, wait_all=True):
        super().__init__()
        self.wait_all = wait_all

    def activate(self, step, previous, token, task=None):
        group = token.rpartition(".")[0]
        if "/" not in group:  # a path around every Split (the E005 check reports it): keep the step, show the error
            task = self.make_task(step, previous, token, task, status=TaskStatus.STARTED)
            activation = self.activation_class(step, task)
            activation.fail(FlowRuntimeError(self._outside_split(token)))
            return activation
        if task is not None:  # a Split prepared a task for us: arrive from the split instead
            previous = step.discard(task)
        return self.arrive(step, previous, group)

    def arrive(self, step, previous, group):
        join_task, open_in_database = self._find(step, group)
        if join_task is None:
            join_task = step.new_task(self, group, status=TaskStatus.STARTED)
        for prev in previous:
            step.link(join_task, prev)
        if join_task.status != TaskStatus.STARTED:
            return None  # already fired (wait_all=False): a late branch changes nothing
        activation = self.activation_class(step, join_task)
        if not self.wait_all:
            activation.cancel_others(f"{group}.")
        elif (
            step.count_active(f"{group}.", exclude=[join_task], in_database=open_in_database is None)
            or open_in_database
        ):
            return activation
        activation.finish()
        return activation

    def _find(self, step, group):
        """``(join task of the group or None, is a branch still open in the database?)``.

        When the database has to be asked, one statement answers both: it returns
        the join task and at most one open branch (tasks of this step are counted
        from memory by the caller). The second item is None when nothing was read.
        """
        for task in step.tasks:
            if task.flow_task is self and task.token == group:
                return task, None
        if group in step.split_groups:
            return None, None
        in_step = [task.pk for task in step.tasks if task.pk is not None]
        task_cls = self.flow_class.task_cls
        if statements.takes_direct_path(step.using):
            rows = statements.join_and_open_branch(
                task_cls, step.using, step.process.pk, self, group, ACTIVE_TASK_STATUSES, in_step
            )
        else:
            open_branch = Q(token__startswith=f"{group}.", status__in=ACTIVE_TASK_STATUSES)
            if in_step:
                open_branch &= ~Q(pk__in=in_step)
            # the join's token is the group, a prefix of every branch's token: ordered by token, it comes first
            rows = list(
                task_cls._base_manager.using(step.using)
                .filter(Q(flow_task=self, token=group) | open_branch, process_id=step.process.pk)
                .order_by("token", "pk")[:2]
            )
        join_task = next((task for task in rows if task.token == group), None)
        return join_task, any(task.token != group for task in rows)

    def next_nodes(self, activation):
        parent = activation.task.token.rpartition("/")[0]
        return [(self._next, parent)] if self._next is not None else []

    def retry(self, activation):
        token = activation.task.token
        if "/" not in token.rpartition(".")[0]:
            raise FlowRuntimeError(self._outside_split(token))
        activation.finish()

    def _outside_split(self, token):
        return _("Join %(node)s was reached by token %(token)r, which no Split started.") % {
            "node": self.name,
            "token": token,
        }
