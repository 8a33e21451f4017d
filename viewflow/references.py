"""``this.node``: references to nodes of a flow that is still being declared.

A node's ``.Next(this.approve)`` names a node declared later in the class
body; the flow resolves the reference once the class is created. These small
objects know nothing of nodes or of the web, so the node modules and the flow
class can both import them.
"""

from __future__ import annotations

from .models import Task

__all__ = ["NodeRef", "OwnerOf", "This", "this"]


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
