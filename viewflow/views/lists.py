"""Pages across flows: the flow list, and the user's inbox, queue and archive.

Each list is one indexed, paginated query plus one statement that counts the
list and the navigation's inbox and queue at once. Counts stop at
``COUNT_CAP`` rows (the page shows "1000+"): counting a million rows to print
the number would cost more than the page. Neither the number of queries nor the
work per page grows with the rows stored.
"""

from __future__ import annotations

import re
from functools import cached_property

from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Paginator
from django.db import connections, router
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import ListView, TemplateView

from ..conf import viewflow_settings
from ..permissions import all_permissions, object_queue_filter
from ..policy import restrict_tasks
from ..registry import all_flows
from ..status import RUNNING_PROCESS_STATUSES, TaskStatus
from .mixins import SiteLoginRequiredMixin

__all__ = [
    "FlowListView",
    "InboxView",
    "QueueView",
    "ArchiveView",
    "inbox_filter",
    "queue_filter",
    "archive_filter",
    "flow_filter",
    "capped_counts",
    "shown_count",
    "nav_counts",
    "nav_of",
    "COUNT_CAP",
]

#: lists and the navigation count their tasks this far, then say "more"
COUNT_CAP = 1000


class SiteViewMixin(SiteLoginRequiredMixin):
    """A page of the site as a whole (not of one flow)."""

    site = None

    def visible_flows(self):
        user = self.request.user
        return [flow_class for flow_class in self.site.flows() if flow_class.has_view_permission(user)]


class FlowListView(SiteViewMixin, TemplateView):
    """The flows this user may see, and which of them they may start.

    Each card counts the flow's running processes, the user's tasks in it and
    the tasks they may claim, each up to ``COUNT_CAP`` as the navigation does
    ("1000+"): one statement for every card and the navigation, however many rows.
    """

    template_name = "viewflow/flow_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        visible = self.visible_flows()
        querysets = nav_querysets(user)
        for flow_class in visible:
            label = flow_class._meta.flow_label
            querysets[label, "active"] = active_processes(flow_class, user)
            querysets[label, "inbox"] = querysets["inbox"].filter(flow_filter(flow_class))
            querysets[label, "queue"] = querysets["queue"].filter(flow_filter(flow_class))
        counts = capped_counts(querysets)
        flows = []
        for flow_class in visible:
            label = flow_class._meta.flow_label
            starts = [node for node in flow_class._meta.start_nodes if hasattr(node, "view") and node.can_execute(user)]
            item = {"flow_class": flow_class, "meta": flow_class._meta, "start_nodes": starts}
            for name in ("active", "inbox", "queue"):
                item[name], item[f"{name}_more"] = counts[label, name]
            flows.append(item)
        return super().get_context_data(flows=flows, task_counts=nav_of(counts), **kwargs)


def active_processes(flow_class, user):
    """The running processes of ``flow_class`` that ``user`` sees (the flow's policy).

    Counted from the base process table, unless the policy narrows them with
    conditions on the flow's own process model.
    """
    from ..models import Process

    policy = flow_class.policy
    model = Process if policy.process_filter(user) is None else flow_class.process_cls
    running = model._default_manager.filter(flow_class=flow_class, status__in=RUNNING_PROCESS_STATUSES)
    return policy.processes(user, running)


def inbox_filter(user):
    """A Q() of the tasks assigned to ``user`` that are still to do."""
    return Q(owner=user, status__in=(TaskStatus.ASSIGNED, TaskStatus.STARTED))


def queue_filter(user):
    """A Q() of the unassigned tasks ``user`` may claim (by permission).

    Only the user's permissions that some node asks for are listed, so the
    database sees one value (or a few) and walks the queue index in order.
    A node with ``.Permission(perm, obj=ProcessObject(...))`` lists, of those,
    only the tasks whose object the user holds the permission on too, when the
    authentication backends can say which
    (:func:`~viewflow.permissions.object_queue_filter`): the claim would refuse
    the others.
    """
    base = Q(status=TaskStatus.NEW, owner__isnull=True)
    if user.is_superuser:
        return base & ~Q(owner_permission="")
    by_permission = base & Q(owner_permission__in=sorted(all_permissions(user) & _node_permissions()))
    by_object = object_queue_filter(user, _object_permission_nodes())
    if by_object is None:
        return by_permission
    # a node whose permission is checked on an object: of its tasks, only those whose object passes
    paths, condition = by_object
    return by_permission & (~Q(flow_task__in=paths) | condition)


