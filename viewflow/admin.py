"""Django admin for processes and tasks.

Everything the engine relies on (status, flow class, node, token, owner,
timestamps) is read-only here: an admin action changes state only through the
engine — ``process.cancel(by=...)`` and the task's activation
(``retry``, ``cancel``, ``reassign``, ``unassign``, ``undo``) — under the flow's lock, exactly as the
site's views do. Saving a change form writes only the fields the form changed,
never the engine's columns.

A project may register its own process model with :class:`ProcessAdmin`::

    from django.contrib import admin
    from viewflow.admin import ProcessAdmin

    admin.site.register(OrderProcess, ProcessAdmin)
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import operations
from .exceptions import FlowError
from .fields import flow_path, node_path
from .forms import DueForm, ReassignForm
from .models import Process, Schedule, Task
from .registry import all_flows
from .rules import statuses_for

__all__ = [
    "ProcessAdmin",
    "TaskAdmin",
    "ScheduleAdmin",
    "TaskInline",
    "ChoiceFilter",
    "FlowFilter",
    "TaskFlowFilter",
    "NodeFilter",
    "TaskTypeFilter",
    "NoNulLookupsMixin",
]

#: engine columns of a task: never editable in the admin
TASK_ENGINE_FIELDS = (
    "process",
    "flow_task",
    "flow_task_type",
    "status",
    "created",
    "started",
    "finished",
    "token",
    "owner",
    "owner_permission",
    "external_task_id",
    "due",
    "data",
    "error",
)
#: engine columns of a process: never editable in the admin
PROCESS_ENGINE_FIELDS = ("flow_class", "status", "created", "finished", "parent_task")


def _flow_choices():
    flows = sorted(all_flows(), key=lambda flow_class: flow_class._meta.title.lower())
    return [(flow_path(flow_class), flow_class._meta.title) for flow_class in flows]


def _number(search_term):
    """``42`` or ``#42`` as an int (a key to look up), else None (also for a number too long to be a key)."""
    from .views.urls import parse_key

    return parse_key(search_term.strip().removeprefix("#"))


def _clean_term(search_term):
    """The search term without NUL characters: no text column holds one, and PostgreSQL refuses them."""
    return search_term.replace("\x00", "")


def _flow_of(path):
    for flow_class in all_flows():
        if flow_path(flow_class) == path:
            return flow_class
    return None


class ChoiceFilter(admin.SimpleListFilter):
    """A list filter that applies only a value it offers; any other sends the admin back to its list.

    Raising ``IncorrectLookupParameters`` is the admin's own answer to a lookup
    it cannot apply (a redirect to the list with ``?e=1``): a value no choice
    names, such as a NUL byte that PostgreSQL would refuse with a 500, never
    reaches the database.
    """

    def valid_values(self, request):
        """The values this filter applies (by default: those it offers)."""
        return {str(value) for value, _label in self.lookup_choices}

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if value not in self.valid_values(request):
            raise IncorrectLookupParameters(f"{self.parameter_name}: {value!r} is not one of the choices")
        return self.apply(queryset, value)

    def apply(self, queryset, value):
        raise NotImplementedError


class FlowFilter(ChoiceFilter):
    """Processes of one flow class."""

    title = _("flow")
    parameter_name = "flow"

    def lookups(self, request, model_admin):
        return _flow_choices()

    def apply(self, queryset, value):
        return queryset.filter(flow_class=value)


class StartedByFilter(admin.SimpleListFilter):
    """Top-level processes, or those a Subprocess task of another process started."""

    title = _("started by")
    parameter_name = "started_by"

    def lookups(self, request, model_admin):
        return [("top", _("Nobody: top-level processes")), ("process", _("Another process: subprocesses"))]

    def queryset(self, request, queryset):
        if self.value() == "top":
            return queryset.filter(parent_task__isnull=True)
        if self.value() == "process":
            return queryset.filter(parent_task__isnull=False)
        return queryset


class TaskFlowFilter(FlowFilter):
    """Tasks of one flow class: those of its nodes (an IN list the node index serves, unlike a prefix)."""

    def apply(self, queryset, value):
        nodes = _flow_of(value)._meta.nodes.values()
        return queryset.filter(flow_task__in=[node_path(node) for node in nodes])


