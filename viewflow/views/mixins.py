"""Mixins that turn any Django generic view into a start view or a task view.

``StartViewMixin`` / ``TaskViewMixin`` give the view ``self.activation``
(``.process``, ``.task``). A GET takes no lock and writes nothing; a POST runs
inside the flow's lock, with the task re-read after the lock is taken. On a
valid submission the view calls :meth:`activation_done`, which saves the form
(and any formsets) and completes the task.
"""

from __future__ import annotations

import copy
import functools
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.forms import BaseModelForm, modelform_factory
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, Resolver404, get_urlconf, resolve, reverse
from django.utils.functional import LazyObject, cached_property, empty
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from ..activation import Step, run_task_step
from ..flow.end import runs_one_branch
from ..status import TaskStatus
from .urls import next_task_url, process_url, task_url

__all__ = ["FlowViewMixin", "StartViewMixin", "TaskViewMixin", "SiteLoginRequiredMixin"]


@functools.cache
def _login_url(configured, urlconf):
    """The project's LOGIN_URL if it leads somewhere, else the site's own login page.

    An absolute URL (a single sign-on server) is the project's own: it is kept as
    it is, like a path or a URL name that this project's URLconf serves.
    ``urlconf`` is the one serving the request (part of the cache key: another
    URLconf may mount the site elsewhere).
    """
    url = resolve_url(configured)
    if urlsplit(url).netloc:
        return url
    try:
        resolve(url.split("?")[0], urlconf)
        return url
    except Resolver404:
        try:
            return reverse("viewflow:login", urlconf)
        except NoReverseMatch:
            return url


def with_page_context(context, request):
    """``context`` with what every page of the site reads: ``request`` and ``messages``.

    The site's templates need them whatever the project's context processors
    are: without ``django.template.context_processors.request`` (which Django's
    admin only warns about) a process page could not be drawn at all. A value
    the view set itself is kept.
    """
    context.setdefault("request", request)
    context.setdefault("messages", get_messages(request))
    return context


def _resolve_user(request):
    """Put the user itself on ``request.user``, in place of the lazy proxy AuthenticationMiddleware leaves there.

    Every page of the site needs the user and reads it dozens of times (login,
    permissions, ownership); through ``SimpleLazyObject`` every read is a failed
    attribute lookup and two calls, 4 % of the CPU of a Hello World process. The
    object is the one the proxy stands for, read from the session once as before.
    """
    user = getattr(request, "user", None)
    if isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        request.user = user._wrapped


class SiteLoginRequiredMixin(LoginRequiredMixin):
    """Send anonymous visitors to ``settings.LOGIN_URL`` (or to the site's login page).

    A signed-in user refused with ``PermissionDenied`` gets the site's own 403
    page (``viewflow/403.html``, with the reason and a way back), not a bare one.
    """

    def get_login_url(self):
        return _login_url(str(self.login_url or settings.LOGIN_URL), get_urlconf() or settings.ROOT_URLCONF)

    def get_context_data(self, **kwargs):
        return with_page_context(super().get_context_data(**kwargs), self.request)

    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)

        @functools.wraps(view)
        def refusing_politely(request, *args, **kwargs):
            _resolve_user(request)
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied as exc:
                context = with_page_context({"reason": str(exc)}, request)
                response = TemplateResponse(request, "viewflow/403.html", context, status=403)
                return response.render()

        return refusing_politely


