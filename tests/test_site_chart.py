"""The flow chart: layout rules and the SVG of a process's state."""

import xml.etree.ElementTree as ET

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.chart import layout, process_states, render_svg

from .testapp.models import SampleProcess

SVG = "{http://www.w3.org/2000/svg}"


def noop(activation):
    pass


class ChartFlow(Flow):
    """A flow with every kind of shape: split and join, a choice, a loop."""

    process_cls = SampleProcess

    start = flow.StartFunction(noop).Next(this.split)
    split = flow.Split().Next(this.review).Next(this.compute).Always(this.notify)
    review = flow.View().Permission(auto_create=True).Next(this.join)
    compute = flow.Handler(noop).Next(this.join)
    notify = flow.Handler(noop).Next(this.join)
    join = flow.Join().Next(this.decide)
    decide = flow.If(cond=lambda p: p.approved).OnTrue(this.archive_the_request_and_tell_everyone).OnFalse(this.fix)
    fix = flow.View().Permission(auto_create=True).Next(this.split)
    archive_the_request_and_tell_everyone = flow.Handler(noop).Next(this.end)
    end = flow.End()


def rects(svg):
    """{node name: (x, y, w, h)} of the nodes' shapes (boxes, or circle/diamond bounds)."""
    root = ET.fromstring(svg)
    boxes = {}
    for group in root.iter(f"{SVG}g"):
        name = group.get("data-node")
        shape = group.find(f"{SVG}rect")
        if shape is not None:
            boxes[name] = tuple(float(shape.get(k)) for k in ("x", "y", "width", "height"))
            continue
        circle = group.find(f"{SVG}circle")
        if circle is not None:
            cx, cy, r = (float(circle.get(k)) for k in ("cx", "cy", "r"))
            boxes[name] = (cx - r, cy - r, 2 * r, 2 * r)
            continue
        xs, ys = zip(*(map(float, p.split(",")) for p in group.find(f"{SVG}polygon").get("points").split()))
        boxes[name] = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    return boxes


def test_columns_follow_the_longest_path_and_parallel_branches_get_their_own_rows():
    positions = layout(ChartFlow)
    assert positions["start"][0] == 0 and positions["split"][0] == 1
    assert {positions[name][0] for name in ("review", "compute", "notify")} == {2}
    assert len({positions[name][1] for name in ("review", "compute", "notify")}) == 3
    assert positions["join"][0] == 3 and positions["decide"][0] == 4
    assert positions["end"][0] == max(col for col, _row in positions.values())
    # the main line runs straight; the If's first branch ("true") stays on it
    main = ("start", "split", "review", "join", "decide", "archive_the_request_and_tell_everyone", "end")
    assert {positions[name][1] for name in main} == {0}
    assert positions["fix"][1] > 0


def test_nodes_never_overlap_and_edges_do_not_cross_nodes():
    svg = render_svg(ChartFlow)
    boxes = rects(svg)
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ax, ay, aw, ah = boxes[a]
            bx, by, bw, bh = boxes[b]
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, f"{a} overlaps {b}"
    root = ET.fromstring(svg)
    for path in root.iter(f"{SVG}path"):
        if path.get("class", "").startswith("vf-edge") is False:
            continue
        src, dst = path.get("data-edge").split("-")
        coords = [tuple(map(float, pair.split())) for pair in path.get("d")[2:].split(" L ")]
        for (x1, y1), (x2, y2) in zip(coords, coords[1:]):
            for name, (x, y, w, h) in boxes.items():
                if name in (src, dst):
                    continue
                # an axis-parallel segment through a node's box
                if y1 == y2 and y < y1 < y + h and min(x1, x2) < x + w and max(x1, x2) > x:
                    raise AssertionError(f"edge {src}->{dst} runs through {name}")
                if x1 == x2 and x < x1 < x + w and min(y1, y2) < y + h and max(y1, y2) > y:
                    raise AssertionError(f"edge {src}->{dst} runs through {name}")


