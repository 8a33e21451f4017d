"""Flow coverage: which nodes and edges of each flow the tests went through.

:class:`FlowCoverage` listens to the engine's steps (one observer in
:data:`viewflow.activation.step_observers`, added only while it records): a
node is *reached* when a step writes a task of it, an edge is *taken* when a
step links a task to the task it came from (a Join's arrival included). Edges
are the flow chart's, ``(source, target)`` by node name. A step that is rolled
back after it wrote its tasks (an exception later in the same transaction)
still counts.

The pytest option ``--flow-coverage`` (:mod:`viewflow.testing.plugin`) records
the whole session and prints a report; ``--flow-coverage-svg=DIR`` draws each
flow's chart with what was covered in green and what was not dashed red.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FlowCoverage", "FlowReport", "select_flows"]


@dataclass
class FlowReport:
    """The coverage of one flow class."""

    flow_class: type
    nodes: list  # every node name, in declaration order
    reached: set
    edges: dict  # (source, target) -> label(s), in declaration order
    taken: set = field(default_factory=set)

    @property
    def missed_nodes(self):
        return [name for name in self.nodes if name not in self.reached]

    @property
    def missed_edges(self):
        return [edge for edge in self.edges if edge not in self.taken]

    @property
    def covered(self):
        """How many nodes and edges were gone through."""
        return len(self.nodes) - len(self.missed_nodes) + len(self.edges) - len(self.missed_edges)

    @property
    def total(self):
        return len(self.nodes) + len(self.edges)

    @property
    def percent(self):
        return 100.0 * self.covered / self.total if self.total else 100.0

    @property
    def name(self):
        return f"{self.flow_class.__module__}.{self.flow_class.__qualname__}"

    @property
    def covered_nodes(self):
        return [name for name in self.nodes if name in self.reached]

    @property
    def covered_edges(self):
        return [edge for edge in self.edges if edge in self.taken]

    def lines(self, verbose=False):
        """The report's lines for this flow: a summary, then what was never gone through.

        ``verbose``: also what was (pytest's ``-v``).
        """
        lines = [
            f"{self.name:<40} nodes {len(self.covered_nodes):>3}/{len(self.nodes):<3} "
            f"edges {len(self.covered_edges):>3}/{len(self.edges):<3} {self.percent:6.1f}%"
        ]
        if verbose and self.covered_nodes:
            lines.append(f"    nodes reached: {', '.join(self.covered_nodes)}")
        if verbose and self.covered_edges:
            lines.append(f"    edges taken: {self._edges(self.covered_edges)}")
        if self.missed_nodes:
            lines.append(f"    nodes never reached: {', '.join(self.missed_nodes)}")
        if self.missed_edges:
            lines.append(f"    edges never taken: {self._edges(self.missed_edges)}")
        return lines

    def _edges(self, edges):
        return ", ".join(f"{src} -> {dst}" + (f" ({self.edges[(src, dst)]})" if self.edges[(src, dst)] else "")
                         for src, dst in edges)

    def svg(self):
        """The flow chart with covered nodes and taken edges green, the rest dashed red."""
        from ..chart import render_svg

        states = {name: ("covered" if name in self.reached else "missed") for name in self.nodes}
        taken = set(self.taken) & set(self.edges)
        return render_svg(self.flow_class, states=states, taken=taken, missed=set(self.missed_edges))


def flow_edges(flow_class):
    """``{(source, target): label}`` of the flow chart's edges (labels of parallel edges joined)."""
    edges = {}
    for node in flow_class._meta.nodes.values():
        for edge in node.outgoing():
            key = (edge.src.name, edge.dst.name)
            label = str(edge.label or "")
            if key in edges and label and label not in edges[key].split(" / "):
                edges[key] = f"{edges[key]} / {label}" if edges[key] else label
            else:
                edges.setdefault(key, label)
    return edges


class FlowCoverage:
    """Record the nodes reached and edges taken, per flow class, while installed.

    ``with FlowCoverage() as coverage: ...`` records the block;
    :meth:`report` tells, per flow, what was gone through.
    """

    def __init__(self):
        self.reached = defaultdict(set)  # flow class -> node names
        self.taken = defaultdict(set)  # flow class -> (source, target)

    def record(self, flow_class, tasks, links):
        """The step observer: note the nodes of ``tasks`` and the edges of ``links``."""
        reached = self.reached[flow_class]
        for task in tasks:
            node = task.flow_task
            if node is not None:
                reached.add(node.name)
        if links:
            taken = self.taken[flow_class]
            for task, previous in links:
                source, target = previous.flow_task, task.flow_task
                if source is not None and target is not None:
                    taken.add((source.name, target.name))

    def install(self):
        from ..activation import step_observers

        if self.record not in step_observers:
            step_observers.append(self.record)
        return self

    def uninstall(self):
        from ..activation import step_observers

        while self.record in step_observers:
            step_observers.remove(self.record)

    def __enter__(self):
        return self.install()

    def __exit__(self, *exc_info):
        self.uninstall()

    def report(self, flow_class):
        """The :class:`FlowReport` of ``flow_class``."""
        return FlowReport(
            flow_class=flow_class,
            nodes=list(flow_class._meta.nodes),
            reached=set(self.reached.get(flow_class, ())),
            edges=flow_edges(flow_class),
            taken=set(self.taken.get(flow_class, ())),
        )

    def reports(self, flow_classes):
        return [self.report(flow_class) for flow_class in flow_classes]

    def write_svgs(self, flow_classes, directory):
        """Write ``<app label>.<flow label>.svg`` for each flow into ``directory``; returns the paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for report in self.reports(flow_classes):
            meta = report.flow_class._meta
            path = directory / f"{meta.app_label}.{meta.flow_label}.svg"
            path.write_text(report.svg(), encoding="utf-8")
            paths.append(path)
        return paths


def select_flows(selectors):
    """The project's flows (:func:`viewflow.base.all_flows`) that ``selectors`` name, in a stable order.

    A selector is an app label (``orders``), a flow label (``order``), a class
    name (``OrderFlow``) or a dotted path (``orders.flows.OrderFlow``); ``*``
    (or nothing) selects every flow.
    """
    from ..base import all_flows

    flows = sorted(all_flows(), key=lambda flow: (flow.__module__, flow.__qualname__))
    wanted = [selector.strip() for selector in selectors if selector.strip()]
    if not wanted or "*" in wanted:
        return flows
    chosen = []
    for flow_class in flows:
        meta = flow_class._meta
        names = {
            meta.app_label,
            meta.flow_label,
            flow_class.__name__,
            f"{flow_class.__module__}.{flow_class.__qualname__}",
        }
        if names & set(wanted):
            chosen.append(flow_class)
    return chosen
