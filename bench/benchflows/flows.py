"""The flows the benchmark drives, besides the §1 ``helloworld.flows.HelloWorldFlow``.

* :class:`HelloHandlerFlow`: the §1 hello world with ``send`` as a synchronous
  ``Handler`` (the peer's hello world sends with a synchronous ``Function`` in the
  same step), and a second start node ``start_api`` (``StartFunction``) to start
  processes from code. Same process model as §1.
* :class:`HelloJobFlow`: the §1 flow as written (``send`` is a ``celery.Job``, run
  in-process after commit since no broker is configured) plus ``start_api``.
* :class:`SplitJoinFlow`: StartFunction → Split into 10 Handler branches → Join → End.
* :class:`ConcurrentJoinFlow`: StartFunction → Split into 5 human tasks (``View``)
  and 5 ``Function`` tasks completed by outside code → Join → End.
* :class:`ParcelFlow` / :class:`ShipmentFlow` (the ``subprocess`` scenario): a
  shipment starts 10 parcels (NSubprocess), each a small flow that waits for
  code (StartFunction → Function → End); the last parcel done moves the
  shipment on to a Handler and its End.
"""

import datetime

from helloworld import tasks
from helloworld.models import HelloWorldProcess
from viewflow import flow, lock
from viewflow.base import Flow, this
from viewflow.contrib import celery
from viewflow.site import viewsite
from viewflow.views import ProcessView, StartView

#: how many times a hello world ``send`` node ran in this process
SENT = {"count": 0}


def start_from_code(activation, text=""):
    activation.process.text = text


class HelloHandlerFlow(Flow):
    """Hello world (send in the step): a request is approved, then sent to the world."""

    process_cls = HelloWorldProcess
    lock_impl = lock.select_for_update_lock

    start = flow.Start(StartView, fields=["text"]).Permission(auto_create=True).Next(this.approve)
    start_api = flow.StartFunction(start_from_code).Next(this.approve)
    approve = flow.View(ProcessView, fields=["approved"]).Permission(auto_create=True).Next(this.check_approve)
    check_approve = flow.If(cond=lambda p: p.approved).OnTrue(this.send).OnFalse(this.end)
    send = flow.Handler(this.send_hello_world_request).Next(this.end)
    end = flow.End()

    def send_hello_world_request(self, activation):
        SENT["count"] += 1


class HelloJobFlow(Flow):
    """Hello world (send as a job): a request is approved, then sent to the world."""

    process_cls = HelloWorldProcess
    lock_impl = lock.select_for_update_lock

    start_api = flow.StartFunction(start_from_code).Next(this.approve)
    approve = flow.View(ProcessView, fields=["approved"]).Permission(auto_create=True).Next(this.check_approve)
    check_approve = flow.If(cond=lambda p: p.approved).OnTrue(this.send).OnFalse(this.end)
    send = celery.Job(tasks.send_hello_world_request).Next(this.end)
    end = flow.End()


def _touch(activation):
    """Body of every automated branch: a small write into the task's data."""
    activation.task.data["done_by"] = activation.flow_task.name


class SplitJoinFlow(Flow):
    """Split join: ten automated branches joined again."""

    lock_impl = lock.select_for_update_lock

    start = flow.StartFunction().Next(this.split)
    split = (
        flow.Split()
        .Next(this.f01).Next(this.f02).Next(this.f03).Next(this.f04).Next(this.f05)
        .Next(this.f06).Next(this.f07).Next(this.f08).Next(this.f09).Next(this.f10)
    )
    f01 = flow.Handler(_touch).Next(this.join)
    f02 = flow.Handler(_touch).Next(this.join)
    f03 = flow.Handler(_touch).Next(this.join)
    f04 = flow.Handler(_touch).Next(this.join)
    f05 = flow.Handler(_touch).Next(this.join)
    f06 = flow.Handler(_touch).Next(this.join)
    f07 = flow.Handler(_touch).Next(this.join)
    f08 = flow.Handler(_touch).Next(this.join)
    f09 = flow.Handler(_touch).Next(this.join)
    f10 = flow.Handler(_touch).Next(this.join)
    join = flow.Join().Next(this.end)
    end = flow.End()


class ConcurrentJoinFlow(Flow):
    """Concurrent join: five human and five code-driven branches finished by parallel workers."""

    lock_impl = lock.select_for_update_lock

    start = flow.StartFunction().Next(this.split)
    split = (
        flow.Split()
        .Next(this.h01).Next(this.h02).Next(this.h03).Next(this.h04).Next(this.h05)
        .Next(this.a06).Next(this.a07).Next(this.a08).Next(this.a09).Next(this.a10)
    )
    # human tasks: claimed and completed from code through task.activation()
    h01 = flow.View(ProcessView).Permission(auto_create=True).Next(this.join)
    h02 = flow.View(ProcessView).Permission(auto_create=True).Next(this.join)
    h03 = flow.View(ProcessView).Permission(auto_create=True).Next(this.join)
    h04 = flow.View(ProcessView).Permission(auto_create=True).Next(this.join)
    h05 = flow.View(ProcessView).Permission(auto_create=True).Next(this.join)
    # tasks completed by outside code (a worker, a webhook...): ConcurrentJoinFlow.a06.run(task)
    a06 = flow.Function(_touch).Next(this.join)
    a07 = flow.Function(_touch).Next(this.join)
    a08 = flow.Function(_touch).Next(this.join)
    a09 = flow.Function(_touch).Next(this.join)
    a10 = flow.Function(_touch).Next(this.join)
    join = flow.Join().Next(this.end)
    end = flow.End()


class ParcelFlow(Flow):
    """Parcel: one child of a shipment, waiting for outside code."""

    lock_impl = lock.select_for_update_lock

    start = flow.StartFunction(lambda activation, item: None).Next(this.deliver)
    deliver = flow.Function().Next(this.end)
    end = flow.End()


class ShipmentFlow(Flow):
    """Shipment: ten parcels as child processes, then one step after them."""

    lock_impl = lock.select_for_update_lock

    start = flow.StartFunction().Next(this.parcels)
    parcels = flow.NSubprocess(ParcelFlow.start, items=lambda activation: range(10)).Next(this.done)
    done = flow.Handler(_touch).Next(this.end)
    end = flow.End()


viewsite.register(HelloHandlerFlow)
viewsite.register(HelloJobFlow)


class TimerBenchFlow(Flow):
    """Timer: a timer due at once, then the end (bench/timers.py arms them by the thousand)."""

    lock_impl = lock.select_for_update_lock

    start = flow.StartFunction().Next(this.wait)
    wait = flow.Timer(datetime.timedelta(0)).Next(this.end)
    end = flow.End()
