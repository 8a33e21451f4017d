"""Flows of the integrity tests: concurrency, interleavings, crashes, bad input.

They use :class:`~tests.testapp.models.SampleProcess` and node names no other
test flow uses, so their auto-created permissions are their own.

* :class:`IntegrityFlow` — most node types in one flow (Start view, View, If,
  Split, Handler, Function, Join, End). ``handle`` fails while the process's
  text contains "fail".
* :class:`ParallelFlow` — a dynamic Split into ``count`` Function branches and
  their Join.
* :class:`JobFlow` — a Celery job and a person's task in parallel branches.
* :class:`PingFlow` — a process waiting for a Django signal.
"""

import threading

from celery import shared_task
from django.dispatch import Signal as DjangoSignal

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.contrib import celery
from viewflow.models import Task
from viewflow.site import viewsite
from viewflow.status import TaskStatus
from viewflow.views import ProcessView, StartView

from .models import SampleProcess

__all__ = ["IntegrityFlow", "ParallelFlow", "JobFlow", "PingFlow", "ping", "integrity_job", "JOB_RUNS"]

#: ``(task pk, thread name)`` of every run of :func:`integrity_job` that got past its checks
JOB_RUNS = []
_job_runs_lock = threading.Lock()


def fails(process):
    return "fail" in (process.text or "")


class IntegrityFlow(Flow):
    """Integrity check: a request is vetted, then handled and waited for in parallel."""

    process_cls = SampleProcess

    start = flow.Start(StartView, fields=["text"]).Permission(auto_create=True).Next(this.vet)
    vet = flow.View(ProcessView, fields=["approved"]).Permission(auto_create=True).Next(this.check)
    check = flow.If(cond=lambda process: process.approved).OnTrue(this.split).OnFalse(this.end)
    split = flow.Split().Next(this.handle).Next(this.wait)
    handle = flow.Handler(this.do_handle).Next(this.join)
    wait = flow.Function(this.do_wait).Next(this.join)
    join = flow.Join().Next(this.finish)
    finish = flow.Handler(this.do_finish).Next(this.end)
    end = flow.End()

    def do_handle(self, activation):
        process = activation.process
        if fails(process):
            raise RuntimeError("handle failed on purpose: the process text says 'fail'")
        process.count += 1
        process.save(update_fields=["count"])

    def do_wait(self, activation, note=""):
        if note:
            activation.process.text = note
            activation.process.save(update_fields=["text"])

    def do_finish(self, activation):
        process = activation.process
        process.count += 10
        process.save(update_fields=["count"])


class ParallelFlow(Flow):
    """Parallel work: one branch per item, joined at the end."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.fan_out)
    fan_out = flow.Split().Next(this.branch, task_data_source=lambda process: list(range(process.count)))
    branch = flow.Function(this.do_branch).Next(this.gather)
    gather = flow.Join().Next(this.tally)
    tally = flow.Handler(this.do_tally).Next(this.end)
    end = flow.End()

    def fill(self, activation, branches=10):
        activation.process.count = branches

    def do_branch(self, activation):
        pass

    def do_tally(self, activation):
        process = activation.process
        process.items = [*process.items, "tallied"]
        process.save(update_fields=["items"])


@shared_task
@flow.flow_job
def integrity_job(activation):
    """The job of :class:`JobFlow`: fails while the process text says "fail"."""
    if fails(activation.process):
        raise RuntimeError("job failed on purpose: the process text says 'fail'")
    process = activation.process
    process.items = [*process.items, "crunched"]
    process.save(update_fields=["items"])
    with _job_runs_lock:
        JOB_RUNS.append((activation.task.pk, threading.current_thread().name))


class JobFlow(Flow):
    """Job and person: a background job and a sign-off run side by side."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.fork)
    fork = flow.Split().Next(this.crunch).Next(this.sign_off)
    crunch = celery.Job(integrity_job).Next(this.merge)
    sign_off = flow.View(ProcessView, fields=["text"]).Permission(auto_create=True).Next(this.merge)
    merge = flow.Join().Next(this.end)
    end = flow.End()

    def fill(self, activation, text=""):
        activation.process.text = text


#: ``ping.send(sender=None, process_pk=..., text=...)`` wakes the waiting PingFlow task
ping = DjangoSignal()


def waiting_ping_task(flow_task, sender=None, process_pk=None, **kwargs):
    return Task.objects.filter(process_id=process_pk, flow_task=flow_task, status=TaskStatus.NEW).first()


class PingFlow(Flow):
    """Ping: a process waits for a signal."""

    process_cls = SampleProcess

    start = flow.StartFunction().Next(this.wait_ping)
    wait_ping = flow.Signal(ping, this.on_ping, task_loader=waiting_ping_task).Next(this.end)
    end = flow.End()

    def on_ping(self, activation, sender=None, process_pk=None, text=""):
        activation.process.text = text
        activation.process.save(update_fields=["text"])


viewsite.register(IntegrityFlow)
viewsite.register(JobFlow)
