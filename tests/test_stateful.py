"""Property-based: random sequences of operations never break the engine's invariants.

A hypothesis state machine starts processes of two flows, claims, completes,
runs Function tasks, cancels tasks and processes, makes a Handler fail (a flag
in the process text) and retries it — legal and illegal operations alike. Each
operation must succeed exactly when the task's state allows it (else a clean
:class:`FlowRuntimeError`), and after every step:

* a process's status agrees with its tasks: DONE/CANCELED ⇒ no active task,
  DONE ⇒ one End task; ERROR ⇔ some task in ERROR (while the process runs);
* every DONE task except an End has successors;
* Joins balance: at most one join task per split group; a waiting (STARTED)
  join task still has an active branch; a DONE join has none and was reached
  by exactly the branches that were not canceled.
"""

import pytest
from django.core.exceptions import PermissionDenied
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.integrity_support import start_integrity
from tests.testapp.integrity_flows import IntegrityFlow, ParallelFlow
from tests.testapp.models import SampleProcess
from viewflow.exceptions import FlowRuntimeError
from viewflow.models import Process, Task
from viewflow.status import ACTIVE_TASK_STATUSES, ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db

ACTIVE_PROCESS = (ProcessStatus.NEW, ProcessStatus.STARTED, ProcessStatus.ERROR)


def tasks_of(process_pk, *nodes):
    queryset = Task.objects.filter(process_id=process_pk).order_by("pk")
    if nodes:
        queryset = queryset.filter(flow_task__in=nodes)
    return list(queryset)


def pick(tasks, index, active_only=False):
    """One of ``tasks`` (by ``index``); among the active ones only when asked and there are some."""
    if active_only:
        tasks = [task for task in tasks if task.is_active] or tasks
    return tasks[index % len(tasks)] if tasks else None


