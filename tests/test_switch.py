"""If and Switch: where the token goes, and what happens when no branch fits."""

import pytest

from tests.testapp.flows import IfFlow, StrictSwitchFlow, SwitchFlow
from tests.utils import fresh, task_of, tasks_of
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db


def start(flow_class, **fields):
    return fresh(flow_class.start.run(**fields))


@pytest.mark.parametrize("approved, branch", [(True, "yes"), (False, "no")])
def test_if_takes_the_branch_its_condition_chooses(approved, branch):
    process = start(IfFlow, approved=approved)
    assert process.status == ProcessStatus.DONE
    assert process.items == [branch]
    assert tasks_of(process) == [("start", "DONE"), ("check", "DONE"), (branch, "DONE"), ("end", "DONE")]


@pytest.mark.parametrize(
    "count, branch",
    [(5, "small"), (50, "medium"), (500, "large")],
)
def test_switch_first_true_case_wins_else_default(count, branch):
    # count=5 satisfies both cases: the first one declared wins
    process = start(SwitchFlow, count=count)
    assert process.items == [branch]
    assert process.status == ProcessStatus.DONE


def test_switch_without_match_and_default_is_an_error_not_a_silent_stop():
    process = start(StrictSwitchFlow, count=50)
    assert process.status == ProcessStatus.ERROR
    switch = task_of(process, StrictSwitchFlow.size)
    assert switch.status == TaskStatus.ERROR
    assert "no case matched" in switch.error and "Traceback" in switch.error
    assert process.items == []
    # the start that reached the switch is kept
    assert task_of(process, StrictSwitchFlow.start).status == TaskStatus.DONE

    # once the data fits a case, retry goes on
    process.count = 1
    process.save()
    with switch.activation() as activation:
        activation.retry()
    process = fresh(process)
    assert process.status == ProcessStatus.DONE and process.items == ["small"]


def test_string_references_resolve_to_nodes():
    assert IfFlow.start._next is IfFlow.check
    assert IfFlow.check._on_true is IfFlow.yes and IfFlow.yes._next is IfFlow.end
