"""The flow chart: an SVG drawn from the flow class, optionally marked with a process's state.

Nodes are laid out in columns by their distance from a start node; events
are circles, gateways diamonds, tasks rounded boxes. Passing ``states``
(node name → "active" / "done" / "error") colours the nodes of one process.
"""

from __future__ import annotations

from django.utils.html import escape

__all__ = ["layout", "render_svg", "process_states"]

COL_WIDTH, ROW_HEIGHT = 190, 96
BOX_W, BOX_H = 140, 52
MARGIN = 30


def layout(flow_class):
    """``{node name: (column, row)}``: columns by longest distance from a start, ignoring loops."""
    nodes = flow_class._meta.nodes
    starts = [node for node in flow_class._meta.start_nodes]
    column = {node.name: 0 for node in starts}
    order = list(nodes)
    # longest path on the graph without back edges (a DFS marks them)
    back_edges, state = set(), {}

    def visit(node):
        state[node.name] = "open"
        for edge in node.outgoing():
            if state.get(edge.dst.name) == "open":
                back_edges.add((node.name, edge.dst.name))
            elif edge.dst.name not in state:
                visit(edge.dst)
        state[node.name] = "closed"

    for node in starts + list(nodes.values()):
        if node.name not in state:
            visit(node)
    for _ in range(len(nodes)):
        changed = False
        for node in nodes.values():
            for edge in node.outgoing():
                if (node.name, edge.dst.name) in back_edges:
                    continue
                wanted = column.get(node.name, 0) + 1
                if column.get(edge.dst.name, -1) < wanted:
                    column[edge.dst.name] = wanted
                    changed = True
        if not changed:
            break
    rows, positions = {}, {}
    for name in order:
        col = column.get(name, 0)
        positions[name] = (col, rows.get(col, 0))
        rows[col] = rows.get(col, 0) + 1
    return positions


def _center(position):
    col, row = position
    return MARGIN + col * COL_WIDTH + BOX_W / 2, MARGIN + row * ROW_HEIGHT + BOX_H / 2


def _shape(node, x, y, css):
    title = escape(node.task_title)
    if node.shape == "event":
        width = 3 if node.task_type == "END" else 1.5
        body = f'<circle cx="{x}" cy="{y}" r="18" stroke-width="{width}"/>'
        label_y = y + 34
    elif node.shape == "gateway":
        body = f'<polygon points="{x},{y - 24} {x + 24},{y} {x},{y + 24} {x - 24},{y}"/>'
        label_y = y + 40
    else:
        body = f'<rect x="{x - BOX_W / 2}" y="{y - BOX_H / 2}" width="{BOX_W}" height="{BOX_H}" rx="8"/>'
        label_y = y + 5
    return (
        f'<g class="vf-node vf-{node.shape} {css}" data-node="{escape(node.name)}">'
        f"<title>{title}</title>{body}"
        f'<text x="{x}" y="{label_y}" text-anchor="middle">{title}</text></g>'
    )


def render_svg(flow_class, states=None):
    """Return the SVG markup of ``flow_class``'s chart."""
    states = states or {}
    nodes = flow_class._meta.nodes
    positions = layout(flow_class)
    width = MARGIN * 2 + (max((c for c, _r in positions.values()), default=0)) * COL_WIDTH + BOX_W
    height = MARGIN * 2 + (max((r for _c, r in positions.values()), default=0)) * ROW_HEIGHT + BOX_H + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="vf-chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(flow_class._meta.title)}">',
        "<defs><marker id=\"vf-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" "
        "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\"/></marker></defs>",
        "<style>.vf-chart{font:12px system-ui,sans-serif}.vf-node rect,.vf-node circle,.vf-node polygon"
        "{fill:#fff;stroke:#6c757d;stroke-width:1.5}.vf-node.done rect,.vf-node.done circle,.vf-node.done polygon"
        "{fill:#d1e7dd;stroke:#198754}.vf-node.active rect,.vf-node.active circle,.vf-node.active polygon"
        "{fill:#cfe2ff;stroke:#0d6efd;stroke-width:3}.vf-node.error rect,.vf-node.error circle,"
        ".vf-node.error polygon{fill:#f8d7da;stroke:#dc3545;stroke-width:3}.vf-edge{stroke:#6c757d;"
        "fill:none;stroke-width:1.3}.vf-edge-label{fill:#495057;font-size:11px}</style>",
    ]
    for node in nodes.values():
        x1, y1 = _center(positions[node.name])
        for edge in node.outgoing():
            if edge.dst.name not in positions:
                continue
            x2, y2 = _center(positions[edge.dst.name])
            start_x = x1 + (BOX_W / 2 if node.shape == "task" else 24 if node.shape == "gateway" else 18)
            end_x = x2 - (BOX_W / 2 if edge.dst.shape == "task" else 24 if edge.dst.shape == "gateway" else 18)
            if end_x <= start_x:  # a loop back: go around below
                low = max(y1, y2) + BOX_H
                path = f"M {x1} {y1 + 20} L {x1} {low} L {x2} {low} L {x2} {y2 + 20}"
            else:
                mid = (start_x + end_x) / 2
                path = f"M {start_x} {y1} L {mid} {y1} L {mid} {y2} L {end_x} {y2}"
            parts.append(f'<path class="vf-edge" d="{path}" marker-end="url(#vf-arrow)"/>')
            if edge.label:
                parts.append(
                    f'<text class="vf-edge-label" x="{start_x + 4}" y="{y1 - 6}">{escape(str(edge.label))}</text>'
                )
    for node in nodes.values():
        x, y = _center(positions[node.name])
        parts.append(_shape(node, x, y, states.get(node.name, "")))
    parts.append("</svg>")
    return "".join(parts)


def process_states(tasks):
    """Node name → "error" / "active" / "done" from a process's tasks (worst state wins)."""
    from .status import TaskStatus

    rank = {"done": 1, "active": 2, "error": 3}
    states = {}
    for task in tasks:
        node = task.flow_task
        if node is None:
            continue
        if task.status == TaskStatus.ERROR:
            state = "error"
        elif task.status == TaskStatus.DONE:
            state = "done"
        elif task.status == TaskStatus.CANCELED:
            continue
        else:
            state = "active"
        if rank[state] > rank.get(states.get(node.name), 0):
            states[node.name] = state
    return states
