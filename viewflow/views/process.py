"""Pages of one flow: its processes, one process, the flow chart, cancelling a process."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, FormView, ListView

from ..chart import process_chart_state, render_svg
from ..conf import viewflow_settings
from ..exceptions import FlowRuntimeError
from ..lineage import may_be_child, starts_children
from ..models import Process, Task
from ..status import ACTIVE_TASK_STATUSES, ProcessStatus
from .lists import CappedPaginator, capped_counts, deep_cap, nav_of, nav_querysets, shown_count
from .mixins import FlowViewMixin
from .urls import parse_key, process_url, process_url_of

__all__ = ["ProcessListView", "ProcessDetailView", "FlowChartView", "CancelProcessView"]


class FlowPermissionMixin(FlowViewMixin):
    """Only users with some permission in the flow see its pages."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.flow_class.has_view_permission(request.user):
            raise PermissionDenied(_("You may not see this flow."))
        return super().dispatch(request, *args, **kwargs)

    def get_process(self):
        processes = self.flow_class.process_cls._default_manager.filter(
            pk=self.kwargs["process_pk"], flow_class=self.flow_class
        )
        process = self.flow_class.policy.processes(self.request.user, processes).first()
        if process is None:
            raise Http404(_("No such process in this flow."))
        return process


class ProcessListView(FlowPermissionMixin, ListView):
    """The flow's processes, newest first: filter by status, search by number or text, start buttons.

    One query for the page and one statement that counts the list, the status
    pills and the navigation's inbox and queue, each up to ``COUNT_CAP`` rows
    ("1000+"), whatever the number of rows.
    """

    template_suffix = "process_list"
    #: how many of the process's own fields the list shows as columns
    summary_size = 3

    def get_paginate_by(self, queryset):
        return viewflow_settings.PAGE_SIZE

    def base_queryset(self):
        """The flow's processes this user sees (the flow's policy: :meth:`FlowPolicy.processes`)."""
        processes = self.flow_class.process_cls._default_manager.filter(flow_class=self.flow_class)
        return self.flow_class.policy.processes(self.request.user, processes)

    def search_fields(self):
        """The process's own text fields, searched with ``icontains``."""
        return [
            field.name
            for field in self.flow_class.process_cls._meta.concrete_fields
            if field.model is not Process
            and isinstance(field, (models.CharField, models.TextField))
            and not field.choices
        ]

    def summary_fields(self):
        fields = [
            field
            for field in self.flow_class.process_cls._meta.concrete_fields
            if field.model is not Process and not field.primary_key and not field.is_relation
            and not isinstance(field, (models.TextField, models.JSONField))
        ]
        return fields[: self.summary_size]

    def search_term(self):
        """The ``?q=`` term, without NUL characters (no database stores them in text; PostgreSQL refuses them)."""
        return self.request.GET.get("q", "").replace("\x00", "").strip()

    def get_queryset(self):
        queryset = self.base_queryset()
        search = self.search_term()
        if search:
            query = Q()
            number = parse_key(search.removeprefix("#"))  # a number too long to be a key matches as text only
            if number is not None:
                query |= Q(pk=number)
            for name in self.search_fields():
                query |= Q(**{f"{name}__icontains": search})
            queryset = queryset.filter(query) if query else queryset.none()
        if self.top_level_only():
            queryset = queryset.filter(parent_task__isnull=True)
        self.searched = queryset
        status = self.current_status()
        if status:
            queryset = queryset.filter(status=status)
        return queryset.order_by("-created", "-pk")

    def current_status(self):
        status = self.request.GET.get("status", "")
        return status if status in ProcessStatus.values else ""

    def top_level_only(self):
        """``?top=1``: leave out the processes other processes started (offered when a Subprocess starts this flow)."""
        return self.request.GET.get("top") == "1" and may_be_child(self.flow_class)

    def counts(self):
        """``{status or "": (count, more)}`` of the searched processes, and the navigation's, in one statement."""
        if not hasattr(self, "_counts"):
            querysets = {"": self.searched}
            querysets.update((value, self.searched.filter(status=value)) for value in ProcessStatus.values)
            querysets.update(nav_querysets(self.request.user))
            cap = deep_cap(self.request.GET.get(self.page_kwarg), self.get_paginate_by(None))
            self._counts = capped_counts(querysets, caps={self.current_status(): cap})
        return self._counts

    def get_paginator(self, queryset, per_page, orphans=0, allow_empty_first_page=True, **kwargs):
        count, more = self.counts()[self.current_status()]
        return CappedPaginator(
            queryset, per_page, count, more, orphans=orphans, allow_empty_first_page=allow_empty_first_page, **kwargs
        )

    def status_counts(self):
        """``[(status, label, count, more)]`` for the filter pills, "All" first; ``more``: the count is capped."""
        counts = self.counts()
        return [
            (value, label, *shown_count(counts[value]))
            for value, label in [("", _("All")), *ProcessStatus.choices]
        ]

    def get_context_data(self, **kwargs):
        user = self.request.user
        context = super().get_context_data(**kwargs)
        summary = self.summary_fields()
        for process in context["object_list"]:
            process.vf_summary = [
                getattr(process, f"get_{field.name}_display")() if field.choices else getattr(process, field.name)
                for field in summary
            ]
        starts = [
            node for node in self.flow_class._meta.start_nodes if hasattr(node, "view") and node.can_execute(user)
        ]
        context.update(
            start_nodes=starts,
            statuses=ProcessStatus.choices,
            status_counts=self.status_counts(),
            task_counts=nav_of(self.counts()),
            current_status=self.current_status(),
            search=self.search_term(),
            may_be_child=may_be_child(self.flow_class),
            top_level_only=self.top_level_only(),
            summary_labels=[field.verbose_name for field in summary],
        )
        return context


