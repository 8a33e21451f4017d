"""The flow chart: an SVG drawn from the flow class, optionally marked with a process's state.

Layout, in the spirit of a layered (Sugiyama) drawing, small enough for the
flows people write by hand:

1. columns by the longest path from a start node (loops are found by a DFS and
   drawn as arcs below the chart);
2. an edge that spans several columns gets an invisible waypoint in each
   column it crosses, so it never runs through a node;
3. each column is ordered by the mean row of its predecessors (a gateway's
   first branch first), and every node takes its highest predecessor's row when
   it is free, so the main line runs straight and branches hang below it.

Events are circles (the end a thick one), gateways diamonds (``×`` for a
choice, ``+`` for parallel branches), tasks rounded boxes with their kind
above the title, timers (Timer, a task's deadline, StartTimer) a clock in a
double ring with their delay; the line to a deadline is dashed. ``states``
(node name → "active" / "done" / "error") colours
the nodes of one process; an edge between two reached nodes is drawn as taken.
The flow coverage report of :mod:`viewflow.testing` marks nodes "covered" or
"missed", and edges taken or ``missed``, on the same drawing.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.translation import gettext as _

__all__ = ["layout", "render_svg", "process_states", "process_chart_state"]

COL_WIDTH, ROW_HEIGHT = 180, 100
BOX_W, BOX_H = 136, 58
EVENT_R, GATEWAY_R = 18, 24
MARGIN = 28
LABEL_CHARS = 18  # per line of a node's title


class _Point:
    """A node, or a waypoint of a long edge, in the grid."""

    def __init__(self, name, node=None):
        self.name, self.node = name, node
        self.col = self.row = 0
        self.top = 0  # the row's offset from the top, set once rows are known
        self.preds = []
        self.branch = 0  # the edge's index among its source's outgoing edges: a gateway's first branch goes first

    @property
    def x(self):
        return MARGIN + self.col * COL_WIDTH + BOX_W / 2

    @property
    def y(self):
        return MARGIN + self.top + BOX_H / 2

    def half_width(self):
        shape = self.node.shape if self.node is not None else None
        return BOX_W / 2 if shape == "task" else GATEWAY_R if shape == "gateway" else EVENT_R if shape else 0

    def half_height(self):
        shape = self.node.shape if self.node is not None else None
        return BOX_H / 2 if shape == "task" else GATEWAY_R if shape == "gateway" else EVENT_R if shape else 0


class _Graph:
    def __init__(self, flow_class):
        nodes = flow_class._meta.nodes
        self.points = {name: _Point(name, node) for name, node in nodes.items()}
        self.back_edges, self.chains = [], []
        back = self._back_edges(flow_class)
        self._columns(nodes, back)
        for node in nodes.values():
            for branch, edge in enumerate(node.outgoing()):
                if edge.dst.name not in self.points:
                    continue
                if (node.name, edge.dst.name) in back:
                    self.back_edges.append(edge)
                    continue
                src, dst = self.points[node.name], self.points[edge.dst.name]
                chain = [src]
                for col in range(src.col + 1, dst.col):  # a waypoint in each column crossed
                    waypoint = _Point(f"{node.name}>{edge.dst.name}@{col}")
                    waypoint.col, waypoint.branch = col, branch
                    waypoint.preds.append(chain[-1])
                    self.points[waypoint.name] = waypoint
                    chain.append(waypoint)
                if not dst.preds or branch < dst.branch:
                    dst.branch = branch
                dst.preds.append(chain[-1])
                chain.append(dst)
                self.chains.append((edge, chain))
        self._rows()

    @staticmethod
    def _back_edges(flow_class):
        nodes, back, state = flow_class._meta.nodes, set(), {}

        def visit(node):
            state[node.name] = "open"
            for edge in node.outgoing():
                if state.get(edge.dst.name) == "open":
                    back.add((node.name, edge.dst.name))
                elif edge.dst.name not in state:
                    visit(edge.dst)
            state[node.name] = "closed"

        for node in list(flow_class._meta.start_nodes) + list(nodes.values()):
            if node.name not in state:
                visit(node)
        return back

    def _columns(self, nodes, back):
        column = dict.fromkeys(nodes, 0)
        for _round in range(len(nodes)):  # longest path on the graph without its back edges
            changed = False
            for node in nodes.values():
                for edge in node.outgoing():
                    if (node.name, edge.dst.name) in back or edge.dst.name not in column:
                        continue
                    if column[edge.dst.name] < column[node.name] + 1:
                        column[edge.dst.name] = column[node.name] + 1
                        changed = True
            if not changed:
                break
        for name, col in column.items():
            self.points[name].col = col

    def _rows(self):
        columns = {}
        for point in self.points.values():  # declaration order, waypoints after the nodes
            columns.setdefault(point.col, []).append(point)
        for col in sorted(columns):
            members = columns[col]
            if col > 0:
                index = {id(point): i for i, point in enumerate(members)}

                def barycenter(point):
                    if not point.preds:
                        return index[id(point)]  # noqa: B023 (sorted right below, in this iteration)
                    return sum(pred.row for pred in point.preds) / len(point.preds)

                members.sort(key=lambda point: (barycenter(point), point.branch, point.node is None))
            previous = -1
            for point in members:
                wanted = min(pred.row for pred in point.preds) if point.preds else 0
                point.row = max(wanted, previous + 1)
                previous = point.row
        # a row that only long edges pass through needs less room than a row of nodes
        node_rows = {point.row for point in self.points.values() if point.node is not None}
        tops, top = {}, 0
        for row in range(max(point.row for point in self.points.values()) + 1 if self.points else 0):
            if row:
                top += ROW_HEIGHT if row in node_rows else ROW_HEIGHT * 0.6
            tops[row] = top
        for point in self.points.values():
            point.top = tops[point.row]


def layout(flow_class):
    """``{node name: (column, row)}`` of the chart's nodes."""
    graph = _Graph(flow_class)
    return {name: (point.col, point.row) for name, point in graph.points.items() if point.node is not None}


