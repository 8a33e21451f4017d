"""Flows of the subprocess tests (``tests/test_subprocess*.py``): parents that start children and wait.

Every parent moves on to ``after``, a Handler that counts its runs in the
parent's ``count``: a parent moved on twice shows 2 there (and two ``after`` tasks).
"""

from celery import shared_task

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.contrib import celery
from viewflow.flow import flow_job
from viewflow.site import viewsite
from viewflow.views import ProcessView

from .models import SampleProcess

__all__ = [
    "WaitingChildFlow",
    "InstantChildFlow",
    "FailingChildFlow",
    "ViewChildFlow",
    "JobChildFlow",
    "ParentFlow",
    "InstantParentFlow",
    "NParentFlow",
    "SequentialParentFlow",
    "InstantNParentFlow",
    "GrandParentFlow",
    "ViewParentFlow",
    "JobParentFlow",
    "FailingParentFlow",
    "BranchParentFlow",
    "HoldingParentFlow",
    "SplitParentFlow",
    "LongChildFlow",
    "LongParentFlow",
]


def fill_child(activation, item=None, text=""):
    """The children's start function: the item (or text) lands in ``text``."""
    activation.process.text = str(item if item is not None else text)


def count_run(activation):
    """The step after a subprocess: counts how often it ran."""
    process = activation.process
    process.count += 1
    process.save(update_fields=["count"])


@shared_task
@flow_job
def child_job(activation):
    """A child's last task as a background job."""
    activation.process.approved = True
    activation.process.save(update_fields=["approved"])


# -- children ---------------------------------------------------------------------------


class WaitingChildFlow(Flow):
    """A child that waits for code: ``WaitingChildFlow.wait.run(task)`` ends it."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.wait)
    wait = flow.Function().Next(this.end)
    end = flow.End()


class InstantChildFlow(Flow):
    """A child that runs from its start to its End at once: nothing in it waits."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.work)
    work = flow.Handler(count_run).Next(this.end)
    end = flow.End()


def fail_on_text(activation):
    if activation.process.text == "fail":
        raise ValueError("this child fails")


class FailingChildFlow(Flow):
    """A child whose Handler fails when its text is "fail" (ERROR at once)."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.check)
    check = flow.Handler(fail_on_text).Next(this.end)
    end = flow.End()


class ViewChildFlow(Flow):
    """A child whose last task a person does through the site."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.approve)
    approve = flow.View(ProcessView, fields=["approved"]).Permission(auto_create=True).Next(this.end)
    end = flow.End()


class JobChildFlow(Flow):
    """A child whose last task is a background job (run in-process without a broker)."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.work)
    work = celery.Job(child_job).Next(this.end)
    end = flow.End()


# -- parents ----------------------------------------------------------------------------


def items_of(activation):
    return activation.process.items


class ParentFlow(Flow):
    """One child that waits."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.sub)
    sub = flow.Subprocess(WaitingChildFlow.start, data=lambda activation: {"text": activation.process.text}).Next(
        this.after
    )
    after = flow.Handler(count_run).Next(this.end)
    end = flow.End()


class InstantParentFlow(Flow):
    """One child that ends inside the parent's own step (django-viewflow 2.2's issue #496)."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.sub)
    sub = flow.Subprocess(InstantChildFlow.start).Next(this.after)
    after = flow.Handler(count_run).Next(this.end)
    end = flow.End()


class NParentFlow(Flow):
    """One waiting child per item of ``process.items``, all at once."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.subs)
    subs = flow.NSubprocess(WaitingChildFlow.start, items=items_of).Next(this.after)
    after = flow.Handler(count_run).Next(this.end)
    end = flow.End()

    def fill(self, activation, items):
        activation.process.items = list(items)


