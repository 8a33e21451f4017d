"""Flows used by the tests: each exercises a few nodes.

Handlers record the path the flow took in ``process.items`` (see :func:`record`),
so a test can assert which nodes ran, and in which order.
"""

from django.contrib.auth import get_user_model
from django.db.models import Q

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.contrib.dynamic_split import DynamicSplit
from viewflow.policy import FlowPolicy
from viewflow.site import viewsite
from viewflow.views import ProcessView, StartView

from . import rest_flows, signals, views  # noqa: F401  (rest_flows: the REST API's serializer nodes, on the site)
from .models import SampleProcess, SampleTask


def record(name):
    """A handler body that appends ``name`` to ``process.items``."""

    def handler(activation):
        process = activation.process
        process.items = [*process.items, name]
        process.save(update_fields=["items"])

    handler.__name__ = f"record_{name}"
    return handler


@flow.flow_start_func
def fill_process(activation, **fields):
    """Start function: set the new process's fields from the keyword arguments."""
    for name, value in fields.items():
        setattr(activation.process, name, value)


def record_item(activation):
    """A branch handler of a dynamic split: records its own item."""
    record(activation.task.data["item"])(activation)


def boom(process, where):
    """Raise when ``where`` is named in ``process.text`` (comma-separated): a node that breaks on demand."""
    if where in process.text.split(","):
        raise RuntimeError(f"broken {where}")
    return True


def waiting_task(flow_task, process_pk, **kwargs):
    """Task loader: the task of ``flow_task`` waiting in process ``process_pk``."""
    return (
        flow_task.flow_class.task_cls._default_manager.filter(process_id=process_pk, flow_task=flow_task, status="NEW")
        .order_by("pk")
        .first()
    )


class CodeStartFlow(Flow):
    """Started from code, a person approves it."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.approve)
    approve = flow.View().Permission(auto_create=True).Next(this.end)
    end = flow.End()

    def fill(self, activation, text=""):
        activation.process.text = text


# -- gateways -------------------------------------------------------------------


class IfFlow(Flow):
    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next("check")
    check = flow.If(cond=lambda process: process.approved).OnTrue("yes").OnFalse(this.no)
    yes = flow.Handler(record("yes")).Next("end")
    no = flow.Handler(record("no")).Next(this.end)
    end = flow.End()


class SwitchFlow(Flow):
    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.size)
    size = (
        flow.Switch()
        .Case(this.small, cond=lambda process: process.count < 10)
        .Case(this.medium, cond=lambda process: process.count < 100)
        .Default(this.large)
    )
    small = flow.Handler(record("small")).Next(this.end)
    medium = flow.Handler(record("medium")).Next(this.end)
    large = flow.Handler(record("large")).Next(this.end)
    end = flow.End()


class StrictSwitchFlow(Flow):
    """A Switch without Default: no match is an error."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.size)
    size = flow.Switch().Case(this.small, cond=lambda process: process.count < 10)
    small = flow.Handler(record("small")).Next(this.end)
    end = flow.End()


class SplitFlow(Flow):
    """Conditional branches a and b, branch c always."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.split)
    split = (
        flow.Split()
        .Next(this.a, cond=lambda process: "a" in process.text)
        .Next(this.b, cond=lambda process: "b" in process.text)
        .Always(this.c)
    )
    a = flow.Handler(record("a")).Next(this.join)
    b = flow.Handler(record("b")).Next(this.join)
    c = flow.Handler(record("c")).Next(this.join)
    join = flow.Join().Next(this.after)
    after = flow.Handler(record("after")).Next(this.end)
    end = flow.End()


class NestedSplitFlow(Flow):
    """An outer split whose first branch is itself a split."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.outer)
    outer = flow.Split().Always(this.inner).Always(this.x)
    inner = flow.Split().Always(this.y).Always(this.z)
    y = flow.Handler(record("y")).Next(this.inner_join)
    z = flow.Handler(record("z")).Next(this.inner_join)
    inner_join = flow.Join().Next(this.after_inner)
    after_inner = flow.Handler(record("after_inner")).Next(this.outer_join)
    x = flow.View().Permission(auto_create=True).Next(this.outer_join)
    outer_join = flow.Join().Next(this.after)
    after = flow.Handler(record("after")).Next(this.end)
    end = flow.End()


