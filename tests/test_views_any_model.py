"""Start and task views on any model never lose input (DESIGN §9).

Every combination of ``StartViewMixin``/``TaskViewMixin`` with ``CreateView``,
``UpdateView`` (own ``get_object()``), ``FormView``, django-extra-views'
``CreateWithInlinesView``/``UpdateWithInlinesView``, a form from ``fields``,
the node's ``fields=`` or a ``form_class``, and the view's own
``activation_done``/``form_valid`` (see :mod:`tests.shipment.views`) is walked
through the site: every value typed is read back from the database, blank extra
inline rows are skipped, and an exception in the view's code leaves nothing saved.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.views.generic import CreateView, FormView, UpdateView

from tests.shipment.combinations import COMBINATIONS, flow_for
from tests.shipment.models import Audit, Shipment, ShipmentItem, ShipmentProcess
from tests.shipment.views import LabelForm
from tests.shipment.walk import counts, serving, start_url, stored_lines, stored_object, submission, task_url
from viewflow import flow
from viewflow.base import Flow, this
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus
from viewflow.views import StartView, StartViewMixin, TaskViewMixin

pytestmark = pytest.mark.django_db


class LosingView(StartViewMixin, FormView):
    """A plain form and the default activation_done: nothing would store it."""

    form_class = LabelForm


class LosingFlow(Flow):
    process_cls = ShipmentProcess
    start = flow.Start(LosingView).Next(this.end)
    end = flow.End()


class CarrierView(TaskViewMixin, UpdateView):
    """A view of another model than the process, with no get_object() to say which row."""

    model = Shipment
    fields = ["carrier"]


class UnsaidFlow(Flow):
    process_cls = ShipmentProcess
    start = flow.Start(StartView).Next(this.task)
    task = flow.View(CarrierView).Assign(this.start.owner).Next(this.end)
    end = flow.End()


class ForgetfulView(StartViewMixin, CreateView):
    model = Shipment
    fields = ["carrier"]

    def activation_done(self, form, *formsets):
        form.save()  # and forgets self.activation.done()


class ForgetfulFlow(Flow):
    process_cls = ShipmentProcess
    start = flow.Start(ForgetfulView).Next(this.end)
    end = flow.End()


SEEN = {}


class LinkingView(StartViewMixin, CreateView):
    """Links the new shipment to the process: save_forms() first, then done()."""

    model = Shipment
    fields = ["carrier", "address"]

    def activation_done(self, form, *formsets):
        SEEN["before"] = self.object
        self.activation.process.shipment = self.save_forms(form, *formsets)
        SEEN["after"] = self.object
        self.activation.done()


class LinkingFlow(Flow):
    process_cls = ShipmentProcess
    start = flow.Start(LinkingView).Next(this.end)
    end = flow.End()




@pytest.fixture
def user(user_factory):
    return user_factory("shipper")


def ids(combination):
    return "-".join(combination)


def start_process(client, flow_class, shape, hook):
    """POST the start form; return (process, expected) after checking what was stored."""
    data, expected = submission("start", shape)
    page = client.get(start_url(flow_class))
    assert page.status_code == 200
    for name in expected["values"]:
        assert f'name="{name}"' in page.content.decode()
    response = client.post(start_url(flow_class), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    process = ShipmentProcess.objects.get(flow_class=flow_class)
    assert process.status == ProcessStatus.STARTED
    return process, expected


@pytest.mark.parametrize("combination", [c for c in COMBINATIONS if c[2] != "raises"], ids=ids)
def test_every_value_typed_is_stored(combination, user, client_for):
    shape, source, hook = combination
    flow_class = flow_for(*combination)
    client = client_for(user)
    with serving(flow_class):
        process, expected = start_process(client, flow_class, shape, hook)
        obj = stored_object(expected, process)
        assert obj is not None, f"the start form's values are stored nowhere: {expected['values']}"
        assert stored_lines(expected, obj) == sorted(expected["lines"])  # the blank extra row is skipped

        if shape in ("update", "update_inlines") and process.shipment_id is None:
            process.shipment = Shipment.objects.create(carrier="before", address="before")
            process.save(update_fields=["shipment"])
        task = Task.objects.get(process_id=process.pk, flow_task=flow_class.task)
        assert task.status == TaskStatus.ASSIGNED and task.owner_id == user.pk
        url = task_url(task)
        assert client.get(url).status_code == 200

        data, expected = submission("task", shape)
        response = client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:3000]
        obj = stored_object(expected, process)
        assert obj is not None, f"the task form's values are stored nowhere: {expected['values']}"
        assert stored_lines(expected, obj) == sorted(expected["lines"])
        if shape in ("update", "update_inlines"):
            assert obj.pk == process.shipment_id  # the object get_object() returned, not a new one
        process.refresh_from_db()
        assert process.status == ProcessStatus.DONE
        if hook not in ("none",) and shape != "plain" or hook in ("activation_done", "form_valid"):
            assert Audit.objects.count() == 2  # the view's own row, once per step


@pytest.mark.parametrize("shape", sorted({c[0] for c in COMBINATIONS if c[2] == "raises"}))
def test_an_exception_in_the_views_code_leaves_nothing_saved(shape, user, client_for):
    flow_class = flow_for(shape, "fields", "raises")
    client = client_for(user)
    with serving(flow_class):
        before = counts()
        data, _expected = submission("start", shape)
        with pytest.raises(RuntimeError):
            client.post(start_url(flow_class), data)
        assert counts() == before

        # a process started from code, then its task done through the site
        with flow_class.start.start() as activation:
            activation.task.owner = user
            activation.process.shipment = Shipment.objects.create(carrier="before", address="before")
            process = activation.done()
        task = Task.objects.get(process_id=process.pk, flow_task=flow_class.task)
        before = counts()
        data, _expected = submission("task", shape)
        with pytest.raises(RuntimeError):
            client.post(task_url(task), data)
        assert counts() == before
        task.refresh_from_db()
        process.refresh_from_db()
        assert task.status == TaskStatus.ASSIGNED and process.status == ProcessStatus.STARTED
        shipment = Shipment.objects.get(pk=process.shipment_id)
        assert (shipment.carrier, shipment.address) == ("before", "before")


def test_an_invalid_inline_row_shows_the_form_again_and_stores_nothing(user, client_for):
    flow_class = flow_for("create_inlines", "fields", "none")
    client = client_for(user)
    with serving(flow_class):
        data, _expected = submission("start", "create_inlines")
        data["items-0-quantity"] = "many"
        before = counts()
        response = client.post(start_url(flow_class), data)
        assert response.status_code == 200
        assert counts() == before


def test_a_plain_form_that_nothing_stores_is_refused(user, client_for):
    client = client_for(user)
    with serving(LosingFlow):
        before = counts()
        with pytest.raises(ImproperlyConfigured, match="plain form"):
            client.post(start_url(LosingFlow), {"carrier": "lost", "weight": "3"})
        assert counts() == before


def test_a_view_of_another_model_without_get_object_says_what_to_do(user, client_for):
    client = client_for(user)
    with serving(UnsaidFlow):
        client.post(start_url(UnsaidFlow))
        task = Task.objects.get(flow_task=UnsaidFlow.task)
        with pytest.raises(ImproperlyConfigured, match=r"define get_object\(\)"):
            client.get(task_url(task))


def test_activation_done_must_complete_the_task(user, client_for):
    client = client_for(user)
    with serving(ForgetfulFlow):
        before = counts()
        with pytest.raises(ImproperlyConfigured, match="without completing the task"):
            client.post(start_url(ForgetfulFlow), {"carrier": "half"})
        assert counts() == before


def test_self_object_is_what_djangos_views_set(user, client_for):
    """A CreateView's ``self.object`` is the new row once the form is saved; the view links it to the process."""
    client = client_for(user)
    with serving(LinkingFlow):
        assert client.post(start_url(LinkingFlow), {"carrier": "DHL", "address": "Main St"}).status_code == 302
    process = ShipmentProcess.objects.get(flow_class=LinkingFlow)
    assert SEEN["before"] is None and SEEN["after"].pk == process.shipment_id
    assert (process.shipment.carrier, process.shipment.address) == ("DHL", "Main St")
    assert ShipmentItem.objects.count() == 0
