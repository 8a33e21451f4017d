"""The web site: ``viewsite.register(MyFlow)`` and ``path("flows/", include(viewsite.urls))``."""

from __future__ import annotations

from django.urls import include, path

from .. import registry

__all__ = ["FlowSite", "viewsite", "flow_urlpatterns"]


class FlowSite:
    """A registry of flows that serves their pages under one URL include."""

    app_name = "viewflow"

    def __init__(self, namespace="viewflow"):
        self.namespace = namespace
        self._registry = {}

    def register(self, flow_class):
        """Serve ``flow_class`` under ``<flow label>/``; usable as a class decorator."""
        label = flow_class._meta.flow_label
        registered = self._registry.get(label)
        if registered is not None and registered is not flow_class:
            if (
                f"{registered.__module__}.{registered.__qualname__}"
                != f"{flow_class.__module__}.{flow_class.__qualname__}"
            ):
                raise ValueError(
                    f"Flow label {label!r} of {flow_class.__qualname__} is taken by {registered.__qualname__}; "
                    "set flow_label on one of them."
                )
        if registered is not flow_class:
            if registered is not None:
                registry.unregister(registered)
            registry.register(flow_class)
        self._registry[label] = flow_class
        return flow_class

    def unregister(self, flow_class):
        """Stop serving ``flow_class`` (URLs already built keep it until the URLconf is reloaded)."""
        if self.is_registered(flow_class):
            registry.unregister(self._registry.pop(flow_class._meta.flow_label))

    def flows(self):
        """The registered flow classes, in registration order."""
        return list(self._registry.values())

    def get_flow(self, label):
        """The flow class served under ``label``, or None."""
        return self._registry.get(label)

    def is_registered(self, flow_class):
        """Is this very class served by the site?"""
        return self._registry.get(flow_class._meta.flow_label) is flow_class

    @property
    def urlpatterns(self):
        from ..views import auth, lists

        patterns = [
            path("", lists.FlowListView.as_view(site=self), name="index"),
            path("inbox/", lists.InboxView.as_view(site=self), name="inbox"),
            path("queue/", lists.QueueView.as_view(site=self), name="queue"),
            path("archive/", lists.ArchiveView.as_view(site=self), name="archive"),
            path("login/", auth.LoginView.as_view(), name="login"),
            path("logout/", auth.LogoutView.as_view(), name="logout"),
        ]
        for label, flow_class in self._registry.items():
            patterns.append(path(f"{label}/", include((flow_urlpatterns(flow_class), label), namespace=label)))
        return patterns

    @property
    def urls(self):
        return self, self.app_name


def flow_urlpatterns(flow_class):
    """The URLs of one flow: process list, chart, process detail and every node's views.

    Process and task keys are matched by :class:`~viewflow.views.urls.KeyConverter`:
    a number too long to be a key is a 404, not a database error.
    """
    from ..views import process
    from ..views.urls import KEY_CONVERTER
    from .nodes import node_urlpatterns

    kwargs = {"flow_class": flow_class}
    pk = f"<{KEY_CONVERTER}:process_pk>"
    patterns = [
        path("", process.ProcessListView.as_view(), kwargs, name="process-list"),
        path("chart.svg", process.FlowChartView.as_view(), kwargs, name="chart"),
        path(f"{pk}/", process.ProcessDetailView.as_view(), kwargs, name="process-detail"),
        path(f"{pk}/chart.svg", process.FlowChartView.as_view(), kwargs, name="process-chart"),
        path(f"{pk}/cancel/", process.CancelProcessView.as_view(), kwargs, name="process-cancel"),
    ]
    for node in flow_class._meta.nodes.values():
        patterns.extend(node_urlpatterns(node))  # under task_route(node), keyed the same way
    return patterns


viewsite = FlowSite()
