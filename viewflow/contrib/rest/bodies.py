"""The body a start or complete request carries, per node: validated and saved as the site does.

A node's body is one of:

* its view's form (and inline formsets), found by :func:`viewflow.views.forms.node_form`:
  the body is handed to that form as the browser's POST would be, and a valid
  one is saved by the view's ``activation_done``;
* the serializer the node names with ``.Serializer(...)``;
* nothing the API can use (a function view): the request is refused with 405.

:func:`body_serializer` describes the body for the OpenAPI schema (a component
per node); :func:`accept` validates a request's body inside the step and saves
it, or raises ``ValidationError`` with the form's field errors.
"""

from __future__ import annotations

import functools

from django import forms
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import MethodNotAllowed, ValidationError
from rest_framework.settings import api_settings

from viewflow.activation import Step
from viewflow.views.forms import FormUnavailable, node_form

__all__ = [
    "node_serializer",
    "has_body",
    "body_serializer",
    "accept",
    "component_name",
    "flow_component_name",
    "api_errors",
    "described_form",
    "refusal",
]


#: primary keys that are integers (the rest are strings to the schema)
INTEGER_KEYS = (
    "AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "PositiveIntegerField",
    "PositiveBigIntegerField", "SmallIntegerField", "PositiveSmallIntegerField",
)


def node_serializer(node):
    """The serializer class ``node`` names with ``.Serializer(...)`` (a class or a dotted path), or None."""
    named = getattr(node, "api_serializer", None)
    if isinstance(named, str):
        named = import_string(named)
    return named


def has_body(node):
    """Can the API start or complete this node (a serializer named, or a form found)?"""
    return node_serializer(node) is not None or described_form(node) is not None


@functools.cache
def described_form(node):
    """``(form_class, [(prefix, formset_class)])`` of the node's view, unbound; None when it has none to find.

    Built once per node from the view's own unbound form, for a new process
    (and, for a task, a new task of it): what the schema describes.
    """
    flow_class = node.flow_class
    if node.task_type == "START":
        activation = node.new_activation()
    else:
        process = flow_class.process_cls()
        task = flow_class.task_cls(flow_task=node, process=process)
        activation = node.activation_class(Step(flow_class, process), task)
    try:
        unbound = node_form(node, activation)
    except FormUnavailable:
        return None
    return unbound.form_class, [(formset.prefix, type(formset)) for formset in unbound.formsets]


def flow_component_name(flow_class):
    """``Helloworld``: the start of the schema components of one flow (from its label)."""
    return "".join(part.capitalize() for part in flow_class._meta.flow_label.split("_") if part)


def component_name(node, suffix):
    """``HelloworldApproveRequest``: the schema component of one node's body (``suffix`` "Request")."""
    node_name = "".join(part.capitalize() for part in node.name.split("_") if part)
    return flow_component_name(node.flow_class) + node_name + suffix


@functools.cache
def body_serializer(node):
    """A serializer class that describes ``node``'s body in the schema (None: the node takes no body through the API).

    For a form, each form field becomes the serializer field of the same kind and
    limits; each formset a list of its form's fields under the formset's prefix.
    The form still validates the body: this class only documents it.
    """
    named = node_serializer(node)
    if named is not None:
        return named
    found = described_form(node)
    if found is None:
        return None
    form_class, formsets = found
    attrs = _form_fields(form_class)
    for prefix, formset_class in formsets:
        item_name = f"{component_name(node, '')}{prefix.capitalize()}Item"
        item = type(item_name, (serializers.Serializer,), _form_fields(formset_class.form, formset_class))
        limits = {}
        if getattr(formset_class, "validate_min", False):
            limits["min_length"] = formset_class.min_num
        if getattr(formset_class, "validate_max", False):
            limits["max_length"] = formset_class.max_num
        attrs[prefix] = serializers.ListField(
            child=item(), required=bool(limits.get("min_length")),
            help_text=_("The rows: a row with its id edits that row, one without adds a row."), **limits,
        )
    return type(component_name(node, "Request"), (serializers.Serializer,), attrs)


def _form_fields(form_class, formset_class=None):
    """``{name: serializer field}`` for a form class's declared and model fields."""
    form = form_class(**({"prefix": "x"} if formset_class is None else {}))
    fields = {}
    for name, field in form.fields.items():
        if formset_class is not None and name in ("DELETE", "ORDER"):
            if name == "DELETE" and getattr(formset_class, "can_delete", False):
                fields[name] = serializers.BooleanField(required=False, help_text=_("Delete this row."))
            continue
        if isinstance(field.widget, forms.HiddenInput) and formset_class is not None and not field.required:
            fields[name] = _pk_field(field, required=False)  # a model formset's key: set to edit an existing row
            continue
        fields[name] = _serializer_field(field)
    return fields


def _common(field):
    kwargs = {"required": field.required}
    if field.help_text:
        kwargs["help_text"] = str(field.help_text)
    if field.label:
        kwargs["label"] = str(field.label)
    return kwargs


