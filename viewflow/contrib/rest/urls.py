"""``path("api/", include("viewflow.contrib.rest.urls"))``: the API of the flows registered with ``viewsite``.

=============================================================== ===================================
``flows/``                                                      the flows the user may see
``flows/<flow>/``                                               a flow and its nodes
``flows/<flow>/start/<node>/``                                  POST: start a process
``flows/<flow>/processes/<pk>/``                                a process and its active tasks
``flows/<flow>/processes/<pk>/tasks/``                          its history
``flows/<flow>/processes/<pk>/cancel/``                         POST: cancel it
``flows/<flow>/processes/<pk>/<node>/<task_pk>/``               a task
``flows/<flow>/processes/<pk>/<node>/<task_pk>/<operation>/``   POST: assign, unassign, reassign,
                                                                complete, cancel, undo, retry
``processes/``                                                  processes (filters)
``tasks/inbox/``, ``tasks/queue/``, ``tasks/archive/``          the user's tasks
``schema/``, ``docs/``                                          OpenAPI schema, Swagger UI
=============================================================== ===================================

Each node has its own paths, so that the schema gives each its own body.
"""

from __future__ import annotations

from django.urls import include, path

from viewflow.site import viewsite

from . import views
from .schema import SchemaView, SwaggerView

__all__ = ["api_urlpatterns", "flow_api_urlpatterns"]

app_name = "viewflow_rest"


def flow_api_urlpatterns(flow_class, site):
    """The endpoints of one flow, its processes and each node's tasks."""
    kwargs = {"flow_class": flow_class, "site": site}
    process = "processes/<str:process_pk>/"
    patterns = [
        path("", views.FlowDetailView.as_view(**kwargs), name="flow-detail"),
        path(process, views.ProcessDetailView.as_view(**kwargs), name="process-detail"),
        path(f"{process}tasks/", views.ProcessTasksView.as_view(**kwargs), name="process-tasks"),
        path(f"{process}cancel/", views.CancelProcessView.as_view(**kwargs), name="process-cancel"),
    ]
    for node in flow_class._meta.nodes.values():
        node_kwargs = {**kwargs, "node": node}
        is_start = node.task_type == "START"
        if is_start and hasattr(node, "view"):
            view = views.StartProcessView.as_view(**node_kwargs)
            patterns.append(path(f"start/{node.name}/", view, name=f"{node.name}-start"))
        task = f"{process}{node.name}/<str:task_pk>/"
        patterns.append(path(task, views.TaskDetailView.as_view(**node_kwargs), name=f"{node.name}-detail"))
        for action in node.task_actions:
            if action in views.OPERATIONS:
                view = views.TaskOperationView.as_view(action=action, **node_kwargs)
                patterns.append(path(f"{task}{action}/", view, name=f"{node.name}-{action}"))
        if hasattr(node, "view") and not is_start:
            view = views.CompleteTaskView.as_view(**node_kwargs)
            patterns.append(path(f"{task}complete/", view, name=f"{node.name}-complete"))
    return patterns


def api_urlpatterns(site=viewsite):
    """Every endpoint of the API for the flows registered with ``site``."""
    patterns = [
        path("flows/", views.FlowListView.as_view(site=site), name="flow-list"),
        path("processes/", views.ProcessListView.as_view(site=site), name="process-list"),
        path("tasks/inbox/", views.InboxView.as_view(site=site), name="inbox"),
        path("tasks/queue/", views.QueueView.as_view(site=site), name="queue"),
        path("tasks/archive/", views.ArchiveView.as_view(site=site), name="archive"),
        path("schema/", SchemaView.as_view(), name="schema"),
        path("docs/", SwaggerView.as_view(), name="docs"),
    ]
    for label, flow_class in ((flow._meta.flow_label, flow) for flow in site.flows()):
        flow_patterns = (flow_api_urlpatterns(flow_class, site), label)
        patterns.append(path(f"flows/{label}/", include(flow_patterns, namespace=label)))
    return patterns


urlpatterns = api_urlpatterns()
