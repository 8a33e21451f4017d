"""viewflow.views.forms: a node's input taken outside a web page, exactly as its view takes it."""

import pytest

from tests.shipment.combinations import flow_for
from tests.shipment.models import Audit, Shipment, ShipmentProcess
from tests.testapp.flows import FormClassFlow, FunctionViewsFlow, InlineStartFlow, MixinViewsFlow
from tests.testapp.models import SampleProcess
from tests.utils import task_of
from viewflow.activation import run_task_step
from viewflow.status import ProcessStatus, TaskStatus
from viewflow.views.forms import FormUnavailable, node_form, submission_data

pytestmark = pytest.mark.django_db


def test_a_start_node_with_fields_validates_and_saves_a_json_body(user_factory):
    user = user_factory("api")
    flow_class = FormClassFlow
    with flow_class.start.start() as activation:
        submission = node_form(flow_class.start, activation, {"text": "quietly"}, user=user)
        assert not submission.is_valid()
        assert submission.errors == {"text": ["Say it with an exclamation mark."]}  # the form_class's own rule
    assert not SampleProcess.objects.exists()

    with flow_class.start.start() as activation:
        submission = node_form(flow_class.start, activation, {"text": "loudly!"}, user=user)
        assert submission.is_valid()
        process = submission.complete()
    process = SampleProcess.objects.get(pk=process.pk)
    assert process.text == "loudly!" and process.status == ProcessStatus.STARTED
    assert task_of(process, flow_class.start).owner_id == user.pk  # who started it, as the view records it


def test_a_task_node_saves_through_the_views_own_activation_done(user_factory):
    user = user_factory("api")
    with MixinViewsFlow.start.start() as activation:
        activation.process.text = "from code"
        activation.task.owner = user
        process = activation.done()
    count = task_of(process, MixinViewsFlow.count)
    with count.activation() as activation:
        activation.assign(user)
    with run_task_step(MixinViewsFlow, process.pk, count.pk) as (step, task):
        activation = MixinViewsFlow.count.activation_class(step, task)
        submission = node_form(MixinViewsFlow.count, activation, {"count": 7}, user=user)
        assert submission.is_valid(), submission.errors
        submission.complete()
    process = SampleProcess.objects.get(pk=process.pk)
    assert process.count == 7
    assert list(process.lines.values_list("name", "quantity")) == [("audit", 7)]  # CountView.activation_done ran
    assert task_of(process, MixinViewsFlow.count).status == TaskStatus.DONE


def test_formset_rows_in_a_json_body(user_factory):
    user = user_factory("api")
    with InlineStartFlow.start.start() as activation:
        body = {"text": "order", "lines": [{"name": "nut", "quantity": 2}, {"name": "bolt", "quantity": "many"}]}
        submission = node_form(InlineStartFlow.start, activation, body, user=user)
        assert not submission.is_valid()
        assert submission.errors == {"lines": [{}, {"quantity": ["Enter a whole number."]}]}
    with InlineStartFlow.start.start() as activation:
        body = {"text": "order", "lines": [{"name": "nut", "quantity": 2}, {"name": "bolt", "quantity": 5}]}
        process = node_form(InlineStartFlow.start, activation, body, user=user).complete()
    lines = SampleProcess.objects.get(pk=process.pk).lines.values_list("name", "quantity")
    assert sorted(lines) == [("bolt", 5), ("nut", 2)]


def test_a_view_of_another_model_with_its_inlines(user_factory):
    user = user_factory("api")
    flow_class = flow_for("create_inlines", "fields", "activation_done")
    with flow_class.start.start() as activation:
        body = {
            "carrier": "DHL", "address": "Main St", "weight": 4, "fragile": True,
            "items": [{"name": "box", "quantity": 3}],
        }
        submission = node_form(flow_class.start, activation, body, user=user)
        assert submission.is_valid(), submission.errors
        shipment = submission.complete()
    shipment = Shipment.objects.get(pk=shipment.pk)
    assert (shipment.carrier, shipment.address, shipment.weight, shipment.fragile) == ("DHL", "Main St", 4, True)
    assert list(shipment.items.values_list("name", "quantity")) == [("box", 3)]
    assert Audit.objects.count() == 1 and ShipmentProcess.objects.get(flow_class=flow_class).status == "STARTED"


def test_an_unbound_form_describes_the_body():
    with FormClassFlow.start.start() as activation:
        submission = node_form(FormClassFlow.start, activation)
        assert not submission.form.is_bound and list(submission.form.fields) == ["text"]
        assert submission.form_class.__name__ == "ExclaimedTextForm"


def test_a_function_view_has_no_form_to_fill():
    with FunctionViewsFlow.start.start() as activation:
        with pytest.raises(FormUnavailable, match="FunctionViewsFlow.start"):
            node_form(FunctionViewsFlow.start, activation, {"text": "x"})


def test_submission_data_flattens_formset_rows_existing_ones_first():
    data = submission_data({"text": "t", "tags": ["a", "b"], "lines": [{"name": "new"}, {"id": 7, "name": "old"}]})
    assert data.getlist("tags") == ["a", "b"]
    assert data["lines-TOTAL_FORMS"] == "2" and data["lines-INITIAL_FORMS"] == "1"
    assert (data["lines-0-id"], data["lines-0-name"], data["lines-1-name"]) == (7, "old", "new")
