"""How the site serves a node: its task route, its view, its URL patterns.

The nodes import nothing of the web; the site maps node classes to views, as
the admin maps models to ModelAdmins. A node names its view when it is declared
(``flow.View(MyView, fields=[...])``); one that names none gets the view of
:data:`DEFAULT_VIEWS` for the nearest of its classes.
"""

from __future__ import annotations

from django.urls import path

from ..flow.start import Start
from ..flow.view import View
from ..views import ProcessView, StartView, actions
from ..views.urls import KEY_CONVERTER

__all__ = ["DEFAULT_VIEWS", "default_view_class", "node_view", "task_route", "node_urlpatterns"]

#: node class -> the view class its page uses when the node names none
DEFAULT_VIEWS = {Start: StartView, View: ProcessView}


def default_view_class(node):
    """The view class of :data:`DEFAULT_VIEWS` for the nearest class of ``node`` (by its MRO)."""
    for cls in type(node).__mro__:
        if cls in DEFAULT_VIEWS:
            return DEFAULT_VIEWS[cls]
    return StartView if node.task_type == "START" else ProcessView


def node_view(node):
    """The view callable of ``node``'s own page: the one it names, or its default (built once)."""
    view = node.view
    if view is None:
        view = node.__dict__.get("_site_view")
        if view is None:
            view = default_view_class(node).as_view(**node._view_kwargs)
            node._site_view = view
    return view


def task_route(node):
    """``<process_pk>/<node name>/<task_pk>/``: where the node's task pages live.

    The keys use the ``viewflow_pk`` converter: a number too long to be a key
    does not resolve (a 404), where ``int`` would hand it to the database.
    """
    return f"<{KEY_CONVERTER}:process_pk>/{node.name}/<{KEY_CONVERTER}:task_pk>/"


def node_urlpatterns(node):
    """The URL patterns of ``node``: its own page (a start or a task view), then its task operations.

    A node class of 0.6's kind that defines ``urls()`` itself gets those instead.
    """
    if callable(getattr(node, "urls", None)):
        return list(node.urls())
    kwargs = {"flow_class": node.flow_class, "flow_task": node}
    prefix = task_route(node)
    patterns = []
    if hasattr(node, "view"):  # a node people do through a page
        if node.task_type == "START":
            patterns.append(path(f"{node.name}/", node_view(node), kwargs, name=node.name))
        else:
            patterns.append(path(prefix, node_view(node), kwargs, name=node.name))
    patterns.extend(
        path(f"{prefix}{action}/", actions.view_for(action), kwargs, name=f"{node.name}__{action}")
        for action in node.task_actions
    )
    return patterns
