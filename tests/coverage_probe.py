"""The test file tests/test_flow_coverage.py runs in a pytest of its own, with and without --flow-coverage.

(Its name does not start with ``test_``: the suite itself does not collect it.)
"""

import pytest

from helloworld.flows import HelloWorldFlow
from viewflow import signals
from viewflow.activation import step_observers


@pytest.mark.django_db
def test_a_rejected_request(flow_tester, flow_user):
    run = flow_tester(HelloWorldFlow).start(flow_user("starter", HelloWorldFlow.start), text="Hello")
    run.complete("approve", flow_user("approver", HelloWorldFlow.approve), approved=False)
    run.assert_path("start", "approve", "check_approve", "end")


def test_nothing_listens_unless_asked(request):
    on = request.config.getoption("flow_coverage") is not None
    print(f"observers={len(step_observers)} option={on}")
    assert len(step_observers) == (1 if on else 0)
    assert request.config.pluginmanager.has_plugin("viewflow-flow-coverage") is on
    for name in signals.__all__:
        assert not getattr(signals, name).has_listeners(), name
