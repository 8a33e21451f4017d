"""Flows with timers, deadlines and scheduled starts (tests/test_timers*.py)."""

import datetime

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.site import viewsite

from .flows import record
from .models import SampleProcess


class WaitFlow(Flow):
    """Wait: a timer of one hour between the start and a handler."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.wait)
    wait = flow.Timer(datetime.timedelta(hours=1)).Next(this.after)
    after = flow.Handler(record("after")).Next(this.end)
    end = flow.End()

    def fill(self, activation, text=""):
        activation.process.text = text


def until_text(process):
    """The timer's time from the process: ``text`` holds an ISO datetime."""
    return datetime.datetime.fromisoformat(process.text)


class UntilFlow(Flow):
    """Until: a timer whose callable returns an aware datetime."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.wait)
    wait = flow.Timer(until_text).Next(this.after)
    after = flow.Handler(record("after")).Next(this.end)
    end = flow.End()

    def fill(self, activation, text=""):
        activation.process.text = text


class DeadlineFlow(Flow):
    """Deadline: a review reminded after one day and escalated after three."""

    process_cls = SampleProcess

    start = flow.StartFunction().Next(this.review)
    review = (
        flow.View()
        .Permission(auto_create=True)
        .Due(datetime.timedelta(days=2))
        .Deadline(datetime.timedelta(days=1), then=this.remind, interrupting=False)
        .Deadline(datetime.timedelta(days=3), then=this.escalate)
        .Next(this.done)
    )
    remind = flow.Handler(record("remind"))
    escalate = flow.Handler(record("escalate")).Next(this.manager)
    manager = flow.View().Permission(auto_create=True).Next(this.end)
    done = flow.Handler(record("done")).Next(this.end)
    end = flow.End()


class SplitDeadlineFlow(Flow):
    """Split deadline: two reviews in parallel, each with an escalation, joined."""

    process_cls = SampleProcess

    start = flow.StartFunction().Next(this.split)
    split = flow.Split().Next(this.first).Next(this.second)
    first = (
        flow.View().Permission(auto_create=True).Deadline(datetime.timedelta(hours=1), then=this.late).Next(this.join)
    )
    second = flow.View().Permission(auto_create=True).Next(this.join)
    late = flow.Handler(record("late")).Next(this.join)
    join = flow.Join()
    end = flow.End()
    join.Next(end)


def slow(activation):
    """A handler that takes a while, so a scheduler can be killed in the middle of a batch."""
    import time

    time.sleep(0.02)
    record("slow")(activation)


class SlowWaitFlow(Flow):
    """Slow wait: a timer due at once, then a slow handler (the scheduler tests' workload)."""

    process_cls = SampleProcess

    start = flow.StartFunction().Next(this.wait)
    wait = flow.Timer(datetime.timedelta(0)).Next(this.after)
    after = flow.Handler(slow).Next(this.end)
    end = flow.End()


for _flow in (WaitFlow, UntilFlow, DeadlineFlow, SplitDeadlineFlow):
    viewsite.register(_flow)
