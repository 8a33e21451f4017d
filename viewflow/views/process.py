"""Pages of one flow: its processes, one process, the flow chart, cancelling a process."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
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
    """The flow's processes, newest first, filtered by status, with the start buttons."""

    template_suffix = "process_list"

    def get_paginate_by(self, queryset):
        return viewflow_settings.PAGE_SIZE

    def get_queryset(self):
        queryset = self.flow_class.process_cls._default_manager.filter(flow_class=self.flow_class)
        status = self.request.GET.get("status")
        if status in ProcessStatus.values:
            queryset = queryset.filter(status=status)
        search = self.request.GET.get("q", "").strip()
        if search.isdigit():
            queryset = queryset.filter(pk=int(search))
        return queryset.order_by("-created", "-pk")

    def get_context_data(self, **kwargs):
        user = self.request.user
        starts = [node for node in self.flow_class._meta.start_nodes if hasattr(node, "view") and node.can_execute(user)]
        return super().get_context_data(
            start_nodes=starts,
            statuses=ProcessStatus.choices,
            current_status=self.request.GET.get("status", ""),
            search=self.request.GET.get("q", ""),
            **kwargs,
        )


class ProcessDetailView(FlowPermissionMixin, DetailView):
    """A process: its data, its tasks (who did what and when), and the chart with its state."""

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
        fields = [
            (field.verbose_name, getattr(process, field.name))
            for field in type(process)._meta.concrete_fields
            if field.model is not Process and not field.primary_key and not field.is_relation
        ]
        return super().get_context_data(
            tasks=tasks,
            active_tasks=[task for task in tasks if task.is_active],
            process_fields=fields,
            chart=render_svg(self.flow_class, process_states(tasks)),
            can_manage=self.flow_class.can_manage(self.request.user),
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
