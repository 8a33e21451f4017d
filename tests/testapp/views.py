"""Views of the test flows: the mixins on plain Django generic views, and function views."""

from django import forms
from django.http import HttpResponse, HttpResponseRedirect
from django.views.generic import CreateView, UpdateView
from extra_views import CreateWithInlinesView, InlineFormSetFactory, UpdateWithInlinesView

from viewflow.views import StartViewMixin, TaskViewMixin, flow_start_view, flow_view, get_next_task_url

from .models import SampleLine, SampleProcess


class ExclaimedTextForm(forms.ModelForm):
    """A start form with a rule of its own: the text ends with "!"."""

    class Meta:
        model = SampleProcess
        fields = ["text"]

    def clean_text(self):
        if not self.cleaned_data["text"].endswith("!"):
            raise forms.ValidationError("Say it with an exclamation mark.")
        return self.cleaned_data["text"]


class PositiveCountForm(forms.ModelForm):
    class Meta:
        model = SampleProcess
        fields = ["count"]

    def clean_count(self):
        if self.cleaned_data["count"] <= 0:
            raise forms.ValidationError("Count something.")
        return self.cleaned_data["count"]


class SampleStartView(StartViewMixin, CreateView):
    """A plain CreateView turned into a start view."""

    model = SampleProcess
    fields = ["text"]


class CountView(TaskViewMixin, UpdateView):
    """A plain UpdateView turned into a task view; it records an audit line before completing."""

    model = SampleProcess
    fields = ["count"]

    def activation_done(self, form, *formsets):
        SampleLine.objects.create(process=self.activation.process, name="audit", quantity=form.cleaned_data["count"])
        super().activation_done(form, *formsets)


class LineInline(InlineFormSetFactory):
    model = SampleLine
    fields = ["name", "quantity"]
    factory_kwargs = {"extra": 2, "can_delete": False}


class StartWithLinesView(StartViewMixin, CreateWithInlinesView):
    """django-extra-views' CreateWithInlinesView as a start view: the process and its lines."""

    model = SampleProcess
    fields = ["text"]
    inlines = [LineInline]
    template_name = "testapp/inline_start.html"


class EditLinesView(TaskViewMixin, UpdateWithInlinesView):
    """UpdateWithInlinesView as a task view."""

    model = SampleProcess
    fields = ["text"]
    inlines = [LineInline]
    template_name = "testapp/inline_task.html"


class TextForm(forms.ModelForm):
    class Meta:
        model = SampleProcess
        fields = ["text"]


@flow_start_view
def start_by_function(request, **kwargs):
    """A function-based start view."""
    form = TextForm(request.POST or None, instance=request.activation.process)
    if request.method == "POST" and form.is_valid():
        form.save(commit=False)
        process = request.activation.done()
        return HttpResponseRedirect(get_next_task_url(request, process))
    return HttpResponse(f"<form method='post'>{form.as_p()}</form>")


@flow_view
def approve_by_function(request, **kwargs):
    """A function-based task view: ``approved`` is set by a checkbox."""
    activation = request.activation
    if request.method == "POST":
        activation.process.approved = request.POST.get("approved") == "on"
        activation.process.save(update_fields=["approved"])
        activation.done()
        return HttpResponseRedirect(get_next_task_url(request, activation.process))
    return HttpResponse(f"<p>task {activation.task.pk} of {activation.process.text}</p>")
