"""The pytest plugin of viewflow (loaded through the ``pytest11`` entry point).

Fixtures:

* ``flow_tester``: ``flow_tester(MyFlow)`` makes a :class:`~viewflow.testing.FlowTester`;
* ``flow_user``: ``flow_user("approver", MyFlow.approve)`` makes a user holding
  the permissions of the nodes (or flows, or ``"app.codename"``) given.

Both give the test database access if the test was not marked ``django_db``.

Options (flow coverage, see :mod:`viewflow.testing.coverage`):

* ``--flow-coverage`` or ``--flow-coverage=FLOWS``: record which nodes and edges
  the tests go through and print a report per flow: what was never gone
  through, and with ``-v`` what was; FLOWS (comma-separated app labels, flow
  labels, class names or dotted paths) limits the report;
* ``--flow-coverage-svg=DIR``: also draw each flow's chart, covered parts marked;
* ``--flow-coverage-fail-under=PERCENT``: fail the run below that coverage.

Off (no option given), the plugin registers nothing beyond its options and
fixtures: no step observer, no signal receiver, no hook that runs per test.
"""

from __future__ import annotations

import pytest

PLUGIN_NAME = "viewflow-flow-coverage"


def pytest_addoption(parser):
    group = parser.getgroup("viewflow", "viewflow flow coverage")
    group.addoption(
        "--flow-coverage",
        action="store",
        nargs="?",
        const="*",
        default=None,
        metavar="FLOWS",
        help="report which nodes and edges of each flow the tests went through; "
        "FLOWS (after '=') limits it to comma-separated app labels, flow labels, class names or dotted paths",
    )
    group.addoption(
        "--flow-coverage-svg",
        action="store",
        default=None,
        metavar="DIR",
        help="with --flow-coverage: write each flow's chart to DIR with the covered nodes and edges marked",
    )
    group.addoption(
        "--flow-coverage-fail-under",
        action="store",
        type=float,
        default=None,
        metavar="PERCENT",
        help="with --flow-coverage: fail when the flows' coverage (nodes and edges) is below PERCENT",
    )


def pytest_configure(config):
    selection = config.getoption("flow_coverage")
    if selection is None:
        if config.getoption("flow_coverage_svg") or config.getoption("flow_coverage_fail_under") is not None:
            raise pytest.UsageError("--flow-coverage-svg and --flow-coverage-fail-under need --flow-coverage.")
        return  # off: nothing is registered, nothing runs
    if "/" in selection or selection.endswith(".py") or "::" in selection:
        raise pytest.UsageError(
            f"--flow-coverage took {selection!r} as the flows to report: write --flow-coverage=FLOWS, "
            "or put the tests to run before it."
        )
    config.pluginmanager.register(CoverageSession(config, selection.split(",")), PLUGIN_NAME)


class CoverageSession:
    """Records the session's steps and reports at its end (registered only with ``--flow-coverage``)."""

    def __init__(self, config, selectors):
        self.config = config
        self.selectors = selectors
        self.svg_dir = config.getoption("flow_coverage_svg")
        self.fail_under = config.getoption("flow_coverage_fail_under")
        self.coverage = None
        self.reports = None

    def _install(self):
        if self.coverage is None:
            from .coverage import FlowCoverage

            self.coverage = FlowCoverage().install()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        self._install()  # Django is set up by now; once installed, this does nothing

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(self, session):
        yield
        if self.coverage is None:
            return  # no test ran
        from .coverage import select_flows

        self.reports = self.coverage.reports(select_flows(self.selectors))
        if self.fail_under is not None and self._percent() < self.fail_under:
            session.testsfailed += 1

    def _percent(self):
        total = sum(report.total for report in self.reports)
        return 100.0 * sum(report.covered for report in self.reports) / total if total else 100.0

    def pytest_terminal_summary(self, terminalreporter):
        if self.reports is None:
            return
        write = terminalreporter.write_line
        terminalreporter.section("flow coverage")
        if not self.reports:
            write(f"no flow matches {','.join(self.selectors)}")
            return
        verbose = self.config.getoption("verbose") > 0
        for report in self.reports:
            for line in report.lines(verbose=verbose):
                write(line)
        nodes = sum(len(report.nodes) for report in self.reports)
        edges = sum(len(report.edges) for report in self.reports)
        missed_nodes = sum(len(report.missed_nodes) for report in self.reports)
        missed_edges = sum(len(report.missed_edges) for report in self.reports)
        write(
            f"{'TOTAL':<40} nodes {nodes - missed_nodes:>3}/{nodes:<3} "
            f"edges {edges - missed_edges:>3}/{edges:<3} {self._percent():6.1f}%"
        )
        if self.svg_dir:
            paths = self.coverage.write_svgs([report.flow_class for report in self.reports], self.svg_dir)
            write(f"charts: {', '.join(str(path) for path in paths)}")
        if self.fail_under is not None and self._percent() < self.fail_under:
            write(f"FAIL: flow coverage {self._percent():.1f}% is below {self.fail_under:g}%", red=True)

    def pytest_unconfigure(self, config):
        if self.coverage is not None:
            self.coverage.uninstall()


def _database(request):
    """Give the test the database unless its ``django_db`` mark (or another fixture) already does."""
    if request.node.get_closest_marker("django_db") is not None or "transactional_db" in request.fixturenames:
        return
    try:
        request.getfixturevalue("db")
    except pytest.FixtureLookupError:  # no pytest-django: the test sets up its database itself
        pass


@pytest.fixture
def flow_tester(request):
    """``flow_tester(MyFlow, run_jobs=True)``: a :class:`viewflow.testing.FlowTester` for the flow."""
    _database(request)
    from .tester import FlowTester

    return FlowTester


@pytest.fixture
def flow_user(request):
    """``flow_user("approver", MyFlow.approve, superuser=False)``: a user with those permissions."""
    _database(request)
    from .users import make_user

    return make_user
