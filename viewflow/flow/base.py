"""The documented bases of every node: :class:`Event`, :class:`Task`, :class:`Gateway`.

A node is declared as a class attribute of a flow and wired with chained
calls. When the flow reaches it, :meth:`Node.activate` runs inside the step
that reached it; when its task is done, :meth:`Node.activate_next` sends the
token on along :meth:`Node.next_nodes`.

A custom node subclasses one of the bases below and overrides those methods;
:mod:`viewflow.contrib.dynamic_split` is a complete example (a split whose
branches come from a callable). What a node may override:

* ``activate(step, previous, token, task=None)``: the flow reached the node.
  Create its task with :meth:`Node.make_task` (``task`` is given when a Split
  prepared it) and return an activation. A waiting node stops here; an
  automated one (a :class:`Gateway`) runs ``activation.run()`` at once.
* ``execute(activation)`` (gateways): the node's own work, run in a savepoint;
  raising leaves its task in ERROR with the traceback, the step is kept.
* ``next_nodes(activation)`` → ``[(node, token), ...]``: where the flow goes
  when the task is done; ``activate_next`` walks them.
* ``outgoing()`` → edges for the checks and the flow chart.
* ``activation_class``: the activation that drives the node's task.
* a node whose task waits for something outside the step (a call from code,
  a signal, a job's message, a timer, a subprocess) subclasses
  :class:`WaitingTask`: something later calls ``node.resume(task, **payload)``,
  and the node's ``on_resume(activation, **payload)`` does its own work.
* flags: ``can_undo`` / ``can_cancel`` (may a manager undo a done task / cancel
  an active one), ``opens_branches`` with a ``join`` property for split-like
  nodes (their branches get a new token group that a Join closes).
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext as _

from ..activation import (
    Activation,
    AutomatedActivation,
    HumanActivation,
    WaitingActivation,
    fail_waiting_task,
    resume_task,
    undoable,
)
from ..exceptions import FlowRuntimeError
from ..permissions import has_perm
from ..policy import FlowPolicy
from ..references import NodeRef, OwnerOf
from ..rules import node_allows, state_allows
from ..status import TaskStatus

__all__ = ["Node", "Event", "Task", "WaitingTask", "Gateway", "Edge", "PermissionMixin"]


class Edge:
    """A line of the flow chart: ``src`` → ``dst``, with a label such as "true"."""

    def __init__(self, src, dst, label=""):
        self.src, self.dst, self.label = src, dst, label

    def __repr__(self):
        return f"<Edge {self.src.name} -> {self.dst.name} {self.label}>"


class Node:
    """Base of all nodes."""

    task_type = "NODE"
    activation_class = Activation
    runs_user_code = False
    can_undo = False
    can_cancel = True  # may a manager cancel its active task?
    opens_branches = False  # a split-like node: its branches get tokens of a new group
    closes_branches = False  # a join-like node: it closes the token group a split opened
    starts_subprocesses = False  # its task starts child processes (see viewflow.lineage)
    shape = "task"  # how the flow chart draws it: event, task or gateway

    def __init__(self):
        self.name = None
        self.flow_class = None
        self._next_ref = None
        self._next = None
        self._title = None
        self._description = ""

    def __set_name__(self, owner, name):
        self.name = name
        self.flow_class = owner

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"

    @property
    def policy(self):
        """The flow's policy (:class:`~viewflow.policy.FlowPolicy`); the default one for a node of no flow yet."""
        return self.flow_class.policy if self.flow_class is not None else FlowPolicy(None)

    # -- declaration ---------------------------------------------------------

    def Next(self, node):
        """Continue with ``node`` (``this.name``, the node, or its name) when this one is done."""
        self._next_ref = node
        return self

    def Annotation(self, title=None, description=None):
        """Set the title and description shown in the UI."""
        if title is not None:
            self._title = title
        if description is not None:
            self._description = description
        return self

    @property
    def task_title(self):
        return self._title or self.name.replace("_", " ").capitalize()

    @property
    def description(self):
        return self._description

    def resolve_edges(self, flow_class):
        """Replace ``this.x`` references by nodes; dangling ones are recorded for the checks."""
        self._next = self._resolve_ref(self._next_ref, flow_class)

    def _resolve_ref(self, ref, flow_class):
        if ref is None:
            return None
        node = resolve(ref, flow_class)
        if node is None:
            name = ref.name if isinstance(ref, NodeRef) else ref
            flow_class._meta.errors.append((self.name, f"refers to {name!r}, which is not a node of the flow"))
        return node

    def outgoing(self):
        """The lines leaving this node, for the checks and the flow chart."""
        return [Edge(self, self._next)] if isinstance(self._next, Node) else []

    # -- runtime -------------------------------------------------------------

    def make_task(self, step, previous, token, task=None, **fields):
        """The task of this node for this arrival: ``task`` if a Split prepared it, else a new one."""
        if task is None:
            return step.new_task(self, token, previous, **fields)
        for name, value in fields.items():
            setattr(task, name, value)
        return task

    def activate(self, step, previous, token, task=None):
        """The flow reached this node in ``step`` from the ``previous`` tasks."""
        raise NotImplementedError(f"{type(self).__name__} must define activate()")

    def next_nodes(self, activation):
        """``(node, token)`` pairs to continue with once this node's task is done."""
        return [(self._next, activation.task.token)] if self._next is not None else []

    def activate_next(self, activation):
        for node, token in self.next_nodes(activation):
            node.activate(activation.step, [activation.task], token)

    def retry(self, activation):
        raise NotImplementedError(f"{type(self).__name__} cannot be retried")

    def task_closed(self, activation):
        """The node's task was just done or canceled, in this step: release what it held.

        Called before the flow moves on (or the branch closes); a person's task
        cancels its deadline timers here.
        """

    def task_reopened(self, activation):
        """The node's DONE task was reopened by undo, in this step (a person's task re-arms its deadlines)."""

    def closing_join(self):
        """The Join that closes the split branch this node is on (None outside any split)."""
        start = self.join if self.opens_branches else self
        if start is None:
            return None
        return closing_join([edge.dst for edge in start.outgoing()])

    # -- permissions and views -----------------------------------------------

    def has_any_permission(self, user):
        return False

    #: task operations every node offers (the site serves each as a ``<task>/<action>/`` page)
    task_actions = ("detail", "cancel", "retry", "undo")