def test_long_titles_are_wrapped_and_the_loop_is_drawn_below():
    svg = render_svg(ChartFlow)
    root = ET.fromstring(svg)
    group = next(g for g in root.iter(f"{SVG}g") if g.get("data-node") == "archive_the_request_and_tell_everyone")
    assert len(list(group.iter(f"{SVG}tspan"))) == 2
    loop = next(p for p in root.iter(f"{SVG}path") if p.get("data-edge") == "fix-split")
    lowest_node = max(y + h for _x, y, _w, h in rects(svg).values())
    assert max(float(pair.split()[1]) for pair in loop.get("d")[2:].split(" L ")) > lowest_node


class FakeTask:
    def __init__(self, node, status):
        self.flow_task, self.status = node, status


def test_process_state_marks_done_active_and_error_nodes_and_taken_edges():
    tasks = [
        FakeTask(ChartFlow.start, "DONE"),
        FakeTask(ChartFlow.split, "DONE"),
        FakeTask(ChartFlow.review, "ASSIGNED"),
        FakeTask(ChartFlow.compute, "ERROR"),
        FakeTask(ChartFlow.notify, "DONE"),
        FakeTask(ChartFlow.fix, "CANCELED"),
    ]
    states = process_states(tasks)
    assert states == {"start": "done", "split": "done", "review": "active", "compute": "error", "notify": "done"}
    root = ET.fromstring(render_svg(ChartFlow, states))
    classes = {g.get("data-node"): g.get("class").split() for g in root.iter(f"{SVG}g")}
    assert "active" in classes["review"] and "error" in classes["compute"] and "done" in classes["start"]
    assert classes["join"] == ["vf-node", "vf-gateway"]
    edges = {p.get("data-edge"): p.get("class").split() for p in root.iter(f"{SVG}path") if p.get("data-edge")}
    assert "taken" in edges["start-split"] and "taken" in edges["split-review"]
    assert "taken" not in edges["notify-join"]  # the join is not reached yet


def text_boxes(svg):
    """Rough boxes (x, y, w, h) of the edge labels and of the gateways' titles, from their font sizes."""
    root = ET.fromstring(svg)
    labels, titles = [], []
    for text in root.iter(f"{SVG}text"):
        x, y = float(text.get("x")), float(text.get("y"))
        if text.get("class") == "vf-edge-label":
            labels.append((text.text, (x, y - 9, 6.2 * len(text.text), 11)))
    for group in root.iter(f"{SVG}g"):
        if "vf-gateway" in group.get("class", ""):
            title = group.findall(f"{SVG}text")[-1]
            words = "".join(span.text for span in title.iter(f"{SVG}tspan"))
            x, y, width = float(title.get("x")), float(title.get("y")), 7.2 * len(words)
            titles.append((group.get("data-node"), (x - width / 2, y - 10, width, 13)))
    return labels, titles


def overlap(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def test_edge_labels_stay_apart_and_no_edge_runs_through_a_gateways_title():
    """A Switch's branches to rows below share their way down; a lower If goes back up to the main row."""
    from leave.flows import LeaveFlow  # decide: three cases; check_director (a row below): true goes up

    svg = render_svg(LeaveFlow)
    labels, titles = text_boxes(svg)
    assert len(labels) >= 5
    for i, (text, box) in enumerate(labels):
        for other, other_box in labels[i + 1 :]:
            assert not overlap(box, other_box), f"labels {text!r} and {other!r} overlap"
        for name, title_box in titles:
            assert not overlap(box, title_box), f"label {text!r} covers the title of {name}"
    for path in ET.fromstring(svg).iter(f"{SVG}path"):
        if path.get("data-edge") is None:
            continue
        coords = [tuple(map(float, pair.split())) for pair in path.get("d")[2:].split(" L ")]
        for (x1, y1), (x2, y2) in zip(coords, coords[1:]):
            segment = (min(x1, x2) - 0.5, min(y1, y2) - 0.5, abs(x2 - x1) + 1, abs(y2 - y1) + 1)
            for name, title_box in titles:
                assert not overlap(segment, title_box), f"edge {path.get('data-edge')} runs through the title of {name}"
