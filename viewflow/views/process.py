"""Pages of one flow: its processes, one process, the flow chart, cancelling a process."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, FormView, ListView

from ..chart import process_states, render_svg
from ..conf import viewflow_settings
from ..exceptions import FlowRuntimeError
from ..models import Process
from ..status import ProcessStatus
from .mixins import FlowViewMixin
from .urls import process_url

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
        process = self.flow_class.process_cls._default_manager.filter(
            pk=self.kwargs["process_pk"], flow_class=self.flow_class
        ).first()
        if process is None:
            raise Http404(_("No such process in this flow."))
        return process


class ProcessListView(FlowPermissionMixin, ListView):
    """The flow's processes, newest first: filter by status, search by number or text, start buttons.

    One query for the page, one COUNT for the paginator and one grouped COUNT
    for the status pills, whatever the number of rows.
    """

    template_suffix = "process_list"
    #: how many of the process's own fields the list shows as columns
    summary_size = 3

    def get_paginate_by(self, queryset):
        return viewflow_settings.PAGE_SIZE

    def base_queryset(self):
        return self.flow_class.process_cls._default_manager.filter(flow_class=self.flow_class)

    def search_fields(self):
        """The process's own text fields, searched with ``icontains``."""
        return [
            field.name
            for field in self.flow_class.process_cls._meta.concrete_fields
            if field.model is not Process and isinstance(field, (models.CharField, models.TextField)) and not field.choices
        ]

    def summary_fields(self):
        fields = [
            field
            for field in self.flow_class.process_cls._meta.concrete_fields
            if field.model is not Process and not field.primary_key and not field.is_relation
            and not isinstance(field, (models.TextField, models.JSONField))
        ]
        return fields[: self.summary_size]

    def get_queryset(self):
        queryset = self.base_queryset()
        search = self.request.GET.get("q", "").strip()
        if search:
            query = Q()
            if search.lstrip("#").isdigit():
                query |= Q(pk=int(search.lstrip("#")))
            for name in self.search_fields():
                query |= Q(**{f"{name}__icontains": search})
            queryset = queryset.filter(query) if query else queryset.none()
        self.searched = queryset
        status = self.request.GET.get("status")
        if status in ProcessStatus.values:
            queryset = queryset.filter(status=status)
        return queryset.order_by("-created", "-pk")

    def status_counts(self):
        """``[(status, label, count)]`` for the filter pills, "All" first (one grouped query)."""
        counts = dict(self.searched.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
        pills = [("", _("All"), sum(counts.values()))]
        pills += [(value, label, counts.get(value, 0)) for value, label in ProcessStatus.choices]
        return pills

    def get_context_data(self, **kwargs):
        user = self.request.user
        context = super().get_context_data(**kwargs)
        summary = self.summary_fields()
        for process in context["object_list"]:
            process.vf_summary = [
                getattr(process, f"get_{field.name}_display")() if field.choices else getattr(process, field.name)
                for field in summary
            ]
        starts = [node for node in self.flow_class._meta.start_nodes if hasattr(node, "view") and node.can_execute(user)]
        status = self.request.GET.get("status", "")
        context.update(
            start_nodes=starts,
            statuses=ProcessStatus.choices,
            status_counts=self.status_counts(),
            current_status=status if status in ProcessStatus.values else "",
            search=self.request.GET.get("q", ""),
            summary_labels=[field.verbose_name for field in summary],
        )
        return context


class ProcessDetailView(FlowPermissionMixin, DetailView):
    """A process: its data, its active tasks, its history (who did what, when, how long) and its chart."""

    template_suffix = "process_detail"
    context_object_name = "process"

    def get_object(self, queryset=None):
        return self.get_process()

    def get_context_data(self, **kwargs):
        process = self.object
        tasks = list(
            self.flow_class.task_cls._default_manager.filter(process_id=process.pk)
            .select_related("owner")
            .order_by("created", "pk")
        )
        for task in tasks:
            task.process = process
        user = self.request.user
        active = [task for task in tasks if task.is_active]
        return super().get_context_data(
            tasks=tasks,
            active_tasks=active,
            chart=render_svg(self.flow_class, process_states(tasks)),
            can_manage=self.flow_class.can_manage(user),
            **kwargs,
        )


class FlowChartView(FlowPermissionMixin, View):
    """The flow chart as an SVG file (with a process's state when one is named)."""

    def get(self, request, *args, **kwargs):
        states = None
        if "process_pk" in kwargs:
            process = self.get_process()
            states = process_states(self.flow_class.task_cls._default_manager.filter(process_id=process.pk))
        return HttpResponse(render_svg(self.flow_class, states), content_type="image/svg+xml")


class CancelProcessView(FlowPermissionMixin, FormView):
    """Cancel a whole process (managers only)."""

    template_suffix = "process_cancel"
    form_class = forms.Form

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not self.flow_class.can_manage(request.user):
            raise PermissionDenied(_("You may not cancel processes."))
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
