"""The flow class: a business process declared once as class attributes.

Nodes are declared as attributes and wired with ``.Next(this.other)``; the
graph is resolved and frozen when the class is created.
"""

from __future__ import annotations

import inspect

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import cached_property

from . import lock
from .models import Process, Task
from .policy import FlowPolicy

__all__ = ["Flow", "this", "FlowMeta", "all_flows"]


class NodeRef:
    """A forward reference to a node (or a method) of the flow being declared."""

    def __init__(self, name):
        self.name = name

    def __getattr__(self, attr):
        if attr == "owner":
            return OwnerOf(self)
        raise AttributeError(f"this.{self.name}.{attr}: only .owner is supported")

    def __repr__(self):
        return f"this.{self.name}"

    def resolve(self, flow_class):
        """Return the node named so, or the flow's method of that name bound to its instance."""
        node = flow_class._meta.nodes.get(self.name)
        if node is not None:
            return node
        member = getattr(flow_class, self.name, None)
        if callable(member):
            return getattr(flow_class.instance, self.name)
        return None


class OwnerOf:
    """``this.node.owner``: the user who did the latest task of that node in the process."""

    def __init__(self, ref):
        self.ref = ref

    def __repr__(self):
        return f"{self.ref!r}.owner"

    def in_step(self, step):
        """The owner, looking first at the tasks of ``step`` not yet written (e.g. the start task)."""
        node = self.ref.resolve(step.flow_class)
        for task in reversed(step.tasks):
            if task.pk is None and task.flow_task is node and task.owner_id is not None:
                return task.owner
        return self(step.process)

    def __call__(self, process):
        node = self.ref.resolve(process.flow_class)
        task = (
            Task.objects.filter(process_id=process.pk, flow_task=node, owner__isnull=False)
            .select_related("owner")
            .order_by("-created", "-pk")
            .first()
        )
        return task.owner if task else None


class This:
    """``this.name`` refers to a node that may be declared later in the class body."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return NodeRef(name)


this = This()


def resolve(value, flow_class):
    """Turn ``this.x``, a node name string or a node into a node (None if dangling)."""
    from .flow.base import Node

    if isinstance(value, NodeRef):
        return value.resolve(flow_class)
    if isinstance(value, str):
        return flow_class._meta.nodes.get(value)
    if isinstance(value, Node):
        return value
    return None


class FlowMeta:
    """What the library knows about a flow class: its nodes, labels and texts."""

    def __init__(self, flow_class, nodes):
        self.flow_class = flow_class
        self.nodes = nodes
        self.errors = []  # (node name, message) found while resolving; reported by checks
        self.started_by = []  # Subprocess nodes (of any flow) that start processes of this flow
        name = flow_class.__name__
        label = name[:-4] if name.lower().endswith("flow") and len(name) > 4 else name
        self.flow_label = vars(flow_class).get("flow_label") or label.lower()
        doc = inspect.cleandoc(flow_class.__doc__ or "")
        first, _, rest = doc.partition("\n")
        self.title = first.strip().rstrip(".") or _split_camel(label)
        self.description = rest.strip()

    @cached_property
    def app_label(self):
        config = apps.get_containing_app_config(self.flow_class.__module__)
        return config.label if config else self.flow_class.__module__.split(".")[0]

    @property
    def start_nodes(self):
        from .flow.start import BaseStart

        return [node for node in self.nodes.values() if isinstance(node, BaseStart)]

    def __repr__(self):
        return f"<FlowMeta {self.flow_label}>"


def _split_camel(name):
    words, word = [], ""
    for char in name:
        if char.isupper() and word:
            words.append(word)
            word = ""
        word += char
    words.append(word)
    return " ".join(words).capitalize()


class Flow:
    """Base class of every flow: subclass it and declare nodes as attributes."""

    process_cls = Process
    task_cls = Task
    lock_impl = lock.select_for_update_lock
    #: who may see, start, claim, do and manage, and what each user sees (:class:`viewflow.policy.FlowPolicy`)
    policy_class = FlowPolicy
    do_not_call_in_templates = True  # templates read a flow class; they must not instantiate it

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        from .flow.base import Node

        nodes = {name: value for name, value in vars(cls).items() if isinstance(value, Node)}
        for name in nodes:
            if name in _RESERVED_NAMES:
                raise ImproperlyConfigured(
                    f"{cls.__qualname__}.{name}: a node cannot be named {name!r}, which the flow itself "
                    "uses; rename the node."
                )
        cls._meta = meta = FlowMeta(cls, nodes)
        # what templates may read (they cannot reach _meta)
        cls.flow_label, cls.process_title, cls.process_description = meta.flow_label, meta.title, meta.description
        for node in nodes.values():
            node.resolve_edges(cls)

    @classmethod
    def lock(cls, process_pk, task_pk=None):
        """Lock the process for one step; yields the process re-read inside the lock.

        With ``task_pk``, yields that task of the process instead, read with its
        process in one statement under the lock (``task.process``).
        """
        if task_pk is None:
            return cls.lock_impl(cls, process_pk)
        return cls.lock_impl(cls, process_pk, task_pk)

    @classmethod
    def _instance(cls):
        instance = cls.__dict__.get("_singleton")
        if instance is None:
            instance = cls()
            cls._singleton = instance
        return instance

    @classmethod
    def has_view_permission(cls, user):
        """May ``user`` see this flow's processes? Asks the flow's policy (:meth:`FlowPolicy.can_view`)."""
        return cls.policy.can_view(user)

    @classmethod
    def can_manage(cls, user):
        """May ``user`` assign, reassign, cancel and retry any task of this flow? Asks the flow's policy."""
        return cls.policy.can_manage(user)

    def __str__(self):
        return self._meta.title


class _InstanceDescriptor:
    """``MyFlow.instance``: one shared instance, for ``Handler(this.method)``."""

    def __get__(self, obj, owner):
        return owner._instance()


Flow.instance = _InstanceDescriptor()


class _PolicyDescriptor:
    """``MyFlow.policy``: the flow's policy, one instance of ``policy_class`` per flow class."""

    def __get__(self, obj, owner):
        policy = owner.__dict__.get("_policy")
        if policy is None or type(policy) is not owner.policy_class:
            policy = owner.policy_class(owner)
            owner._policy = policy
        return policy


Flow.policy = _PolicyDescriptor()

#: what a Flow subclass reads from itself: a node of the same name would hide it
_RESERVED_NAMES = frozenset(name for name in dir(Flow) if not name.startswith("__")) | {
    "_meta",
    "flow_label",
    "process_title",
    "process_description",
    "_singleton",
    "_policy",
}


def all_flows():
    """The project's flow classes: those of installed apps, and those registered with the site.

    A flow declared elsewhere (inside a function, say a test building a broken
    flow on purpose, or in a module of no installed app) is left out, so it
    neither breaks ``manage.py check`` nor gets permissions created on migrate;
    register it with ``viewsite.register()`` to include it.
    """
    from .site import viewsite

    seen, stack = [], list(Flow.__subclasses__())
    while stack:
        flow_class = stack.pop()
        if flow_class not in seen:
            seen.append(flow_class)
            stack.extend(flow_class.__subclasses__())
    return [
        flow_class
        for flow_class in seen
        if "_meta" in vars(flow_class)  # not a class whose declaration was refused
        and flow_class._meta.nodes
        and (
            viewsite.is_registered(flow_class)
            or (
                "<locals>" not in flow_class.__qualname__
                and apps.get_containing_app_config(flow_class.__module__) is not None
            )
        )
    ]
