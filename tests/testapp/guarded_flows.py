"""A flow whose review is claimed by object permission: django-guardian's, or the sample backend's."""

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.permissions import ProcessObject
from viewflow.site import viewsite
from viewflow.views import ProcessView

from .flows import fill_process
from .models import SampleProcess


class GuardedReviewFlow(Flow):
    """Guarded review: only a user granted the permission on the sample itself may claim its review."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.review)
    review = (
        flow.View(ProcessView, fields=["approved"])
        .Permission("testapp.review_sample", obj=ProcessObject())
        .Next(this.end)
    )
    end = flow.End()


viewsite.register(GuardedReviewFlow)
