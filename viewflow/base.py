"""The flow class: a business process declared once as class attributes.

Nodes are declared as attributes and wired with ``.Next(this.other)``; the
graph is resolved and frozen when the class is created.
"""

from __future__ import annotations

import inspect

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import cached_property

from . import lock, operations, registry
from .activation import activate
from .flow.base import Node, resolve
from .flow.start import BaseStart
from .models import Process, Task
from .policy import FlowPolicy
from .references import NodeRef, OwnerOf, This, this

__all__ = ["Flow", "this", "FlowMeta", "all_flows", "NodeRef", "OwnerOf", "This", "resolve"]


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

    def activate(self, task):
        """Lock ``task``'s process and yield its activation (what ``task.activation()`` returns)."""
        return activate(task)

    def cancel_process(self, process, by=None):
        """Cancel ``process`` of this flow (what ``process.cancel()`` does)."""
        return operations.cancel_process(process, by=by)

    @property
    def start_nodes(self):
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
registry.add_root(Flow)
all_flows = registry.all_flows  # the name 0.1 imported from here


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