class FlowViewMixin(SiteLoginRequiredMixin):
    """A view of one flow: ``flow_class`` (and ``flow_task``) come from the URL's kwargs."""

    template_suffix = ""

    @property
    def flow_class(self):
        return self.kwargs["flow_class"]

    @property
    def flow_task(self):
        return self.kwargs.get("flow_task")

    def get_template_names(self):
        """Most specific first: the node's, then the flow's, then the generic one.

        A task or start page looks for ``<app>/<flow>/<node>.html``,
        ``viewflow/<flow>/<node>.html``, ``viewflow/<flow>/task.html`` (or
        ``start.html``), ``viewflow/task.html``; another page of a task (detail,
        assign...) for ``<app>/<flow>/<node>_<page>.html``, ``viewflow/<flow>/<node>_<page>.html``,
        ``viewflow/<flow>/<page>.html``, ``viewflow/<page>.html``.
        """
        label = self.flow_class._meta.flow_label
        app = self.flow_class._meta.app_label
        names = []
        if self.flow_task is not None:
            own = self.template_suffix in ("task", "start")
            node = self.flow_task.name if own else f"{self.flow_task.name}_{self.template_suffix}"
            names += [f"{app}/{label}/{node}.html", f"viewflow/{label}/{node}.html"]
        names += [f"viewflow/{label}/{self.template_suffix}.html", f"viewflow/{self.template_suffix}.html"]
        if getattr(self, "template_name", None):
            names.insert(0, self.template_name)
        return names

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(flow_class=self.flow_class, flow_task=self.flow_task)
        activation = getattr(self, "activation", None)
        if activation is not None:
            context.update(activation=activation, process=activation.process, task=activation.task)
        return context


class ProcessModelMixin:
    """A model view of the flow's process model (``model`` follows the URL's flow)."""

    @property
    def model(self):
        return self.flow_class.process_cls

    def get_queryset(self):
        return self.flow_class.process_cls._default_manager.all()

    def get_form_class(self):
        """``form_class`` if given, else the ModelForm of ``fields``, built once per model and field list.

        The ready-made views default ``fields`` to ``()``, so a ``form_class`` replaces
        it rather than clashing with it as in Django's ``ModelFormMixin``.
        """
        if self.form_class is not None:
            return self.form_class
        if self.fields is not None:
            return _model_form(self.model, tuple(self.fields))
        return super().get_form_class()


@functools.cache
def _model_form(model, fields):
    return modelform_factory(model, fields=fields)


class StartViewMixin(FlowViewMixin):
    """Start a process: the form edits ``self.activation.process`` (unsaved until done)."""

    template_suffix = "start"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.flow_task.can_execute(request.user):
            raise PermissionDenied(_("You may not start this process."))
        if request.method == "POST":
            with self.flow_task.start() as activation:
                activation.task.owner = request.user  # who started it (``this.start.owner``)
                self.activation = activation
                return super().dispatch(request, *args, **kwargs)
        self.activation = self.flow_task.new_activation()
        return super().dispatch(request, *args, **kwargs)

    def get_object(self, queryset=None):
        return self.activation.process

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if "instance" in kwargs or hasattr(self, "model"):
            kwargs["instance"] = self.activation.process
        return kwargs

    def activation_done(self, form, *formsets):
        """Create the process from the valid form (and formsets), then run the flow on."""
        activation = self.activation
        is_model_form = isinstance(form, BaseModelForm)
        if is_model_form:
            form.save(commit=False)
        activation.save_process()
        if is_model_form:
            form.save_m2m()
        for formset in formsets:
            formset.instance = activation.process
            formset.save()
        activation.done()
        activation.step.flush()  # the next page looks for the tasks just created

    def form_valid(self, form, *formsets):
        self.activation_done(form, *formsets)
        self.object = self.activation.process
        messages.success(self.request, _("%(process)s started.") % {"process": self.activation.process})
        return HttpResponseRedirect(self.get_success_url())

    def forms_valid(self, form, inlines):
        """django-extra-views' hook for a valid form with inline formsets."""
        return self.form_valid(form, *inlines)

    def get_success_url(self):
        # the step that created the process holds all of its tasks
        process = self.activation.process
        return next_task_url(self.request.user, process, tasks=self.activation.step.tasks) or process_url(process)


