"""Helpers shared by viewflow's management commands."""

from __future__ import annotations

from django.core.management.base import CommandError

from ...base import all_flows
from ...fields import import_flow


def find_flow(name):
    """The flow class named by a dotted path (``app.flows.MyFlow``) or a flow label (``my``)."""
    matches = [flow_class for flow_class in all_flows() if flow_class._meta.flow_label == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        paths = ", ".join(sorted(f"{f.__module__}.{f.__qualname__}" for f in matches))
        raise CommandError(f"Several flows have the label {name!r} ({paths}); give the dotted path.")
    if "." in name:
        flow_class = import_flow(name)
        if flow_class is not None:
            return flow_class
    known = ", ".join(sorted(flow_class._meta.flow_label for flow_class in all_flows())) or "none"
    raise CommandError(f"No flow {name!r}: give a dotted path or one of these labels: {known}.")
