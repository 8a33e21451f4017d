"""The 0.6 import path of the test helpers: ``from viewflow.test import FlowTest``.

Tests written for viewflow 0.6 chain one call per task::

    with FlowTest(self, HelloWorldFlow) as flow_test:
        flow_test.Task(HelloWorldFlow.start).User("starter").Execute({"text": "Hi"}).Assert(lambda p: p.text == "Hi")
        flow_test.Task(HelloWorldFlow.approve).User("approver").Execute({"approved": True})
        flow_test.Task(HelloWorldFlow.end).Assert(lambda p: p.status == "DONE")

:class:`FlowTest` runs each call through :mod:`viewflow.testing`: the start view
and the task views are the real ones, jobs run once the step that scheduled
them is done, and the same errors are raised. New tests are shorter with
:class:`viewflow.testing.FlowTester` itself.
"""

from __future__ import annotations

from .flow.start import Start, StartFunction
from .testing.tester import FlowTester, FlowTestError

__all__ = ["FlowTest", "FlowTaskTest"]


class FlowTest:
    """One process of ``flow_class``, driven task by task: ``FlowTest(self, MyFlow)`` (or ``FlowTest(MyFlow)``).

    ``testcase`` (a ``TestCase``, may be omitted) reports failed ``Assert``
    calls with its own ``assertTrue``. Options (``run_jobs=False``) go to
    :class:`~viewflow.testing.FlowTester`, which is ``self.tester``.
    """

    def __init__(self, testcase, flow_class=None, **options):
        if flow_class is None:
            testcase, flow_class = None, testcase
        self.testcase = testcase
        self.tester = FlowTester(flow_class, **options)
        self.run = None  # the ProcessRun, once a Task(start node) was executed

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    @property
    def process(self):
        """The process under test, read again from the database."""
        if self.run is None:
            raise FlowTestError("No process yet: Execute() a start node first.")
        return self.run.process

    def Task(self, node):
        """The calls on ``node``'s task: ``.User(...)``, ``.Execute(...)``, ``.Assert(...)``."""
        return FlowTaskTest(self, self.tester.node(node))


class FlowTaskTest:
    """0.6's chain on one node: who acts, what they submit, what must hold afterwards."""

    def __init__(self, flow_test, node):
        self.flow_test = flow_test
        self.node = node
        self.user = None

    def User(self, user):
        """Act as ``user`` (a user, or a username)."""
        self.user = user
        return self

    def Execute(self, data=None, **fields):
        """Do the node's task: submit its form (``data``, a dict, and ``fields``), or run it.

        A start view starts the process, a task view is claimed if need be and
        completed, a ``StartFunction`` or ``Function`` is called with ``data``
        as keyword arguments, a Job runs. Gateways and ends run by themselves.
        """
        flow_test, node, tester = self.flow_test, self.node, self.flow_test.tester
        data = {**(data or {}), **fields}
        if isinstance(node, Start):
            flow_test.run = tester.start(self.user, data, node=node)
        elif isinstance(node, StartFunction):
            flow_test.run = tester.run(node, **data)
        elif flow_test.run is None:
            raise FlowTestError(f"{node.name}: no process yet: Execute() a start node first.")
        elif hasattr(node, "view"):
            flow_test.run.complete(node, self.user, data)
        elif node.task_type == "JOB":
            flow_test.run.task(node)  # it must be waiting
            flow_test.run.run_jobs()
        elif hasattr(node, "run"):  # a Function: its task loader finds the task, or it is given the task
            args = () if getattr(node, "task_loader", None) is not None else (flow_test.run.task(node),)
            flow_test.run.run(node, *args, **data)
        else:
            raise FlowTestError(f"{node.name} runs by itself once the flow reaches it: there is nothing to execute.")
        return self

    def Assert(self, check, message=None):
        """Assert ``check(process)`` holds, and that the flow reached this node."""
        process = self.flow_test.process
        reached = bool(self.flow_test.run.tasks(self.node))
        ok = reached and bool(check(process))
        message = message or (
            f"{self.node.name} was never reached; path: {self.flow_test.run.path()}"
            if not reached
            else f"{self.node.name}: the assertion does not hold for process #{process.pk}"
        )
        if self.flow_test.testcase is not None:
            self.flow_test.testcase.assertTrue(ok, message)
        elif not ok:
            raise FlowTestError(message)
        return self