def _lines(text, width=LABEL_CHARS, most=2):
    """Break ``text`` into at most ``most`` lines of about ``width`` characters (… when cut)."""
    words, lines = str(text).split(), [""]
    for word in words:
        candidate = f"{lines[-1]} {word}".strip()
        if len(candidate) <= width or not lines[-1]:
            lines[-1] = candidate
        else:
            lines.append(word)
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return [line if len(line) <= width + 4 else line[: width + 3] + "…" for line in lines]


def _text(x, y, lines, css=""):
    css_attr = f' class="{css}"' if css else ""
    spans = "".join(
        f'<tspan x="{x:g}" dy="{0 if i == 0 else 15}">{escape(line)}</tspan>' for i, line in enumerate(lines)
    )
    return f'<text x="{x:g}" y="{y:g}" text-anchor="middle"{css_attr}>{spans}</text>'


_KINDS = {
    "HUMAN": lambda: _("person"),
    "JOB": lambda: _("job"),
    "HANDLER": lambda: _("code"),
    "FUNCTION": lambda: _("function"),
    "SIGNAL": lambda: _("signal"),
    "SUBPROCESS": lambda: _("subprocess"),
    "NSUBPROCESS": lambda: _("subprocesses"),
}


def _subprocess_marker(node, x, y):
    """BPMN's call-activity marks: a boxed ``+`` at the bottom, and for one child per item
    three bars beside it (upright: all at once; lying: one after another)."""
    if not getattr(node, "starts_subprocesses", False):
        return ""
    bottom = y + BOX_H / 2
    mark = (
        f'<g class="vf-subprocess-mark"><rect x="{x - 6:g}" y="{bottom - 14:g}" width="12" height="12" rx="1"/>'
        f'<path d="M{x - 3:g},{bottom - 8:g}h6M{x:g},{bottom - 11:g}v6"/>'
    )
    if node.task_type == "NSUBPROCESS":
        bx = x + 10
        if getattr(node, "sequential", False):
            bars = "".join(f"M{bx:g},{bottom - 12 + 4 * n:g}h9" for n in range(3))
        else:
            bars = "".join(f"M{bx + 1 + 3.5 * n:g},{bottom - 13:g}v10" for n in range(3))
        mark += f'<path class="vf-multi" d="{bars}"/>'
    return mark + "</g>"


