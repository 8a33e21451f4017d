"""Flows whose processes only some of the users who may see the flow see (``FlowPolicy.visibility``)."""

from django.db.models import Q

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.policy import FlowPolicy
from viewflow.site import viewsite
from viewflow.views import ProcessView, StartView

from .models import SampleProcess


class ParticipantsPolicy(FlowPolicy):
    visibility = "participants"


class PrivateRequestFlow(Flow):
    """Private request: the one who asked, whoever decides it, and the managers see it."""

    process_cls = SampleProcess
    policy_class = ParticipantsPolicy

    ask = flow.Start(StartView, fields=["text"]).Permission(auto_create=True).Next(this.decide)
    decide = flow.View(ProcessView, fields=["approved"]).Permission(auto_create=True).Next(this.end)
    end = flow.End()


def own_initials(user):
    """The processes whose text starts with the user's name: a visibility of the project's own."""
    return Q(text__startswith=user.get_username())


class InitialsPolicy(FlowPolicy):
    visibility = own_initials  # a plain function: not bound to the policy


class InitialsFlow(Flow):
    """Initials: each user sees the processes named after them."""

    process_cls = SampleProcess
    policy_class = InitialsPolicy

    ask = flow.Start(StartView, fields=["text"]).Permission("testapp.can_ask_sampleprocess").Next(this.end)
    end = flow.End()


viewsite.register(PrivateRequestFlow)
viewsite.register(InitialsFlow)
