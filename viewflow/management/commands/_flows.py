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
            if "_meta" not in vars(flow_class) or not flow_class._meta.nodes:  # Flow itself, or a base of flows
                raise CommandError(
                    f"{name} declares no nodes: give a flow class that does, or one of these labels: {_labels()}."
                )
            return flow_class
    raise CommandError(f"No flow {name!r}: give a dotted path or one of these labels: {_labels()}.")


def _labels():
    return ", ".join(sorted(flow_class._meta.flow_label for flow_class in all_flows())) or "none"


def primary_key(value):
    """An argparse ``type``: a task's or process's id, at most a signed 64-bit integer.

    A longer number names no row; handed to SQLite it would end in an
    OverflowError instead of "not found".
    """
    key = parse_key(value)
    if key is None:
        raise ArgumentTypeError(f"{value!r} is not an id (a number from 0 to {MAX_KEY})")
    return key


def bounded_int(maximum):
    """An argparse ``type``: a whole number from 1 to ``maximum`` (a ``--limit``).

    Without a bound, a number beyond 64 bits reached the database as a LIMIT
    and failed there (an IntegrityError on SQLite), and a huge but valid one
    would print a table nobody reads.
    """

    def parse(value):
        try:
            number = int(value)
        except ValueError:
            number = 0
        if not 1 <= number <= maximum:
            raise ArgumentTypeError(f"{value!r} is not a number from 1 to {maximum}")
        return number

    return parse
