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
    """Show ``formset_class`` under the form; a valid POST needs both valid."""

    formset_class = None

    def get_formset(self):
        kwargs = {"instance": self.activation.process, "prefix": "lines"}
        if self.request.method == "POST":
            kwargs["data"] = self.request.POST
        return self.formset_class(**kwargs)

    def get_context_data(self, **kwargs):
        kwargs.setdefault("formset", self.get_formset())
        return super().get_context_data(**kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.activation.process
        form, formset = self.get_form(), self.get_formset()
        if form.is_valid() and formset.is_valid():
            return self.form_valid(form, formset)  # activation_done(form, formset) saves both
        return self.render_to_response(self.get_context_data(form=form, formset=formset))


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

    def get_formset(self):
        formset = super().get_formset()
        for form in formset.forms:
            form.fields["packed"].label = str(form.instance)
            form.fields["packed"].required = True  # every line must be in the parcel
        return formset
