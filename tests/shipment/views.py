"""Start and task views of every shape the mixins support, made by :func:`make_view`.

A *shape* is the Django (or django-extra-views) view the mixin is put on and
what it edits:

* ``create``: ``CreateView`` of ``Shipment`` (a new shipment);
* ``update``: ``UpdateView`` with its own ``get_object()`` (a start: the
  process, the 0.6 way; a task: the process's shipment);
* ``formview``: ``FormView`` with a ModelForm of ``Shipment``;
* ``plain``: ``FormView`` with a plain form, stored by the view's own ``activation_done``;
* ``create_inlines``: ``CreateWithInlinesView`` of ``Shipment`` with its items;
* ``update_inlines``: ``UpdateWithInlinesView`` (a start: the process and its
  notes; a task: the shipment and its items).

The form comes from the view's ``fields`` (``source="fields"``), from the
node's ``fields=`` (``"node"``) or a ``form_class`` (``"form_class"``). A
``hook`` adds the view's own code: ``activation_done`` or ``form_valid`` that
write an :class:`Audit` row and call ``super()``; ``"inlines06"``, a 0.6
``activation_done(form, inlines)`` calling ``super()``; ``"own06"``, a 0.6
``activation_done(form, inlines)`` that saves by itself and calls only
``self.activation.done()``; ``"raises"``, code that raises after ``super()``.
"""

from django import forms
from django.views.generic import CreateView, FormView, UpdateView
from extra_views import CreateWithInlinesView, InlineFormSetFactory, UpdateWithInlinesView

from viewflow.views import StartViewMixin, TaskViewMixin

from .models import Audit, ProcessNote, Shipment, ShipmentItem, ShipmentProcess

SHIPMENT_FIELDS = ["carrier", "address", "weight", "fragile"]
PROCESS_FIELDS = ["note", "priority"]
SHAPES = ["create", "update", "formview", "plain", "create_inlines", "update_inlines"]
SOURCES = ["fields", "node", "form_class"]
HOOKS = ["none", "activation_done", "form_valid", "inlines06", "own06", "raises"]


class ItemInline(InlineFormSetFactory):
    model = ShipmentItem
    fields = ["name", "quantity"]
    factory_kwargs = {"extra": 2, "can_delete": False}


class NoteInline(InlineFormSetFactory):
    model = ProcessNote
    fields = ["text", "quantity"]
    factory_kwargs = {"extra": 2, "can_delete": False}


class LabelForm(forms.Form):
    """A plain form: nothing stores it unless the view does."""

    carrier = forms.CharField(max_length=50)
    weight = forms.IntegerField(min_value=0)


def edited_model(kind, shape):
    """The model a view of this shape edits."""
    return ShipmentProcess if (kind == "start" and shape in ("update", "update_inlines")) else Shipment


def edited_fields(kind, shape, fields=None):
    if shape == "plain":
        return ["carrier", "weight"]
    if fields is not None:
        return list(fields)
    return PROCESS_FIELDS if edited_model(kind, shape) is ShipmentProcess else SHIPMENT_FIELDS


class AuditMixin:
    """Writes an Audit row: the view's own object, stored in the same step."""

    def audit(self):
        Audit.objects.create(text=f"{type(self).__name__} of process {self.activation.process.pk}")


class ActivationDoneHook(AuditMixin):
    def activation_done(self, form, *formsets):
        self.audit()
        super().activation_done(form, *formsets)


class FormValidHook(AuditMixin):
    def form_valid(self, form, *formsets):
        self.audit()
        return super().form_valid(form, *formsets)


class Inlines06Hook(AuditMixin):
    def activation_done(self, form, inlines):
        self.audit()
        super().activation_done(form, inlines)


class Own06Hook(AuditMixin):
    """0.6 code: saves the form and the inlines itself, then only completes the activation."""

    def activation_done(self, form, inlines):
        self.audit()
        obj = form.save()
        for formset in inlines:
            formset.instance = obj
            formset.save()
        self.activation.done()


class RaisesHook(AuditMixin):
    def activation_done(self, form, *formsets):
        self.audit()
        super().activation_done(form, *formsets)
        raise RuntimeError("the view's own code failed after saving")


class PlainStores(AuditMixin):
    """A plain form's data stored by the view's own code, into a new Shipment."""

    def activation_done(self, form, *formsets):
        Shipment.objects.create(**form.cleaned_data)
        self.activation.done()


HOOK_MIXINS = {
    "none": (),
    "activation_done": (ActivationDoneHook,),
    "form_valid": (FormValidHook,),
    "inlines06": (Inlines06Hook,),
    "own06": (Own06Hook,),
    "raises": (RaisesHook,),
}


def _get_shipment(self, queryset=None):
    return self.activation.process.shipment


def _get_process(self, queryset=None):
    return self.activation.process


def make_view(kind, shape, source="fields", hook="none", fields=None):
    """A view class of this kind (``"start"`` or ``"task"``), shape, form source and hook.

    Returns ``(view_class, node_kwargs)``: what the flow node is given.
    """
    mixin = StartViewMixin if kind == "start" else TaskViewMixin
    model = edited_model(kind, shape)
    names = edited_fields(kind, shape, fields)
    attrs = {"__module__": __name__}
    node_kwargs = {}
    if shape == "plain":
        base = FormView
        attrs["form_class"] = LabelForm
    elif shape == "formview":
        base = FormView
        attrs["form_class"] = forms.modelform_factory(model, fields=names)
    else:
        base = {
            "create": CreateView,
            "update": UpdateView,
            "create_inlines": CreateWithInlinesView,
            "update_inlines": UpdateWithInlinesView,
        }[shape]
        attrs["model"] = model
        if source == "fields":
            attrs["fields"] = names
        elif source == "node":
            node_kwargs["fields"] = names
        else:
            attrs["form_class"] = forms.modelform_factory(model, fields=names)
        if shape in ("update", "update_inlines"):
            attrs["get_object"] = _get_process if model is ShipmentProcess else _get_shipment
        if shape.endswith("_inlines"):
            attrs["inlines"] = [NoteInline if model is ShipmentProcess else ItemInline]
    hooks = HOOK_MIXINS[hook] + ((PlainStores,) if shape == "plain" else ())
    name = f"{kind}_{shape}_{source}_{hook}".title().replace("_", "") + "View"
    return type(name, (*hooks, mixin, base), attrs), node_kwargs