class SequentialParentFlow(Flow):
    """One waiting child per item, one after another."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.subs)
    subs = flow.NSubprocess(WaitingChildFlow.start, items=items_of, sequential=True).Next(this.after)
    after = flow.Handler(count_run).Next(this.end)
    end = flow.End()

    def fill(self, activation, items):
        activation.process.items = list(items)


class InstantNParentFlow(Flow):
    """Children that all end inside the parent's step, sequential or not (``process.approved``)."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.pick)
    pick = flow.If(lambda process: process.approved).OnTrue(this.one_by_one).OnFalse(this.all_at_once)
    all_at_once = flow.NSubprocess(InstantChildFlow.start, items=items_of).Next(this.after)
    one_by_one = flow.NSubprocess(InstantChildFlow.start, items=items_of, sequential=True).Next(this.after)
    after = flow.Handler(count_run).Next(this.end)
    end = flow.End()

    def fill(self, activation, items, sequential=False):
        activation.process.items = list(items)
        activation.process.approved = sequential


class GrandParentFlow(Flow):
    """A child that is itself a parent (``ParentFlow``), so three generations."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.sub)
    sub = flow.Subprocess(ParentFlow.start, data=lambda activation: {"text": "child"}).Next(this.after)
    after = flow.Handler(count_run).Next(this.end)
    end = flow.End()


class ViewParentFlow(Flow):
    """A child whose last task is a person's."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.sub)
    sub = flow.Subprocess(ViewChildFlow.start).Next(this.after)
    after = flow.Handler(count_run).Next(this.end)
    end = flow.End()


class JobParentFlow(Flow):
    """A child whose last task is a job."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.sub)
    sub = flow.Subprocess(JobChildFlow.start).Next(this.after)
    after = flow.Handler(count_run).Next(this.end)
    end = flow.End()


class FailingParentFlow(Flow):
    """Children that fail where their item is "fail"."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.subs)
    subs = flow.NSubprocess(FailingChildFlow.start, items=items_of).Next(this.after)
    after = flow.Handler(count_run).Next(this.end)
    end = flow.End()

    def fill(self, activation, items):
        activation.process.items = list(items)


class BranchParentFlow(Flow):
    """A subprocess on one branch and a person's task on the other; the first to finish ends the process."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.split)
    split = flow.Split().Next(this.sub).Next(this.stop)
    sub = flow.Subprocess(WaitingChildFlow.start).Next(this.after)
    stop = flow.Function().Next(this.end)
    after = flow.Handler(count_run).Next(this.end)
    end = flow.End()


class HoldingParentFlow(Flow):
    """After its child, the parent waits for code (``hold``): a cancel after the child ended still cancels it."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.sub)
    sub = flow.Subprocess(WaitingChildFlow.start).Next(this.after)
    after = flow.Handler(count_run).Next(this.hold)
    hold = flow.Function().Next(this.end)
    end = flow.End()


class SplitParentFlow(Flow):
    """Two subprocesses on parallel branches, joined: the Join fires once, after both."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.split)
    split = flow.Split().Next(this.left).Next(this.right)
    left = flow.Subprocess(WaitingChildFlow.start, data=lambda activation: {"text": "left"}).Next(this.join)
    right = flow.Subprocess(InstantChildFlow.start, data=lambda activation: {"text": "right"}).Next(this.join)
    join = flow.Join().Next(this.after)
    after = flow.Handler(count_run).Next(this.end)
    end = flow.End()


class LongChildFlow(Flow):
    """A child that passes three gateways before it waits: as many nodes as you like, started in one INSERT."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_child).Next(this.one)
    one = flow.If(lambda process: True).OnTrue(this.two).OnFalse(this.end)
    two = flow.If(lambda process: True).OnTrue(this.three).OnFalse(this.end)
    three = flow.Switch().Case(this.wait, cond=lambda process: True).Default(this.end)
    wait = flow.Function().Next(this.end)
    end = flow.End()


class LongParentFlow(Flow):
    """One LongChildFlow child per item."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.subs)
    subs = flow.NSubprocess(LongChildFlow.start, items=items_of).Next(this.after)
    after = flow.Handler(count_run).Next(this.end)
    end = flow.End()

    def fill(self, activation, items):
        activation.process.items = list(items)


for _flow in (ViewChildFlow, ViewParentFlow, NParentFlow, ParentFlow):
    viewsite.register(_flow)
