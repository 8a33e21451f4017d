"""Split and Join: tokens, conditional, nested and dynamic splits, joins that fire exactly once.

The paths are asserted with viewflow.testing (a split's branches as one group).
"""

import pytest

from tests.testapp.flows import (
    CustomSplitFlow,
    DynamicSplitFlow,
    EndCancelsFlow,
    FastFirstWinsFlow,
    FirstWinsFlow,
    HumanSplitFlow,
    NestedSplitFlow,
    SplitFlow,
    fill_process,
)
from tests.testapp.models import SampleProcess
from tests.utils import do_task, fresh, statuses, task_of, tasks_of
from viewflow import flow
from viewflow.base import Flow, this
from viewflow.exceptions import FlowRuntimeError
from viewflow.models import Task
from viewflow.status import ProcessStatus, TaskStatus
from viewflow.testing import FlowTester

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker(user_factory):
    return user_factory("worker", superuser=True)


def test_conditional_split_starts_only_branches_whose_condition_holds():
    run = FlowTester(SplitFlow).run("start", text="a")
    run.assert_status(ProcessStatus.DONE).assert_path("start", "split", {"a", "c"}, "join", "after", "end")
    process = run.process
    assert sorted(process.items[:2]) == ["a", "c"] and process.items[2:] == ["after"]
    assert statuses(process, SplitFlow.b) == []  # never started, so the Join did not wait for it
    assert statuses(process, SplitFlow.join) == [TaskStatus.DONE]


def test_split_with_every_branch_joins_once_and_links_all_arrivals():
    process = fresh(SplitFlow.start.run(text="a b"))
    assert sorted(process.items[:3]) == ["a", "b", "c"] and process.items[3:] == ["after"]
    join = task_of(process, SplitFlow.join)
    assert sorted(t.flow_task.name for t in join.previous.all()) == ["a", "b", "c"]
    # branch tokens are the split's group plus a branch number; the join carries the group
    branches = Task.objects.filter(process_id=process.pk, flow_task__in=[SplitFlow.a, SplitFlow.b, SplitFlow.c])
    assert {t.token.rpartition(".")[0] for t in branches} == {join.token}
    assert join.token.startswith("start/")
    assert task_of(process, SplitFlow.after).token == "start"


def test_nested_splits_join_inner_then_outer(worker):
    run = FlowTester(NestedSplitFlow).run("start")
    run.assert_path("start", "outer", [("x",), ("inner", {"y", "z"}, "inner_join", "after_inner")], "outer_join")
    process = run.process
    # the inner split ran to its join at once; the outer join waits for the person's branch x
    assert sorted(process.items) == ["after_inner", "y", "z"]
    assert statuses(process, NestedSplitFlow.inner_join) == [TaskStatus.DONE]
    assert statuses(process, NestedSplitFlow.outer_join) == [TaskStatus.STARTED]
    assert process.status == ProcessStatus.STARTED

    do_task(task_of(process, NestedSplitFlow.x), worker)
    process = fresh(process)
    assert process.status == ProcessStatus.DONE
    assert process.items[-1] == "after"
    assert statuses(process, NestedSplitFlow.outer_join) == [TaskStatus.DONE]
    assert statuses(process, NestedSplitFlow.end) == [TaskStatus.DONE]
    inner = task_of(process, NestedSplitFlow.inner_join)
    outer = task_of(process, NestedSplitFlow.outer_join)
    assert inner.token.startswith(outer.token + ".")  # the inner group lives inside an outer branch
    run.assert_path(
        "start", "outer", [("x",), ("inner", {"y", "z"}, "inner_join", "after_inner")], "outer_join", "after", "end"
    )


