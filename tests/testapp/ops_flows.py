"""Flows used by the admin and management command tests."""

from viewflow import flow
from viewflow.base import Flow, this

from .models import SampleProcess


class OpsReviewFlow(Flow):
    """Review: a reviewer does it, then a handler that fails on a failing text runs."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.review)
    review = flow.View().Permission(auto_create=True).Next(this.process_it)
    process_it = flow.Handler(this.check_text).Next(this.end)
    end = flow.End()

    def fill(self, activation, text=""):
        activation.process.text = text

    def check_text(self, activation):
        if activation.process.text == "fail":
            raise ValueError("cannot process a failing text")