def _shape(point, state):
    node, x, y = point.node, point.x, point.y
    title = node.task_title
    tooltip = escape(title if not state else f"{title} ({_state_label(state)})")
    if node.shape == "event" and getattr(node, "fires_on_due", False) or node.task_type == "START_TIMER":
        body = _clock(x, y)  # a timer: a clock in a double ring, its delay or schedule under the title
        when = node.delay_label() if hasattr(node, "delay_label") else node.schedule_label
        label = _text(x, y + EVENT_R + 16, _lines(title) + ([when] if when else []))
    elif node.shape == "event":
        end = node.task_type == "END"
        end_css = ' class="vf-end"' if end else ""
        body = f'<circle cx="{x:g}" cy="{y:g}" r="{EVENT_R}"{end_css}/>'
        label = _text(x, y + EVENT_R + 16, _lines(title))
    elif node.shape == "gateway":
        r = GATEWAY_R
        mark = "+" if node.task_type in ("SPLIT", "JOIN") else "×"
        body = (
            f'<polygon points="{x:g},{y - r:g} {x + r:g},{y:g} {x:g},{y + r:g} {x - r:g},{y:g}"/>'
            f'<text x="{x:g}" y="{y + 6:g}" text-anchor="middle" class="vf-mark">{mark}</text>'
        )
        label = _text(x, y - r - 8, _lines(title, most=1))
    else:
        lines = _lines(title)
        kind = _KINDS.get(node.task_type)
        top = y - (len(lines) - 1) * 7.5 + (6 if kind else 4)
        body = f'<rect x="{x - BOX_W / 2:g}" y="{y - BOX_H / 2:g}" width="{BOX_W}" height="{BOX_H}" rx="9"/>'
        body += _subprocess_marker(node, x, y)
        if kind:
            body += (
                f'<text x="{x:g}" y="{y - BOX_H / 2 + 13:g}" text-anchor="middle" class="vf-kind">'
                f"{escape(kind())}</text>"
            )
        label = _text(x, top, lines)
    css = f" {state}" if state else ""
    if getattr(node, "starts_subprocesses", False):
        css = " vf-subprocess" + css
    return (
        f'<g class="vf-node vf-{node.shape}{css}" data-node="{escape(node.name)}">'
        f"<title>{tooltip}</title>{body}{label}</g>"
    )


def _clock(x, y):
    """A timer event: a double ring with a clock's face."""
    r = EVENT_R
    return (
        f'<circle cx="{x:g}" cy="{y:g}" r="{r}" class="vf-timer"/>'
        f'<circle cx="{x:g}" cy="{y:g}" r="{r - 4}" class="vf-timer-face"/>'
        f'<path class="vf-timer-hands" d="M {x:g} {y - r + 8:g} L {x:g} {y:g} L {x + r - 9:g} {y:g}"/>'
    )


def _state_label(state):
    labels = {
        "done": _("done"),
        "active": _("now"),
        "error": _("error"),
        "covered": _("covered"),
        "missed": _("never reached"),
    }
    return labels.get(state, state)


def _edge_path(chain):
    """Orthogonal polyline through the chain's points; returns (points, label anchor).

    An edge that changes rows has its label where it turns toward its target's
    row (down from a diamond) or in the gap between the rows (up): edges that
    leave one gateway share their first stretch, and rows keep their labels apart.
    """
    src, dst = chain[0], chain[-1]
    first = chain[1]
    anchor = None
    if src.node.shape == "gateway" and first.row > src.row:  # down: leave a diamond by its bottom corner
        points = [(src.x, src.y + GATEWAY_R), (src.x, first.y)]
        anchor = (src.x + 7, first.y - 5, "start")
    else:  # by the right side (up as well: a diamond's title sits above it)
        points = [(src.x + src.half_width(), src.y)]
    for a, b in zip(chain, chain[1:]):
        x_a, y_a = points[-1]
        if b is dst and dst.node.shape == "gateway" and b.row != a.row and y_a != b.y:
            # enter a diamond (a join) by its top or bottom corner
            sign = 1 if a.row < b.row else -1
            points += [(b.x, y_a), (b.x, b.y - sign * GATEWAY_R)]
            continue
        end_x = b.x - b.half_width()
        if y_a != b.y:
            mid = a.x + COL_WIDTH / 2  # turn in the gap between two columns
            if mid > x_a:
                points.append((mid, y_a))
            else:
                mid = x_a
            points.append((mid, b.y))
            anchor = anchor or (mid + 5, (y_a + b.y) / 2 + 4, "start")  # in the gap between the two rows
        points.append((end_x, b.y))
    return points, anchor or (src.x + src.half_width() + 5, src.y - 6, "start")