def closing_join(nodes):
    """The first Join reachable from ``nodes``, stepping over nested splits and their joins."""
    seen, queue = set(), list(nodes)
    while queue:
        node = queue.pop(0)
        if node.closes_branches:
            return node
        if node.name in seen:
            continue
        seen.add(node.name)
        if node.opens_branches:  # a nested split: carry on after its own join
            inner = node.join
            if inner is not None:
                queue.extend(edge.dst for edge in inner.outgoing())
            continue
        queue.extend(edge.dst for edge in node.outgoing())
    return None



def resolve(value, flow_class):
    """Turn ``this.x``, a node name string or a node into a node (None if dangling)."""
    if isinstance(value, NodeRef):
        return value.resolve(flow_class)
    if isinstance(value, str):
        return flow_class._meta.nodes.get(value)
    if isinstance(value, Node):
        return value
    return None


def due_time(delay, process, now):
    """The aware datetime ``delay`` names: ``now`` + a timedelta, a datetime, or a callable's answer for the process."""
    value = delay(process) if callable(delay) else delay
    if isinstance(value, datetime.timedelta):
        return now + value
    if isinstance(value, datetime.datetime):
        if timezone.is_naive(value):
            raise FlowRuntimeError(
                _("A timer's time must be an aware datetime (with a time zone), not %(value)s.") % {"value": value}
            )
        return value
    raise FlowRuntimeError(
        _("A timer's delay must be a timedelta or an aware datetime, not %(value)r.") % {"value": value}
    )



class Event(Node):
    """A start or an end of the flow."""

    shape = "event"


class Task(Node):
    """A task that waits: for a person, for code, for a signal or for a background job."""

    shape = "task"


