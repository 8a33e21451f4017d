"""Flows used by the tests: each exercises a few nodes."""

from viewflow import flow
from viewflow.base import Flow, this

from .models import SampleProcess


class CodeStartFlow(Flow):
    """Started from code, a person approves it."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.approve)
    approve = flow.View().Permission(auto_create=True).Next(this.end)
    end = flow.End()

    def fill(self, activation, text=""):
        activation.process.text = text


from .ops_flows import OpsReviewFlow  # noqa: E402,F401  (imported at start-up: its permission is auto-created)
