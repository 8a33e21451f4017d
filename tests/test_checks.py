"""System checks: each broken flow is reported by check id and node name.

The broken flows are declared inside the tests, so they are not part of the
project: ``manage.py check`` (``check_flows``) leaves them out.
"""

import pytest
from django.core.management import call_command
from django.test.utils import isolate_apps

from tests.testapp.models import SampleProcess
from viewflow import flow
from viewflow.base import Flow, all_flows, this
from viewflow.checks import check_flow, check_flows
from viewflow.models import Task
from viewflow.site import viewsite


def errors_of(flow_class):
    return {error.id: error for error in check_flow(flow_class)}


def assert_reported(flow_class, check_id, node_name):
    """``check_id`` is reported with a message naming ``Flow.node`` (or the flow) and a hint."""
    where = f"{flow_class.__qualname__}.{node_name}:" if node_name else f"{flow_class.__qualname__}:"
    found = [error for error in check_flow(flow_class) if error.id == check_id and where in error.msg]
    assert found, [str(error) for error in check_flow(flow_class)]
    assert found[0].hint and found[0].obj is flow_class
    return errors_of(flow_class)


def test_e001_dangling_reference():
    class DanglingFlow(Flow):
        process_cls = SampleProcess
        start = flow.StartFunction().Next(this.approve)
        approve = flow.View().Permission(auto_create=True).Next(this.aprove_again)
        done = flow.Handler(this.no_such_method).Next("end")
        again = flow.View().Assign(this.nobody_here.owner).Next(this.end)
        end = flow.End()

    assert_reported(DanglingFlow, "viewflow.E001", "approve")
    assert_reported(DanglingFlow, "viewflow.E001", "done")
    assert_reported(DanglingFlow, "viewflow.E001", "again")
    messages = {
        e.msg.split(": ")[0].rpartition(".")[2]: e.msg for e in check_flow(DanglingFlow) if e.id == "viewflow.E001"
    }
    assert "'aprove_again'" in messages["approve"]
    assert "'no_such_method'" in messages["done"]
    assert "'nobody_here'" in messages["again"]


def test_e002_unreachable_node():
    class UnreachableFlow(Flow):
        process_cls = SampleProcess
        start = flow.StartFunction().Next(this.end)
        orphan = flow.Handler(lambda activation: None).Next(this.end)
        end = flow.End()

    errors = assert_reported(UnreachableFlow, "viewflow.E002", "orphan")
    assert set(errors) == {"viewflow.E002"}


def test_e003_no_end():
    class EndlessFlow(Flow):
        process_cls = SampleProcess
        start = flow.StartFunction().Next(this.work)
        work = flow.View().Permission(auto_create=True)

    assert_reported(EndlessFlow, "viewflow.E003", None)


def test_e004_if_without_both_branches():
    class HalfIfFlow(Flow):
        process_cls = SampleProcess
        start = flow.StartFunction().Next(this.check)
        check = flow.If(cond=lambda process: True).OnTrue(this.end)
        end = flow.End()

    errors = assert_reported(HalfIfFlow, "viewflow.E004", "check")
    assert set(errors) == {"viewflow.E004"}


def test_e005_join_without_split():
    class LonelyJoinFlow(Flow):
        process_cls = SampleProcess
        start = flow.StartFunction().Next(this.join)
        join = flow.Join().Next(this.end)
        end = flow.End()

    errors = assert_reported(LonelyJoinFlow, "viewflow.E005", "join")
    assert set(errors) == {"viewflow.E005"}


def test_e005_join_reached_around_its_split():
    class BypassFlow(Flow):
        process_cls = SampleProcess
        start = flow.StartFunction().Next(this.check)
        check = flow.If(cond=lambda process: True).OnTrue(this.split).OnFalse(this.join)
        split = flow.Split().Always(this.a).Always(this.b)
        a = flow.Handler(lambda activation: None).Next(this.join)
        b = flow.Handler(lambda activation: None).Next(this.join)
        join = flow.Join().Next(this.end)
        end = flow.End()

    errors = assert_reported(BypassFlow, "viewflow.E005", "join")
    assert set(errors) == {"viewflow.E005"}
    assert "'check'" in str(check_flow(BypassFlow)[0].msg)


def test_nested_splits_and_loops_pass_the_join_check():
    class NestedLoopFlow(Flow):
        process_cls = SampleProcess
        start = flow.StartFunction().Next(this.outer)
        outer = flow.Split().Always(this.inner).Always(this.x)
        inner = flow.Split().Always(this.y).Always(this.z)
        y = flow.Handler(lambda activation: None).Next(this.inner_join)
        z = flow.Handler(lambda activation: None).Next(this.inner_join)
        inner_join = flow.Join().Next(this.outer_join)
        x = flow.Handler(lambda activation: None).Next(this.outer_join)
        outer_join = flow.Join().Next(this.again)
        again = flow.If(cond=lambda process: False).OnTrue(this.outer).OnFalse(this.end)
        end = flow.End()

    assert check_flow(NestedLoopFlow) == []


def test_e006_view_nobody_may_execute():
    class NobodyFlow(Flow):
        process_cls = SampleProcess
        start = flow.StartFunction().Next(this.approve)
        approve = flow.View().Next(this.end)
        end = flow.End()

    errors = assert_reported(NobodyFlow, "viewflow.E006", "approve")
    assert set(errors) == {"viewflow.E006"}


