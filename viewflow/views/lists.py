"""Pages across flows: the flow list, and the user's inbox, queue and archive.

Each list is one indexed, paginated query plus its COUNT: the number of
queries per page does not grow with the rows shown.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _
from django.views.generic import ListView, TemplateView

from ..conf import viewflow_settings
from ..status import ProcessStatus, TaskStatus
from .mixins import SiteLoginRequiredMixin

__all__ = ["FlowListView", "InboxView", "QueueView", "ArchiveView", "inbox_filter", "queue_filter", "archive_filter"]


class SiteViewMixin(SiteLoginRequiredMixin):
    """A page of the site as a whole (not of one flow)."""

    site = None

    def visible_flows(self):
        user = self.request.user
        return [flow_class for flow_class in self.site.flows() if flow_class.has_view_permission(user)]


class FlowListView(SiteViewMixin, TemplateView):
    """The flows this user may see, and which of them they may start."""

    template_name = "viewflow/flow_list.html"

    def get_context_data(self, **kwargs):
        from ..models import Process, Task

        user = self.request.user
        visible = self.visible_flows()
        # two grouped queries, whatever the number of flows and rows
        active = dict(
            Process.objects.filter(flow_class__in=visible, status__in=(ProcessStatus.NEW, ProcessStatus.STARTED, ProcessStatus.ERROR))
            .values_list("flow_class")
            .annotate(n=Count("pk"))
            .order_by()
        )
        # what is in my inbox and what I may claim, counted apart: each links to its own list
        mine = {
            flow_class: (inbox, queue)
            for flow_class, inbox, queue in Task.objects.filter(
                inbox_filter(user) | queue_filter(user), process__flow_class__in=visible
            )
            .values_list("process__flow_class")
            .annotate(inbox=Count("pk", filter=inbox_filter(user)), queue=Count("pk", filter=queue_filter(user)))
            .order_by()
        }
        flows = []
        for flow_class in visible:
            starts = [node for node in flow_class._meta.start_nodes if hasattr(node, "view") and node.can_execute(user)]
            flows.append(
                {
                    "flow_class": flow_class,
                    "meta": flow_class._meta,
                    "start_nodes": starts,
                    "active": active.get(flow_class, 0),
                    "inbox": mine.get(flow_class, (0, 0))[0],
                    "queue": mine.get(flow_class, (0, 0))[1],
                }
            )
        return super().get_context_data(flows=flows, **kwargs)


def inbox_filter(user):
    """A Q() of the tasks assigned to ``user`` that are still to do."""
    return Q(owner=user, status__in=(TaskStatus.ASSIGNED, TaskStatus.STARTED))


def queue_filter(user):
    """A Q() of the unassigned tasks ``user`` may claim (by permission)."""
    base = Q(status=TaskStatus.NEW, owner__isnull=True)
    if user.is_superuser:
        return base & ~Q(owner_permission="")
    return base & Q(owner_permission__in=sorted(user.get_all_permissions()))


def archive_filter(user):
    """A Q() of the tasks ``user`` completed."""
    return Q(owner=user, status=TaskStatus.DONE)


class TaskListView(SiteViewMixin, ListView):
    """A paginated list of tasks across flows, optionally narrowed to one flow (``?flow=<label>``)."""

    template_name = "viewflow/task_list.html"
    title = ""
    list_name = ""
    empty_message = ""
    ordering = ("-created", "-pk")

    def get_paginate_by(self, queryset):
        return viewflow_settings.PAGE_SIZE

    def task_filter(self):
        raise NotImplementedError

    def current_flow(self):
        return self.site.get_flow(self.request.GET.get("flow", ""))

    def get_queryset(self):
        from ..models import Task

        queryset = Task.objects.filter(self.task_filter())
        flow_class = self.current_flow()
        if flow_class is not None:
            queryset = queryset.filter(process__flow_class=flow_class)
        return queryset.select_related("owner").order_by(*self.ordering)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            title=self.title,
            list_name=self.list_name,
            empty_message=self.empty_message,
            flows=self.visible_flows(),
            current_flow=self.current_flow(),
            **kwargs,
        )


class InboxView(TaskListView):
    """Tasks assigned to me."""

    list_name = "inbox"
    title = _("Inbox")
    empty_message = _("Nothing to do: no task is assigned to you. Claim one from the queue.")

    def task_filter(self):
        return inbox_filter(self.request.user)


class QueueView(TaskListView):
    """Tasks I may claim."""

    list_name = "queue"
    title = _("Queue")
    empty_message = _("No task is waiting for someone like you.")

    def task_filter(self):
        return queue_filter(self.request.user)


class ArchiveView(TaskListView):
    """Tasks I completed."""

    list_name = "archive"
    title = _("Archive")
    empty_message = _("You have not completed any task yet.")
    ordering = ("-finished", "-pk")

    def task_filter(self):
        return archive_filter(self.request.user)
