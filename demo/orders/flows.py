"""Order shipment: Split/Join, a Function, a Celery Job, a Switch, formsets, assignment to an earlier owner;
a wholesale order that ships one parcel per warehouse as child processes (NSubprocess)."""

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.contrib import celery
from viewflow.flow import flow_func
from viewflow.site import viewsite
from viewflow.status import TaskStatus
from viewflow.views import ProcessView, StartView

from . import tasks, views
from .models import OrderProcess, ParcelProcess, WholesaleProcess


def payment_task(flow_task, order_pk, reference):
    """Task loader of ``wait_payment``: the order's waiting payment task."""
    return flow_task.flow_class.task_cls._default_manager.filter(
        process_id=order_pk, flow_task=flow_task, status=TaskStatus.NEW
    ).first()


class OrderFlow(Flow):
    """Order shipment

    A clerk enters an order and its lines. The warehouse packs it while its stock
    is reserved in the background and, unless it was prepaid, its payment is
    awaited; then it leaves by courier, freight or post, and the clerk who took
    the order confirms the delivery.
    """

    process_cls = OrderProcess

    start = (
        flow.Start(views.NewOrderView)
        .Annotation(title="New order")
        .Permission(auto_create=True)
        .Next(this.prepare)
    )
    prepare = (
        flow.Split()
        .Next(this.package)
        .Next(this.wait_payment, cond=lambda order: not order.prepaid)
        .Always(this.reserve_stock)
    )
    package = (
        flow.View(views.PackOrderView)
        .Annotation(title="Pack the order", description="Tick each line as it goes into the parcel, then weigh it.")
        .Permission(auto_create=True)
        .Next(this.prepared)
    )
    reserve_stock = celery.Job(tasks.reserve_stock).Next(this.prepared)
    wait_payment = flow.Function(this.record_payment).Annotation(title="Wait for the payment").Next(this.prepared)
    prepared = flow.Join().Next(this.choose_carrier)
    choose_carrier = (
        flow.Switch()
        .Case(this.courier, cond=lambda order: order.express)
        .Case(this.freight, cond=lambda order: order.weight_kg > 30)
        .Default(this.post)
    )
    courier = (
        flow.View(ProcessView, fields=["tracking_number"])
        .Annotation(title="Book a courier")
        .Permission(auto_create=True)
        .Assign(this.package.owner)  # whoever packed it hands it to the courier
        .Next(this.confirm)
    )
    freight = (
        flow.View(ProcessView, fields=["carrier", "tracking_number"])
        .Annotation(title="Book a freight carrier")
        .Permission(auto_create=True)
        .Next(this.confirm)
    )
    post = flow.Handler(this.send_by_post).Annotation(title="Send by post").Next(this.confirm)
    confirm = (
        flow.View(ProcessView, fields=["delivered"])
        .Annotation(title="Confirm the delivery", description="Call the customer and confirm the parcel arrived.")
        .Permission(auto_create=True)
        .Assign(this.start.owner)  # the clerk who took the order
        .Next(this.end)
    )
    end = flow.End()

    @flow_func(payment_task)
    def record_payment(self, activation, order_pk, reference):
        """Called by the payment provider's webhook: ``OrderFlow.wait_payment.run(order_pk, reference)``."""
        activation.process.payment_reference = reference
        activation.process.save(update_fields=["payment_reference"])

    def send_by_post(self, activation):
        order = activation.process
        order.carrier = "Post"
        order.tracking_number = f"PO{order.pk:08d}"
        order.save(update_fields=["carrier", "tracking_number"])


class ParcelFlow(Flow):
    """Parcel

    One warehouse's parcel of a wholesale order: the warehouse ships it and
    enters its tracking number.
    """

    process_cls = ParcelProcess

    start = flow.StartFunction(this.fill).Next(this.ship)
    ship = (
        flow.View(ProcessView, fields=["tracking_number"])
        .Annotation(title="Ship the parcel", description="Pack the warehouse's part of the order and hand it over.")
        .Permission(auto_create=True)
        .Next(this.end)
    )
    end = flow.End()

    def fill(self, activation, item):
        activation.process.warehouse = item


class WholesaleFlow(Flow):
    """Wholesale order

    A clerk enters an order served by several warehouses; each warehouse ships
    its own parcel (a child process); once every parcel is shipped, the order is.
    """

    process_cls = WholesaleProcess

    start = (
        flow.Start(StartView, fields=["customer", "warehouses"]).Permission(auto_create=True).Next(this.ship_parcels)
    )
    ship_parcels = (
        flow.NSubprocess(ParcelFlow.start, items=lambda activation: activation.process.warehouse_list())
        .Annotation(title="Ship a parcel per warehouse")
        .Next(this.mark_shipped)
    )
    mark_shipped = flow.Handler(this.all_shipped).Annotation(title="Mark as shipped").Next(this.end)
    end = flow.End()

    def all_shipped(self, activation):
        activation.process.shipped = True
        activation.process.save(update_fields=["shipped"])


viewsite.register(OrderFlow)
viewsite.register(WholesaleFlow)
viewsite.register(ParcelFlow)
