"""The End node."""

from __future__ import annotations

import functools

from django.utils import timezone

from ..status import TaskStatus
from .base import Event, Node
from .gateway import If, Switch

__all__ = ["End"]


@functools.cache
def runs_one_branch(flow_class):
    """True when a process of ``flow_class`` never has two active tasks at once.

    So it is when no node opens parallel branches (``opens_branches``) and every
    node moves on along the library's own ``activate_next``/``next_nodes``, which
    continue with one node at most (an If or a Switch picks one). A custom node
    that overrides them counts as possibly parallel.
    """
    single = {Node.next_nodes, If.next_nodes, Switch.next_nodes}
    return all(
        not node.opens_branches
        and type(node).activate_next is Node.activate_next
        and type(node).next_nodes in single
        for node in flow_class._meta.nodes.values()
    )


class End(Event):
    """Finish the process; any task still active in it is canceled."""

    task_type = "END"

    def activate(self, step, previous, token, task=None):
        now = timezone.now()
        task = self.make_task(step, previous, token, task, status=TaskStatus.DONE, started=now, finished=now)
        # with one branch at a time, the only active tasks are this step's: no UPDATE needed
        self.activation_class(step, task).end_process(in_database=not runs_one_branch(step.flow_class))
        return task

    def outgoing(self):
        return []