@pytest.mark.parametrize("items", [[], ["one"], ["a", "b", "c", "d", "e"]])
def test_dynamic_split_starts_one_branch_per_item(items):
    run = FlowTester(DynamicSplitFlow).run("start", items=items)
    # one branch per item, the same node each: a list counts them (a set would not)
    run.assert_status("DONE").assert_path("start", "split", [("each",)] * len(items), "join", "after", "end")
    process = run.process
    branch_tasks = Task.objects.filter(process_id=process.pk, flow_task=DynamicSplitFlow.each)
    assert sorted(t.data["item"] for t in branch_tasks) == sorted(items)
    # process.items is both the source and where each branch records its item
    assert process.items[: len(items)] == items
    assert sorted(process.items[len(items) : -1]) == sorted(items)
    assert process.items[-1] == "after"
    assert statuses(process, DynamicSplitFlow.join) == [TaskStatus.DONE]  # fired exactly once
    assert statuses(process, DynamicSplitFlow.after) == [TaskStatus.DONE]


def test_dynamic_branch_with_a_false_condition_starts_nothing():
    process = fresh(DynamicSplitFlow.start.run(items=["a", "b"], count=-1))
    assert process.status == ProcessStatus.DONE
    assert statuses(process, DynamicSplitFlow.each) == []
    assert process.items == ["a", "b", "after"]


def test_join_waits_for_branches_done_in_later_steps(worker):
    process = HumanSplitFlow.start.run()
    assert statuses(process, HumanSplitFlow.review_a) == [TaskStatus.NEW]
    assert statuses(process, HumanSplitFlow.review_b) == [TaskStatus.NEW]
    assert statuses(process, HumanSplitFlow.join) == []

    do_task(task_of(process, HumanSplitFlow.review_b), worker)
    assert statuses(process, HumanSplitFlow.join) == [TaskStatus.STARTED]
    assert fresh(process).items == []

    do_task(task_of(process, HumanSplitFlow.review_a), worker)
    process = fresh(process)
    assert statuses(process, HumanSplitFlow.join) == [TaskStatus.DONE]
    assert process.items == ["after"] and process.status == ProcessStatus.DONE
    join = task_of(process, HumanSplitFlow.join)
    assert sorted(t.flow_task.name for t in join.previous.all()) == ["review_a", "review_b"]


def test_join_any_continues_on_first_arrival_and_cancels_the_rest(worker):
    run = FlowTester(FirstWinsFlow).run("start")
    with run.committed():
        do_task(run.task("second"), worker)
    run.assert_path("start", "split", {"first", "second"}, "join", "after", "wait")  # first: there, canceled
    process = run.process
    assert statuses(process, FirstWinsFlow.first) == [TaskStatus.CANCELED]
    assert statuses(process, FirstWinsFlow.join) == [TaskStatus.DONE]
    assert process.items == ["after"]
    assert statuses(process, FirstWinsFlow.wait) == [TaskStatus.NEW]
    assert task_of(process, FirstWinsFlow.wait).token == "start"


def test_join_any_reached_in_the_split_step_skips_the_other_branch():
    process = fresh(FastFirstWinsFlow.start.run())
    assert process.status == ProcessStatus.DONE and process.items == ["fast"]
    assert statuses(process, FastFirstWinsFlow.slow) == [TaskStatus.CANCELED]
    assert statuses(process, FastFirstWinsFlow.join) == [TaskStatus.DONE]
    assert statuses(process, FastFirstWinsFlow.end) == [TaskStatus.DONE]


def test_end_cancels_tasks_still_active(worker):
    process = EndCancelsFlow.start.run()
    do_task(task_of(process, EndCancelsFlow.left), worker)
    process = fresh(process)
    assert process.status == ProcessStatus.DONE and process.finished is not None
    assert statuses(process, EndCancelsFlow.right) == [TaskStatus.CANCELED]
    assert statuses(process, EndCancelsFlow.end) == [TaskStatus.DONE]