def flow_filter(flow_class):
    """A Q() of the tasks of ``flow_class``: those of its nodes (the node index serves it, no join)."""
    from ..fields import node_path

    return Q(flow_task__in=[node_path(node) for node in flow_class._meta.nodes.values()])


def _object_permission_nodes():
    """The nodes of declared flows whose permission is checked on an object (``.Permission(obj=...)``)."""
    from ..base import all_flows

    return [
        node
        for flow_class in all_flows()
        for node in flow_class._meta.nodes.values()
        if getattr(node, "_permission_obj", None) is not None
    ]


def _node_permissions():
    """Every ``owner_permission`` a node of a declared flow gives its tasks."""
    return {
        permission
        for flow_class in all_flows()
        for node in flow_class._meta.nodes.values()
        for permission in [getattr(node, "owner_permission", "")]
        if permission
    }


def capped_counts(querysets, cap=None, caps=None):
    """``{name: (count, more)}`` for ``{name: queryset}``, each counted up to ``cap`` rows, in one statement.

    ``caps`` (``{name: cap}``) counts some of them further, e.g. the list a deep page is read from.
    Each count reads at most its cap + 1 rows: the work stops there, however many match.
    """
    from ..models import Task

    cap = COUNT_CAP if cap is None else cap
    caps = caps or {}

    parts, params = [], []
    for name, queryset in querysets.items():
        try:
            sql, sql_params = queryset.order_by().values("pk")[: caps.get(name, cap) + 1].query.sql_with_params()
        except EmptyResultSet:  # a filter that cannot match, e.g. no permission at all
            parts.append("0")
            continue
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) capped)")
        params.extend(sql_params)
    if not parts:
        return {}
    with connections[router.db_for_read(Task)].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return {name: (min(n, caps.get(name, cap)), n > caps.get(name, cap)) for name, n in zip(querysets, row)}


def shown_count(count):
    """``(count, more)`` as the pages show it: capped at ``COUNT_CAP``, however far it was counted."""
    n, more = count
    return min(n, COUNT_CAP), more or n > COUNT_CAP


def deep_cap(page, per_page):
    """How far a list is counted to show page ``page`` (``?page=``) and to know whether a next one follows.

    ``COUNT_CAP`` for the first pages; past it, to the end of the next page.
    Only the list's own paginator counts that far: every count shown as a
    number stays capped at ``COUNT_CAP``.
    """
    page = str(page or "")
    if not re.fullmatch(r"[0-9]{1,9}", page):  # "last", or nonsense the paginator refuses
        return COUNT_CAP
    return max(COUNT_CAP, (int(page) + 1) * per_page)


def nav_querysets(user):
    """``{"inbox": tasks, "queue": tasks}``: what the navigation counts for ``user``."""
    from ..models import Task

    return {"inbox": Task.objects.filter(inbox_filter(user)), "queue": Task.objects.filter(queue_filter(user))}


def nav_counts(user):
    """The navigation's ``{"inbox": n, "inbox_more": bool, "queue": n, "queue_more": bool}``."""
    return nav_of(capped_counts(nav_querysets(user)))


def nav_of(counts):
    """The navigation's counts from :func:`capped_counts`, capped at ``COUNT_CAP`` whatever they were counted to."""
    inbox, queue = shown_count(counts["inbox"]), shown_count(counts["queue"])
    return {"inbox": inbox[0], "inbox_more": inbox[1], "queue": queue[0], "queue_more": queue[1]}


