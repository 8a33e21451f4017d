"""Helpers shared by viewflow's management commands."""

from __future__ import annotations

from argparse import ArgumentTypeError

from django.core.management.base import CommandError
from django.utils.module_loading import import_string

from ...base import Flow
from ...registry import all_flows
from ...views.urls import MAX_KEY, parse_key


def find_flow(name):
    """The flow class named by a dotted path (``app.flows.MyFlow``) or a flow label (``my``)."""
    matches = [flow_class for flow_class in all_flows() if flow_class._meta.flow_label == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        paths = ", ".join(sorted(f"{f.__module__}.{f.__qualname__}" for f in matches))
        raise CommandError(f"Several flows have the label {name!r} ({paths}); give the dotted path.")
    if "." in name:
        try:
            flow_class = import_string(name)
        except (ImportError, ValueError):  # ValueError: an empty module name, as in "." or ".x"
            flow_class = None
        if isinstance(flow_class, type) and issubclass(flow_class, Flow):
            return flow_class
    known = ", ".join(sorted(flow_class._meta.flow_label for flow_class in all_flows())) or "none"
    raise CommandError(f"No flow {name!r}: give a dotted path or one of these labels: {known}.")


def primary_key(value):
    """An argparse ``type``: a task's or process's id, at most a signed 64-bit integer.

    A longer number names no row; handed to SQLite it would end in an
    OverflowError instead of "not found".
    """
    key = parse_key(value)
    if key is None:
        raise ArgumentTypeError(f"{value!r} is not an id (a number from 0 to {MAX_KEY})")
    return key


def positive_int(value):
    """An argparse ``type``: a whole number of at least 1 (a ``--limit``)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ArgumentTypeError(f"{value!r} is not a number of at least 1")
    return number