class DynamicSplitFlow(Flow):
    """One branch per item of ``process.items`` (none when ``count`` is negative)."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.split)
    split = flow.Split().Next(
        this.each, cond=lambda process: process.count >= 0, task_data_source=lambda process: list(process.items)
    )
    each = flow.Handler(record_item).Next(this.join)
    join = flow.Join().Next(this.after)
    after = flow.Handler(record("after")).Next(this.end)
    end = flow.End()


class HumanSplitFlow(Flow):
    """Two reviews in parallel, done by people in later steps."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.split)
    split = flow.Split().Always(this.review_a).Always(this.review_b)
    review_a = flow.View().Permission(auto_create=True).Next(this.join)
    review_b = flow.View().Permission(auto_create=True).Next(this.join)
    join = flow.Join().Next(this.after)
    after = flow.Handler(record("after")).Next(this.end)
    end = flow.End()


class FirstWinsFlow(Flow):
    """A Join with ``wait_all=False``: the first review decides, the other is canceled."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.split)
    split = flow.Split().Always(this.first).Always(this.second)
    first = flow.View().Permission(auto_create=True).Next(this.join)
    second = flow.View().Permission(auto_create=True).Next(this.join)
    join = flow.Join(wait_all=False).Next(this.after)
    after = flow.Handler(record("after")).Next(this.wait)
    wait = flow.View().Permission(auto_create=True).Next(this.end)
    end = flow.End()


class FastFirstWinsFlow(Flow):
    """A ``wait_all=False`` Join that a synchronous branch reaches in the split's own step."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.split)
    split = flow.Split().Always(this.slow).Always(this.fast)
    slow = flow.View().Permission(auto_create=True).Next(this.join)
    fast = flow.Handler(record("fast")).Next(this.join)
    join = flow.Join(wait_all=False).Next(this.end)
    end = flow.End()


class EndCancelsFlow(Flow):
    """Two branches without a Join: the first to reach End ends the process."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.split)
    split = flow.Split().Always(this.left).Always(this.right)
    left = flow.View().Permission(auto_create=True).Next(this.end)
    right = flow.View().Permission(auto_create=True).Next(this.end)
    end = flow.End()


class CustomSplitFlow(Flow):
    """The shipped example custom node: one review per item."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.fan_out)
    fan_out = DynamicSplit(lambda process: list(process.items)).Next(this.review)
    review = flow.View().Permission(auto_create=True).Next(this.join)
    join = flow.Join().Next(this.after)
    after = flow.Handler(record("after")).Next(this.end)
    end = flow.End()


# -- code, handlers and signals ---------------------------------------------------


def set_count(activation):
    activation.process.count = 42
    activation.process.save(update_fields=["count"])


@flow.flow_start_func
def start_with_text(activation, text, count=0):
    activation.process.text = text
    activation.process.count = count


@flow.flow_func(waiting_task)
def record_payment(activation, process_pk, amount):
    activation.process.count = amount
    activation.process.save(update_fields=["count"])


class HandlerFlow(Flow):
    """A handler given as a function, then one given as a method of the flow."""

    process_cls = SampleProcess

    start = flow.StartFunction(start_with_text).Next(this.by_function)
    by_function = flow.Handler(set_count).Next(this.by_method)
    by_method = flow.Handler(this.double).Next(this.end)
    end = flow.End()

    def double(self, activation):
        assert isinstance(self, HandlerFlow)
        activation.process.count *= 2
        activation.process.save(update_fields=["count"])


