"""Drive a flow in a test as its people and its machines would.

:class:`FlowTester` starts processes through the real start view (or a
``StartFunction``); :class:`ProcessRun` acts on one process: it finds the
active task of a node, claims and completes it as a user through the real
pages with form data, runs jobs and moves time on, and asserts the path the
process took.

What happens "on commit" in production happens here too, in a pytest test
with or without ``transaction=True`` and in Django's ``TestCase`` alike:

* every action runs in :meth:`FlowTester.committed`. Inside a test
  transaction (``TestCase``, or pytest-django's ``db``), where nothing ever
  commits, Django's ``TestCase.captureOnCommitCallbacks(execute=True)`` runs
  what the steps left for their commit (the signals) when the action ends;
* a Job's message is never sent from a test: the tester holds it
  (:func:`viewflow.flow.job.jobs_held`) and, after each action, runs every
  waiting job in this process as a worker would run its message
  (:meth:`FlowTester.run_jobs`). With ``run_jobs=False`` the jobs wait,
  SCHEDULED, until the test calls ``run_jobs()`` itself.
"""

from __future__ import annotations

import datetime
import itertools
from contextlib import ExitStack, contextmanager
from unittest import mock

from django.contrib.auth import get_user_model
from django.db import connections, router
from django.test import Client, TestCase
from django.urls import NoReverseMatch
from django.utils import timezone

from ..flow.base import Node
from ..flow.job import jobs_held
from ..flow.start import Start
from ..models import Process
from ..signals import flow_started
from ..status import ACTIVE_TASK_STATUSES, TaskStatus
from ..views.urls import flow_url, task_url
from .forms import browser_data, form_errors
from .paths import build_path, flow_order, normalise_path

__all__ = ["FlowTester", "ProcessRun", "FlowTestError", "InvalidForm"]

_real_now = timezone.now
_uids = itertools.count()


class FlowTestError(AssertionError):
    """The flow or a page did not do what the test asked (a refusal, a missing task, a wrong path)."""


class InvalidForm(FlowTestError):
    """A page sent its form back with errors; ``errors`` is ``{input name: [messages]}``."""

    def __init__(self, what, errors):
        self.errors = errors
        lines = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        super().__init__(f"{what}: the form was refused: {lines or 'no error message on the page'}")


