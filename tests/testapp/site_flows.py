"""A flow for the site's tests: layouts, inline formsets, template overrides, next-task redirects."""

from django.forms import inlineformset_factory

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.site import Fieldset, Inline, Layout, Row, Span4, Span8, viewsite
from viewflow.views import ProcessView, StartView

from .models import SampleLine, SampleProcess

LineFormSet = inlineformset_factory(
    SampleProcess, SampleLine, fields=["name", "quantity"], extra=2, can_delete=False
)


class SiteOrderFlow(Flow):
    """Site order: a clerk writes an order with its lines, fills it in, then checks it."""

    process_cls = SampleProcess

    start = (
        flow.Start(StartView, fields=["text"], layout=Layout(Row("text"), Inline("Lines", LineFormSet)))
        .Permission("testapp.add_sampleprocess")
        .Next(this.fill)
    )
    fill = (
        flow.View(
            ProcessView,
            fields=["text", "count", "approved"],
            layout=Layout(Fieldset("Order", Row(Span8("text"), Span4("count"))), "approved"),
        )
        .Permission("testapp.change_sampleprocess")
        .Next(this.check)
    )
    check = flow.View(ProcessView).Permission("testapp.change_sampleprocess").Assign(this.fill.owner).Next(this.end)
    end = flow.End()


viewsite.register(SiteOrderFlow)
