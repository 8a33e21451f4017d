"""Task pages besides the task's own view: detail, and the operations on a task.

Every operation is a GET that shows a confirmation form and a POST that does
it through the task's activation, under the flow's lock. Who may do what comes
from :func:`viewflow.permissions.task_permissions`.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView

from ..activation import run_task_step
from ..exceptions import FlowRuntimeError
from ..permissions import task_permissions
from ..status import ACTIVE_TASK_STATUSES, TaskStatus
from .mixins import FlowViewMixin
from .urls import process_url, task_url

__all__ = [
    "TaskDetailView",
    "AssignTaskView",
    "UnassignTaskView",
    "ReassignTaskView",
    "CancelTaskView",
    "RetryTaskView",
    "UndoTaskView",
    "view_for",
]


class TaskMixin(FlowViewMixin):
    """Load the task named by the URL (404 if it is not of this process and node)."""

    action = "detail"

    def get_task(self, process_pk):
        task = (
            self.flow_class.task_cls._default_manager.select_related("owner")
            .filter(pk=self.kwargs["task_pk"], process_id=process_pk, flow_task=self.flow_task)
            .first()
        )
        if task is None:
            raise Http404(_("No such task in this process."))
        return task

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        locked_task = getattr(self, "locked_task", None)
        if locked_task is not None:  # a POST of an operation: read under the lock (TaskOperationView)
            if locked_task.flow_task is not self.flow_task:
                raise Http404(_("No such task in this process."))
            self.task, self.process = locked_task, locked_task.process
        else:
            process = self.flow_class.process_cls._default_manager.filter(pk=kwargs["process_pk"]).first()
            if process is None:
                raise Http404(_("No such process."))
            self.task = self.get_task(process.pk)
            self.task.process = self.process = process
        self.permissions = task_permissions(request.user, self.task)
        if self.action not in self.permissions:
            if not self.state_allows_action() and "detail" in self.permissions:
                messages.warning(
                    request,
                    _("%(task)s cannot be %(action)s now.") % {"task": self.task, "action": self.action_done_label()},
                )
                return HttpResponseRedirect(task_url(self.task, "detail"))
            raise PermissionDenied(_("You may not do this with this task."))
        return super().dispatch(request, *args, **kwargs)

    def action_done_label(self):
        return self.action

    #: task statuses in which the action makes sense at all (None: any)
    valid_statuses = None

    def state_allows_action(self):
        """False when nobody could do the action now: the user gets a message, not a 403."""
        return self.valid_statuses is None or self.task.status in self.valid_statuses

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(process=self.process, task=self.task, task_perms=self.permissions, action=self.action)
        return context


class TaskDetailView(TaskMixin, TemplateView):
    """What a task is, who did it and when, and the operations the user may do."""

    template_suffix = "task_detail"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["previous_tasks"] = self.task.previous.all()
        context["leading_tasks"] = self.task.leading.all()
        context["action_labels"] = [
            ("assign", _("Claim")),
            ("unassign", _("Give back")),
            ("reassign", _("Reassign")),
            ("retry", _("Retry")),
            ("undo", _("Undo")),
            ("cancel", _("Cancel")),
        ]
        return context


class TaskOperationView(TaskMixin, FormView):
    """GET: a confirmation form. POST: do the operation under the lock, then redirect."""

    template_suffix = "task_action"
    form_class = forms.Form
    title = ""
    success_message = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        return context

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST" or not request.user.is_authenticated:
            return super().dispatch(request, *args, **kwargs)
        # A POST takes the lock first and reads the process and the task once, under
        # it: the permission check and the operation see the same fresh state.
        try:
            with run_task_step(self.flow_class, kwargs["process_pk"], kwargs["task_pk"]) as (step, task):
                self.step, self.locked_task = step, task
                return super().dispatch(request, *args, **kwargs)
        except self.flow_class.task_cls.DoesNotExist:
            if getattr(self, "task", None) is not None:
                raise  # raised by the operation, not by the lock
            raise Http404(_("No such task in this process.")) from None
        except FlowRuntimeError as exc:  # the step was rolled back
            if getattr(self, "task", None) is None:
                raise
            messages.error(request, str(exc))
            return HttpResponseRedirect(task_url(self.task, "detail"))

    def form_valid(self, form):
        activation = self.flow_task.activation_class(self.step, self.task)
        self.perform(activation, form)
        task = activation.task
        name = f"{task.flow_task.task_title} #{task.pk}" if task.flow_task is not None else str(task)
        messages.success(self.request, self.success_message % {"task": name})
        return HttpResponseRedirect(self.get_success_url())

    def perform(self, activation, form):
        raise NotImplementedError

    def get_success_url(self):
        return process_url(self.process)


class AssignTaskView(TaskOperationView):
    valid_statuses = (TaskStatus.NEW,)
    action = "assign"
    title = gettext_lazy("Claim this task")
    success_message = gettext_lazy("%(task)s is assigned to you.")

    def perform(self, activation, form):
        activation.assign(self.request.user, by=self.request.user)

    def get_success_url(self):
        if hasattr(self.flow_task, "view"):
            return task_url(self.task)
        return super().get_success_url()


class UnassignTaskView(TaskOperationView):
    valid_statuses = (TaskStatus.ASSIGNED,)
    action = "unassign"
    title = gettext_lazy("Give this task back to the queue")
    success_message = gettext_lazy("%(task)s is back in the queue.")

    def perform(self, activation, form):
        activation.unassign(by=self.request.user)

    def get_success_url(self):
        return reverse("viewflow:queue")


class ReassignForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model()._default_manager.none(), label=gettext_lazy("Assign to"))

    def __init__(self, *args, users=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users


class ReassignTaskView(TaskOperationView):
    valid_statuses = (TaskStatus.NEW, TaskStatus.ASSIGNED)
    action = "reassign"
    title = gettext_lazy("Assign this task to someone")
    success_message = gettext_lazy("%(task)s is reassigned.")
    form_class = ReassignForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        users = get_user_model()._default_manager.filter(is_active=True)
        permission = getattr(self.flow_task, "owner_permission", "")
        if permission:
            app_label, _dot, codename = permission.partition(".")
            from django.db.models import Q

            users = users.filter(
                Q(is_superuser=True)
                | Q(user_permissions__codename=codename, user_permissions__content_type__app_label=app_label)
                | Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label)
            ).distinct()
        kwargs["users"] = users.order_by(get_user_model().USERNAME_FIELD)
        return kwargs

    def perform(self, activation, form):
        activation.reassign(form.cleaned_data["user"], by=self.request.user)


class CancelTaskView(TaskOperationView):
    valid_statuses = ACTIVE_TASK_STATUSES
    action = "cancel"
    title = gettext_lazy("Cancel this task")
    success_message = gettext_lazy("%(task)s is canceled.")

    def perform(self, activation, form):
        activation.cancel(by=self.request.user)


class RetryTaskView(TaskOperationView):
    valid_statuses = (TaskStatus.ERROR,)
    action = "retry"
    title = gettext_lazy("Retry this task")
    success_message = gettext_lazy("%(task)s is retried.")

    def perform(self, activation, form):
        activation.retry(by=self.request.user)


class UndoTaskView(TaskOperationView):
    valid_statuses = (TaskStatus.DONE,)
    action = "undo"
    title = gettext_lazy("Undo this task")
    success_message = gettext_lazy("%(task)s is reopened.")

    def perform(self, activation, form):
        activation.undo(by=self.request.user)


_VIEWS = {
    "detail": TaskDetailView,
    "assign": AssignTaskView,
    "unassign": UnassignTaskView,
    "reassign": ReassignTaskView,
    "cancel": CancelTaskView,
    "retry": RetryTaskView,
    "undo": UndoTaskView,
}
_CALLABLES = {}


def view_for(action):
    """The view callable of a task operation, built once."""
    if action not in _CALLABLES:
        _CALLABLES[action] = _VIEWS[action].as_view()
    return _CALLABLES[action]