class NodeFilter(ChoiceFilter):
    """Tasks of one node; the choices follow the flow picked in the flow filter."""

    title = _("node")
    parameter_name = "node"

    def lookups(self, request, model_admin):
        chosen = _flow_of(request.GET.get(TaskFlowFilter.parameter_name, ""))
        flows = [chosen] if chosen is not None else sorted(all_flows(), key=lambda f: f._meta.title.lower())
        choices = []
        for flow_class in flows:
            for node in flow_class._meta.nodes.values():
                label = node.task_title if chosen is not None else f"{flow_class._meta.title}: {node.task_title}"
                choices.append((node_path(node), label))
        return choices

    def valid_values(self, request):
        """Any node of any flow: a node of another flow than the one picked finds nothing, as it should."""
        return {node_path(node) for flow_class in all_flows() for node in flow_class._meta.nodes.values()}

    def apply(self, queryset, value):
        return queryset.filter(flow_task=value)


class TaskTypeFilter(ChoiceFilter):
    """Tasks of one node type; the choices come from the flows, not from a scan of the table."""

    title = _("type")
    parameter_name = "type"

    def lookups(self, request, model_admin):
        types = {node.task_type for flow_class in all_flows() for node in flow_class._meta.nodes.values()}
        return [(task_type, task_type) for task_type in sorted(types)]

    def apply(self, queryset, value):
        return queryset.filter(flow_task_type=value)


class NoNulLookupsMixin:
    """Refuse a list whose query string holds a NUL byte, whatever the parameter.

    Besides the filters above, the admin applies any lookup on a model's own
    columns (``?flow_task=...``, ``?status__exact=...``) straight to the
    database; PostgreSQL refuses a NUL byte in text with a ``DataError`` (a 500).
    No column holds one, so the admin answers as it does for any lookup it
    cannot apply: back to the list with ``?e=1``. The search box (``?q=``) is
    left to ``get_search_results``, which drops NUL characters from the term.
    """

    def get_changelist_instance(self, request):
        for key, values in request.GET.lists():
            if key != SEARCH_VAR and any("\x00" in text for text in (key, *values)):  # the search drops NULs
                raise IncorrectLookupParameters("a NUL character in the query string")
        return super().get_changelist_instance(request)


def _run_each(modeladmin, request, objects, operation, done_message):
    """Apply ``operation(obj)`` to each object; report successes and each refusal by the engine."""
    done = 0
    for obj in objects:
        try:
            operation(obj)
        except (FlowError, PermissionDenied) as exc:
            modeladmin.message_user(request, f"{obj}: {exc}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message(done), messages.SUCCESS)
    return done


class TaskInline(admin.TabularInline):
    """The tasks of a process, read-only, oldest first."""

    model = Task
    fk_name = "process"
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("node_title", "status", "owner", "token", "created", "finished")
    readonly_fields = fields
    ordering = ("created", "pk")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner")

    @admin.display(description=_("node"))
    def node_title(self, task):
        return task.flow_task.task_title if task.flow_task else "?"


class ProcessAdmin(NoNulLookupsMixin, admin.ModelAdmin):
    """Processes: filter by flow and status, see their tasks, cancel them through the engine."""

    list_display = ("id", "flow_title", "status", "created", "finished", "site_link")
    list_display_links = ("id",)
    list_filter = (FlowFilter, "status", StartedByFilter, ("created", admin.DateFieldListFilter))
    search_fields = ("flow_class",)
    search_help_text = _("A process number, or part of a flow's path.")
    # newest first by key: the primary key's index serves it, as creation order (no sort of the table)
    ordering = ("-pk",)
    show_full_result_count = False
    readonly_fields = ("flow_path", "status", "created", "finished", "parent_link", "site_link")
    exclude = PROCESS_ENGINE_FIELDS  # shown read-only above, never in the form
    inlines = (TaskInline,)
    actions = ("cancel_processes",)

    def has_add_permission(self, request):
        return False  # processes are started by their flow, never created by hand

    def get_search_results(self, request, queryset, search_term):
        """A number (``42`` or ``#42``) is a process key; other words search the flow's path."""
        search_term = _clean_term(search_term)
        number = _number(search_term)
        if number is not None:
            return queryset.filter(pk=number), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("flow"))
    def flow_title(self, process):
        return process.flow_class._meta.title if process.flow_class else "?"

    @admin.display(description=_("flow class"))
    def flow_path(self, process):
        return flow_path(process.flow_class) if process.flow_class else "?"

    @admin.display(description=_("started by"))
    def parent_link(self, process):
        """The process whose Subprocess task started this one, as a link to its admin page."""
        task = process.parent_task
        if task is None:
            return "—"
        url = reverse("admin:viewflow_process_change", args=[task.process_id])
        title = task.flow_task.task_title if task.flow_task else "?"
        return format_html('<a href="{}">{}</a> ({})', url, task.process, title)

    @admin.display(description=_("on the site"))
    def site_link(self, process):
        from .views.urls import process_url

        if process.flow_class is None:
            return ""
        try:
            return format_html('<a href="{}">{}</a>', process_url(process), _("open"))
        except NoReverseMatch:  # the flow is not registered on the site
            return ""

    def save_model(self, request, obj, form, change):
        # only the fields the form changed: never rewrite the engine's columns
        fields = [name for name in form.changed_data if name not in PROCESS_ENGINE_FIELDS]
        if change:
            if fields:
                obj.save(update_fields=fields)
        else:
            obj.save()

    @admin.action(description=_("Cancel selected processes"), permissions=("change",))
    def cancel_processes(self, request, queryset):
        _run_each(
            self,
            request,
            queryset,
            lambda process: process.cancel(by=request.user),
            lambda n: ngettext("%d process canceled.", "%d processes canceled.", n) % n,
        )