class TaskViewMixin(FlowViewMixin):
    """Do a task: only its owner may; a POST re-reads the task under the flow's lock."""

    template_suffix = "task"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        flow_class = self.flow_class
        if request.method == "POST":
            try:
                with run_task_step(flow_class, kwargs["process_pk"], kwargs["task_pk"]) as (step, task):
                    if task.flow_task is not self.flow_task or not flow_class.policy.sees_task(request.user, task):
                        raise Http404(_("No such task in this process."))
                    refusal = self._refuse(task)
                    if refusal is not None:
                        return refusal
                    self.activation = self.flow_task.activation_class(step, task)
                    return super().dispatch(request, *args, **kwargs)
            except flow_class.task_cls.DoesNotExist:
                if getattr(self, "activation", None) is not None:
                    raise  # raised by the view's own code, not by the lock
                raise Http404(_("No such task in this process.")) from None
        processes = flow_class.process_cls._default_manager.filter(pk=kwargs["process_pk"])
        process = flow_class.policy.processes(request.user, processes).first()
        if process is None:
            raise Http404(_("No such process."))
        task = self._load_task(process)
        refusal = self._refuse(task)
        if refusal is not None:
            return refusal
        self.activation = self.flow_task.activation_class(Step(flow_class, process), task)
        return super().dispatch(request, *args, **kwargs)

    def _load_task(self, process):
        tasks = self.flow_class.task_cls._default_manager.filter(
            pk=self.kwargs["task_pk"], process_id=process.pk, flow_task=self.flow_task
        )
        task = self.flow_class.policy.tasks(self.request.user, tasks).first()
        if task is None:
            raise Http404(_("No such task in this process."))
        task.process = process
        return task

    def _refuse(self, task):
        """A response instead of the form when the task cannot be done now, or None."""
        user = self.request.user
        if self.flow_task.can_execute(user, task):
            return None
        if task.status in (TaskStatus.DONE, TaskStatus.CANCELED) and self._may_see(task):
            messages.info(
                self.request,
                _("%(task)s is already %(status)s.") % {"task": task, "status": task.get_status_display().lower()},
            )
            return HttpResponseRedirect(process_url(task.process))
        if task.status == TaskStatus.NEW and self.flow_task.can_assign(user, task):
            return HttpResponseRedirect(task_url(task, "assign"))
        raise PermissionDenied(_("This task is not assigned to you."))

    def _may_see(self, task):
        """May the user see the process page a finished task sends them to? (Else: a 403 here.)"""
        return self.flow_class.has_view_permission(self.request.user)

    def get_object(self, queryset=None):
        return self.activation.process

    def get_form_kwargs(self):
        if self.request.method == "POST":
            # validating a model form writes what was typed into the process, valid or not
            self._stored_process = copy.copy(self.activation.process)
        return super().get_form_kwargs()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        stored = getattr(self, "_stored_process", None)
        if stored is not None:  # a form sent back with errors: the page shows the process as it is stored
            context["process"] = stored
        return context

    def activation_done(self, form, *formsets):
        """Save the form's fields of the process (and formsets), then complete the task."""
        process = self.activation.process
        if isinstance(form, BaseModelForm) and form.instance is process:
            form.save(commit=False)
            changed = [f.name for f in process._meta.concrete_fields if f.name in form.fields]
            if changed:
                process.save(update_fields=changed)
            form.save_m2m()
        for formset in formsets:
            formset.instance = process
            formset.save()
        self.activation.done()
        self.activation.step.flush()  # the next page looks for the tasks just created

    def form_valid(self, form, *formsets):
        self.activation_done(form, *formsets)
        self.object = self.activation.process
        url = self.get_success_url()
        process = self.activation.process
        done = {"task": self.activation.task.flow_task.task_title, "process": process}
        if url == self.inbox_url:
            # the process is one click away: the user may want to see what their step led to
            done = {
                "task": conditional_escape(done["task"]),
                "process": format_html('<a href="{}" class="alert-link">{}</a>', process_url(process), process),
            }
            message = mark_safe(_("%(task)s is done. Nothing more for you in %(process)s: here is your inbox.") % done)
        else:
            message = _("%(task)s is done. Here is your next task in %(process)s.") % done
        messages.success(self.request, message)
        return HttpResponseRedirect(url)

    def forms_valid(self, form, inlines):
        """django-extra-views' hook for a valid form with inline formsets."""
        return self.form_valid(form, *inlines)

    def get_success_url(self):
        # with one branch at a time, every task still waiting was made by this step
        step = self.activation.step
        tasks = step.tasks if runs_one_branch(self.flow_class) else None
        return next_task_url(self.request.user, self.activation.process, tasks=tasks) or self.inbox_url

    @cached_property
    def inbox_url(self):
        """Where a user with nothing more to do in the process goes."""
        return reverse("viewflow:inbox")
