"""The engine: every status change of a task or a process goes through here.

A *step* is one transaction of one process, run holding the flow's lock. In it,
an *activation* moves one task through its lifecycle. Views, jobs, admin
actions, signals and management commands all call these same objects.

Two rules keep concurrent writers honest:

* state is re-read after the lock is taken (the lock yields the fresh process);
* every UPDATE of a task or process carries the status it was read with in its
  WHERE clause, and raises :class:`FlowRuntimeError` when no row matched, so a
  stale writer fails cleanly instead of overwriting.

Tasks created in a step are inserted in one ``bulk_create`` when the step ends
(or earlier when their primary key is needed), and their ``previous`` links in
a second one: a transition costs a handful of statements whatever the flow.
"""

from __future__ import annotations

import traceback
from contextlib import contextmanager

from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import signals
from .exceptions import FlowRuntimeError
from .models import Process, Task
from .status import ACTIVE_TASK_STATUSES, ProcessStatus, TaskStatus

__all__ = [
    "Step",
    "Activation",
    "StartActivation",
    "HumanActivation",
    "AutomatedActivation",
    "activate",
    "run_step",
    "start_step",
    "cancel_process",
]


class Step:
    """One locked transaction of one process."""

    def __init__(self, flow_class, process):
        self.flow_class = flow_class
        self.process = process
        self.tasks = []  # every task created in this step, saved or not
        self._links = []  # (task, previous task) pairs not yet written
        self.split_groups = set()  # token groups whose split ran in this step
        self.using = router.db_for_write(Task)

    # -- tasks ---------------------------------------------------------------

    def new_task(self, node, token, previous=(), **fields):
        """Create a task of ``node`` in memory; it is inserted when the step ends."""
        task = self.flow_class.task_cls(
            process=self.process,
            flow_task=node,
            flow_task_type=node.task_type,
            token=token,
            **fields,
        )
        self.tasks.append(task)
        self._links.extend((task, prev) for prev in previous)
        return task

    def discard(self, task):
        """Forget an unsaved task; return the tasks it was linked from."""
        self.tasks.remove(task)
        previous = [prev for linked, prev in self._links if linked is task]
        self._links = [(linked, prev) for linked, prev in self._links if linked is not task]
        return previous

    def link(self, task, previous):
        self._links.append((task, previous))

    def insert(self, *tasks):
        """Insert tasks now (in one statement) because their primary key is needed."""
        unsaved = [task for task in tasks if task.pk is None]
        if not unsaved:
            return
        if len(unsaved) > 1 and connections[self.using].features.can_return_rows_from_bulk_insert:
            self.flow_class.task_cls._default_manager.using(self.using).bulk_create(unsaved)
        else:
            for task in unsaved:
                task.save(using=self.using, force_insert=True)

    def flush(self):
        """Write what the step still holds in memory: new tasks, then their links."""
        if self.process is None or self.process.pk is None:
            return  # a start step whose process was never created: nothing to write
        self.insert(*self.tasks)
        if self._links:
            through = Task.previous.through
            through._default_manager.using(self.using).bulk_create(
                [through(from_task_id=task.pk, to_task_id=prev.pk) for task, prev in self._links]
            )
            self._links = []

    def update_task(self, task, expected, **fields):
        """Conditionally update ``task``: only if its status is still one of ``expected``."""
        if task.pk is None:  # created in this step: nobody else can see it yet
            if task.status not in expected:
                raise _illegal(task, fields.get("status", "?"))
        else:
            updated = (
                Task._base_manager.using(self.using)
                .filter(pk=task.pk, status__in=expected)
                .update(**fields)
            )
            if not updated:
                raise FlowRuntimeError(
                    _("%(task)s was changed by someone else (it is no longer %(statuses)s).")
                    % {"task": _task_label(task), "statuses": "/".join(expected)}
                )
        for name, value in fields.items():
            setattr(task, name, value)

    def cancel_active(self, token_prefix=None, exclude=()):
        """Cancel the active tasks of this process (those of one token group if given)."""
        now = timezone.now()
        excluded = {id(task) for task in exclude}
        for task in self.tasks:
            if task.pk is None and id(task) not in excluded and task.status in ACTIVE_TASK_STATUSES:
                if token_prefix is None or task.token.startswith(token_prefix):
                    task.status, task.finished = TaskStatus.CANCELED, now
        queryset = Task._base_manager.using(self.using).filter(
            process_id=self.process.pk, status__in=ACTIVE_TASK_STATUSES
        )
        if token_prefix is not None:
            queryset = queryset.filter(token__startswith=token_prefix)
        exclude_pks = [task.pk for task in exclude if task.pk is not None]
        if exclude_pks:
            queryset = queryset.exclude(pk__in=exclude_pks)
        queryset.update(status=TaskStatus.CANCELED, finished=now)
        for task in self.tasks:
            if task.pk is not None and id(task) not in excluded and task.status in ACTIVE_TASK_STATUSES:
                if token_prefix is None or task.token.startswith(token_prefix):
                    task.status, task.finished = TaskStatus.CANCELED, now

    def count_active(self, token_prefix, exclude=()):
        """Count the active tasks of a token group (a Join's open branches)."""
        excluded = {id(task) for task in exclude}
        group = token_prefix.rstrip(".")
        in_memory = [
            task
            for task in self.tasks
            if id(task) not in excluded
            and task.status in ACTIVE_TASK_STATUSES
            and task.token.startswith(token_prefix)
        ]
        if group in self.split_groups:  # the whole group was born in this step
            return len(in_memory)
        saved_in_step = [task.pk for task in in_memory if task.pk is not None]
        queryset = Task._base_manager.using(self.using).filter(
            process_id=self.process.pk, status__in=ACTIVE_TASK_STATUSES, token__startswith=token_prefix
        )
        exclude_pks = [task.pk for task in exclude if task.pk is not None] + saved_in_step
        if exclude_pks:
            queryset = queryset.exclude(pk__in=exclude_pks)
        return queryset.count() + len(in_memory)

    # -- process -------------------------------------------------------------

    def set_process_status(self, status, **fields):
        """Move the process to ``status``, conditionally on the status it was read with."""
        process = self.process
        if process.status == status and not fields:
            return
        updated = (
            Process._base_manager.using(self.using)
            .filter(pk=process.pk, status=process.status)
            .update(status=status, **fields)
        )
        if not updated:
            raise FlowRuntimeError(
                _("Process #%(pk)s was changed by someone else.") % {"pk": process.pk}
            )
        process.status = status
        for name, value in fields.items():
            setattr(process, name, value)

    # -- signals -------------------------------------------------------------

    def emit(self, signal, **kwargs):
        """Send a signal once the step has committed (a rolled back step sends nothing)."""
        flow_class = self.flow_class
        transaction.on_commit(
            lambda: signal.send(sender=flow_class, **kwargs), using=self.using
        )