class FlowTester:
    """Test one flow class: ``FlowTester(HelloWorldFlow)``.

    ``run_jobs``: run waiting jobs after every action (the default), or leave
    them SCHEDULED until :meth:`run_jobs` is called. ``client_class``: the
    test client to log users in with.
    """

    client_class = Client
    #: how many rounds of jobs :meth:`run_jobs` runs before it gives up (jobs that schedule jobs forever)
    max_job_rounds = 100

    def __init__(self, flow_class, *, run_jobs=True, client_class=None):
        self.flow_class = flow_class
        self.runs_jobs = run_jobs
        if client_class is not None:
            self.client_class = client_class
        self.offset = datetime.timedelta(0)
        self.using = router.db_for_write(flow_class.process_cls)
        self._depth = 0
        self._clients = {}

    def __repr__(self):
        return f"<FlowTester {self.flow_class.__name__}>"

    # -- people -------------------------------------------------------------------

    def user(self, user):
        """``user`` itself, or the user whose username it is."""
        if user is None or not isinstance(user, str):
            return user
        model = get_user_model()
        try:
            return model._default_manager.get(**{model.USERNAME_FIELD: user})
        except model.DoesNotExist:
            raise FlowTestError(f"No user is called {user!r}.") from None

    def client(self, user):
        """A test client logged in as ``user`` (one per user, kept for the tester's life)."""
        user = self.user(user)
        client = self._clients.get(user.pk)
        if client is None:
            client = self._clients[user.pk] = self.client_class()
            client.force_login(user)
        return client

    # -- nodes --------------------------------------------------------------------

    def node(self, node):
        """The flow's node named ``node`` (a node object is checked to be of this flow)."""
        nodes = self.flow_class._meta.nodes
        if isinstance(node, Node):
            if nodes.get(node.name) is not node:
                raise FlowTestError(f"{node!r} is not a node of {self.flow_class.__name__}.")
            return node
        if node not in nodes:
            raise FlowTestError(
                f"{self.flow_class.__name__} has no node {node!r}; its nodes are {', '.join(nodes)}."
            )
        return nodes[node]

    def _start_node(self, node):
        if node is not None:
            node = self.node(node)
            if not isinstance(node, Start):
                raise FlowTestError(f"{node.name} is not started through a view: call run({node.name!r}, ...).")
            return node
        starts = [node for node in self.flow_class._meta.start_nodes if isinstance(node, Start)]
        if not starts:
            raise FlowTestError(f"{self.flow_class.__name__} has no start view: start it with run(start node, ...).")
        if len(starts) > 1:
            names = ", ".join(node.name for node in starts)
            raise FlowTestError(f"{self.flow_class.__name__} has several start views ({names}): say which with node=.")
        return starts[0]

    # -- starting a process -------------------------------------------------------

    def start(self, user, data=None, /, *, node=None, **fields):
        """Start a process as ``user`` through the start view, typing ``fields``; returns its :class:`ProcessRun`.

        The page is fetched first and its forms sent back as a browser would,
        with ``fields`` (and the ``data`` dict, for names that clash with this
        method's own) typed in. A refusal raises :class:`FlowTestError`, a form
        sent back with errors :class:`InvalidForm`.
        """
        start = self._start_node(node)
        if user is None:
            raise FlowTestError(f"Say who starts {self.flow_class.__name__}: a user or a username.")
        user = self.user(user)
        url = self.url(flow_url, self.flow_class, start.name)
        what = f"{user} starting {self.flow_class.__name__} at {url}"
        started = []

        def receiver(sender, process, **kwargs):
            started.append(process)

        uid = f"viewflow-testing-start-{next(_uids)}"
        flow_started.connect(receiver, sender=self.flow_class, weak=False, dispatch_uid=uid)
        try:
            with self.committed():
                self._post(self.client(user), url, {**(data or {}), **fields}, what)
        finally:
            flow_started.disconnect(sender=self.flow_class, dispatch_uid=uid)
        if not started:
            raise FlowTestError(f"{what}: the page answered as if done, but no process was started.")
        return ProcessRun(self, started[0])

    def run(self, node, *args, **kwargs):
        """``node.run(*args, **kwargs)`` as one committed action (a StartFunction, a Function).

        Returns the :class:`ProcessRun` of the process it started or moved on.
        """
        node = self.node(node)
        if not hasattr(node, "run"):
            raise FlowTestError(f"{node.name} is not run by code; people do it through its view: complete() it.")
        with self.committed():
            result = node.run(*args, **kwargs)
        process = result if isinstance(result, Process) else getattr(result, "process", None)
        return ProcessRun(self, process) if process is not None else result

    def send(self, signal, sender=None, **kwargs):
        """Send a Django ``signal`` as one committed action (what a ``Signal`` node waits for)."""
        with self.committed():
            return signal.send(sender=sender, **kwargs)

    def tester_for(self, flow_class):
        """A tester of another flow (a subprocess's) with this one's options, clock and logged-in clients."""
        if flow_class is self.flow_class:
            return self
        other = type(self)(flow_class, run_jobs=self.runs_jobs, client_class=self.client_class)
        other.offset, other._clients = self.offset, self._clients
        return other

    def process(self, process):
        """The :class:`ProcessRun` of a process started some other way (or of its primary key)."""
        if not isinstance(process, Process):
            process = self.flow_class.process_cls._default_manager.get(pk=process)
        return ProcessRun(self, process)

    # -- committing, jobs and time ------------------------------------------------

    @contextmanager
    def committed(self):
        """Run the block as code whose steps commit: their on-commit work runs when it ends.

        Inside a test transaction, Django's ``captureOnCommitCallbacks`` runs
        the steps' signals at the end of the block; in any test, the jobs the
        block scheduled run then too (unless the tester was made with
        ``run_jobs=False``), and the block sees the tester's clock as
        ``django.utils.timezone.now()``. Blocks nest: the outermost one commits.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            with self._as_committed():
                yield
        finally:
            self._depth = 0
        if self.runs_jobs:
            self.run_jobs()

    @contextmanager
    def _as_committed(self):
        with ExitStack() as stack:
            if self.offset:
                stack.enter_context(mock.patch.object(timezone, "now", self.now))
            stack.enter_context(jobs_held())
            if connections[self.using].in_atomic_block:  # a test transaction: nothing would ever commit
                stack.enter_context(TestCase.captureOnCommitCallbacks(using=self.using, execute=True))
            yield

    def run_jobs(self, process=None):
        """Run every job task waiting (SCHEDULED) in the database, or those of ``process``; returns how many ran.

        Each runs as a worker runs its message (``Job.run_here``): under the
        process lock, in its own step, and the flow moves on. Jobs that those
        steps schedule run too, round after round, until none waits.
        """
        task_cls = self.flow_class.task_cls
        ran, rounds = 0, 0
        while True:
            waiting = task_cls._default_manager.filter(status=TaskStatus.SCHEDULED, flow_task_type="JOB")
            if process is not None:
                waiting = waiting.filter(process_id=getattr(process, "pk", process))
            tasks = [task for task in waiting.order_by("pk") if hasattr(task.flow_task, "run_here")]
            if not tasks:
                return ran
            rounds += 1
            if rounds > self.max_job_rounds:
                raise FlowTestError(
                    f"Jobs are still waiting after {self.max_job_rounds} rounds: do they schedule each other forever?"
                )
            for task in tasks:
                ran += 1
                if self._depth:  # inside a committed() block: it runs the job's on-commit work when it ends
                    task.flow_task.run_here(task)
                    continue
                self._depth = 1  # the job's step commits on its own, without starting another round
                try:
                    with self._as_committed():
                        task.flow_task.run_here(task)
                finally:
                    self._depth = 0

    def now(self):
        """The tester's clock: the real time, plus how far :meth:`advance` moved it."""
        return _real_now() + self.offset

    def advance(self, delta=None, /, **timedelta_kwargs):
        """Move the clock on (``advance(days=3)`` or a ``timedelta``) and fire the timers due by then.

        Steps run by the tester from now on see the moved clock as
        ``timezone.now()``. Returns what :meth:`fire_due` returns.
        """
        delta = delta if delta is not None else datetime.timedelta(**timedelta_kwargs)
        if delta < datetime.timedelta(0):
            raise ValueError("The clock only moves forward.")
        self.offset += delta
        with self.committed():
            return self.fire_due(self.now())

    def fire_due(self, now):
        """Fire every timer and deadline due at ``now``; the extension point :meth:`advance` calls.

        It calls ``viewflow.operations.fire_due(now=now)``, the scheduler's own
        operation (what ``manage.py run_timers`` runs), and returns what fired.
        Override it to fire time-driven nodes of your own as well.
        """
        from .. import operations

        return operations.fire_due(now=now)

    # -- pages ----------------------------------------------------------------------

    def url(self, reverse, *args):
        """``reverse(*args)`` (``flow_url``, ``task_url``), or a clear error when the flow has no pages."""
        try:
            return reverse(*args)
        except NoReverseMatch as exc:
            raise FlowTestError(
                f"{self.flow_class.__name__} has no pages in the test's URLconf: register it with "
                f"viewflow.site.viewsite (whose urls the URLconf includes) to act through its views ({exc})."
            ) from None

    def _get(self, client, url, what):
        page = client.get(url)
        if page.status_code != 200:
            raise FlowTestError(f"{what}: GET {url} answered {page.status_code}{_reason(page)}.")
        return page

    def _post(self, client, url, typed, what):
        """GET the page, POST its forms back with ``typed`` filled in; the answer must be a redirect."""
        page = self._get(client, url, what)
        response = client.post(url, browser_data(page, typed))
        if response.status_code == 302:
            return response
        if response.status_code == 200:
            errors = form_errors(response)
            raise InvalidForm(what, errors)
        raise FlowTestError(f"{what}: POST {url} answered {response.status_code}{_reason(response)}.")


