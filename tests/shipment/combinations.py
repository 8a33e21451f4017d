"""One flow per combination of view shape, form source and hook (see :mod:`tests.shipment.views`).

Each flow is ``start`` (a start view of the shape) → ``task`` (a task view of
the same shape, assigned to the starter) → ``end``. :func:`flow_for` makes a
flow on first use, stores it as a module attribute (so its dotted path stored in
the database resolves); a test registers it with the site while it runs.
"""

from viewflow import flow
from viewflow.base import Flow, this

from .models import ShipmentProcess
from .views import HOOKS, SHAPES, SOURCES, make_view


def _valid(shape, source, hook):
    if shape in ("formview", "plain") and source != "fields":
        return False  # a FormView has no model fields to name
    if shape == "plain" and hook in ("inlines06", "own06"):
        return False  # 0.6 code that saves the form itself needs a ModelForm
    return True


#: the combinations the site test walks: every shape with every form source, every shape with every hook
COMBINATIONS = sorted(
    {(shape, source, "none") for shape in SHAPES for source in SOURCES if _valid(shape, source, "none")}
    | {(shape, "fields", hook) for shape in SHAPES for hook in HOOKS if _valid(shape, "fields", hook)}
)


def flow_name(shape, source, hook, start_fields=None, task_fields=None):
    parts = [shape, source, hook]
    if start_fields or task_fields:
        parts += ["with", *(start_fields or ()), "then", *(task_fields or ())]
    return "Shipment" + "".join(part.title().replace("_", "") for part in parts) + "Flow"


def flow_for(shape, source="fields", hook="none", start_fields=None, task_fields=None):
    """The flow of this combination (made once); the caller registers it with the site."""
    name = flow_name(shape, source, hook, start_fields, task_fields)
    flow_class = globals().get(name)
    if flow_class is None:
        start_view, start_kwargs = make_view("start", shape, source, hook, start_fields and list(start_fields))
        task_view, task_kwargs = make_view("task", shape, source, hook, task_fields and list(task_fields))
        namespace = {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": f"Shipment: {shape}, {source}, {hook}",
            "process_cls": ShipmentProcess,
            "start": flow.Start(start_view, **start_kwargs).Next(this.task),
            "task": flow.View(task_view, **task_kwargs).Assign(this.start.owner).Next(this.end),
            "end": flow.End(),
        }
        flow_class = type(name, (Flow,), namespace)
        globals()[name] = flow_class
    return flow_class