class WaitingTask(Task):
    """A task that waits for something outside the step, then goes on: :meth:`resume`.

    Function (a call from code), Signal (a Django signal) and the Celery Job (a
    job's message) are waiting tasks. The flow reaching the node creates its
    task in one of ``waiting_statuses`` and stops; later, whatever the task
    waits for calls ``node.resume(task, **payload)``, which under the flow's
    lock re-reads the task and

    * if it still waits: runs :meth:`on_resume` (the node's own work, given
      the payload), marks the task DONE and moves the flow on, in one
      transaction; returns the activation;
    * if it moved on meanwhile (done, canceled, gone): writes nothing and
      returns :meth:`moved_on`'s answer. The default is None, *nothing to
      do*: a signal, a redelivered message, a timer or a child process may
      arrive late or twice, and their senders cannot act on an error. A node
      whose caller asked for that very task raises instead (Function raises
      :class:`~viewflow.exceptions.FlowConflict`).

    If :meth:`on_resume` raises, the step is rolled back whole (the task still
    waits) and :meth:`resume_failed` decides: the default re-raises to the
    caller; a node nobody waits on (a job) calls :meth:`record_failure` to
    save the task in ERROR with the traceback.
    """

    activation_class = WaitingActivation
    #: the statuses in which the task waits to be resumed
    waiting_statuses = (TaskStatus.NEW,)

    def activate(self, step, previous, token, task=None):
        return self.activation_class(step, self.make_task(step, previous, token, task))

    def resume(self, task, /, *args, **payload):
        """Resume ``task`` (a task of this node) with ``payload``; see the class docstring."""
        if task.flow_task is not self:
            raise FlowRuntimeError(
                _("%(node)s cannot resume a task of %(other)s.") % {"node": self.name, "other": task.flow_task}
            )
        return self.resume_by_pk(task.process_id, task.pk, *args, **payload)

    def resume_by_pk(self, process_pk, task_pk, /, *args, **payload):
        """:meth:`resume` for a task known by its keys only (a job's message carries them)."""
        return resume_task(self, process_pk, task_pk, args, payload)

    def on_resume(self, activation, /, *args, **payload):
        """The node's own work when its task is resumed (runs under the lock, in the step)."""

    def moved_on(self, task, /, *args, **payload):
        """The task no longer waits (``task`` as read under the lock, None if it is gone): nothing to do."""
        return None

    def resume_failed(self, process_pk, task_pk, exc):
        """:meth:`on_resume` raised and the step was rolled back: let the caller have the exception."""
        raise exc

    def record_failure(self, process_pk, task_pk, exc):
        """Save the waiting task in ERROR with the traceback of ``exc`` (in a new step); the activation or None."""
        return fail_waiting_task(self, process_pk, task_pk, exc)


class Gateway(Node):
    """A node the engine runs at once, in the step that reached it."""

    task_type = "GATEWAY"
    shape = "gateway"
    activation_class = AutomatedActivation
    runs_user_code = True

    def activate(self, step, previous, token, task=None):
        task = self.make_task(step, previous, token, task, started=timezone.now())
        activation = self.activation_class(step, task)
        activation.run()
        return activation

    def execute(self, activation):
        """Do this node's work (runs in a savepoint; raising leaves the task in ERROR)."""

    def retry(self, activation):
        activation.run()


class PermissionMixin:
    """``.Permission(...)``, ``.Assign(...)`` for nodes that people do."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._permission = None
        self._auto_create_permission = False
        self._permission_obj = None
        self._assign = None

    def Permission(self, permission=None, auto_create=False, obj=None, help_text=None):
        """Who may do this task: ``"app.codename"``, or ``auto_create=True`` to make one on migrate.

        With ``obj=callable(process)``, the permission is checked on the object
        the callable returns (``user.has_perm(perm, obj)``), which needs an
        object-permission backend such as django-guardian; Django's
        ``ModelBackend`` grants no object permissions.
        """
        self._permission = permission
        self._auto_create_permission = auto_create
        self._permission_obj = obj
        self._permission_help = help_text
        return self

    def resolve_edges(self, flow_class):
        super().resolve_edges(flow_class)
        if isinstance(self._assign, OwnerOf):  # this.node.owner must name a node: reported by the checks
            self._resolve_ref(self._assign.ref, flow_class)

    def Assign(self, owner):
        """Give the task straight to a user: a user, ``callable(process)``, or ``this.node.owner``."""
        self._assign = owner
        return self

    @property
    def permission_codename(self):
        model = self.flow_class.process_cls._meta
        return f"can_{self.name}_{model.model_name}"

    @property
    def permission_name(self):
        model = self.flow_class.process_cls._meta
        return f"Can {self.name.replace('_', ' ')} {model.verbose_name}"

    @property
    def owner_permission(self):
        """The full ``app.codename`` of the permission, or "" when none is set."""
        if self._permission:
            return self._permission
        if self._auto_create_permission:
            return f"{self.flow_class.process_cls._meta.app_label}.{self.permission_codename}"
        return ""

    def has_perm(self, user, process=None):
        if not user.is_authenticated:
            return False
        permission = self.owner_permission
        if not permission:
            return False
        if self._permission_obj is not None and process is not None:
            # an object permission: only the backend's answer for that object counts
            process_cls = self.flow_class.process_cls
            if not isinstance(process, process_cls):  # e.g. task.process, read through the base FK
                process = process_cls._default_manager.get(pk=process.pk)
            return has_perm(user, permission, self._permission_obj(process))
        return has_perm(user, permission)

    def has_any_permission(self, user):
        return self.has_perm(user)

    def resolve_owner(self, process, step=None):
        owner = self._assign
        if owner is None:
            return None
        if step is not None and hasattr(owner, "in_step"):  # this.node.owner: see the step's unsaved tasks too
            return owner.in_step(step)
        if callable(owner):
            return owner(process)
        return owner

    def can_assign(self, user, task):
        """May ``user`` claim ``task``? The flow's policy answers (:meth:`FlowPolicy.can_claim`)."""
        return self.policy.can_claim(user, task)