def test_custom_dynamic_split_node(worker):
    process = CustomSplitFlow.start.run(items=["x", "y", "z"])
    reviews = list(Task.objects.filter(process_id=process.pk, flow_task=CustomSplitFlow.review).order_by("pk"))
    assert [t.data["item"] for t in reviews] == ["x", "y", "z"]
    assert all(t.status == TaskStatus.NEW and t.previous.get().flow_task is CustomSplitFlow.fan_out for t in reviews)
    for task in reviews[:2]:
        do_task(task, worker)
    assert statuses(process, CustomSplitFlow.join) == [TaskStatus.STARTED]
    do_task(reviews[2], worker)
    process = fresh(process)
    assert process.status == ProcessStatus.DONE and process.items == ["x", "y", "z", "after"]
    assert statuses(process, CustomSplitFlow.join) == [TaskStatus.DONE]


def test_custom_dynamic_split_of_nothing_joins_at_once():
    process = fresh(CustomSplitFlow.start.run(items=[]))
    assert process.status == ProcessStatus.DONE
    assert tasks_of(process) == [
        ("start", "DONE"),
        ("fan_out", "DONE"),
        ("join", "DONE"),
        ("after", "DONE"),
        ("end", "DONE"),
    ]


def test_human_split_costs_a_fixed_number_of_queries(worker, django_assert_max_num_queries):
    """A person finishing a branch does not cost a query per sibling branch."""
    process = CustomSplitFlow.start.run(items=list(range(20)))
    task = Task.objects.filter(process_id=process.pk, flow_task=CustomSplitFlow.review).first()
    with task.activation() as activation:
        activation.assign(worker)
    with django_assert_max_num_queries(12):
        with task.activation() as activation:
            activation.done()


def _noop(activation):
    pass


class NoBranchFlow(Flow):
    """A Split whose branches may all be off, with no Join to fire instead."""

    process_cls = SampleProcess
    start = flow.StartFunction(fill_process).Next(this.split)
    split = flow.Split().Next(this.x, cond=lambda process: "x" in process.text)
    x = flow.Handler(_noop).Next(this.end)
    end = flow.End()


class BadItemsFlow(Flow):
    """Branch data that a JSON field cannot hold."""

    process_cls = SampleProcess
    start = flow.StartFunction(fill_process).Next(this.split)
    split = flow.Split().Next(this.each, task_data_source=lambda process: [object()])
    each = flow.Handler(_noop).Next(this.join)
    join = flow.Join().Next(this.end)
    end = flow.End()


class BypassJoinFlow(Flow):
    """An If that leads around the Split into its Join (the E005 check reports it)."""

    process_cls = SampleProcess
    start = flow.StartFunction(fill_process).Next(this.check)
    check = flow.If(cond=lambda process: process.approved).OnTrue(this.split).OnFalse(this.join)
    split = flow.Split().Always(this.a)
    a = flow.Handler(_noop).Next(this.join)
    join = flow.Join().Next(this.end)
    end = flow.End()


@pytest.mark.parametrize(
    "flow_class, node, message",
    [
        (NoBranchFlow, "split", "started no branch and has no Join"),
        (BadItemsFlow, "split", "not a JSON value"),
        (BypassJoinFlow, "join", "which no Split started"),
    ],
)
def test_a_split_or_join_that_cannot_go_on_fails_alone(flow_class, node, message):
    process = fresh(flow_class.start.run(text="nothing"))  # the start step commits all the same
    assert process.status == ProcessStatus.ERROR
    assert statuses(process, flow_class.start) == [TaskStatus.DONE]
    failed = task_of(process, getattr(flow_class, node))
    assert failed.status == TaskStatus.ERROR and message in failed.error
    try:  # retrying runs into the same wall: the Join refuses, the Split fails again
        with failed.activation() as activation:
            activation.retry()
    except FlowRuntimeError as exc:
        assert message in str(exc)
    failed = fresh(failed)
    assert failed.status == TaskStatus.ERROR and message in failed.error
    assert statuses(process, flow_class.end) == []