def _polyline(points):
    cleaned = [points[0]]
    for point in points[1:]:
        if point != cleaned[-1]:
            cleaned.append(point)
    return "M " + " L ".join(f"{x:g} {y:g}" for x, y in cleaned)


def render_svg(flow_class, states=None, taken=None, missed=None):
    """Return the SVG markup of ``flow_class``'s chart, with one process's ``states`` and ``taken`` edges.

    ``taken`` is a set of ``(source node name, target node name)`` (see
    :func:`process_chart_state`); without it an edge counts as taken when both its ends
    were reached. Edges in ``missed`` (the same pairs) are drawn as never taken,
    dashed: a coverage report's gaps.
    """
    states = states or {}
    missed = missed or set()

    def edge_class(edge):
        if is_taken(edge):
            return " taken"
        return " missed" if (edge.src.name, edge.dst.name) in missed else ""

    def is_taken(edge):
        if taken is not None:
            return (edge.src.name, edge.dst.name) in taken
        return states.get(edge.src.name) == "done" and states.get(edge.dst.name) in reached

    graph = _Graph(flow_class)
    points = graph.points
    max_col = max((p.col for p in points.values()), default=0)
    # the lowest thing drawn: a node with its label under it, or a long edge's waypoint
    bottom = max(
        (p.y + (p.half_height() + 22 if p.node is not None and p.node.shape != "task" else p.half_height() + 4))
        for p in points.values()
    ) if points else MARGIN
    lanes_top = bottom + 12
    width = MARGIN * 2 + max_col * COL_WIDTH + BOX_W
    height = lanes_top + (len(graph.back_edges) * 14 + MARGIN / 2 if graph.back_edges else 0)
    reached = {"done", "active", "error"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="vf-chart" viewBox="0 0 {width:g} {height:g}" '
        f'width="{width:g}" height="{height:g}" role="img" aria-label="{escape(flow_class._meta.title)}">',
        '<defs><marker id="vf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#6c757d"/></marker>'
        '<marker id="vf-arrow-done" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#198754"/></marker></defs>',
        "<style>"
        ".vf-chart{font:13px system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;fill:#212529}"
        ".vf-node rect,.vf-node circle,.vf-node polygon{fill:#fff;stroke:#adb5bd;stroke-width:1.5}"
        ".vf-node circle.vf-end{stroke-width:3.5;stroke:#495057}"
        ".vf-kind{font-size:10px;fill:#6c757d;letter-spacing:.04em;text-transform:uppercase}"
        ".vf-mark{font-size:18px;font-weight:600;fill:#495057}"
        ".vf-node.done rect,.vf-node.done circle,.vf-node.done polygon{fill:#d1e7dd;stroke:#198754}"
        ".vf-node.active rect,.vf-node.active circle,.vf-node.active polygon"
        "{fill:#cfe2ff;stroke:#0d6efd;stroke-width:3}"
        ".vf-node.active text{font-weight:600}"
        ".vf-node.error rect,.vf-node.error circle,.vf-node.error polygon{fill:#f8d7da;stroke:#dc3545;stroke-width:3}"
        ".vf-edge{stroke:#adb5bd;fill:none;stroke-width:1.5;stroke-linejoin:round}"
        ".vf-edge.taken{stroke:#198754;stroke-width:2}"
        ".vf-edge.missed{stroke:#dc3545;stroke-dasharray:5 4}"
        ".vf-node.covered rect,.vf-node.covered circle,.vf-node.covered polygon{fill:#d1e7dd;stroke:#198754}"
        ".vf-node.missed rect,.vf-node.missed circle,.vf-node.missed polygon"
        "{fill:#fff;stroke:#dc3545;stroke-dasharray:5 4}"
        ".vf-edge-label{fill:#6c757d;font-size:11px}"
        ".vf-node.vf-subprocess>rect{stroke-width:3}"
        ".vf-node .vf-subprocess-mark rect{fill:none;stroke:#495057;stroke-width:1}"
        ".vf-subprocess-mark path{stroke:#495057;stroke-width:1.5;fill:none}"
        ".vf-edge.vf-deadline{stroke-dasharray:5 4}"
        ".vf-node circle.vf-timer-face{stroke-width:1}"
        ".vf-timer-hands{stroke:#495057;stroke-width:1.5;fill:none;stroke-linecap:round}"
        "</style>",
    ]
    for edge, chain in graph.chains:
        path, (lx, ly, anchor) = _edge_path(chain)
        css = edge_class(edge)
        marker = "vf-arrow-done" if css == " taken" else "vf-arrow"
        deadline = " vf-deadline" if _is_deadline_edge(edge) else ""
        parts.append(
            f'<path class="vf-edge{deadline}{css}" d="{_polyline(path)}" marker-end="url(#{marker})"'
            f' data-edge="{escape(edge.src.name)}-{escape(edge.dst.name)}"/>'
        )
        if edge.label:
            parts.append(
                f'<text class="vf-edge-label" x="{lx:g}" y="{ly:g}" text-anchor="{anchor}">'
                f"{escape(str(edge.label))}</text>"
            )
    for lane, edge in enumerate(graph.back_edges):  # loops: under the chart, back to the left
        src, dst = points[edge.src.name], points[edge.dst.name]
        low = lanes_top + lane * 14
        out_x, in_x = src.x + src.half_width() + 14, dst.x - dst.half_width() - 14
        path = [(src.x + src.half_width(), src.y), (out_x, src.y), (out_x, low), (in_x, low), (in_x, dst.y)]
        path.append((dst.x - dst.half_width(), dst.y))
        css = edge_class(edge)
        marker = "vf-arrow-done" if css == " taken" else "vf-arrow"
        parts.append(
            f'<path class="vf-edge{css}" d="{_polyline(path)}" marker-end="url(#{marker})"'
            f' data-edge="{escape(edge.src.name)}-{escape(edge.dst.name)}"/>'
        )
        if edge.label:
            parts.append(
                f'<text class="vf-edge-label" x="{out_x + 5:g}" y="{low - 4:g}">{escape(str(edge.label))}</text>'
            )
    for point in points.values():
        if point.node is not None:
            parts.append(_shape(point, states.get(point.name, "")))
    parts.append("</svg>")
    return "".join(parts)


def _is_deadline_edge(edge):
    """The dashed line from a person's task to its deadline timer, and on from the timer."""
    return getattr(edge.dst, "watched", None) is edge.src or getattr(edge.src, "watched", None) is not None


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


def process_chart_state(flow_class, process_pk):
    """``(states, taken edges)`` of a process for :func:`render_svg`, in two bounded queries.

    The rows read grow with the flow's nodes, not with the process's tasks: the
    distinct (node, status) pairs, and the distinct (previous node, node) links.
    """
    from types import SimpleNamespace

    task_cls = flow_class.task_cls
    pairs = task_cls._default_manager.filter(process_id=process_pk).order_by().values_list("flow_task", "status")
    states = process_states(SimpleNamespace(flow_task=node, status=status) for node, status in pairs.distinct())
    links = (
        task_cls.previous.through.objects.filter(from_task__process_id=process_pk)
        .order_by()
        .values_list("to_task__flow_task", "from_task__flow_task")
        .distinct()
    )
    taken = {(previous.name, node.name) for previous, node in links if previous is not None and node is not None}
    return states, taken