def _reason(response):
    reason = None
    if getattr(response, "context", None) is not None:
        try:
            reason = response.context.get("reason")
        except AttributeError:
            reason = None
    if response.status_code in (301, 302):
        return f" (to {response['Location']})"
    return f" ({reason})" if reason else ""


class ProcessRun:
    """One process under test: its tasks, the actions on them, and assertions."""

    def __init__(self, tester, process):
        self.tester = tester
        self.pk = process.pk

    def __repr__(self):
        return f"<ProcessRun {self.tester.flow_class.__name__} #{self.pk}>"

    @property
    def flow_class(self):
        return self.tester.flow_class

    @property
    def process(self):
        """The process, read again from the database."""
        return self.flow_class.process_cls._default_manager.get(pk=self.pk)

    @property
    def status(self):
        return self.process.status

    # -- tasks ----------------------------------------------------------------------

    def tasks(self, node=None, *, active=False):
        """This process's tasks (of ``node``; only the active ones), oldest first."""
        queryset = self.flow_class.task_cls._default_manager.filter(process_id=self.pk)
        if node is not None:
            queryset = queryset.filter(flow_task=self.tester.node(node))
        if active:
            queryset = queryset.filter(status__in=ACTIVE_TASK_STATUSES)
        return list(queryset.order_by(*_creation_order(self.flow_class.task_cls)))

    def task(self, node):
        """The one active task of ``node``; :class:`FlowTestError` when there is none or several."""
        node = self.tester.node(node)
        tasks = self.tasks(node, active=True)
        if len(tasks) == 1:
            return tasks[0]
        if tasks:
            raise FlowTestError(
                f"Process #{self.pk} has {len(tasks)} active tasks of {node.name}: "
                f"pick one from tasks({node.name!r}, active=True)."
            )
        active = ", ".join(
            f"{task.flow_task.name} ({task.status})" for task in self.tasks(active=True) if task.flow_task
        )
        raise FlowTestError(
            f"Process #{self.pk} has no active task of {node.name}; active: {active or 'nothing'}; path: {self.path()}."
        )

    def claim(self, node, user):
        """``user`` claims the active task of ``node`` through its assign page; returns the task."""
        task = self.task(node)
        user = self.tester.user(user)
        url = self.tester.url(task_url, task, "assign")
        what = f"{user} claiming {node if isinstance(node, str) else node.name} of process #{self.pk}"
        with self.tester.committed():
            response = self.tester.client(user).post(url)
            if response.status_code != 302:
                raise FlowTestError(f"{what}: POST {url} answered {response.status_code}{_reason(response)}.")
        task.refresh_from_db()
        if task.status != TaskStatus.ASSIGNED or task.owner_id != user.pk:
            owner = task.owner or "nobody"
            raise FlowTestError(f"{what}: the task is {task.status}, owned by {owner}{_reason(response)}.")
        return task

    def complete(self, node, user=None, data=None, /, **fields):
        """Do the active task of ``node`` as ``user`` through its page, typing ``fields``; returns the task.

        ``user`` defaults to the task's owner; a task still in its queue is
        claimed by ``user`` first. The page's forms go back as a browser sends
        them with ``fields`` (and the ``data`` dict) typed in. A refusal raises
        :class:`FlowTestError`, a form sent back with errors :class:`InvalidForm`
        (with the form's messages); the task is then still waiting.
        """
        task = self.task(node)
        name = task.flow_task.name
        if not hasattr(task.flow_task, "view") or task.flow_task.task_type == "START":
            raise FlowTestError(f"{name} is not done through a page: use run(), send() or run_jobs().")
        if user is None:
            if task.owner_id is None:
                raise FlowTestError(f"{name} of process #{self.pk} waits in a queue: say who claims it.")
            user = task.owner
        user = self.tester.user(user)
        with self.tester.committed():
            if task.status == TaskStatus.NEW:
                task = self.claim(node, user)
            self.tester._post(
                self.tester.client(user),
                self.tester.url(task_url, task),
                {**(data or {}), **fields},
                f"{user} doing {name} of process #{self.pk}",
            )
        task.refresh_from_db()
        return task

    def children(self, node=None):
        """The processes this one's Subprocess tasks (of ``node``) started, oldest first, as :class:`ProcessRun`."""
        children = Process._default_manager.filter(parent_task__process_id=self.pk)
        if node is not None:
            children = children.filter(parent_task__flow_task=self.tester.node(node))
        return [
            self.tester.tester_for(child.flow_class).process(child.pk)
            for child in children.order_by(*_creation_order(Process))
        ]

    # -- code, jobs, time -------------------------------------------------------------

    def run(self, node, *args, **kwargs):
        """``node.run(*args, **kwargs)`` as one committed action (a Function); returns this run."""
        self.tester.run(node, *args, **kwargs)
        return self

    def send(self, signal, sender=None, **kwargs):
        """Send ``signal`` as one committed action, with ``process=`` this process unless given."""
        kwargs.setdefault("process", self.process)
        self.tester.send(signal, sender=sender, **kwargs)
        return self

    def run_jobs(self):
        """Run this process's waiting jobs (see :meth:`FlowTester.run_jobs`); returns how many ran."""
        return self.tester.run_jobs(process=self.pk)

    def advance(self, delta=None, /, **timedelta_kwargs):
        """Move the tester's clock on and fire what is due (see :meth:`FlowTester.advance`)."""
        self.tester.advance(delta, **timedelta_kwargs)
        return self

    def committed(self):
        return self.tester.committed()

    # -- what happened ------------------------------------------------------------------

    def _in_flow_order(self):
        """Every task of the process, each after the tasks it came from (see :func:`paths.flow_order`)."""
        tasks = {task.pk: task for task in self.tasks()}
        links = self.flow_class.task_cls.previous.through._default_manager.filter(
            from_task_id__in=list(tasks)
        ).values_list("from_task_id", "to_task_id")
        return [tasks[key] for key in flow_order(list(tasks), links)]

    def nodes(self):
        """The node names of this process's tasks, in the order they were created."""
        return [task.flow_task.name if task.flow_task else "?" for task in self._in_flow_order()]

    def path(self):
        """The path the process took, with split branches as groups (see :mod:`viewflow.testing.paths`)."""
        return build_path(
            (task.flow_task.name if task.flow_task else "?", task.token)
            for task in self._in_flow_order()
            if not _unfired_deadline(task)
        )

    def assert_path(self, *expected):
        """Assert the process took exactly this path: node names in order, a split's branches as a group.

        ``assert_path("start", "split", [("a",), ("b", "c")], "join", "end")``;
        a group's branches may be given in any order.
        """
        actual = self.path()
        if normalise_path(expected) != actual:
            raise FlowTestError(f"Process #{self.pk} took {actual}, not {normalise_path(expected)}.")
        return self

    def assert_status(self, status):
        """Assert the process's status (``"DONE"`` or ``ProcessStatus.DONE``)."""
        actual = self.status
        if actual != status:
            raise FlowTestError(f"Process #{self.pk} is {actual}, not {status}; path: {self.path()}.")
        return self


def _unfired_deadline(task):
    """A deadline timer canceled with its task (done in time): no step of the path."""
    return getattr(task.flow_task, "watched", None) is not None and task.status == TaskStatus.CANCELED


def _creation_order(task_cls):
    """Tasks by creation: the key when it counts up, else the creation time (a UUID key does not)."""
    if task_cls._meta.pk.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField"):
        return ("pk",)
    return ("created", "pk")