def test_e007_no_start():
    class HeadlessFlow(Flow):
        process_cls = SampleProcess
        approve = flow.View().Permission(auto_create=True).Next(this.end)
        end = flow.End()

    assert_reported(HeadlessFlow, "viewflow.E007", None)


def test_e008_node_leads_nowhere():
    class DeadEndFlow(Flow):
        process_cls = SampleProcess
        start = flow.StartFunction().Next(this.split)
        split = flow.Split().Always(this.work).Always(this.end)
        work = flow.Handler(lambda activation: None)
        end = flow.End()

    errors = assert_reported(DeadEndFlow, "viewflow.E008", "work")
    assert set(errors) == {"viewflow.E008"}


def test_a_sound_flow_has_no_errors():
    class SoundFlow(Flow):
        process_cls = SampleProcess
        start = flow.StartFunction().Next(this.split)
        split = flow.Split().Always(this.a).Always(this.b)
        a = flow.View().Permission(auto_create=True).Next(this.join)
        b = flow.Handler(lambda activation: None).Next(this.join)
        join = flow.Join().Next(this.check)
        check = flow.If(cond=lambda process: True).OnTrue(this.end).OnFalse(this.end)
        end = flow.End()

    assert check_flow(SoundFlow) == []


@pytest.mark.django_db
def test_project_checks_ignore_flows_declared_outside_installed_apps():
    class BrokenLocalFlow(Flow):
        process_cls = SampleProcess
        approve = flow.View()

    assert check_flow(BrokenLocalFlow)  # broken...
    assert BrokenLocalFlow not in all_flows()  # ...but not part of the project
    assert check_flows() == []  # every flow of the test apps and the demo is sound
    call_command("check")  # raises SystemCheckError on any error

    viewsite.register(BrokenLocalFlow)  # registering a flow makes it the project's
    try:
        assert BrokenLocalFlow in all_flows()
        assert {e.id for e in check_flows()} >= {"viewflow.E003", "viewflow.E006", "viewflow.E007"}
    finally:
        viewsite.unregister(BrokenLocalFlow)


@pytest.mark.parametrize("name", ["lock", "lock_impl", "task_cls", "instance", "flow_label"])
def test_a_node_may_not_take_a_name_the_flow_uses(name):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match=f"cannot be named '{name}'"):
        type(
            "ClashingFlow",
            (Flow,),
            {
                "process_cls": SampleProcess,
                "start": flow.StartFunction().Next(this.end),
                name: flow.View().Permission(auto_create=True).Next(this.end),
                "end": flow.End(),
            },
        )


def test_w001_a_permission_nobody_declares():
    class TypoFlow(Flow):
        process_cls = SampleProcess
        start = flow.StartFunction().Next(this.approve)
        approve = flow.View().Permission("testapp.can_aprove_typo").Next(this.review)
        review = flow.View().Permission("testapp.change_sampleprocess").Next(this.end)
        end = flow.End()

    found = [(message.id, message.msg.rpartition(".<locals>.")[2]) for message in check_flow(TypoFlow)]
    assert found == [
        ("viewflow.W001", "TypoFlow.approve: no model or flow declares the permission 'testapp.can_aprove_typo'.")
    ]


def test_w002_an_object_permission_without_an_object_backend(settings):
    class OwnProcessFlow(Flow):
        process_cls = SampleProcess
        start = flow.StartFunction().Next(this.approve)
        approve = flow.View().Permission("testapp.change_sampleprocess", obj=lambda process: process).Next(this.end)
        end = flow.End()

    assert check_flow(OwnProcessFlow) == []  # the test settings have an object-permission backend
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    found = [(message.id, message.msg.rpartition(".<locals>.")[2]) for message in check_flow(OwnProcessFlow)]
    assert found == [
        (
            "viewflow.W002",
            "OwnProcessFlow.approve: .Permission(obj=...) asks about each process, but ModelBackend, "
            "the only authentication backend, grants no object permission.",
        )
    ]


@isolate_apps("tests.testapp")
def test_e009_task_cls_must_live_in_the_task_table():
    from tests.testapp.models import SampleTask

    class ConcreteTask(Task):  # a table of its own: the engine would not find its rows
        class Meta:
            app_label = "testapp"

    class ProxyTaskFlow(Flow):
        process_cls = SampleProcess
        task_cls = SampleTask
        start = flow.StartFunction().Next(this.end)
        end = flow.End()

    class ConcreteTaskFlow(ProxyTaskFlow):
        task_cls = ConcreteTask
        start = flow.StartFunction().Next(this.end)
        end = flow.End()

    assert check_flow(ProxyTaskFlow) == []
    assert set(assert_reported(ConcreteTaskFlow, "viewflow.E009", None)) == {"viewflow.E009"}


def test_e010_names_too_long_to_store():
    long_name = "n" * 120
    flow_class = type(
        "LongNamesFlow",
        (Flow,),
        {
            "__module__": __name__,
            "process_cls": SampleProcess,
            "start": flow.StartFunction().Next(getattr(this, long_name)),
            long_name: flow.View().Permission(auto_create=True).Next(this.end),
            "end": flow.End(),
        },
    )
    messages = [message.msg for message in check_flow(flow_class) if message.id == "viewflow.E010"]
    assert messages == [f"LongNamesFlow.{long_name}: its permission codename is longer than 100 characters."]