class CappedPaginator(Paginator):
    """A paginator whose count is given (capped): ``more`` tells that the list goes on."""

    def __init__(self, object_list, per_page, count, more, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self._count, self.more = count, more

    @cached_property
    def count(self):
        return self._count

    def validate_number(self, number):
        """A page past the end is the last page, not a 404: tasks were claimed since the link was made."""
        try:
            return super().validate_number(number)
        except EmptyPage:
            if int(number) < 1:
                raise
            return self.num_pages

    def page(self, number):
        """The page; when the list goes on past the count, the page is not cut at the count."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if not self.more and top + self.orphans >= self.count:
            top = self.count
        return self._get_page(self.object_list[bottom:top], number, self)


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

    #: ``?sort=<name>`` orders the list otherwise: name → ordering
    sortings = {}

    def current_sort(self):
        sort = self.request.GET.get("sort", "")
        return sort if sort in self.sortings else ""

    def get_ordering(self):
        sort = self.current_sort()
        return self.sortings[sort] if sort else self.ordering

    def get_queryset(self):
        from ..models import Task

        queryset = Task.objects.filter(self.task_filter())
        flow_class = self.current_flow()
        if flow_class is not None:
            queryset = flow_class.policy.tasks(self.request.user, queryset.filter(flow_filter(flow_class)))
        else:
            queryset = restrict_tasks(self.request.user, queryset, self.site.flows())
        return queryset.select_related("owner").order_by(*self.get_ordering())

    def counts(self):
        """This list's count and the navigation's, in one statement (see :func:`capped_counts`).

        On a page past the cap the list is counted as far as that page (:func:`deep_cap`).
        """
        if not hasattr(self, "_counts"):
            querysets = nav_querysets(self.request.user)
            own = self.list_name if self.list_name in querysets and self.current_flow() is None else "list"
            if own == "list":
                querysets["list"] = self.get_queryset()
            cap = deep_cap(self.request.GET.get(self.page_kwarg), self.get_paginate_by(None))
            self._counts = capped_counts(querysets, caps={own: cap})
            self._counts["own"] = self._counts[own]
        return self._counts

    def get_paginator(self, queryset, per_page, orphans=0, allow_empty_first_page=True, **kwargs):
        count, more = self.counts()["own"]
        return CappedPaginator(
            queryset, per_page, count, more, orphans=orphans, allow_empty_first_page=allow_empty_first_page, **kwargs
        )

    def get_context_data(self, **kwargs):
        list_count, list_more = shown_count(self.counts()["own"])
        return super().get_context_data(
            title=self.title,
            list_name=self.list_name,
            empty_message=self.empty_message,
            flows=self.visible_flows(),
            current_flow=self.current_flow(),
            task_counts=nav_of(self.counts()),
            list_count=list_count,
            list_more=list_more,
            sort=self.current_sort(),
            sort_urls=self.sort_urls(),
            now=timezone.now(),
            **kwargs,
        )

    def sort_urls(self):
        """``{name: query string}`` that orders the list by ``name`` ("" for the default order), keeping the filters."""
        urls = {}
        for name in ("", *self.sortings):
            query = self.request.GET.copy()
            query.pop(self.page_kwarg, None)
            query.pop("sort", None)
            if name:
                query["sort"] = name
            urls[name or "default"] = f"?{query.urlencode()}"
        return urls


class InboxView(TaskListView):
    """Tasks assigned to me."""

    list_name = "inbox"
    title = _("Inbox")
    empty_message = _("Nothing to do: no task is assigned to you. Claim one from the queue.")
    sortings = {"due": (F("due").asc(nulls_last=True), "-created", "-pk")}  # soonest due first, no due last


    def task_filter(self):
        return inbox_filter(self.request.user)


class QueueView(TaskListView):
    """Tasks I may claim."""

    list_name = "queue"
    title = _("Queue")
    empty_message = _("No task is waiting for someone like you.")
    sortings = {"due": (F("due").asc(nulls_last=True), "-created", "-pk")}  # soonest due first, no due last


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