def _task_label(task):
    node = task.flow_task
    name = node.name if node is not None else "?"
    return f"Task #{task.pk or 'new'} ({name})"


def _illegal(task, action):
    return FlowRuntimeError(
        _("%(task)s cannot be %(action)s: it is %(status)s.")
        % {"task": _task_label(task), "action": action, "status": task.status}
    )


@contextmanager
def run_step(flow_class, process_pk):
    """Lock the process, open a transaction and yield a :class:`Step` for it."""
    with flow_class.lock(process_pk) as process:
        step = Step(flow_class, process)
        yield step
        step.flush()


@contextmanager
def start_step(flow_class, process):
    """A step that creates ``process``: nothing to lock yet, only a transaction."""
    using = router.db_for_write(flow_class.process_cls)
    with transaction.atomic(using=using):
        step = Step(flow_class, process)
        yield step
        step.flush()


class Activation:
    """Drive one task of one step; subclasses add the transitions a node allows."""

    def __init__(self, step, task):
        self.step = step
        self.task = task
        self.process = step.process
        self.flow_task = task.flow_task
        self.flow_class = step.flow_class

    def require(self, *statuses, action):
        if self.task.status not in statuses:
            raise _illegal(self.task, action)

    def check_permission(self, allowed, by, action):
        if by is not None and not allowed:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied(
                _("%(user)s may not %(action)s %(task)s.")
                % {"user": by, "action": action, "task": _task_label(self.task)}
            )

    def finish(self):
        """Mark the task DONE (conditionally) and send the flow on to the next nodes."""
        now = timezone.now()
        self.step.update_task(
            self.task,
            (TaskStatus.NEW, TaskStatus.ASSIGNED, TaskStatus.STARTED, TaskStatus.SCHEDULED),
            status=TaskStatus.DONE,
            finished=now,
            started=self.task.started or now,
        )
        self.step.emit(signals.task_finished, process=self.process, task=self.task)
        self.flow_task.activate_next(self)

    def cancel(self, by=None):
        """Cancel this task (a manager's operation)."""
        self.check_permission(by is None or self.flow_class.can_manage(by), by, "cancel")
        self.require(*ACTIVE_TASK_STATUSES, action="canceled")
        self.step.update_task(
            self.task, (self.task.status,), status=TaskStatus.CANCELED, finished=timezone.now()
        )
        _release_waiting_join(self.step, self.task)
        _refresh_error_status(self.step)

    def retry(self, by=None):
        """Only tasks the engine runs can fail; others cannot be retried (a clear error, not a crash)."""
        raise _illegal(self.task, "retried")

    def undo(self, by=None):
        """Take back a DONE task whose successors nobody has touched yet, and reopen it."""
        self.check_permission(by is None or self.flow_class.can_manage(by), by, "undo")
        self.require(TaskStatus.DONE, action="undone")
        if not self.flow_task.can_undo:
            raise FlowRuntimeError(
                _("%(task)s cannot be undone: its node does not allow it.") % {"task": _task_label(self.task)}
            )
        leading = list(Task._base_manager.using(self.step.using).filter(previous=self.task))
        for task in leading:
            if task.status not in (TaskStatus.NEW, TaskStatus.ASSIGNED, TaskStatus.SCHEDULED, TaskStatus.ERROR):
                raise FlowRuntimeError(
                    _("%(task)s cannot be undone: %(next)s is already %(status)s.")
                    % {"task": _task_label(self.task), "next": _task_label(task), "status": task.status}
                )
        for task in leading:
            self.step.update_task(task, (task.status,), status=TaskStatus.CANCELED, finished=timezone.now())
        reopened = TaskStatus.ASSIGNED if self.task.owner_id else TaskStatus.NEW
        self.step.update_task(self.task, (TaskStatus.DONE,), status=reopened, finished=None)
        if self.process.status in (ProcessStatus.DONE, ProcessStatus.ERROR):
            self.step.set_process_status(ProcessStatus.STARTED, finished=None)


