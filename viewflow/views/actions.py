"""Task pages besides the task's own view: detail, and the operations on a task.

Every operation is a GET that shows a confirmation form and a POST that does
it through the task's activation, under the flow's lock. Who may do what comes
from :func:`viewflow.permissions.task_permissions`.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView

from ..activation import run_task_step, undo_blocker
from ..exceptions import FlowRuntimeError
from ..forms import DueForm, ReassignForm
from ..permissions import can_see_error, task_permissions
from ..rules import state_allows
from ..status import TaskStatus
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
    "FireTimerView",
    "DueTaskView",
    "view_for",
]


def task_name(task):
    """The task as messages name it: its title and number ("Approve #97"), without its status."""
    return f"{task.flow_task.task_title} #{task.pk}" if task.flow_task is not None else str(task)


class TaskMixin(FlowViewMixin):
    """Load the task named by the URL (404 if it is not of this process and node)."""

    action = "detail"

    def get_task(self, process_pk):
        tasks = self.flow_class.task_cls._default_manager.select_related("owner").filter(
            pk=self.kwargs["task_pk"], process_id=process_pk, flow_task=self.flow_task
        )
        task = self.flow_class.policy.tasks(self.request.user, tasks).first()
        if task is None:
            raise Http404(_("No such task in this process."))
        return task

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        locked_task = getattr(self, "locked_task", None)
        if locked_task is not None:  # a POST of an operation: read under the lock (TaskOperationView)
            if locked_task.flow_task is not self.flow_task or not self.flow_class.policy.sees_task(
                request.user, locked_task
            ):
                raise Http404(_("No such task in this process."))
            self.task, self.process = locked_task, locked_task.process
        else:
            processes = self.flow_class.process_cls._default_manager.filter(pk=kwargs["process_pk"])
            process = self.flow_class.policy.processes(request.user, processes).first()
            if process is None:
                raise Http404(_("No such process."))
            self.task = self.get_task(process.pk)
            self.task.process = self.process = process
        self.permissions = task_permissions(request.user, self.task)
        if self.action not in self.permissions:
            response = self.refuse()
            if response is not None:
                return response
            raise PermissionDenied(_("You may not do this with this task."))
        return super().dispatch(request, *args, **kwargs)

    #: the message when the task's status does not allow the action: a whole sentence, ``%(task)s`` the task
    refused_message = gettext_lazy("%(task)s cannot be done now.")

    def refuse(self):
        """A response when the user may not do the action on this task, or None for a 403.

        When nobody could do it in the task's present status, a user who may
        see the task is sent to its detail page with ``refused_message``.
        """
        if not self.state_allows_action() and "detail" in self.permissions:
            messages.warning(self.request, self.refused_message % {"task": task_name(self.task)})
            return HttpResponseRedirect(task_url(self.task, "detail"))
        return None

    def state_allows_action(self):
        """False when nobody could do the action now (its rule in :data:`viewflow.rules.TASK_RULES`).

        The user gets a message then, not a 403.
        """
        return state_allows(self.action, self.task, self.process)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(process=self.process, task=self.task, task_perms=self.permissions, action=self.action)
        return context


class TaskDetailView(TaskMixin, TemplateView):
    """What a task is, who did it and when, and the operations the user may do.

    "After" and "Led to" list at most ``related_tasks_limit`` tasks each (a Join
    may follow thousands of branches); the process's history has them all.
    """

    template_suffix = "task_detail"
    #: how many tasks "After" and "Led to" list each
    related_tasks_limit = 10

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        limit = self.related_tasks_limit
        for name, related in (("previous_tasks", self.task.previous), ("leading_tasks", self.task.leading)):
            tasks = list(related.order_by("created", "pk")[: limit + 1])
            context[name], context[f"more_{name}"] = tasks[:limit], len(tasks) > limit
        if "undo" in self.permissions and undo_blocker(context["leading_tasks"]) is not None:
            self.permissions.discard("undo")  # a task it led to already ran: undo would refuse
        context["show_error"] = bool(self.task.error) and can_see_error(self.request.user, self.task)
        context["action_labels"] = [
            ("assign", _("Claim")),
            ("unassign", _("Give back")),
            ("reassign", _("Reassign")),
            ("retry", _("Retry")),
            ("undo", _("Undo")),
            ("fire", _("Fire now")),
            ("due", _("Change due time")),
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
        messages.success(self.request, self.success_message % {"task": task_name(activation.task)})
        return HttpResponseRedirect(self.get_success_url())

    def perform(self, activation, form):
        raise NotImplementedError

    def get_success_url(self):
        return process_url(self.process)


class AssignTaskView(TaskOperationView):
    action = "assign"
    title = gettext_lazy("Claim this task")
    success_message = gettext_lazy("%(task)s is assigned to you.")
    refused_message = gettext_lazy("%(task)s cannot be claimed: it is no longer waiting in the queue.")
    own_message = gettext_lazy("%(task)s is already assigned to you.")

    def refuse(self):
        """The task is already the user's own: to its form (no message), or to its detail page if it has none."""
        task = self.task
        if task.owner_id == self.request.user.pk and task.status in (TaskStatus.ASSIGNED, TaskStatus.STARTED):
            if "execute" in self.permissions:
                return HttpResponseRedirect(task_url(task))
            messages.info(self.request, self.own_message % {"task": task_name(task)})
            return HttpResponseRedirect(task_url(task, "detail"))
        return super().refuse()

    def perform(self, activation, form):
        activation.assign(self.request.user, by=self.request.user)

    def get_success_url(self):
        if hasattr(self.flow_task, "view"):
            return task_url(self.task)
        return super().get_success_url()