class EngineMachine(RuleBasedStateMachine):
    users = ()  # set by the test: users allowed to vet
    manager = None

    processes = Bundle("processes")

    def __init__(self):
        super().__init__()
        Process.objects.all().delete()  # each example starts from an empty database

    def attempt(self, legal, operation):
        """Run ``operation``: it must succeed when ``legal``, and fail cleanly otherwise."""
        try:
            operation()
        except (FlowRuntimeError, PermissionDenied) as exc:
            assert not legal, f"a legal operation failed: {exc}"
        else:
            assert legal, "an illegal operation went through"

    # -- starting ----------------------------------------------------------------------

    @initialize(target=processes, branches=st.integers(2, 3))
    def first_parallel(self, branches):
        return ParallelFlow.start.run(branches=branches).pk

    @initialize(target=processes, failing=st.booleans())
    def first_integrity(self, failing):
        return start_integrity("fail" if failing else "ok", approved=True).pk

    @rule(target=processes, failing=st.booleans(), approved=st.booleans())
    def start_integrity(self, failing, approved):
        return start_integrity("fail" if failing else "ok", approved=approved).pk

    @rule(target=processes, branches=st.integers(0, 3))
    def start_parallel(self, branches):
        return ParallelFlow.start.run(branches=branches).pk

    # -- people --------------------------------------------------------------------------

    @rule(process=processes, index=st.integers(0, 9), who=st.integers(0, 1))
    def assign(self, process, index, who):
        task = pick(tasks_of(process, IntegrityFlow.vet), index)
        if task is None:
            return
        user = self.users[who]

        def operation():
            with task.activation() as activation:
                activation.assign(user, by=user)

        self.attempt(task.status == TaskStatus.NEW, operation)

    @rule(process=processes, index=st.integers(0, 9), approved=st.booleans())
    def complete(self, process, index, approved):
        task = pick(tasks_of(process, IntegrityFlow.vet), index)
        if task is None or task.owner is None:
            return

        def operation():
            with task.activation() as activation:
                activation.process.approved = approved
                activation.process.save(update_fields=["approved"])
                activation.done(by=task.owner)

        self.attempt(task.status == TaskStatus.ASSIGNED, operation)

    # -- code ----------------------------------------------------------------------------

    @rule(process=processes, index=st.integers(0, 9), active_only=st.booleans())
    def run_function(self, process, index, active_only):
        task = pick(tasks_of(process, IntegrityFlow.wait, ParallelFlow.branch), index, active_only)
        if task is None:
            return
        self.attempt(task.status == TaskStatus.NEW, lambda: task.flow_task.run(task))

    @rule(process=processes, failing=st.booleans())
    def set_failure_flag(self, process, failing):
        SampleProcess.objects.filter(pk=process).update(text="fail" if failing else "ok")

    # -- managers ------------------------------------------------------------------------

    @rule(process=processes, index=st.integers(0, 20), active_only=st.booleans())
    def cancel_task(self, process, index, active_only):
        task = pick(tasks_of(process), index, active_only)
        if task is None:
            return

        def operation():
            with task.activation() as activation:
                activation.cancel(by=self.manager)

        self.attempt(task.status in ACTIVE_TASK_STATUSES, operation)

    @rule(process=processes, index=st.integers(0, 9))
    def cancel_branch(self, process, index):
        """Cancel an open task of a parallel branch (its Join must not wait for it any more)."""
        in_branch = [task for task in tasks_of(process) if "." in task.token and task.flow_task_type != "JOIN"]
        task = pick([task for task in in_branch if task.is_active], index)
        if task is None:
            return

        def operation():
            with task.activation() as activation:
                activation.cancel(by=self.manager)

        self.attempt(True, operation)

    @rule(process=processes, index=st.integers(0, 20), active_only=st.booleans())
    def retry(self, process, index, active_only):
        task = pick(tasks_of(process), index, active_only)
        if task is None:
            return

        def operation():
            with task.activation() as activation:
                activation.retry(by=self.manager)

        self.attempt(task.status == TaskStatus.ERROR, operation)

    @rule(process=processes)
    def cancel_process(self, process):
        current = Process.objects.get(pk=process)
        self.attempt(current.status in ACTIVE_PROCESS, lambda: current.cancel(by=self.manager))

    # -- invariants (checked after every step, from three queries) ------------------

    @invariant()
    def invariants_hold(self):
        processes = list(Process.objects.all())
        tasks = list(Task.objects.all())
        links = list(Task.previous.through.objects.values_list("from_task_id", "to_task_id"))
        by_process = {process.pk: [] for process in processes}
        for task in tasks:
            by_process[task.process_id].append(task)
        previous = {task.pk: set() for task in tasks}
        leading = {task.pk: set() for task in tasks}
        for later, earlier in links:
            previous[later].add(earlier)
            leading[earlier].add(later)
        by_pk = {task.pk: task for task in tasks}

        for process in processes:
            process_tasks = by_process[process.pk]
            active = [task for task in process_tasks if task.is_active]
            # the process's one status agrees with its tasks
            if process.status in (ProcessStatus.DONE, ProcessStatus.CANCELED):
                assert not active, f"{process} is {process.status} with active tasks {active}"
                assert process.finished is not None
            if process.status == ProcessStatus.DONE:
                ends = [task for task in process_tasks if task.flow_task_type == "END"]
                assert len(ends) == 1 and ends[0].status == TaskStatus.DONE, ends
            if process.status in (ProcessStatus.STARTED, ProcessStatus.ERROR):
                has_error = any(task.status == TaskStatus.ERROR for task in process_tasks)
                assert (process.status == ProcessStatus.ERROR) == has_error, (process.status, process_tasks)

        for task in tasks:
            # every DONE task except an End led somewhere
            if task.status == TaskStatus.DONE and task.flow_task_type != "END":
                assert leading[task.pk], f"{task} of process {task.process_id} is DONE but led nowhere"
            if task.flow_task_type != "JOIN":
                continue
            # Joins balance: one join task per split group, fired exactly when no branch is open
            join = task
            siblings = [t for t in by_process[join.process_id] if t.flow_task_type == "JOIN" and t.token == join.token]
            assert len(siblings) == 1, f"{len(siblings)} join tasks for group {join.token}"
            branches = [t for t in by_process[join.process_id] if t.token.startswith(f"{join.token}.")]
            open_branches = [t for t in branches if t.is_active]
            if join.status == TaskStatus.STARTED:
                assert open_branches, f"{join} waits but no branch of {join.token} is open"
            elif join.status == TaskStatus.DONE:
                assert not open_branches, f"{join} fired while {open_branches} were open"
                started = [
                    t for t in branches if any(by_pk[p].flow_task_type == "SPLIT" for p in previous[t.pk])
                ]
                arrived = previous[join.pk]
                expected = {t.pk for t in started if t.status != TaskStatus.CANCELED}
                if not started:  # a split with no branch arrives by itself
                    assert len(arrived) == 1 and by_pk[next(iter(arrived))].flow_task_type == "SPLIT"
                else:
                    # every branch that went on arrived; a canceled branch never does
                    assert arrived == expected, (join, arrived, expected)


def test_random_operations_keep_the_invariants(user_factory):
    EngineMachine.users = [user_factory(f"vetter{n}", "testapp.can_vet_sampleprocess") for n in range(2)]
    EngineMachine.manager = user_factory("manager", superuser=True)
    run_state_machine_as_test(
        EngineMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            database=None,
            derandomize=True,  # the same sequences on every run: reproducible in CI
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_canceling_the_last_open_branch_releases_the_join():
    """Found by the invariant "a waiting join has an open branch": canceled branches do not block a Join."""
    process = ParallelFlow.start.run(branches=3)
    first, second, third = tasks_of(process.pk, ParallelFlow.branch)
    ParallelFlow.branch.run(first)
    with second.activation() as activation:
        activation.cancel()
    assert Task.objects.get(process_id=process.pk, flow_task=ParallelFlow.gather).status == TaskStatus.STARTED
    with third.activation() as activation:
        activation.cancel()
    gather = Task.objects.get(process_id=process.pk, flow_task=ParallelFlow.gather)
    assert gather.status == TaskStatus.DONE
    # only the branch that went on arrived: a canceled branch releases the join without leading to it
    assert list(gather.previous.values_list("pk", flat=True)) == [first.pk]
    process = SampleProcess.objects.get(pk=process.pk)
    assert process.status == ProcessStatus.DONE and process.items == ["tallied"]