def _release_waiting_join(step, task):
    """A canceled branch no longer holds its Join back: fire the Join if it now waits for nothing."""
    group = task.token.rpartition(".")[0]
    if "/" not in group:
        return  # not a branch of a split
    join_task = (
        step.flow_class.task_cls._base_manager.using(step.using)
        .filter(process_id=step.process.pk, token=group, status=TaskStatus.STARTED)
        .first()
    )
    if join_task is not None and hasattr(join_task.flow_task, "release"):
        join_task.process = step.process
        join_task.flow_task.release(step, join_task)


def _refresh_error_status(step):
    """A process shows ERROR while any of its tasks is in ERROR, STARTED otherwise."""
    process = step.process
    if process.status not in (ProcessStatus.STARTED, ProcessStatus.ERROR):
        return
    has_error = any(t.status == TaskStatus.ERROR for t in step.tasks if t.pk is None) or (
        Task._base_manager.using(step.using)
        .filter(process_id=process.pk, status=TaskStatus.ERROR)
        .exists()
    )
    step.set_process_status(ProcessStatus.ERROR if has_error else ProcessStatus.STARTED)


class StartActivation(Activation):
    """Create the process and its start task, then run the flow on."""

    def save_process(self):
        """Insert the new process (STARTED); a start view saves its formsets after this."""
        process = self.process
        if process.pk is None:
            process.flow_class = self.flow_class
            process.status = ProcessStatus.STARTED
            process.save(using=self.step.using)
        elif process.status == ProcessStatus.NEW:
            self.step.set_process_status(ProcessStatus.STARTED)

    def done(self):
        step, process = self.step, self.process
        now = timezone.now()
        self.save_process()
        task = self.task
        task.process = process
        task.status, task.started, task.finished = TaskStatus.DONE, task.started or now, now
        step.emit(signals.flow_started, process=process, task=task)
        step.emit(signals.task_finished, process=process, task=task)
        self.flow_task.activate_next(self)
        return process


