"""Flow coverage: what the tests went through, per flow, and the pytest option that reports it."""

import subprocess
import sys
from pathlib import Path

import pytest

from helloworld.flows import HelloWorldFlow
from tests.testapp.flows import FirstWinsFlow, SplitFlow
from tests.utils import do_task
from viewflow.activation import step_observers
from viewflow.testing import FlowCoverage, FlowTester
from viewflow.testing.coverage import select_flows

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db


def test_nodes_reached_and_edges_taken_are_recorded_while_installed(flow_user):
    starter, approver = flow_user("starter", HelloWorldFlow.start), flow_user("approver", HelloWorldFlow.approve)
    flow = FlowTester(HelloWorldFlow)
    before = list(step_observers)
    with FlowCoverage() as coverage:
        assert len(step_observers) == len(before) + 1
        flow.start(starter, text="No").complete("approve", approver, approved=False)
    assert step_observers == before  # uninstalled: steps are not watched any more
    flow.start(starter, text="Yes").complete("approve", approver, approved=True)  # not recorded

    report = coverage.report(HelloWorldFlow)
    assert report.missed_nodes == ["send"]
    assert report.missed_edges == [("check_approve", "send"), ("send", "end")]
    assert (report.covered, report.total, round(report.percent)) == (7, 10, 70)
    assert report.lines() == [
        "helloworld.flows.HelloWorldFlow          nodes   4/5   edges   3/5     70.0%",
        "    nodes never reached: send",
        "    edges never taken: check_approve -> send (true), send -> end",
    ]
    assert report.lines(verbose=True)[1:3] == [
        "    nodes reached: start, approve, check_approve, end",
        "    edges taken: start -> approve, approve -> check_approve, check_approve -> end (false)",
    ]
    svg = report.svg()
    assert '<g class="vf-node vf-task missed" data-node="send">' in svg
    assert '<g class="vf-node vf-task covered" data-node="approve">' in svg
    assert 'class="vf-edge missed" d="' in svg and 'data-edge="check_approve-send"' in svg
    assert 'class="vf-edge taken"' in svg


def test_a_join_arrival_is_an_edge_and_a_branch_not_run_is_missed():
    with FlowCoverage() as coverage:
        FlowTester(SplitFlow).run("start", text="a")
    report = coverage.report(SplitFlow)
    assert report.missed_nodes == ["b"]
    assert report.missed_edges == [("split", "b"), ("b", "join")]
    assert ("a", "join") in report.taken and ("c", "join") in report.taken


def test_a_canceled_branch_takes_no_edge_into_the_join(flow_user):
    with FlowCoverage() as coverage:
        run = FlowTester(FirstWinsFlow).run("start", text="")
        with run.committed():
            do_task(run.task("first"), flow_user("a", FirstWinsFlow.first))
    report = coverage.report(FirstWinsFlow)
    assert ("first", "join") in report.taken
    assert ("second", "join") in report.missed_edges  # second was reached, then canceled
    assert "second" not in report.missed_nodes


def test_flows_are_selected_by_app_label_flow_label_class_or_path():
    assert select_flows(["helloworld"]) == [HelloWorldFlow]
    assert select_flows(["order", "leave"]) == [
        flow for flow in select_flows(["*"]) if flow.__name__ in ("OrderFlow", "LeaveFlow")
    ]
    assert select_flows(["helloworld.flows.HelloWorldFlow"]) == select_flows(["HelloWorldFlow"]) == [HelloWorldFlow]
    assert select_flows(["nothing"]) == []


def _pytest(*options):
    """Run tests/coverage_probe.py in a pytest of its own (its own in-memory database)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/coverage_probe.py",
         "--ds=tests.probe_settings", "-s", *options],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_the_pytest_option_reports_draws_and_fails_under_a_threshold(tmp_path):
    off = _pytest()
    assert off.returncode == 0, off.stdout + off.stderr
    assert "observers=0 option=False" in off.stdout  # off: nothing connected (the probe asserts it)
    assert "flow coverage" not in off.stdout

    on = _pytest("--flow-coverage=helloworld", f"--flow-coverage-svg={tmp_path}", "--flow-coverage-fail-under=100")
    assert on.returncode == 1, on.stdout + on.stderr  # every test passed, the coverage did not
    assert "observers=1 option=True" in on.stdout
    assert "helloworld.flows.HelloWorldFlow          nodes   4/5   edges   3/5     70.0%" in on.stdout
    assert "nodes never reached: send" in on.stdout and "FAIL: flow coverage 70.0% is below 100%" in on.stdout
    assert "order" not in on.stdout.split("flow coverage", 1)[1]  # only the flows asked for
    assert 'data-node="send"' in (tmp_path / "helloworld.helloworld.svg").read_text()

    wrong = _pytest("--flow-coverage", "tests/")
    assert wrong.returncode == 4 and "write --flow-coverage=FLOWS" in wrong.stderr
