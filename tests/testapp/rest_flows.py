"""Flows for the REST API's tests: function views with a serializer (and one the API cannot do); a policy."""

from django.db.models import Q
from rest_framework import serializers

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.policy import FlowPolicy
from viewflow.site import viewsite
from viewflow.views import ProcessView, StartView

from . import views
from .models import SampleProcess


class StartTextSerializer(serializers.ModelSerializer):
    """The start's body: a text that must shout."""

    class Meta:
        model = SampleProcess
        fields = ["text", "count"]

    def validate_text(self, value):
        if not value.endswith("!"):
            raise serializers.ValidationError("Say it with an exclamation mark.")
        return value


class ApproveSerializer(serializers.ModelSerializer):
    class Meta:
        model = SampleProcess
        fields = ["approved"]


class SerializedFlow(Flow):
    """Function views; the API takes the start and review bodies through serializers."""

    process_cls = SampleProcess

    start = (
        flow.Start(views.start_by_function)
        .Serializer(StartTextSerializer)
        .Permission(auto_create=True)
        .Next(this.review)
    )
    review = (
        flow.View(views.approve_by_function)
        .Serializer("tests.testapp.rest_flows.ApproveSerializer")
        .Permission(auto_create=True)
        .Next(this.approve)
    )
    approve = flow.View(views.approve_by_function).Permission(auto_create=True).Next(this.end)
    end = flow.End()


viewsite.register(SerializedFlow)


class OwnTextPolicy(FlowPolicy):
    """Each user sees only the processes whose text is their username."""

    def process_filter(self, user):
        return Q(text=user.get_username())

    def task_filter(self, user):
        return Q(process__sampleprocess__text=user.get_username())


class PrivateFlow(Flow):
    """Requests only their named user sees (the REST API asks the flow's policy)."""

    process_cls = SampleProcess
    policy_class = OwnTextPolicy

    start = flow.Start(StartView, fields=["text"]).Permission(auto_create=True).Next(this.review)
    review = flow.View(ProcessView, fields=["approved"]).Permission(auto_create=True).Next(this.end)
    end = flow.End()


viewsite.register(PrivateFlow)
