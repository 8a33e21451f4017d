"""The project's flow classes: the registry the checks, the admin, the commands and the site read.

It sits low in the layers (it imports nothing of viewflow): the flow base class
names itself a root here (:func:`add_root`), and a site that serves a flow
registers it (:func:`register`), so neither the core nor the checks ever ask
the web site which flows exist.
"""

from __future__ import annotations

from django.apps import apps

__all__ = ["add_root", "is_flow_class", "register", "unregister", "is_registered", "all_flows"]

#: base classes whose subclasses are flows (``viewflow.base.Flow``)
_roots = []
#: flow class -> how many sites serve it
_registered = {}


def add_root(base_class):
    """Count the subclasses of ``base_class`` as flows (the flow base class calls this once)."""
    if base_class not in _roots:
        _roots.append(base_class)


def is_flow_class(value):
    """Is ``value`` a flow class (a subclass of a root)?"""
    return isinstance(value, type) and any(issubclass(value, root) for root in _roots)


def register(flow_class):
    """Include ``flow_class`` in :func:`all_flows` wherever it is declared (a site serves it)."""
    _registered[flow_class] = _registered.get(flow_class, 0) + 1


def unregister(flow_class):
    """Undo one :func:`register`."""
    count = _registered.get(flow_class, 0) - 1
    if count > 0:
        _registered[flow_class] = count
    else:
        _registered.pop(flow_class, None)


def is_registered(flow_class):
    return flow_class in _registered


def all_flows():
    """The project's flow classes: those of installed apps, and those a site registered.

    A flow declared elsewhere (inside a function, say a test building a broken
    flow on purpose, or in a module of no installed app) is left out, so it
    neither breaks ``manage.py check`` nor gets permissions created on migrate;
    register it with ``viewsite.register()`` to include it.
    """
    seen, stack = [], [subclass for root in _roots for subclass in root.__subclasses__()]
    while stack:
        flow_class = stack.pop()
        if flow_class not in seen:
            seen.append(flow_class)
            stack.extend(flow_class.__subclasses__())
    return [
        flow_class
        for flow_class in seen
        if "_meta" in vars(flow_class)  # not a class whose declaration was refused
        and flow_class._meta.nodes
        and (
            is_registered(flow_class)
            or (
                "<locals>" not in flow_class.__qualname__
                and apps.get_containing_app_config(flow_class.__module__) is not None
            )
        )
    ]
