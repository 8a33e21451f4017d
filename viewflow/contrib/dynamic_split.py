"""An example custom node: a split whose branches come from a callable.

It shows everything a custom node needs, on the documented base
:class:`viewflow.flow.Gateway`::

    class OrderFlow(Flow):
        ...
        pack = DynamicSplit(lambda process: process.items).Next(this.pack_item)
        pack_item = flow.View(PackItemView).Permission(auto_create=True).Next(this.packed)
        packed = flow.Join().Next(this.ship)

``DynamicSplit(items)`` calls ``items(process)`` when the flow reaches it and
starts one branch of its ``.Next()`` node per item, each branch's task
carrying its item in ``task.data["item"]`` (so items must be JSON values).
The Join after the branches waits for all of them; with no item it fires at
once. (The built-in ``Split().Next(node, task_data_source=...)`` does the same
and more; this node is small on purpose.)

How it is made:

* ``opens_branches = True`` and a ``join`` property tell the engine, the
  checks and the Join that this node opens a token group, like ``Split``;
* ``execute(activation)`` runs the user's callable inside the savepoint that
  every gateway gets, so an exception leaves the node's task in ERROR (with
  its traceback) for a later retry, and the step that reached it is kept;
  :func:`viewflow.flow.gateway.checked_branches` refuses there what could not
  be started later (items that are not JSON values, no item and no Join);
* its own activation class keeps what ``execute`` found for ``activate_next``;
* ``activate_next`` hands the branches to
  :func:`viewflow.flow.gateway.start_branches`, which tokens them, creates
  every branch's task before any branch runs, and lets the Join fire at once
  when there is no branch.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ..activation import AutomatedActivation
from ..flow.base import Edge, Gateway
from ..flow.gateway import checked_branches, closing_join, start_branches

__all__ = ["DynamicSplit", "DynamicSplitActivation"]


class DynamicSplitActivation(AutomatedActivation):
    """Drives a :class:`DynamicSplit` task; ``branches`` holds one ``(node, data)`` per item."""

    branches = ()


class DynamicSplit(Gateway):
    """Start one branch of the ``.Next()`` node per item of ``items(process)``."""

    task_type = "DYNAMIC_SPLIT"
    activation_class = DynamicSplitActivation
    opens_branches = True

    def __init__(self, items):
        super().__init__()
        self.items = items

    @property
    def join(self):
        """The Join that closes the branches."""
        return closing_join([self._next]) if self._next is not None else None

    def outgoing(self):
        return [Edge(self, self._next, _("each item"))] if self._next is not None else []

    def execute(self, activation):
        items = self.items(activation.process)
        activation.branches = checked_branches(self, [(self._next, {"item": item}) for item in items])

    def activate_next(self, activation):
        start_branches(self, activation, activation.branches)