class FunctionFlow(Flow):
    """Waits until code calls ``FunctionFlow.pay.run(process_pk=..., amount=...)``."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.begin).Next(this.pay)
    pay = flow.Function(record_payment).Next(this.end)
    end = flow.End()

    @flow.flow_start_func
    def begin(self, activation, text):
        activation.process.text = text


@flow.flow_start_signal
def order_placed_receiver(activation, sender, text, **kwargs):
    activation.process.text = text


@flow.flow_signal(lambda flow_task, sender, process_pk, **kwargs: waiting_task(flow_task, process_pk))
def order_paid_receiver(activation, sender, process_pk, amount, **kwargs):
    activation.process.count = amount
    activation.process.save(update_fields=["count"])


class SignalFlow(Flow):
    """Started by the ``order_placed`` signal; goes on when ``order_paid`` arrives."""

    process_cls = SampleProcess

    start = flow.StartSignal(signals.order_placed, order_placed_receiver).Next(this.paid)
    paid = flow.Signal(signals.order_paid, order_paid_receiver).Next(this.end)
    end = flow.End()


# -- people: assignment, permissions, availability --------------------------------

#: the user ``.Assign(user)`` gives tasks to; tests create a user with this pk
FIXED_OWNER_PK = 4242
FIXED_OWNER = get_user_model()(pk=FIXED_OWNER_PK, username="fixed")


class AssignFlow(Flow):
    process_cls = SampleProcess

    start = flow.StartFunction(start_with_text).Next(this.to_user)
    to_user = flow.View().Assign(FIXED_OWNER).Next(this.to_named)
    to_named = (
        flow.View()
        .Assign(lambda process: get_user_model()._default_manager.get(username=process.text))
        .Next(this.to_same)
    )
    to_same = flow.View().Assign(this.to_named.owner).Next(this.end)
    end = flow.End()


class ProxyTaskFlow(Flow):
    """Tasks of this flow are ``SampleTask`` rows."""

    process_cls = SampleProcess
    task_cls = SampleTask

    start = flow.StartFunction(fill_process).Next(this.approve)
    approve = flow.View().Permission(auto_create=True).Next(this.end)
    end = flow.End()


class PermissionFlow(Flow):
    process_cls = SampleProcess

    start = flow.StartFunction(start_with_text).Next(this.review)
    review = flow.View().Permission("testapp.review_sample").Next(this.own_review)
    own_review = flow.View().Permission("testapp.review_sample", obj=lambda process: process).Next(this.end)
    end = flow.End()


class AvailableFlow(Flow):
    process_cls = SampleProcess

    by_callable = flow.Start(StartView).Available(lambda user: user.username.startswith("a")).Next(this.end)
    by_lookup = flow.Start(StartView).Available({"is_staff": True}).Next(this.end)
    end = flow.End()


class AnnotatedFlow(Flow):
    """Purchase order.

    A request for goods is checked, then ordered.
    """

    process_cls = SampleProcess

    start = (
        flow.StartFunction(fill_process)
        .Annotation(title="Order goods", description="Someone needs goods.")
        .Next(this.check)
    )
    check = flow.View().Permission(auto_create=True).Next(this.end)
    end = flow.End()


# -- errors ---------------------------------------------------------------------


def broken_handler(activation):
    boom(activation.process, "handler")
    activation.process.count += 1
    activation.process.save(update_fields=["count"])


class BrokenFlow(Flow):
    """Each automated node breaks when its name is in ``process.text``."""

    process_cls = SampleProcess

    start = flow.Start(StartView, fields=["text"]).Permission(auto_create=True).Next(this.edit)
    edit = flow.View(ProcessView, fields=["text"]).Permission(auto_create=True).Next(this.handler)
    handler = flow.Handler(broken_handler).Next(this.switch)
    switch = flow.Switch().Case(this.split, cond=lambda process: boom(process, "switch"))
    split = (
        flow.Split()
        .Next(this.a, cond=lambda process: boom(process, "split"))
        .Always(this.b)
    )
    a = flow.Handler(record("a")).Next(this.join)
    b = flow.Handler(lambda activation: boom(activation.process, "b") and record("b")(activation)).Next(this.join)
    join = flow.Join().Next(this.check)
    check = flow.If(cond=lambda process: boom(process, "if")).OnTrue(this.end).OnFalse(this.end)
    end = flow.End()


# -- the view side ----------------------------------------------------------------


class MixinViewsFlow(Flow):
    """Plain Django views with the mixins: a CreateView, an UpdateView callable, inline formsets."""

    process_cls = SampleProcess

    start = flow.Start(views.SampleStartView).Permission(auto_create=True).Next(this.count)
    count = flow.View(views.CountView.as_view()).Permission(auto_create=True).Next(this.lines)
    lines = flow.View(views.EditLinesView).Permission(auto_create=True).Next(this.end)
    end = flow.End()


class InlineStartFlow(Flow):
    """Started with a form and inline formset (django-extra-views)."""

    process_cls = SampleProcess

    start = flow.Start(views.StartWithLinesView).Permission(auto_create=True).Next(this.approve)
    approve = flow.View().Permission(auto_create=True).Next(this.end)
    end = flow.End()


class FormClassFlow(Flow):
    """The ready-made views given a ``form_class`` instead of ``fields``."""

    process_cls = SampleProcess

    start = flow.Start(StartView, form_class=views.ExclaimedTextForm).Permission(auto_create=True).Next(this.count)
    count = flow.View(ProcessView, form_class=views.PositiveCountForm).Permission(auto_create=True).Next(this.end)
    end = flow.End()


class FunctionViewsFlow(Flow):
    """Function-based views with ``@flow_start_view`` and ``@flow_view``."""

    process_cls = SampleProcess

    start = flow.Start(views.start_by_function).Permission(auto_create=True).Next(this.approve)
    approve = flow.View(views.approve_by_function).Permission(auto_create=True).Next(this.end)
    end = flow.End()


for _flow in (
    CodeStartFlow,
    AssignFlow,
    HumanSplitFlow,
    BrokenFlow,
    MixinViewsFlow,
    InlineStartFlow,
    FormClassFlow,
    FunctionViewsFlow,
    AvailableFlow,
    PermissionFlow,
):
    viewsite.register(_flow)

from .ops_flows import OpsReviewFlow  # noqa: E402,F401  (imported at start-up: its permission is auto-created)


def spoil(activation):
    activation.process.text = "spoiled"
    activation.process.save()
    raise RuntimeError("spoiled")


def save_everything(activation):
    activation.process.count += 1
    activation.process.save()  # a full save: writes every field of the in-memory process


class RollbackFlow(Flow):
    """A failing branch's writes must not come back through a sibling branch that saves the process."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.split)
    split = flow.Split().Always(this.spoil).Always(this.save_everything)
    spoil = flow.Handler(spoil).Next(this.join)
    save_everything = flow.Handler(save_everything).Next(this.join)
    join = flow.Join().Next(this.end)
    end = flow.End()