class ProcessDetailView(FlowPermissionMixin, DetailView):
    """A process: its data, its active tasks, its history (who did what, when, how long) and its chart.

    However many tasks the process has, the page reads a fixed number of rows:
    the history is paginated (``?page=``), "To do now" lists the first
    ``active_tasks_limit`` active tasks, and the chart is drawn from the
    distinct (node, status) pairs and node-to-node links, not from every task.
    """

    template_suffix = "process_detail"
    context_object_name = "process"
    #: rows per page of the history (None: ``VIEWFLOW["PAGE_SIZE"]``)
    history_paginate_by = None
    #: how many active tasks "To do now" lists (None: ``VIEWFLOW["PAGE_SIZE"]``); the history has them all
    active_tasks_limit = None
    history_page_kwarg = "page"
    #: how many child processes the page lists (None: ``VIEWFLOW["PAGE_SIZE"]``)
    subprocesses_limit = None

    def get_object(self, queryset=None):
        return self.get_process()

    def get_subprocesses_limit(self):
        return self.subprocesses_limit or viewflow_settings.PAGE_SIZE

    def parent_context(self):
        """The process that started this one, and its waiting task: ``{"parent_task": ..., "parent_url": ...}``."""
        process = self.object
        if process.parent_task_id is None:
            return {}
        task = Task._base_manager.select_related("process").filter(pk=process.parent_task_id).first()
        if task is None:
            return {}
        user = self.request.user
        return {"parent_task": task, "parent_process": task.process, "parent_url": _process_page(task.process, user)}

    def subprocesses_context(self):
        """The processes this one started (its Subprocess tasks' children), oldest first, up to the limit."""
        if not starts_children(self.flow_class):
            return {}
        limit = self.get_subprocesses_limit()
        children = list(
            Process._base_manager.filter(parent_task__process_id=self.object.pk)
            .select_related("parent_task")
            .order_by("created", "pk")[: limit + 1]
        )
        user, visible = self.request.user, {}
        for child in children:
            child.vf_url = _process_page(child, user, visible)
        return {"subprocesses": children[:limit], "more_subprocesses": len(children) > limit}

    def get_history_paginate_by(self):
        return self.history_paginate_by or viewflow_settings.PAGE_SIZE

    def get_active_tasks_limit(self):
        return self.active_tasks_limit or viewflow_settings.PAGE_SIZE

    def get_context_data(self, **kwargs):
        process = self.object
        tasks = self.flow_class.task_cls._default_manager.filter(process_id=process.pk).select_related("owner")
        history = Paginator(tasks.order_by("created", "pk"), self.get_history_paginate_by())
        history_page = history.get_page(self.request.GET.get(self.history_page_kwarg))
        limit = self.get_active_tasks_limit()
        active = list(tasks.filter(status__in=ACTIVE_TASK_STATUSES).order_by("created", "pk")[: limit + 1])
        for task in [*history_page.object_list, *active]:
            task.process = process
        user = self.request.user
        return super().get_context_data(
            tasks=history_page.object_list,
            history_page=history_page,
            active_tasks=active[:limit],
            more_active_tasks=len(active) > limit,
            chart=render_svg(self.flow_class, *process_chart_state(self.flow_class, process.pk)),
            can_manage=self.flow_class.can_manage(user),
            **self.parent_context(),
            **self.subprocesses_context(),
            **kwargs,
        )


def _process_page(process, user, visible=None):
    """The site's page of ``process`` for ``user``: "" when they may not see it, or its flow is gone or not on the site.

    ``visible`` caches, per flow class, whether ``user`` may see the flow at all.
    """
    flow_class = process.flow_class
    if flow_class is None:
        return ""
    visible = {} if visible is None else visible
    if flow_class not in visible:
        visible[flow_class] = flow_class.policy.can_view(user)
    if not visible[flow_class] or not flow_class.policy.sees_process(user, process):
        return ""
    try:
        return process_url_of(process.flow_class, process.pk)
    except NoReverseMatch:
        return ""


class FlowChartView(FlowPermissionMixin, View):
    """The flow chart as an SVG file (with a process's state when one is named)."""

    def get(self, request, *args, **kwargs):
        if "process_pk" in kwargs:
            process = self.get_process()
            svg = render_svg(self.flow_class, *process_chart_state(self.flow_class, process.pk))
        else:
            svg = render_svg(self.flow_class)
        return HttpResponse(svg, content_type="image/svg+xml")


class CancelProcessView(FlowPermissionMixin, FormView):
    """Cancel a whole process (managers only)."""

    template_suffix = "process_cancel"
    form_class = forms.Form

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not self.flow_class.can_manage(request.user):
            raise PermissionDenied(_("You may not cancel processes."))
        if request.user.is_authenticated:
            process = self.get_process()
            if not self.flow_class.policy.can_cancel_process(request.user, process):
                raise PermissionDenied(_("You may not cancel processes."))
            if not process.is_active:  # no confirmation page for what cannot be done
                messages.warning(
                    request, _("%(process)s is finished: there is nothing to cancel.") % {"process": process}
                )
                return HttpResponseRedirect(process_url(process))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(process=self.get_process(), **kwargs)

    def form_valid(self, form):
        process = self.get_process()
        try:
            process.cancel(by=self.request.user)
            messages.success(self.request, _("%(process)s is canceled.") % {"process": process})
        except FlowRuntimeError as exc:
            messages.error(self.request, str(exc))
        return HttpResponseRedirect(process_url(process))
