"""Order views with an inline formset of order lines: a start view and a task view."""

from django import forms
from django.views.generic import CreateView, UpdateView

from viewflow.views import StartViewMixin, TaskViewMixin

from .models import OrderLine, OrderProcess

NewLineFormSet = forms.inlineformset_factory(
    OrderProcess, OrderLine, fields=["product", "quantity"], extra=3, min_num=1, validate_min=True, can_delete=False
)
PackLineFormSet = forms.inlineformset_factory(
    OrderProcess, OrderLine, fields=["packed"], extra=0, can_delete=False
)


class LinesFormSetMixin:
    """Show ``formset_class`` under the form; a valid POST needs both valid.

    The formset is the view's one entry of ``get_formsets()``: the mixins validate
    it with the form and hand it to ``activation_done(form, formset)``, and code
    outside the page (the REST API, ``viewflow.views.forms.node_form``) finds it there.
    """

    formset_class = None

    def get_formsets(self):
        if getattr(self, "_formsets", None) is None:
            kwargs = {"instance": self.activation.process, "prefix": "lines"}
            if self.request.method == "POST":
                kwargs["data"] = self.request.POST
            self._formsets = [self.formset_class(**kwargs)]
        return self._formsets

    def get_context_data(self, **kwargs):
        kwargs.setdefault("formset", self.get_formsets()[0])
        return super().get_context_data(**kwargs)


class NewOrderView(LinesFormSetMixin, StartViewMixin, CreateView):
    """Enter an order and its lines."""

    model = OrderProcess
    form_class = forms.modelform_factory(
        OrderProcess,
        fields=["customer", "address", "express", "prepaid"],
        widgets={"address": forms.Textarea(attrs={"rows": 3})},
    )
    formset_class = NewLineFormSet


class PackOrderView(LinesFormSetMixin, TaskViewMixin, UpdateView):
    """Tick each packed line and weigh the parcel."""

    model = OrderProcess
    fields = ["weight_kg"]
    formset_class = PackLineFormSet

    def get_formsets(self):
        formsets = super().get_formsets()
        for form in formsets[0].forms:
            form.fields["packed"].label = str(form.instance)
            form.fields["packed"].required = True  # every line must be in the parcel
        return formsets
