"""Walk a shipment flow through the site like a browser, and read back what was typed."""

from __future__ import annotations

import contextlib
import itertools

from django.test import override_settings
from django.urls import clear_url_caches, include, path

from viewflow.models import Task
from viewflow.site import viewsite

from .models import Audit, ProcessNote, Shipment, ShipmentItem, ShipmentProcess
from .views import edited_fields, edited_model

_serial = itertools.count(1)


@contextlib.contextmanager
def serving(*flow_classes):
    """Serve ``flow_classes`` under ``/flows/`` with a URLconf built now, then forget them."""
    added = [flow_class for flow_class in flow_classes if not viewsite.is_registered(flow_class)]
    for flow_class in added:
        viewsite.register(flow_class)

    class urls:
        urlpatterns = [path("flows/", include(viewsite.urls))]

    try:
        with override_settings(ROOT_URLCONF=urls):
            yield
    finally:
        for flow_class in added:
            viewsite.unregister(flow_class)
        clear_url_caches()


def typed_values(names, tag=None):
    """Values a person types into the named fields: ``(POST data, expected stored values)``."""
    tag = tag or str(next(_serial))
    post, stored = {}, {}
    for name in names:
        if name in ("weight", "priority"):
            value = 3 + len(name) + int(tag) % 50
            post[name], stored[name] = str(value), value
        elif name == "fragile":
            post[name], stored[name] = "on", True
        else:
            post[name] = stored[name] = f"{name}-{tag}"
    return post, stored


def inline_rows(prefix, rows, blank=1):
    """A browser's POST of an inline formset: the filled rows, then ``blank`` untouched extra rows."""
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows) + blank), f"{prefix}-INITIAL_FORMS": "0"}
    for number, row in enumerate(rows):
        for name, value in row.items():
            data[f"{prefix}-{number}-{name}"] = value
    for number in range(len(rows), len(rows) + blank):
        first = "text" if prefix == "notes" else "name"
        data[f"{prefix}-{number}-{first}"] = ""
        data[f"{prefix}-{number}-quantity"] = "1"  # the initial value the page shows
    return data


def submission(kind, shape, fields=None, rows=1, tag=None):
    """``(POST data, what must be stored)`` for a view of this kind and shape."""
    tag = tag or str(next(_serial))
    post, stored = typed_values(edited_fields(kind, shape, fields), tag)
    expected = {"model": edited_model(kind, shape), "values": stored, "lines": []}
    if shape.endswith("_inlines"):
        prefix = "notes" if expected["model"] is ShipmentProcess else "items"
        first = "text" if prefix == "notes" else "name"
        lines = [(f"{prefix}-{tag}-{n}", n + 2) for n in range(rows)]
        post.update(inline_rows(prefix, [{first: name, "quantity": str(qty)} for name, qty in lines]))
        expected["lines"] = lines
    return post, expected


def stored_object(expected, process):
    """The row the submission was stored in, found by what was typed (or None)."""
    model, values = expected["model"], expected["values"]
    if model is ShipmentProcess:
        found = ShipmentProcess.objects.filter(pk=process.pk, **values).first() if process is not None else None
    else:
        found = Shipment.objects.filter(**values).first()
    return found


def stored_lines(expected, obj):
    if obj is None:
        return []
    if expected["model"] is ShipmentProcess:
        return sorted(ProcessNote.objects.filter(process=obj).values_list("text", "quantity"))
    return sorted(ShipmentItem.objects.filter(shipment=obj).values_list("name", "quantity"))


def counts():
    """How many rows each model holds: a failed step must leave them as they were."""
    return {
        model.__name__: model._default_manager.count()
        for model in (Shipment, ShipmentItem, ShipmentProcess, ProcessNote, Audit, Task)
    }


def start_url(flow_class):
    return f"/flows/{flow_class._meta.flow_label}/start/"


def task_url(task):
    return f"/flows/{task.flow_task.flow_class._meta.flow_label}/{task.process_id}/{task.flow_task.name}/{task.pk}/"
