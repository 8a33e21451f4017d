"""If and Switch: where the token goes, and what happens when no branch fits (with viewflow.testing)."""

import pytest

from tests.testapp.flows import IfFlow, StrictSwitchFlow, SwitchFlow
from tests.utils import task_of, tasks_of
from viewflow import operations
from viewflow.status import ProcessStatus, TaskStatus
from viewflow.testing import FlowTester

pytestmark = pytest.mark.django_db


def start(flow_class, **fields):
    return FlowTester(flow_class).run("start", **fields)


@pytest.mark.parametrize("approved, branch", [(True, "yes"), (False, "no")])
def test_if_takes_the_branch_its_condition_chooses(approved, branch):
    run = start(IfFlow, approved=approved)
    run.assert_status(ProcessStatus.DONE).assert_path("start", "check", branch, "end")
    assert run.process.items == [branch]
    assert tasks_of(run.process) == [("start", "DONE"), ("check", "DONE"), (branch, "DONE"), ("end", "DONE")]


@pytest.mark.parametrize(
    "count, branch",
    [(5, "small"), (50, "medium"), (500, "large")],
)
def test_switch_first_true_case_wins_else_default(count, branch):
    # count=5 satisfies both cases: the first one declared wins
    run = start(SwitchFlow, count=count)
    assert run.process.items == [branch]
    run.assert_status(ProcessStatus.DONE).assert_path("start", "size", branch, "end")


def test_switch_without_match_and_default_is_an_error_not_a_silent_stop():
    run = start(StrictSwitchFlow, count=50)
    run.assert_status(ProcessStatus.ERROR).assert_path("start", "size")
    switch = run.task("size")
    assert switch.status == TaskStatus.ERROR
    assert "no case matched" in switch.error and "Traceback" in switch.error
    assert run.process.items == []
    # the start that reached the switch is kept
    assert task_of(run.process, StrictSwitchFlow.start).status == TaskStatus.DONE

    # once the data fits a case, retry goes on
    process = run.process
    process.count = 1
    process.save()
    with run.committed():
        operations.retry(switch)
    run.assert_status(ProcessStatus.DONE).assert_path("start", "size", "small", "end")
    assert run.process.items == ["small"]


def test_string_references_resolve_to_nodes():
    assert IfFlow.start._next is IfFlow.check
    assert IfFlow.check._on_true is IfFlow.yes and IfFlow.yes._next is IfFlow.end
