"""System checks for broken flow definitions (``manage.py check``).

| id | problem |
| --- | --- |
| viewflow.E001 | a reference (``this.x``, a name) to a node that does not exist |
| viewflow.E002 | a node that no start node can reach |
| viewflow.E003 | a flow without an End node |
| viewflow.E004 | an If without both branches |
| viewflow.E005 | a Join that no Split leads to |
| viewflow.E006 | a view node that nobody may execute (no Permission, no Assign) |
| viewflow.E007 | a flow without a start node |
| viewflow.E008 | a node that leads nowhere (only End may) |

``manage.py check`` looks at :func:`viewflow.base.all_flows`: the flows of
installed apps and those registered with the site. Call :func:`check_flow`
to check any other flow class (a test does, for flows it builds on purpose).
"""

from __future__ import annotations

from django.core import checks

__all__ = ["check_flows", "check_flow"]


@checks.register("viewflow")
def check_flows(app_configs=None, **kwargs):
    from .base import all_flows

    errors = []
    for flow_class in all_flows():
        if app_configs is not None and flow_class._meta.app_label not in {c.label for c in app_configs}:
            continue
        errors.extend(check_flow(flow_class))
    return errors


def _error(flow_class, node_name, msg, hint, code):
    where = f"{flow_class.__qualname__}.{node_name}" if node_name else flow_class.__qualname__
    return checks.Error(f"{where}: {msg}", hint=hint, obj=flow_class, id=f"viewflow.{code}")


def check_flow(flow_class):
    """Return the check messages for one flow class."""
    from .flow.base import HumanTask
    from .flow.end import End
    from .flow.gateway import If, Join
    from .flow.start import BaseStart

    meta = flow_class._meta
    nodes = meta.nodes
    errors = [
        _error(flow_class, name, msg, "Declare that node, or fix the name in .Next()/the branch.", "E001")
        for name, msg in meta.errors
    ]
    starts = [node for node in nodes.values() if isinstance(node, BaseStart)]
    if not starts:
        errors.append(_error(flow_class, None, "has no start node.", "Add flow.Start(...) or flow.StartFunction(...).", "E007"))
    if not any(isinstance(node, End) for node in nodes.values()):
        errors.append(_error(flow_class, None, "has no End node.", "Add end = flow.End() and lead the last nodes to it.", "E003"))

    reachable, queue = set(), list(starts)
    while queue:
        node = queue.pop()
        if node.name in reachable:
            continue
        reachable.add(node.name)
        queue.extend(edge.dst for edge in node.outgoing())
    for name, node in nodes.items():
        if name not in reachable:
            errors.append(_error(flow_class, name, "cannot be reached from any start node.", "Lead a .Next() to it, or remove it.", "E002"))
        if isinstance(node, If) and (node._on_true is None or node._on_false is None):
            errors.append(_error(flow_class, name, "If needs both branches.", "Call .OnTrue(node) and .OnFalse(node).", "E004"))
        elif not isinstance(node, End) and not node.outgoing() and not (isinstance(node, If) or name in dict(meta.errors)):
            errors.append(_error(flow_class, name, "leads nowhere.", "Call .Next(node) on it (only End may end a path).", "E008"))
        if isinstance(node, HumanTask) and not node.owner_permission and node._assign is None:
            errors.append(
                _error(
                    flow_class,
                    name,
                    "nobody may execute this task.",
                    "Call .Permission('app.codename') or .Permission(auto_create=True), or .Assign(...).",
                    "E006",
                )
            )

    split_targets = set()
    for node in nodes.values():
        if node.opens_branches:
            join = node.join
            if join is not None:
                split_targets.add(join.name)
    for name, node in nodes.items():
        if isinstance(node, Join) and name not in split_targets:
            errors.append(_error(flow_class, name, "no Split leads to this Join.", "Put a flow.Split() before the branches it joins.", "E005"))
    return errors