class TaskAdmin(NoNulLookupsMixin, admin.ModelAdmin):
    """Tasks: filter by flow, node and status; retry, cancel and reassign them through the engine."""

    list_display = ("id", "node_title", "process_link", "status", "owner", "created", "due", "finished")
    list_display_links = ("id", "node_title")
    list_filter = (TaskFlowFilter, NodeFilter, "status", TaskTypeFilter, ("created", admin.DateFieldListFilter))
    list_select_related = ("owner",)
    search_fields = ("external_task_id",)  # shows the search box; get_search_results() does the searching
    search_help_text = _("A task or process number, a username, or a Celery task id.")
    ordering = ("-pk",)
    show_full_result_count = False
    readonly_fields = ("node_title",) + TASK_ENGINE_FIELDS[:1] + TASK_ENGINE_FIELDS[2:] + ("previous_tasks",)
    fields = readonly_fields + ("comments",)
    actions = (
        "retry_tasks", "cancel_tasks", "reassign_tasks", "unassign_tasks", "undo_tasks", "fire_timers", "set_due"
    )

    def has_add_permission(self, request):
        return False  # tasks are created by the engine only

    def get_fields(self, request, obj=None):
        """The form's fields; the traceback (``error``) for managers only (see :func:`can_see_error`)."""
        fields = super().get_fields(request, obj)
        return fields if self._sees_errors(request) else [name for name in fields if name != "error"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if self._sees_errors(request) else [name for name in fields if name != "error"]

    def _sees_errors(self, request):
        """Managers (``viewflow.change_task``) read tracebacks; a staff user who may only view tasks does not."""
        return self.has_change_permission(request)

    @admin.display(description=_("node"), ordering="flow_task")
    def node_title(self, task):
        node = task.flow_task
        return f"{node.flow_class._meta.title}: {node.task_title}" if node else "?"

    @admin.display(description=_("process"), ordering="process")
    def process_link(self, task):
        url = reverse("admin:viewflow_process_change", args=[task.process_id])
        return format_html('<a href="{}">#{}</a>', url, task.process_id)

    @admin.display(description=_("previous"))
    def previous_tasks(self, task):
        return ", ".join(str(prev) for prev in task.previous.all()) or "-"

    def get_search_results(self, request, queryset, search_term):
        """Exact matches only, each answered by an index: no ``LIKE '%…%'`` scan of every task."""
        term = _clean_term(search_term).strip()
        if not term:
            return queryset, False
        number = _number(term)
        if number is not None:
            return queryset.filter(Q(pk=number) | Q(process_id=number)), False
        User = get_user_model()
        owners = User._default_manager.filter(**{User.USERNAME_FIELD: term}).values("pk")
        return queryset.filter(Q(owner__in=owners) | Q(external_task_id=term)), False

    def _those_in(self, request, queryset, action, why_not):
        """The selected tasks whose status allows ``action`` (:data:`viewflow.rules.TASK_RULES`).

        The others are counted in a message saying ``why_not``.
        """
        statuses = statuses_for(action)
        skipped = queryset.exclude(status__in=statuses).count()
        if skipped:
            self.message_user(
                request,
                ngettext("%(n)d task skipped: %(why)s.", "%(n)d tasks skipped: %(why)s.", skipped)
                % {"n": skipped, "why": why_not},
                messages.WARNING,
            )
        return queryset.filter(status__in=statuses)

    def save_model(self, request, obj, form, change):
        fields = [name for name in form.changed_data if name not in TASK_ENGINE_FIELDS]
        if fields:
            obj.save(update_fields=fields)

    def save_related(self, request, form, formsets, change):
        """Nothing related is editable (``previous`` is the engine's)."""

    # -- actions -------------------------------------------------------------

    @admin.action(description=_("Retry selected tasks in error"), permissions=("change",))
    def retry_tasks(self, request, queryset):
        errored = self._those_in(request, queryset, "retry", _("not in error"))

        def retry(task):
            with task.activation() as activation:
                activation.retry(by=request.user)

        _run_each(self, request, errored, retry, lambda n: ngettext("%d task retried.", "%d tasks retried.", n) % n)

    @admin.action(description=_("Cancel selected tasks"), permissions=("change",))
    def cancel_tasks(self, request, queryset):
        def cancel(task):
            with task.activation() as activation:
                activation.cancel(by=request.user)

        _run_each(
            self,
            request,
            self._those_in(request, queryset, "cancel", _("already finished")),
            cancel,
            lambda n: ngettext("%d task canceled.", "%d tasks canceled.", n) % n,
        )

    @admin.action(description=_("Unassign selected tasks (back to the queue)"), permissions=("change",))
    def unassign_tasks(self, request, queryset):
        def unassign(task):
            with task.activation() as activation:
                activation.unassign(by=request.user)

        _run_each(
            self,
            request,
            self._those_in(request, queryset, "unassign", _("not assigned")),
            unassign,
            lambda n: ngettext("%d task unassigned.", "%d tasks unassigned.", n) % n,
        )

    @admin.action(description=_("Undo selected done tasks"), permissions=("change",))
    def undo_tasks(self, request, queryset):
        def undo(task):
            with task.activation() as activation:
                activation.undo(by=request.user)

        # the engine says why a task cannot be undone (its node, or what it led to)
        _run_each(
            self,
            request,
            self._those_in(request, queryset, "undo", _("not done")),
            undo,
            lambda n: ngettext("%d task undone.", "%d tasks undone.", n) % n,
        )

    @admin.action(description=_("Fire selected timers now"), permissions=("change",))
    def fire_timers(self, request, queryset):
        _run_each(
            self,
            request,
            self._those_in(request, queryset, "fire", _("not a waiting timer")),
            lambda task: operations.fire_now(task, by=request.user),
            lambda n: ngettext("%d timer fired.", "%d timers fired.", n) % n,
        )

    @admin.action(description=_("Change the due time of selected tasks…"), permissions=("change",))
    def set_due(self, request, queryset):
        """First call: a page to choose the time. Second call (``apply``): move each task's due time."""
        tasks = list(queryset.filter(status__in=statuses_for("due")).select_related("process"))
        if not tasks:
            self.message_user(request, _("Only active tasks have a due time to change."), messages.WARNING)
            return None
        form = DueForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            due = form.cleaned_data["due"]
            _run_each(
                self,
                request,
                tasks,
                lambda task: operations.set_due(task, due, by=request.user),
                lambda n: ngettext("%d task rescheduled.", "%d tasks rescheduled.", n) % n,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change the due time"),
            "opts": self.model._meta,
            "tasks": tasks,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "set_due",
        }
        return TemplateResponse(request, "admin/viewflow/task/set_due.html", context)

    @admin.action(description=_("Reassign selected tasks…"), permissions=("change",))
    def reassign_tasks(self, request, queryset):
        """First call: a page to choose the user. Second call (``apply``): reassign each task."""
        tasks = list(
            queryset.filter(status__in=statuses_for("reassign")).select_related("process", "owner")
        )
        if not tasks:
            self.message_user(request, _("Only new or assigned tasks can be reassigned."), messages.WARNING)
            return None
        if "apply" in request.POST:
            form = ReassignForm(request.POST, tasks=tasks)
            if form.is_valid():
                user = form.cleaned_data["user"]

                def reassign(task):
                    with task.activation() as activation:
                        activation.reassign(user, by=request.user)

                _run_each(
                    self,
                    request,
                    tasks,
                    reassign,
                    lambda n: ngettext("%(n)d task reassigned to %(user)s.", "%(n)d tasks reassigned to %(user)s.", n)
                    % {"n": n, "user": user},
                )
                return None
        else:
            form = ReassignForm(tasks=tasks)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reassign tasks"),
            "opts": self.model._meta,
            "tasks": tasks,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "reassign_tasks",
        }
        return TemplateResponse(request, "admin/viewflow/task/reassign.html", context)


admin.site.register(Process, ProcessAdmin)
admin.site.register(Task, TaskAdmin)


class ScheduleAdmin(NoNulLookupsMixin, admin.ModelAdmin):
    """The next slot of each StartTimer (read-only: the scheduler writes it)."""

    list_display = ("flow_task", "due", "last_due", "last_process")
    readonly_fields = ("flow_task", "due", "last_due", "last_process")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.register(Schedule, ScheduleAdmin)
