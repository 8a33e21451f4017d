"""Test your own flows: start processes, act on tasks as users, run jobs, move time, assert the path.

Works in pytest (the ``flow_tester`` and ``flow_user`` fixtures come with the
plugin viewflow installs) and in Django's ``TestCase`` alike::

    flow = FlowTester(HelloWorldFlow)
    run = flow.start(starter, text="Hello")
    run.complete("approve", approver, approved=True)
    run.assert_path("start", "approve", "check_approve", "send", "end").assert_status("DONE")

See docs/testing.md; ``--flow-coverage`` (the pytest plugin) reports which
nodes and edges of each flow the tests went through.
"""

__all__ = [
    "FlowTester",
    "ProcessRun",
    "FlowTestError",
    "InvalidForm",
    "FlowCoverage",
    "FlowReport",
    "make_user",
    "permissions_of",
]

#: where each name lives; imported on first use, so that pytest can load
#: :mod:`viewflow.testing.plugin` before Django is set up
_HOMES = {
    "FlowTester": "tester",
    "ProcessRun": "tester",
    "FlowTestError": "tester",
    "InvalidForm": "tester",
    "FlowCoverage": "coverage",
    "FlowReport": "coverage",
    "make_user": "users",
    "permissions_of": "users",
}


def __getattr__(name):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