class HumanTask(PermissionMixin, Task):
    """Base of View-like nodes: a NEW task in a queue, or ASSIGNED straight to its owner.

    ``.Due(delay)`` gives each task a due time (shown, sorted by, marked when
    overdue); ``.Deadline(delay, then=..., interrupting=True)`` gives it a timer
    that acts (see :mod:`viewflow.flow.timer`).
    """

    task_type = "HUMAN"
    #: the node class ``.Deadline(...)`` declares (:class:`viewflow.flow.timer.Deadline`, which sets it)
    deadline_class = None
    activation_class = HumanActivation
    task_actions = Node.task_actions + ("assign", "unassign", "reassign", "due")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._due = None
        self.deadlines = []

    def Due(self, delay):
        """Each task is due ``delay`` after it is created (a timedelta, an aware datetime, or ``callable(process)``).

        Only shown: the inbox and queue show and sort by it and mark overdue
        tasks; nothing happens when it passes (``.Deadline`` acts).
        """
        self._due = delay
        return self

    def Deadline(self, delay, then, interrupting=True):
        """When ``delay`` passes and the task is still active, go on at ``then``.

        ``interrupting=True`` cancels the task and continues at ``then``
        (escalation); ``interrupting=False`` starts ``then`` beside it (a
        reminder) and the task stays. A node may have several deadlines.
        """
        self.deadlines.append(self.deadline_class(self, delay, then, interrupting))
        return self

    def __set_name__(self, owner, name):
        super().__set_name__(owner, name)
        for n, deadline in enumerate(self.deadlines, 1):
            # a node of the flow like the others (its tasks are stored by path), declared for the user
            deadline_name = f"{name}__deadline" if n == 1 else f"{name}__deadline{n}"
            if deadline_name in vars(owner):
                raise ImproperlyConfigured(
                    f"{owner.__qualname__}.{deadline_name}: the name is taken by the deadline of {name!r}; rename it."
                )
            setattr(owner, deadline_name, deadline)
            deadline.__set_name__(owner, deadline_name)

    def outgoing(self):
        return super().outgoing() + [Edge(self, deadline) for deadline in self.deadlines]

    def activate(self, step, previous, token, task=None):
        task = self.make_task(step, previous, token, task, owner_permission=self.owner_permission)
        activation = self.activation_class(step, task)
        if self._due is not None:
            try:
                with undoable(step.using):
                    task.due = due_time(self._due, step.process, timezone.now())
            except Exception as exc:
                activation.fail(exc)
                return activation
        self.arm_timers(activation)
        self.assign_owner(activation)
        return activation

    def arm_timers(self, activation):
        """Create the task's deadline timers, linked to it."""
        for deadline in self.deadlines:
            deadline.arm(activation.step, [activation.task], activation.task.token)

    def task_closed(self, activation):
        """Done or canceled: its deadline timers still waiting are canceled (:meth:`HumanActivation.close_timers`)."""
        if self.deadlines:
            activation.close_timers(self.deadlines)

    def task_reopened(self, activation):
        """An undone task gets fresh deadlines, counted from now."""
        self.arm_timers(activation)

    def assign_owner(self, activation):
        """Give the task to its ``.Assign(...)`` owner, if any (:meth:`HumanActivation.assign_owner`)."""
        activation.assign_owner()

    def can_execute(self, user, task):
        """May ``user`` do ``task`` now (open its form)? The ``complete`` rule and the flow's policy answer."""
        return state_allows("complete", task) and self.policy.may("complete", user, task)

    @property
    def has_queue(self):
        """Can its tasks wait in a queue? Only with a permission saying who may claim them."""
        return bool(self.owner_permission)

    def can_unassign(self, user, task):
        """May ``user`` put ``task`` back in the queue now? The ``unassign`` rule and the flow's policy answer.

        Its owner or a manager may, if the node has a queue: a node with
        ``.Assign(...)`` and no permission has none (nobody could claim the
        task again), so only a manager's reassign moves it.
        """
        return (
            state_allows("unassign", task)
            and node_allows("unassign", self)
            and self.policy.may("unassign", user, task)
        )
