"""A node's form outside a web page: what its view validates and how it saves it.

A start or task view (``StartViewMixin`` / ``TaskViewMixin`` on any generic
view) builds a form and maybe formsets, validates them together and, when all
are valid, calls ``activation_done(form, *formsets)``, which stores what they
carry and completes the task. Code that is not a web page — the REST API, a test
helper, a management command — takes a node's input the same way, through this
module, so a JSON body is validated and saved exactly as a posted form is:

    with MyFlow.approve.flow_class.lock(process_pk, task_pk) ...   # the caller's step
        submission = node_form(MyFlow.approve, activation, {"approved": True}, user=user)
        if not submission.is_valid():
            return submission.errors          # {"approved": ["..."]}, the form's own messages
        submission.complete()                 # the view's activation_done: save, then done()

:func:`node_form` asks the node's own view class (with the node's view
kwargs: ``fields=[...]``, ``form_class``, ``model``, ``layout``, a custom view's
``get_form_class()``/``get_object()``) for its form and formsets, bound to what
they edit; :func:`save_forms` is the routine the default ``activation_done``
stores them with. A node whose view builds no form this way (a function view, a
class view with no ``get_form()``) raises :class:`FormUnavailable`; the REST API
answers such a node with 405.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.forms import BaseModelForm
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

__all__ = ["FormUnavailable", "NodeForm", "node_form", "save_forms", "storable", "submission_data"]


class FormUnavailable(Exception):
    """The node's view builds no form that code outside the view can use.

    Raised for a function view (``@flow_view``), a view that is not a
    ``StartViewMixin``/``TaskViewMixin`` form view, or one whose
    ``get_form_class()``/``get_object()`` fails without a real request. Such a
    node can only be done through its web page.
    """


def save_forms(activation, form, formsets=()):
    """Store what a valid form and its formsets carry; return the form's object (None for a plain form).

    * A ModelForm of the activation's process fills the process: a start
      inserts it (``activation.save_process()``), a task saves the form's fields
      of it (the engine's columns are never written from a form).
    * A ModelForm of any other model saves its own instance (a new row for a
      create form, the edited one for an update form), with its many-to-many data.
    * Each formset is saved after the object it hangs on (the form's object,
      or the process); blank extra forms are skipped as Django's formsets do.

    A plain ``Form`` (or formset) has nowhere to go: it raises
    ``ImproperlyConfigured``, so that a submission is never answered "done"
    while its data is stored nowhere; the view's own ``activation_done``
    stores such a form and calls ``self.activation.done()``. Everything runs in
    the step's transaction, so an exception afterwards rolls all of it back.
    """
    if not storable(form, formsets):
        raise ImproperlyConfigured(
            f"{type(form).__name__} is a plain form that nothing stores: store what it carries in the view's "
            "activation_done(form, *formsets) and call self.activation.done() there, or use a ModelForm."
        )
    process = activation.process
    obj = None
    if isinstance(form, BaseModelForm):
        obj = form.instance
        if obj is process:
            form.save(commit=False)
            _save_process(activation, list(form.fields))
            form.save_m2m()
        else:
            form.save()
    for formset in formsets:
        parent = getattr(formset, "instance", None)
        if parent is process:
            _save_process(activation, ())
        elif parent is not None and parent.pk is None and isinstance(process, type(parent)):
            formset.instance = process  # a blank parent made for an unbound page: the process it belongs to
            _save_process(activation, ())
        formset.save()
    return obj


def storable(form, formsets=()):
    """Can :func:`save_forms` store what ``form`` and ``formsets`` carry (ModelForms and model formsets)?"""
    if not isinstance(form, BaseModelForm) and form.fields:
        return False
    return all(hasattr(formset, "save") for formset in formsets)


def _save_process(activation, names):
    """A new process is inserted; an existing one gets the named fields written, if it has them."""
    process = activation.process
    if process.pk is None or getattr(activation, "save_process", None) is not None:
        activation.save_process()
        return
    fields = {field.name for field in process._meta.concrete_fields if not field.primary_key}
    changed = [name for name in names if name in fields]
    if changed:
        process.save(update_fields=changed)


def submission_data(data):
    """``data`` as a form reads a POST: a QueryDict, with each formset's rows flattened.

    A value that is a list of dicts is the rows of the formset with that prefix
    (``{"lines": [{"name": "nut"}, {"id": 7, "name": "bolt"}]}``): the rows
    become ``lines-0-name``... with the management form filled in; rows with an
    ``id`` are the existing ones and come first. Other lists are the values of
    a multiple-choice field. JSON's ``true``/``false`` reach a checkbox as such.
    """
    if isinstance(data, QueryDict):
        return data
    query = QueryDict(mutable=True)
    for name, value in (data or {}).items():
        if isinstance(value, (list, tuple)) and value and all(isinstance(row, dict) for row in value):
            rows = sorted(value, key=lambda row: row.get("id") is None)
            initial = sum(1 for row in rows if row.get("id") is not None)
            query.setlist(f"{name}-TOTAL_FORMS", [str(len(rows))])
            query.setlist(f"{name}-INITIAL_FORMS", [str(initial)])
            for number, row in enumerate(rows):
                for field, field_value in row.items():
                    query.setlist(f"{name}-{number}-{field}", _values(field_value))
        else:
            query.setlist(name, _values(value))
    return query


def _values(value):
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


class NodeForm:
    """The form and formsets of one node's view, bound to what they edit; see :func:`node_form`."""

    def __init__(self, view, form, formsets):
        self.view = view
        self.form = form
        self.formsets = list(formsets)

    @property
    def form_class(self):
        return type(self.form)

    def is_valid(self):
        """Are the form and every formset valid (all are validated, to collect every error)?"""
        return all([self.form.is_valid()] + [formset.is_valid() for formset in self.formsets])

    @property
    def errors(self):
        """The errors as plain data: ``{field: [message, ...]}``, ``"__all__"`` for the form's own.

        A formset's errors are under its prefix: one dict per row (empty for a
        valid row), and the formset's own errors under ``"<prefix>-__all__"``.
        """
        errors = {name: [str(message) for message in messages] for name, messages in self.form.errors.items()}
        for formset in self.formsets:
            if formset.is_valid():
                continue
            rows = [{name: [str(m) for m in messages] for name, messages in row.items()} for row in formset.errors]
            if any(rows):
                errors[formset.prefix] = rows
            if formset.non_form_errors():
                errors[f"{formset.prefix}-__all__"] = [str(message) for message in formset.non_form_errors()]
        return errors

    def complete(self):
        """Run the view's ``activation_done`` with the valid form: store it and complete the task.

        Returns what the view's ``self.object`` is then (the saved object, or
        the process). Call it inside the activation's step, like the view does.
        """
        if not self.is_valid():
            raise ValueError(_("The form is not valid: %(errors)s") % {"errors": self.errors})
        self.view.forms_done(self.form, self.formsets)
        return getattr(self.view, "object", None)


def node_form(flow_task, activation, data=None, files=None, *, user=None):
    """The form (and formsets) ``flow_task``'s view would use for ``activation``; bound when ``data`` is given.

    ``data`` is a dict as :func:`submission_data` reads it (a JSON body) or a
    QueryDict; ``files`` maps field names to uploaded files; ``user`` is the
    one submitting (``request.user`` in the view's code; for a start, also the
    start task's owner when it has none yet). Raises :class:`FormUnavailable`
    when the node's view builds no form this way.
    """
    view_callable = getattr(flow_task, "view", None)
    view_class = getattr(view_callable, "view_class", None)
    if view_class is None or not (hasattr(view_class, "bind_forms") and hasattr(view_class, "get_form")):
        raise FormUnavailable(
            _("%(node)s is done through its own view %(view)s, which has no form to fill outside its page.")
            % {"node": _node_label(flow_task), "view": getattr(view_class or view_callable, "__name__", "?")}
        )
    request = HttpRequest()
    request.method = "POST" if data is not None else "GET"
    request.POST = submission_data(data) if data is not None else QueryDict()
    request.FILES = MultiValueDict({name: _values(file) for name, file in (files or {}).items()})
    request.user = user if user is not None else AnonymousUser()
    view = view_class(**view_callable.view_initkwargs)
    kwargs = dict(flow_task.url_kwargs())
    if activation.process.pk is not None and activation.task.pk is not None and flow_task.task_type != "START":
        kwargs.update(process_pk=activation.process.pk, task_pk=activation.task.pk)
    view.setup(request, **kwargs)
    view.activation = activation
    starting = flow_task.task_type == "START"
    if starting and user is not None and user.is_authenticated and activation.task.owner_id is None:
        activation.task.owner = user  # who started it, as the start view records it
    try:
        form, formsets = view.bind_forms()
    except FormUnavailable:
        raise
    except Exception as exc:
        raise FormUnavailable(
            _("The form of %(node)s cannot be built outside its page: %(error)s")
            % {"node": _node_label(flow_task), "error": exc}
        ) from exc
    return NodeForm(view, form, formsets)


def _node_label(flow_task):
    return f"{flow_task.flow_class.__name__}.{flow_task.name}"