def _pk_field(field, required):
    model = getattr(getattr(field, "queryset", None), "model", None)
    pk = model._meta.pk if model is not None else None
    kwargs = {"required": required, "allow_null": not required}
    if pk is not None and pk.get_internal_type() in INTEGER_KEYS:
        return serializers.IntegerField(**kwargs)
    if pk is not None and pk.get_internal_type() == "UUIDField":
        return serializers.UUIDField(**kwargs)
    return serializers.CharField(**kwargs)


def _choices(field):
    values = []
    for value, label in field.choices:
        if isinstance(label, (list, tuple)):  # an option group
            values.extend(inner for inner, _label in label)
        else:
            values.append(value)
    return [value for value in values if value not in ("", None)]


def _serializer_field(field):
    """The serializer field that describes a form field (kind, limits, required)."""
    kwargs = _common(field)
    if isinstance(field, forms.NullBooleanField):
        return serializers.BooleanField(allow_null=True, **{**kwargs, "required": False})
    if isinstance(field, forms.BooleanField):
        return serializers.BooleanField(**{**kwargs, "required": field.required})
    if isinstance(field, forms.ModelMultipleChoiceField):
        return serializers.ListField(child=_pk_field(field, required=True), **kwargs)
    if isinstance(field, forms.ModelChoiceField):
        return _pk_field(field, required=field.required)
    if isinstance(field, forms.MultipleChoiceField):
        return serializers.MultipleChoiceField(choices=_choices(field), **kwargs)
    if isinstance(field, forms.ChoiceField):
        return serializers.ChoiceField(choices=_choices(field), allow_blank=not field.required, **kwargs)
    if isinstance(field, forms.IntegerField) and not isinstance(field, forms.DecimalField | forms.FloatField):
        return serializers.IntegerField(min_value=field.min_value, max_value=field.max_value, **kwargs)
    if isinstance(field, forms.DecimalField):
        return serializers.DecimalField(
            max_digits=field.max_digits, decimal_places=field.decimal_places,
            min_value=field.min_value, max_value=field.max_value, **kwargs,
        )
    if isinstance(field, forms.FloatField):
        return serializers.FloatField(min_value=field.min_value, max_value=field.max_value, **kwargs)
    simple = [
        (forms.DateTimeField, serializers.DateTimeField),
        (forms.DateField, serializers.DateField),
        (forms.TimeField, serializers.TimeField),
        (forms.DurationField, serializers.DurationField),
        (forms.EmailField, serializers.EmailField),
        (forms.URLField, serializers.URLField),
        (forms.UUIDField, serializers.UUIDField),
        (forms.JSONField, serializers.JSONField),
        (forms.FileField, serializers.FileField),
    ]
    for form_field, serializer_field in simple:
        if isinstance(field, form_field):
            return serializer_field(**kwargs)
    limits = {
        name: getattr(field, name)
        for name in ("max_length", "min_length")
        if getattr(field, name, None) is not None
    }
    return serializers.CharField(allow_blank=not field.required, **limits, **kwargs)


def accept(request, node, activation):
    """Validate ``request``'s body for ``node`` inside the step, and save it as the site would.

    Raises ``ValidationError`` (400) with the form's or serializer's errors, and
    ``MethodNotAllowed`` (405) for a node whose body the API cannot know.
    Nothing is written before the body is valid.
    """
    serializer_class = node_serializer(node)
    if serializer_class is not None:
        serializer = serializer_class(
            instance=activation.process, data=request.data, context={"request": request, "activation": activation}
        )
        serializer.is_valid(raise_exception=True)
        if activation.process.pk is None:  # a new process: the ORM may insert it, with its flow
            activation.process.flow_class = node.flow_class
        serializer.save()
        activation.done()
        activation.step.flush()
        return
    try:
        submission = node_form(node, activation, _body(request.data), request.FILES, user=request.user)
    except FormUnavailable as exc:
        raise MethodNotAllowed(request.method, detail=refusal(node, exc)) from exc
    if not submission.is_valid():
        raise ValidationError(api_errors(submission.errors))
    submission.complete()


def refusal(node, reason=None):
    """The 405's message for a node whose body the API cannot know."""
    hint = _("Name a serializer on the node with .Serializer(...) to take its body through the API.")
    if reason is None:
        reason = _("%(node)s of %(flow)s has a view whose form cannot be found outside its page.") % {
            "node": node.name, "flow": node.flow_class.__name__
        }
    return f"{reason} {hint}"


def _body(data):
    """The parsed body as the form takes it: a JSON object or a form-encoded QueryDict (anything else: empty)."""
    return data if isinstance(data, dict) else {}  # a QueryDict is a dict too


def api_errors(errors):
    """The form's errors (:attr:`viewflow.views.forms.NodeForm.errors`) with REST framework's key for the form's own.

    ``"__all__"`` becomes ``"non_field_errors"`` (and ``"<formset>-__all__"``
    ``"<formset>-non_field_errors"``), as a serializer names them; a formset's
    rows are a list of their field errors under its prefix.
    """
    key = api_settings.NON_FIELD_ERRORS_KEY
    return {
        (name[: -len("__all__")] + key if name.endswith("__all__") else name): value for name, value in errors.items()
    }
