"""A flow of function views for the REST API's tests: one node names a serializer, one cannot be done by the API."""

from rest_framework import serializers

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.site import viewsite

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