class HumanActivation(Activation):
    """A task that waits for a person: assign, unassign, reassign, done."""

    def assign(self, user, by=None):
        # state first: the loser of a claim race learns the task is taken, not that it lacks permission
        self.require(TaskStatus.NEW, action="assigned")
        self.check_permission(
            by is not None and ((by == user and self.flow_task.can_assign(by, self.task)) or self.flow_class.can_manage(by)),
            by,
            "assign",
        )
        self.step.update_task(
            self.task, (TaskStatus.NEW,), status=TaskStatus.ASSIGNED, owner=user, started=timezone.now()
        )
        self.task.owner_id = user.pk
        self.step.emit(signals.task_started, process=self.process, task=self.task)

    def unassign(self, by=None):
        self.check_permission(
            by is not None and (self.task.owner_id == by.pk or self.flow_class.can_manage(by)), by, "unassign"
        )
        self.require(TaskStatus.ASSIGNED, action="unassigned")
        self.step.update_task(self.task, (TaskStatus.ASSIGNED,), status=TaskStatus.NEW, owner=None, started=None)

    def reassign(self, user, by=None):
        self.check_permission(by is not None and self.flow_class.can_manage(by), by, "reassign")
        self.require(TaskStatus.ASSIGNED, TaskStatus.NEW, action="reassigned")
        self.step.update_task(
            self.task, (self.task.status,), status=TaskStatus.ASSIGNED, owner=user, started=timezone.now()
        )

    def done(self, by=None):
        self.check_permission(by is not None and self.task.owner_id == by.pk, by, "complete")
        self.require(TaskStatus.ASSIGNED, TaskStatus.STARTED, action="completed")
        self.finish()


class AutomatedActivation(Activation):
    """A task the engine runs at once: the node's code runs in a savepoint.

    If it raises, the savepoint is rolled back, the task is saved in ERROR with
    the traceback and the process shows ERROR; the step that reached the node
    is kept. :meth:`retry` runs it again later.
    """

    def run(self):
        if self.flow_task.runs_user_code:
            try:
                with transaction.atomic(using=self.step.using):
                    self.flow_task.execute(self)
            except Exception as exc:
                self.fail(exc)
                return
        else:
            self.flow_task.execute(self)
        self.finish()

    def fail(self, exc):
        step, task = self.step, self.task
        error = "".join(traceback.format_exception(exc))
        step.update_task(task, (task.status,), status=TaskStatus.ERROR, error=error)
        step.set_process_status(ProcessStatus.ERROR)
        step.emit(signals.task_failed, process=self.process, task=task, exception=exc)

    def retry(self, by=None):
        """Run an ERROR task again; the process goes back to STARTED when nothing else failed."""
        self.check_permission(by is None or self.flow_class.can_manage(by), by, "retry")
        self.require(TaskStatus.ERROR, action="retried")
        self.step.update_task(self.task, (TaskStatus.ERROR,), status=TaskStatus.NEW, error="")
        _refresh_error_status(self.step)
        self.flow_task.retry(self)


@contextmanager
def activate(task):
    """Lock ``task``'s process, re-read the task and yield its activation."""
    flow_task = task.flow_task
    if flow_task is None:
        raise FlowRuntimeError(_("Task #%(pk)s names no known node.") % {"pk": task.pk})
    flow_class = flow_task.flow_class
    with run_step(flow_class, task.process_id) as step:
        fresh = flow_class.task_cls._base_manager.using(step.using).get(pk=task.pk)
        fresh.process = step.process
        yield flow_task.activation_class(step, fresh)


def cancel_process(process, by=None):
    """Cancel a process and every task still active in it."""
    flow_class = process.flow_class
    if by is not None and not flow_class.can_manage(by):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(_("%(user)s may not cancel processes.") % {"user": by})
    with run_step(flow_class, process.pk) as step:
        if step.process.status not in (ProcessStatus.NEW, ProcessStatus.STARTED, ProcessStatus.ERROR):
            raise FlowRuntimeError(
                _("Process #%(pk)s cannot be canceled: it is %(status)s.")
                % {"pk": process.pk, "status": step.process.status}
            )
        step.cancel_active()
        step.set_process_status(ProcessStatus.CANCELED, finished=timezone.now())
        process.status, process.finished = step.process.status, step.process.finished
        step.emit(signals.flow_finished, process=step.process)
    return process
