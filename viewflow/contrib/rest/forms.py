"""The form a Start or View node's view would use, found without rendering a page.

The API validates a start or complete body with the very form (and inline
formsets) the node's view builds, and saves it with the view's own
``activation_done``: the same fields, validators, ``clean()`` methods and
save routine as a POST to the site. :func:`node_form` finds them; it answers
None for a view that has no form to find (a function view, a view of no
generic form class), which the API refuses with 405 unless the node names a
serializer (``.Serializer(...)``).
"""

from __future__ import annotations

import copy
import functools
import json

from django.core.exceptions import ImproperlyConfigured
from django.forms.models import BaseInlineFormSet
from django.http import QueryDict
from django.views.generic.edit import BaseCreateView, FormMixin

__all__ = ["NodeForm", "node_form", "form_data", "fill_formset", "copy_request"]


class NodeForm:
    """The form class and formset classes of a node's view, and how to bind and save them.

    ``formsets`` is a list of ``(prefix, formset_class)``: a body carries each
    formset as a list under its prefix.
    """

    def __init__(self, node, view_class, initkwargs, form_class, formsets):
        self.node = node
        self.view_class = view_class
        self.initkwargs = initkwargs
        self.form_class = form_class
        self.formsets = formsets

    def view(self, request, activation):
        """The node's view set up for ``request`` (a POST of the body) with ``activation``, as the site runs it."""
        view = self.view_class(**self.initkwargs)
        view.setup(request, flow_class=self.node.flow_class, flow_task=self.node)
        view.activation = activation
        if isinstance(view, BaseCreateView) or not hasattr(view, "get_object"):
            view.object = None
        else:
            view.object = view.get_object()
        return view

    def bind(self, view, body):
        """The view's form and formsets, bound to its request's data and ``body``'s formset lists.

        The formsets' rows are written into the request's data first: a view may
        read its formset's forms as soon as it builds it (to relabel a field, say).
        """
        for prefix, formset_class in self.formsets:
            kwargs = {"prefix": prefix}
            if issubclass(formset_class, BaseInlineFormSet):
                kwargs["instance"] = view.activation.process
            fill_formset(view.request.POST, formset_class(**kwargs), body.get(prefix))
        form = view.get_form()
        if hasattr(view, "get_formsets"):
            formsets = list(view.get_formsets())
        elif hasattr(view, "get_formset"):
            formsets = [view.get_formset()]
        else:
            formsets = []
        return form, formsets

    def save(self, view, form, formsets):
        """Save the valid form and formsets the way the site does: the view's ``activation_done``."""
        view.activation_done(form, *formsets)


@functools.cache
def node_form(node):
    """The :class:`NodeForm` of a Start or View node, or None when its view has no form to find."""
    view = getattr(node, "view", None)
    view_class = getattr(view, "view_class", None)
    if view_class is None or not issubclass(view_class, FormMixin) or not hasattr(view_class, "activation_done"):
        return None
    initkwargs = dict(getattr(view, "view_initkwargs", {}))
    instance = view_class(**initkwargs)
    instance.kwargs = {"flow_class": node.flow_class, "flow_task": node}
    instance.args = ()
    try:
        form_class = instance.get_form_class()
    except (ImproperlyConfigured, AttributeError):  # it needs a request or an object to tell
        return None
    if hasattr(instance, "get_formset_classes"):
        formset_classes = list(instance.get_formset_classes())
    elif getattr(instance, "formset_class", None) is not None:
        formset_classes = [instance.formset_class]
    else:
        formset_classes = []
    formsets = [(formset_class.get_default_prefix(), formset_class) for formset_class in formset_classes]
    return NodeForm(node, view_class, initkwargs, form_class, formsets)


def form_data(body, prefixes=()):
    """A JSON body as the ``QueryDict`` a browser would POST for the same form (formsets aside).

    ``true``/``false`` become "true"/"false" (what a checkbox reads), ``null`` an
    empty value, a list several values of one field, an object a JSON string (a
    JSONField's form field parses it). The lists under ``prefixes`` belong to
    formsets: :func:`fill_formset` writes them once the view built its formsets.
    """
    data = QueryDict(mutable=True)
    for name, value in (body or {}).items():
        if name not in prefixes:
            _put(data, str(name), value)
    return data


def fill_formset(data, formset, items):
    """Write ``items`` (a body's list for the unbound ``formset``) into ``data`` as a browser would.

    An item that carries a row's primary key edits that row; an item without one
    adds a row. An existing row of a model formset that no item names is sent
    with its key alone, as a browser sends a row whose fields were left as they
    are: the form then validates it as it stands, so a required field still
    needs a value.
    """
    prefix = formset.prefix
    items = [item if isinstance(item, dict) else {} for item in (items if isinstance(items, list) else [])]
    queryset = formset.get_queryset() if hasattr(formset, "get_queryset") else None
    pk_name = queryset.model._meta.pk.name if queryset is not None else None
    pks = list(queryset.values_list("pk", flat=True)) if queryset is not None else []
    keyed = [item for item in items if pk_name and item.get(pk_name) not in (None, "")]
    named = {str(item[pk_name]) for item in keyed}
    rows = keyed + [{pk_name: pk} for pk in pks if str(pk) not in named]
    initial = len(rows)
    rows += [item for item in items if item not in keyed]
    data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
    data[f"{prefix}-INITIAL_FORMS"] = str(initial)
    for index, item in enumerate(rows):
        for name, value in item.items():
            _put(data, f"{prefix}-{index}-{name}", value)


def _put(data, key, value):
    if isinstance(value, list):
        data.setlist(key, [_text(item) for item in value])
    else:
        data[key] = _text(value)


def _text(value):
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def copy_request(request, data, files=None):
    """A copy of the Django ``request`` that POSTs ``data`` (and ``files``), for the node's view to read."""
    posted = copy.copy(request)
    posted.method = "POST"
    posted.POST = data
    posted._files = files if files is not None else QueryDict(mutable=True)
    return posted