class UnassignTaskView(TaskOperationView):
    action = "unassign"
    refused_message = gettext_lazy("%(task)s cannot be given back: it is not assigned and waiting to be done.")
    title = gettext_lazy("Give this task back to the queue")
    success_message = gettext_lazy("%(task)s is back in the queue.")

    def perform(self, activation, form):
        activation.unassign(by=self.request.user)

    def get_success_url(self):
        return reverse("viewflow:queue")


class ReassignTaskView(TaskOperationView):
    action = "reassign"
    refused_message = gettext_lazy("%(task)s cannot be reassigned: it is neither new nor assigned.")
    title = gettext_lazy("Assign this task to someone")
    success_message = gettext_lazy("%(task)s is reassigned.")
    form_class = ReassignForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "tasks": [self.task]}

    def perform(self, activation, form):
        activation.reassign(form.cleaned_data["user"], by=self.request.user)


class CancelTaskView(TaskOperationView):
    action = "cancel"
    refused_message = gettext_lazy("%(task)s cannot be canceled: it is already finished.")
    title = gettext_lazy("Cancel this task")
    success_message = gettext_lazy("%(task)s is canceled.")

    def perform(self, activation, form):
        activation.cancel(by=self.request.user)


class RetryTaskView(TaskOperationView):
    action = "retry"
    refused_message = gettext_lazy("%(task)s cannot be retried: it is not in error.")
    title = gettext_lazy("Retry this task")
    success_message = gettext_lazy("%(task)s is retried.")

    def perform(self, activation, form):
        activation.retry(by=self.request.user)


class UndoTaskView(TaskOperationView):
    action = "undo"
    finished_process_message = gettext_lazy("%(task)s cannot be undone: its process is finished.")

    @property
    def refused_message(self):
        if self.task.status == TaskStatus.DONE:
            return self.finished_process_message
        return gettext_lazy("%(task)s cannot be undone: it is not done.")

    title = gettext_lazy("Undo this task")
    success_message = gettext_lazy("%(task)s is reopened.")

    def perform(self, activation, form):
        activation.undo(by=self.request.user)


class FireTimerView(TaskOperationView):
    """Fire a waiting timer now, before its due time (managers)."""

    action = "fire"
    refused_message = gettext_lazy("%(task)s cannot be fired: it no longer waits.")
    title = gettext_lazy("Fire this timer now")
    success_message = gettext_lazy("%(task)s has fired.")

    def perform(self, activation, form):
        activation.fire(by=self.request.user)


class DueTaskView(TaskOperationView):
    """Move a task's due time (managers): a timer fires then instead."""

    action = "due"
    refused_message = gettext_lazy("%(task)s cannot be rescheduled: it is already finished.")
    title = gettext_lazy("Change the due time")
    success_message = gettext_lazy("%(task)s has a new due time.")
    form_class = DueForm

    def get_initial(self):
        due = self.task.due
        return {"due": timezone.localtime(due) if due else None}

    def perform(self, activation, form):
        activation.set_due(form.cleaned_data["due"], by=self.request.user)


_VIEWS = {
    "detail": TaskDetailView,
    "assign": AssignTaskView,
    "unassign": UnassignTaskView,
    "reassign": ReassignTaskView,
    "cancel": CancelTaskView,
    "retry": RetryTaskView,
    "undo": UndoTaskView,
    "fire": FireTimerView,
    "due": DueTaskView,
}
_CALLABLES = {}


def view_for(action):
    """The view callable of a task operation, built once."""
    if action not in _CALLABLES:
        _CALLABLES[action] = _VIEWS[action].as_view()
    return _CALLABLES[action]