class FirstWinsBrokenFlow(Flow):
    """A ``wait_all=False`` Join whose other branch failed."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.split)
    split = flow.Split().Always(this.broken).Always(this.review)
    broken = flow.Handler(spoil).Next(this.join)
    review = flow.View().Permission(auto_create=True).Next(this.join)
    join = flow.Join(wait_all=False).Next(this.wait)
    wait = flow.View().Permission(auto_create=True).Next(this.end)
    end = flow.End()


from .job_flows import FileJobFlow  # noqa: E402,F401  (registered on the site: its task pages are tested)

# -- a custom waiting task ----------------------------------------------------------


class Reply(flow.WaitingTask):
    """A custom waiting node: waits for a reply (say, by e-mail); ``resume(task, text=...)`` records it.

    A reply nobody receives the error of (a mail handler): a failing one leaves
    the task in ERROR, as a job does.
    """

    task_type = "REPLY"

    def on_resume(self, activation, /, text):
        if text == "boom":
            raise ValueError("an unreadable reply")
        activation.process.text = text
        activation.process.save(update_fields=["text"])

    def resume_failed(self, process_pk, task_pk, exc):
        return self.record_failure(process_pk, task_pk, exc)


class ReplyFlow(Flow):
    """Waits for a reply, then ends."""

    process_cls = SampleProcess

    start = flow.StartFunction(fill_process).Next(this.reply)
    reply = Reply().Next(this.end)
    end = flow.End()


# -- a flow with its own policy -----------------------------------------------------


class OwnTextPolicy(FlowPolicy):
    """Each user sees only the processes whose text is their username; only superusers cancel tasks."""

    def process_filter(self, user):
        return Q(text=user.get_username())

    def task_filter(self, user):
        return Q(process__sampleprocess__text=user.get_username())

    def can_cancel(self, user, task):
        return user.is_superuser


class PolicyFlow(Flow):
    """Reviews that only their named reviewer sees."""

    process_cls = SampleProcess
    policy_class = OwnTextPolicy

    start = flow.StartFunction(fill_process).Next(this.review)
    review = flow.View().Permission("testapp.review_sample").Next(this.end)
    end = flow.End()


from .guarded_flows import GuardedReviewFlow  # noqa: E402,F401  (object permissions in the queue)
from .timer_flows import DeadlineFlow  # noqa: E402,F401  (its permissions are auto-created)
from .visibility_flows import PrivateRequestFlow  # noqa: E402,F401  (who sees a process: FlowPolicy.visibility)
