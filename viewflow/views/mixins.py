"""Mixins that turn any Django generic view into a start view or a task view.

``StartViewMixin`` / ``TaskViewMixin`` give the view ``self.activation``
(``.process``, ``.task``). A GET takes no lock and writes nothing; a POST runs
inside the flow's lock, with the task re-read after the lock is taken. On a
valid submission the view calls :meth:`activation_done`, which saves what the
form edits (any model) and its formsets, and completes the task; see
:class:`FlowFormMixin`.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.messages import get_messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.forms import BaseModelForm, modelform_factory
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, Resolver404, get_urlconf, resolve, reverse
from django.utils.functional import LazyObject, cached_property
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.generic.detail import SingleObjectMixin
from django.views.generic.edit import BaseCreateView

from ..activation import Step, run_task_step
from ..flow.end import runs_one_branch
from ..status import TaskStatus
from .forms import save_forms, storable
from .urls import next_task_url, process_url, task_url

__all__ = [
    "FlowViewMixin",
    "FlowFormMixin",
    "StartViewMixin",
    "TaskViewMixin",
    "SiteLoginRequiredMixin",
    "call_with_formsets",
    "refuse_other_methods",
]

logger = logging.getLogger("django.request")


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
        # a method read through the proxy is bound to the object it stands for (reading it sets the proxy up
        # once, as any attribute would): that object, with no private attribute of the proxy read
        resolved = getattr(getattr(user, "get_username", None), "__self__", None)
        if resolved is not None:
            request.user = resolved


#: the only methods the site's views answer: reads (no lock, nothing written) and POST (under the lock)
ALLOWED_METHODS = ("GET", "HEAD", "OPTIONS", "POST")


def refuse_other_methods(request):
    """A 405 for any method but GET, HEAD, OPTIONS and POST, else None.

    Django's edit views answer a PUT as a POST, but the start and task views
    take the flow's lock for a POST only: any other method would run a step
    outside the lock. So the site refuses them before anything is read.
    """
    if request.method in ALLOWED_METHODS:
        return None
    extra = {"status_code": 405, "request": request}
    logger.warning("Method Not Allowed (%s): %s", request.method, request.path, extra=extra)
    return HttpResponseNotAllowed(ALLOWED_METHODS)


class SiteLoginRequiredMixin(LoginRequiredMixin):
    """Send anonymous visitors to ``settings.LOGIN_URL`` (or to the site's login page).

    A signed-in user refused with ``PermissionDenied`` gets the site's own 403
    page (``viewflow/403.html``, with the reason and a way back), not a bare one.
    Only GET, HEAD, OPTIONS and POST are answered (:func:`refuse_other_methods`).
    """

    http_method_names = [method.lower() for method in ALLOWED_METHODS]

    def get_login_url(self):
        return _login_url(str(self.login_url or settings.LOGIN_URL), get_urlconf() or settings.ROOT_URLCONF)

    def get_context_data(self, **kwargs):
        return with_page_context(super().get_context_data(**kwargs), self.request)

    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)

        @functools.wraps(view)
        def refusing_politely(request, *args, **kwargs):
            refused = refuse_other_methods(request)
            if refused is not None:
                return refused
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


def _creates(view):
    """Does ``view`` create its object, as a ``CreateView`` (or extra-views' ``CreateWithInlinesView``) does?"""
    if isinstance(view, BaseCreateView):
        return True
    try:
        from extra_views.advanced import BaseCreateWithInlinesView
    except ImportError:  # django-extra-views is optional
        return False
    return isinstance(view, BaseCreateWithInlinesView)


@functools.cache
def _formset_arguments(function):
    """How ``function(self, form, ...)`` takes formsets.

    ``"star"`` (``*formsets``), ``"list"`` (0.6's ``inlines``) or ``"none"``.
    """
    parameters = list(inspect.signature(function).parameters.values())[1:]  # after self
    if any(parameter.kind is parameter.VAR_POSITIONAL for parameter in parameters):
        return "star"
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return "list" if len(positional) >= 2 else "none"


def call_with_formsets(method, form, formsets):
    """Call ``method(form, ...)`` the way it is declared: ``(form, *formsets)``, ``(form, inlines)`` or ``(form)``.

    Views written for viewflow 0.6 and django-extra-views declare
    ``activation_done(self, form, inlines)``; viewflow's own hooks take
    ``(form, *formsets)``; Django's ``form_valid`` takes ``(form)``.
    """
    kind = _formset_arguments(getattr(method, "__func__", method))
    if kind == "star":
        return method(form, *formsets)
    if kind == "list":
        return method(form, list(formsets))
    return method(form)


def _flat(formsets):
    """``(fs1, fs2)`` or ``([fs1, fs2],)`` (0.6's ``inlines`` list) as one list of formsets."""
    flat = []
    for formset in formsets:
        if isinstance(formset, (list, tuple)):
            flat.extend(formset)
        else:
            flat.append(formset)
    return flat


class FlowFormMixin(FlowViewMixin):
    """What a start view and a task view share: the form, its formsets, and how a valid submission is stored.

    The view edits whatever object its Django parent edits: a ``CreateView``
    creates a new object of its ``model``, an ``UpdateView`` updates what its
    ``get_object()`` returns (by default the process, when the view's model is
    the process model), a ``FormView`` has no object. A ModelForm of the process
    model is given the activation's process. A POST validates the form and every
    formset together; when all are valid the view's ``form_valid`` (or
    extra-views' ``forms_valid``) calls :meth:`forms_done`, which calls
    :meth:`activation_done` as the view declares it and then makes sure nothing
    the form carried is left unsaved. :func:`viewflow.views.forms.node_form`
    drives the same methods for code that is not a web page.
    """

    def get_object(self, queryset=None):
        """The process, when the view's model is the process model; a view of another model says which object."""
        process = self.activation.process
        model = getattr(self, "model", None)
        if model is None and getattr(self, "queryset", None) is not None:
            model = self.queryset.model
        if model is None or isinstance(process, model):
            return process
        raise ImproperlyConfigured(
            f"{type(self).__name__} edits {model.__name__}, not the process: define get_object() to return "
            f"the {model.__name__} it edits (e.g. self.activation.process.{model._meta.model_name}), "
            "or make it a CreateView."
        )

    def get_edited_object(self):
        """What Django's generic view sets ``self.object`` to before it validates a POST."""
        if _creates(self):
            return None
        if isinstance(self, SingleObjectMixin):
            return self.get_object()
        return None

    def get_form(self, form_class=None):
        if form_class is None:
            form_class = self.get_form_class()
        self._form_class = form_class
        return super().get_form(form_class)

    def get_form_kwargs(self):
        """Django's form kwargs; a ModelForm of the process model with no object of its own gets the process."""
        kwargs = super().get_form_kwargs()
        form_class = getattr(self, "_form_class", None)
        if form_class is not None and issubclass(form_class, BaseModelForm) and kwargs.get("instance") is None:
            if isinstance(self.activation.process, form_class._meta.model):
                kwargs["instance"] = self.activation.process
        return kwargs

    def get_formsets(self):
        """The formsets submitted with the form: django-extra-views' inlines, if the view has them."""
        if getattr(self, "_formsets", None) is None:
            construct = getattr(self, "construct_inlines", None)
            self._formsets = list(construct()) if construct is not None else []
        return self._formsets

    def bind_forms(self):
        """The form and formsets of this request, bound to what they edit.

        ``self.object`` is set as Django's generic view sets it; the formsets
        are built around the object the form edits (a new one not saved yet).
        """
        self.object = self.get_edited_object()
        form = self.get_form()
        edited = self.object
        if isinstance(form, BaseModelForm):
            self.object = form.instance
        try:
            formsets = self.get_formsets()
        finally:
            self.object = edited
        return form, formsets

    def post(self, request, *args, **kwargs):
        form, formsets = self.bind_forms()
        if all([form.is_valid()] + [formset.is_valid() for formset in formsets]):
            if hasattr(self, "construct_inlines"):
                return self.forms_valid(form, formsets)  # django-extra-views' hook, which views may override
            return call_with_formsets(self.form_valid, form, formsets)
        if hasattr(self, "construct_inlines"):
            return self.forms_invalid(form, formsets)
        return self.form_invalid(form)

    def forms_valid(self, form, inlines):
        """django-extra-views' hook for a valid form with inline formsets."""
        return call_with_formsets(self.form_valid, form, inlines)

    def form_valid(self, form, *formsets):
        """Store the submission and complete the task (:meth:`forms_done`), then redirect."""
        formsets = _flat(formsets) if formsets else list(getattr(self, "_formsets", None) or ())
        self.forms_done(form, formsets)
        url = self.get_success_url()
        messages.success(self.request, self.done_message(url))
        return HttpResponseRedirect(url)

    def forms_done(self, form, formsets):
        """Call :meth:`activation_done` as the view declares it; then make sure nothing was lost.

        The default ``activation_done`` stores everything. One written for 0.6
        that only calls ``self.activation.done()`` (0.6 saved the form before)
        gets its ModelForm and formsets saved here, in the same transaction. It
        is an error to return without completing the task.
        """
        self._forms_saved = False
        call_with_formsets(self.activation_done, form, formsets)
        if self.activation.task.status != TaskStatus.DONE:
            raise ImproperlyConfigured(
                f"{type(self).__name__}.activation_done() returned without completing the task: call "
                "super().activation_done(form, *formsets) or self.activation.done()."
            )
        if not self._forms_saved and storable(form, formsets):
            self.save_forms(form, *formsets)

    def save_forms(self, form, *formsets):
        """Store the form's object, the process if the form edited it, and the formsets; return the object.

        See :func:`viewflow.views.forms.save_forms` (a plain ``Form`` is
        refused there: nothing could store it). Sets ``self.object`` as
        Django's ``form_valid`` does.
        """
        obj = save_forms(self.activation, form, _flat(formsets))
        if obj is not None:
            self.object = obj
        self._forms_saved = True
        return obj

    def activation_done(self, form, *formsets):
        """Store the form's object (any model), the process if the form edited it, the formsets; complete the task.

        Override it to store your own objects first, then call
        ``super().activation_done(form, *formsets)``; or call
        :meth:`save_forms` and ``self.activation.done()`` yourself.
        """
        self.save_forms(form, *formsets)
        self.activation.done()

    def done_message(self, url):
        raise NotImplementedError


class StartViewMixin(FlowFormMixin):
    """Start a process: ``self.activation.process`` is created when the form is valid.

    The view's form edits what its Django parent edits: the process for a
    view of the process model (``StartView``), a new object of another model
    for a ``CreateView`` of it; see :class:`FlowFormMixin`.
    """

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

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if kwargs.get("instance") is self.activation.process:
            # code of the view may save the form itself (as 0.6 views did): the row needs its flow
            self.activation.process.flow_class = self.flow_class
        return kwargs

    def done_message(self, url):
        return _("%(process)s started.") % {"process": self.activation.process}

    def get_success_url(self):
        # the step that created the process holds all of its tasks
        process = self.activation.process
        return next_task_url(self.request.user, process, tasks=self.activation.step.tasks) or process_url(process)


class TaskViewMixin(FlowFormMixin):
    """Do a task: only its owner may; a POST re-reads the task under the flow's lock.

    The view's form edits what its Django parent edits (see :class:`FlowFormMixin`).
    """

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

    def done_message(self, url):
        process = self.activation.process
        done = {"task": self.activation.task.flow_task.task_title, "process": process}
        if url == self.inbox_url:
            # the process is one click away: the user may want to see what their step led to
            done = {
                "task": conditional_escape(done["task"]),
                "process": format_html('<a href="{}" class="alert-link">{}</a>', process_url(process), process),
            }
            return mark_safe(_("%(task)s is done. Nothing more for you in %(process)s: here is your inbox.") % done)
        return _("%(task)s is done. Here is your next task in %(process)s.") % done

    def get_success_url(self):
        # with one branch at a time, every task still waiting was made by this step
        step = self.activation.step
        tasks = step.tasks if runs_one_branch(self.flow_class) else None
        return next_task_url(self.request.user, self.activation.process, tasks=tasks) or self.inbox_url

    @cached_property
    def inbox_url(self):
        """Where a user with nothing more to do in the process goes."""
        return reverse("viewflow:inbox")
