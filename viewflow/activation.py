"""The engine: every status change of a task or a process goes through here.

A *step* is one transaction of one process, run holding the flow's lock. In it,
an *activation* moves one task through its lifecycle. Views, jobs, admin
actions, signals and management commands all call these same objects.

Two rules keep concurrent writers honest:

* state is re-read after the lock is taken (the lock yields the fresh process);
* every UPDATE of a task or process carries the status it was read with in its
  WHERE clause, and raises :class:`~viewflow.exceptions.FlowConflict` when no row matched, so a
  stale writer fails cleanly instead of overwriting.

Tasks created in a step are inserted in one INSERT when the step ends
(or earlier when their primary key is needed), and their ``previous`` links in
a second one: a transition costs a handful of statements whatever the flow.
"""

from __future__ import annotations

import traceback
import uuid
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from . import lineage, signals
from .exceptions import FlowConflict, FlowIllegalTransition, FlowRuntimeError
from .lock import lock_in_order
from .models import Process, Task
from .rules import TASK_RULES
from .statements import insert_process, insert_rows, insert_values, update_if_status
from .status import ACTIVE_TASK_STATUSES, RUNNING_PROCESS_STATUSES, ProcessStatus, TaskStatus

__all__ = [
    "Step",
    "Activation",
    "StartActivation",
    "HumanActivation",
    "AutomatedActivation",
    "WaitingActivation",
    "JobActivation",
    "activate",
    "resume_task",
    "fail_waiting_task",
    "run_step",
    "run_task_step",
    "start_step",
    "cancel_process",
    "cancel_in_step",
    "close_branch",
    "refresh_error_status",
    "undo_blocker",
    "task_label",
    "step_observers",
]

#: Callables ``observer(flow_class, tasks, links)`` told what each step writes, as it writes it:
#: ``tasks`` are the step's tasks, ``links`` its new ``(task, previous task)`` pairs. Empty
#: unless a tool adds one (the flow coverage of :mod:`viewflow.testing` does, and only when
#: asked to): with none, a step pays for one test of an empty list.
step_observers = []


class Step:
    """One locked transaction of one process."""

    def __init__(self, flow_class, process):
        self.flow_class = flow_class
        self.process = process
        self.tasks = []  # every task created in this step, saved or not
        self._links = []  # (task, previous task) pairs not yet written
        self.split_groups = set()  # token groups whose split ran in this step
        self.using = router.db_for_write(Task)
        self._signals = []  # (signal, kwargs) sent in this order once the step commits
        self._on_commit = []  # callbacks run once the step commits, after its signals are sent
        self.holds_all_tasks = False  # True in the step that creates the process: no task is elsewhere
        # subprocesses (see viewflow.lineage): the processes above this one, root first, as
        # (flow class, process pk, task pk) links; those of them this step locked, by pk;
        # the keys of this process's tasks now starting children (news from those children waits)
        self.lineage = []
        self.locked = {}
        self.busy = set()
        self._parent_changed = False  # this process (a child) changed status: its parent must look
        self._canceled = False  # tasks were canceled: their children must be too

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
        self.emit(signals.task_started, process=self.process, task=task)
        return task

    def discard(self, task):
        """Forget an unsaved task; return the tasks it was linked from."""
        self.tasks.remove(task)
        self._signals = [(signal, kwargs) for signal, kwargs in self._signals if kwargs.get("task") is not task]
        previous = [prev for linked, prev in self._links if linked is task]
        self._links = [(linked, prev) for linked, prev in self._links if linked is not task]
        return previous

    def link(self, task, previous):
        self._links.append((task, previous))

    def linked(self, task, previous):
        """Was ``task`` linked to ``previous`` in this step (the link is not written yet)?"""
        return any(linked is task and prev is previous for linked, prev in self._links)

    def insert(self, *tasks):
        """Insert tasks now (in one statement) because their primary key is needed."""
        unsaved = [task for task in tasks if task.pk is None]
        if unsaved:
            insert_rows(self.flow_class.task_cls, self.using, unsaved)

    def flush(self):
        """Write what the step still holds in memory: new tasks, then their links.

        The signals emitted so far are handed to ``transaction.on_commit``: they
        are sent once, in order, after the step commits, and never if it rolls back.
        """
        if self.process is None or self.process.pk is None:
            return  # a start step whose process was never created: nothing to write
        for observer in step_observers:
            observer(self.flow_class, self.tasks, self._links)
        self.insert(*self.tasks)
        if self._links:
            links = [(task.pk, prev.pk) for task, prev in self._links]
            insert_values(Task.previous.through, self.using, ("from_task", "to_task"), links)
            self._links = []
        if self._signals:
            pending, self._signals = self._signals, []
            flow_class = self.flow_class

            def send():
                for signal, kwargs in pending:
                    signal.send(sender=flow_class, **kwargs)

            transaction.on_commit(send, using=self.using)
        for callback in self._on_commit:
            transaction.on_commit(callback, using=self.using)
        self._on_commit = []
        if self._canceled:
            self._canceled = False
            if lineage.starts_children(self.flow_class):
                lineage.cancel_children(self)
        if self._parent_changed:
            self._parent_changed = False
            lineage.notify_parent(self)

    def on_commit(self, callback):
        """Call ``callback`` once the step commits, after the step's signals are sent.

        For work the step starts, such as a job's message: a job run in-process
        right after commit must not send its signals before those of the step
        that scheduled it.
        """
        self._on_commit.append(callback)

    def update_task(self, task, expected, **fields):
        """Conditionally update ``task``: only if its status is still one of ``expected``."""
        if task.pk is None:  # created in this step: nobody else can see it yet
            if task.status not in expected:
                raise _illegal(task, fields.get("status", "?"))
        else:
            if not update_if_status(Task, self.using, task.pk, expected, fields):
                statuses = "/".join(str(TaskStatus(status).label) for status in expected)
                raise FlowConflict(
                    _("%(task)s was changed by someone else (it is no longer %(statuses)s).")
                    % {"task": task_label(task), "statuses": statuses}
                )
        if fields.get("status") == TaskStatus.CANCELED and task.pk is not None:
            self._canceled = True
        for name, value in fields.items():
            setattr(task, name, value)

    def cancel_active(self, token_prefix=None, exclude=(), in_database=True):
        """Cancel the active tasks of this process (those of one token group if given).

        ``in_database=False``: only the tasks this step holds in memory; for a
        caller that knows no other task can be active.
        """
        now = timezone.now()
        excluded = {id(task) for task in exclude}
        for task in self.tasks:
            if task.pk is None and id(task) not in excluded and task.status in ACTIVE_TASK_STATUSES:
                if token_prefix is None or task.token.startswith(token_prefix):
                    task.status, task.finished = TaskStatus.CANCELED, now
        if (not in_database or self.holds_all_tasks) and not any(
            task.pk is not None and id(task) not in excluded and task.status in ACTIVE_TASK_STATUSES
            for task in self.tasks
        ):
            return
        queryset = Task._base_manager.using(self.using).filter(
            process_id=self.process.pk, status__in=ACTIVE_TASK_STATUSES
        )
        if token_prefix is not None:
            queryset = queryset.filter(token__startswith=token_prefix)
        exclude_pks = [task.pk for task in exclude if task.pk is not None]
        if exclude_pks:
            queryset = queryset.exclude(pk__in=exclude_pks)
        if queryset.update(status=TaskStatus.CANCELED, finished=now):
            self._canceled = True
        for task in self.tasks:
            if task.pk is not None and id(task) not in excluded and task.status in ACTIVE_TASK_STATUSES:
                if token_prefix is None or task.token.startswith(token_prefix):
                    task.status, task.finished = TaskStatus.CANCELED, now

    def has_active(self):
        """Is any task of the process still active (new tasks of this step included)?"""
        if any(task.pk is None and task.status in ACTIVE_TASK_STATUSES for task in self.tasks):
            return True
        return (
            Task._base_manager.using(self.using)
            .filter(process_id=self.process.pk, status__in=ACTIVE_TASK_STATUSES)
            .exists()
        )

    def count_active(self, token_prefix, exclude=(), in_database=True):
        """Count the active tasks of a token group (a Join's open branches).

        ``in_database=False``: count only the tasks this step holds, for a caller
        that asked the database itself.
        """
        excluded = {id(task) for task in exclude}
        group = token_prefix.rstrip(".")
        in_memory = [
            task
            for task in self.tasks
            if id(task) not in excluded
            and task.status in ACTIVE_TASK_STATUSES
            and task.token.startswith(token_prefix)
        ]
        if group in self.split_groups or not in_database:  # the whole group was born in this step
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
        if not update_if_status(Process, self.using, process.pk, (process.status,), {"status": status, **fields}):
            raise FlowConflict(
                _("Process #%(pk)s was changed by someone else.") % {"pk": process.pk}
            )
        process.status = status
        for name, value in fields.items():
            setattr(process, name, value)
        if self.lineage:
            self._parent_changed = True

    def cancel_process(self):
        """Cancel the process and its active tasks (its child processes follow when the step ends)."""
        self.cancel_active()
        self.set_process_status(ProcessStatus.CANCELED, finished=timezone.now())
        self.emit(signals.flow_finished, process=self.process)

    # -- signals -------------------------------------------------------------

    def emit(self, signal, **kwargs):
        """Send ``signal`` once the step has committed (a rolled back step sends nothing).

        Every task created in a step emits ``task_started`` (see :meth:`new_task`);
        signals keep the order they were emitted in.
        """
        self._signals.append((signal, kwargs))


def task_label(task):
    """"Task #97 (approve)": how messages name a task."""
    node = task.flow_task
    name = node.name if node is not None else "?"
    return _("Task #%(pk)s (%(node)s)") % {"pk": task.pk or _("new"), "node": name}


#: the words the messages put in their sentences, translated with them:
#: past participles ("… cannot be assigned") and verbs ("… may not assign …")
_WORDS = {
    "assigned": pgettext_lazy("cannot be …", "assigned"),
    "unassigned": pgettext_lazy("cannot be …", "unassigned"),
    "reassigned": pgettext_lazy("cannot be …", "reassigned"),
    "completed": pgettext_lazy("cannot be …", "completed"),
    "canceled": pgettext_lazy("cannot be …", "canceled"),
    "retried": pgettext_lazy("cannot be …", "retried"),
    "undone": pgettext_lazy("cannot be …", "undone"),
    "rescheduled": pgettext_lazy("cannot be …", "rescheduled"),
    "fired": pgettext_lazy("cannot be …", "fired"),
    "run": pgettext_lazy("cannot be …", "run"),
    "assign": pgettext_lazy("may not …", "assign"),
    "unassign": pgettext_lazy("may not …", "unassign"),
    "reassign": pgettext_lazy("may not …", "reassign"),
    "complete": pgettext_lazy("may not …", "complete"),
    "cancel": pgettext_lazy("may not …", "cancel"),
    "retry": pgettext_lazy("may not …", "retry"),
    "undo": pgettext_lazy("may not …", "undo"),
    "due": pgettext_lazy("may not …", "reschedule"),
    "fire": pgettext_lazy("may not …", "fire"),
}


def _word(action):
    return _WORDS.get(action, action)


def _illegal(task, action):
    return FlowIllegalTransition(
        _("%(task)s cannot be %(action)s: its status is %(status)s.")
        % {"task": task_label(task), "action": _word(action), "status": task.get_status_display()}
    )


@contextmanager
def run_step(flow_class, process_pk):
    """Lock the process, open a transaction and yield a :class:`Step` for it.

    A process started by another (a subprocess) is locked after the line of
    its ancestors, root first: see :mod:`viewflow.lineage` for why.
    """
    with _locked(flow_class, process_pk, None) as (step, _process):
        yield step
        step.flush()


@contextmanager
def run_task_step(flow_class, process_pk, task_pk):
    """:func:`run_step` for one task: yields ``(step, task)``, both read in one statement under the lock.

    Raises the task model's ``DoesNotExist`` when the process has no such task.
    """
    with _locked(flow_class, process_pk, task_pk) as (step, task):
        yield step, task
        step.flush()


@contextmanager
def _locked(flow_class, process_pk, task_pk):
    """Take the locks of a step: the process's (or the task's), after those of its ancestors."""
    above = lineage.ancestors(flow_class, process_pk, router.db_for_write(flow_class.process_cls))
    if not above:
        with flow_class.lock(process_pk, task_pk) as read:
            step = Step(flow_class, read if task_pk is None else read.process)
            with lineage.opened(step):
                yield step, read
        return
    order = [(link.flow_class, link.process_pk) for link in above] + [(flow_class, process_pk)]
    with lock_in_order(order, task_pk) as reads:
        read = reads[-1]
        step = Step(flow_class, read if task_pk is None else read.process)
        step.lineage = above
        step.locked = {link.process_pk: process for link, process in zip(above, reads)}
        with lineage.opened(step):
            yield step, read


@contextmanager
def start_step(flow_class, process):
    """A step that creates ``process``: nothing to lock yet, only a transaction.

    A child process (``process.parent_task`` set) is started from a step of
    its parent, open in this thread and holding the parent's lock.
    """
    using = router.db_for_write(flow_class.process_cls)
    parent_task = process.parent_task if process.parent_task_id is not None else None
    # a child starts inside its parent's step, in a savepoint of the Subprocess node: no second one
    with transaction.atomic(using=using, savepoint=parent_task is None):
        step = Step(flow_class, process)
        step.holds_all_tasks = process.pk is None
        if parent_task is not None:
            parent_step = lineage.open_step(parent_task.process_id)
            above = parent_step.lineage if parent_step is not None else []
            link = lineage.Link(parent_task.flow_task.flow_class, parent_task.process_id, parent_task.pk)
            step.lineage = [*above, link]
            if parent_step is not None:
                step.locked = {**parent_step.locked, parent_task.process_id: parent_step.process}
        with lineage.opened(step):
            yield step
            step.flush()


class Activation:
    """Drive one task of one step; subclasses add the transitions a node allows.

    The operations, and who may call them with ``by=user`` (``by=None`` is the
    engine or trusted code, and skips the permission check):

    ============ ======================================== =====================
    operation    allowed when                              who (``by``)
    ============ ======================================== =====================
    assign       a person's task is NEW                    the user themselves if
                                                           the node permits them,
                                                           or a flow manager
    unassign     ASSIGNED                                  its owner or a manager
    reassign     NEW or ASSIGNED                           a manager
    cancel       any active status (not a waiting Join)    a manager
    undo         DONE, node allows it (``can_undo``), see  a manager
                 :meth:`undo`
    retry        ERROR                                     a manager
    ============ ======================================== =====================

    An operation the task's state does not allow raises :class:`FlowIllegalTransition`
    naming the task and its status; a user who may not do it gets ``PermissionDenied``.
    Both halves are read from one place (:meth:`check`): the states from
    :data:`viewflow.rules.TASK_RULES`, who may from the flow's policy
    (``Flow.policy_class``, :class:`viewflow.policy.FlowPolicy`).
    """

    def __init__(self, step, task):
        self.step = step
        self.task = task
        self.process = step.process
        self.flow_task = task.flow_task
        self.flow_class = step.flow_class

    def require(self, *statuses, action):
        if self.task.status not in statuses:
            raise _illegal(self.task, action)

    def require_running_process(self, action):
        if self.process.status not in RUNNING_PROCESS_STATUSES:
            raise FlowIllegalTransition(
                _("%(task)s cannot be %(action)s: the status of process #%(pk)s is %(status)s.")
                % {
                    "task": task_label(self.task),
                    "action": _word(action),
                    "pk": self.process.pk,
                    "status": self.process.get_status_display(),
                }
            )

    def check(self, action, by=None, statuses=None, **kwargs):
        """Raise unless ``action`` may be done now: its rule in :data:`~viewflow.rules.TASK_RULES`.

        The task's state must be one the rule allows (``statuses`` widens it
        for a caller that knows better, such as a job's retry of a SCHEDULED
        task), with the process running if the rule says so
        (:class:`FlowIllegalTransition`), and the flow's policy must let ``by``
        do it (``PermissionDenied``; ``by=None`` is trusted code). Which of the
        two is checked first is the rule's ``state_first``.
        """
        rule = TASK_RULES[action]
        if rule.state_first:
            self._check_state(rule, statuses)
        if by is not None and not self.flow_class.policy.may(action, by, self.task, **kwargs):
            self.check_permission(False, by, action)
        if not rule.state_first:
            self._check_state(rule, statuses)

    def _check_state(self, rule, statuses=None):
        self.require(*(statuses or rule.statuses), action=rule.past)
        if rule.process_running:
            self.require_running_process(rule.past)

    def check_permission(self, allowed, by, action):
        """``PermissionDenied`` naming the user, the action and the task unless ``allowed`` (or ``by`` is None)."""
        if by is not None and not allowed:
            raise PermissionDenied(
                _("%(user)s may not %(action)s %(task)s.")
                % {"user": by, "action": _word(action), "task": task_label(self.task)}
            )

    def _not_human(self, action):
        return FlowIllegalTransition(
            _("%(task)s cannot be %(action)s: nobody does %(type)s tasks by hand.")
            % {"task": task_label(self.task), "action": _word(action), "type": self.task.flow_task_type}
        )

    def assign(self, user, by=None):
        raise self._not_human("assigned")

    def unassign(self, by=None):
        raise self._not_human("unassigned")

    def reassign(self, user, by=None):
        raise self._not_human("reassigned")

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
        self.flow_task.task_closed(self)
        self.flow_task.activate_next(self)

    def cancel(self, by=None):
        """Cancel this task (a manager's operation).

        A canceled task no longer holds its branch open: when it was the last
        open branch of its Split, the Join fires now (even if every branch was
        canceled, as for a split that started no branch). When nothing is left
        active in the process afterwards (the task was outside any split, or
        its split has no Join), the process is canceled too: nothing could
        move it on any more.
        """
        self.check("cancel", by)
        if not self.flow_task.can_cancel:
            raise FlowIllegalTransition(
                _("%(task)s cannot be canceled: its status is %(status)s; cancel the branches it waits for instead.")
                % {"task": task_label(self.task), "status": self.task.get_status_display()}
            )
        self.step.update_task(
            self.task, (self.task.status,), status=TaskStatus.CANCELED, finished=timezone.now()
        )
        self.flow_task.task_closed(self)
        close_branch(self.step, self.task)

    def undo(self, by=None):
        """Take back a DONE task and reopen it (ASSIGNED to its owner, or NEW in the queue).

        Allowed only for nodes with ``can_undo`` (View), while the process runs,
        and only while nothing the task led to has run yet: every task it led
        to must be waiting (NEW, ASSIGNED, SCHEDULED) or failed (ERROR); those
        are canceled (one already canceled, say by an earlier undo, is passed
        over). A Join still waiting for other branches only forgets this
        arrival. A successor that already ran (an If, a Handler, a done task)
        makes undo refuse, since its effects cannot be taken back.
        """
        self.check("undo", by)
        if not self.flow_task.can_undo:
            raise FlowIllegalTransition(
                _("%(task)s cannot be undone: its node does not allow it.") % {"task": task_label(self.task)}
            )
        leading = list(Task._base_manager.using(self.step.using).filter(previous=self.task))
        blocker = undo_blocker(leading)
        if blocker is not None:
            raise FlowIllegalTransition(
                _("%(task)s cannot be undone: the status of %(next)s is already %(status)s.")
                % {"task": task_label(self.task), "next": task_label(blocker), "status": blocker.get_status_display()}
            )
        waiting_joins = [task for task in leading if _is_waiting_join(task)]
        to_cancel = [task for task in leading if task.status in _UNDO_CANCELS]
        now = timezone.now()
        for task in to_cancel:
            self.step.update_task(task, (task.status,), status=TaskStatus.CANCELED, finished=now)
        if waiting_joins:
            Task.previous.through._default_manager.using(self.step.using).filter(
                from_task_id__in=[task.pk for task in waiting_joins], to_task_id=self.task.pk
            ).delete()
        reopened = TaskStatus.ASSIGNED if self.task.owner_id else TaskStatus.NEW
        self.step.update_task(self.task, (TaskStatus.DONE,), status=reopened, finished=None)
        self.flow_task.task_reopened(self)
        _refresh_error_status(self.step)

    def note_error(self, note):
        """Write ``note`` in the task's ``error`` field, its status unchanged (conditionally, as every update)."""
        self.step.update_task(self.task, (self.task.status,), error=note)

    def cancel_others(self, token_prefix):
        """Cancel the other active tasks of a token group (a first-wins Join closing its split's branches)."""
        self.step.cancel_active(token_prefix, exclude=[self.task])
        if self.process.status == ProcessStatus.ERROR:  # a canceled branch may have been the failed one
            refresh_error_status(self.step)

    def end_process(self, in_database=True):
        """The flow reached its end: cancel every other active task and finish the process (DONE).

        ``in_database=False``: only the tasks this step holds can be active (the
        flow never runs two branches at once), so no UPDATE is needed for them.
        """
        step = self.step
        step.cancel_active(exclude=[self.task], in_database=in_database)
        step.set_process_status(ProcessStatus.DONE, finished=self.task.finished or timezone.now())
        step.emit(signals.task_finished, process=self.process, task=self.task)
        step.emit(signals.flow_finished, process=self.process)

    def set_due(self, due, by=None):
        """Move the task's due time (a manager's operation): a waiting timer fires at ``due`` instead.

        Only while the task is active; ``due`` must be an aware datetime. A
        timer whose new time has passed fires on the scheduler's next round.
        """
        self.check("due", by=by)
        if due is None or timezone.is_naive(due):
            raise FlowIllegalTransition(
                _("%(task)s cannot be rescheduled: its due time must be an aware date and time.")
                % {"task": task_label(self.task)}
            )
        self.step.update_task(self.task, (self.task.status,), due=due)

    def fail(self, exc):
        """Save the task in ERROR with the traceback of ``exc``; the process shows ERROR."""
        step, task = self.step, self.task
        error = "".join(traceback.format_exception(exc))
        step.update_task(task, (task.status,), status=TaskStatus.ERROR, error=error)
        step.set_process_status(ProcessStatus.ERROR)
        step.emit(signals.task_failed, process=self.process, task=task, exception=exc)

    def retry(self, by=None):
        """Run an ERROR task again (only automated nodes fail)."""
        self.check("retry", by)
        raise FlowIllegalTransition(_("%(task)s cannot be retried.") % {"task": task_label(self.task)})


#: statuses of a next task that undo cancels: it has not run yet, or it failed
_UNDO_CANCELS = (TaskStatus.NEW, TaskStatus.ASSIGNED, TaskStatus.SCHEDULED, TaskStatus.ERROR)


def _is_waiting_join(task):
    return task.status == TaskStatus.STARTED and not getattr(task.flow_task, "can_cancel", True)


def undo_blocker(leading):
    """The first of the tasks a DONE task led to that already ran, so that undoing it would leave its effects.

    None when undo may go on: every such task is waiting or failed (undo cancels
    it), a Join still waiting for other branches (undo takes the arrival back),
    or canceled already (say by an earlier undo of the same task).
    """
    for task in leading:
        if _is_deadline_timer(task):
            continue  # the task's own deadline timer (closed with it, or a reminder that fired): not a successor
        if task.status != TaskStatus.CANCELED and not _is_waiting_join(task) and task.status not in _UNDO_CANCELS:
            return task
    return None


def _is_deadline_timer(task):
    return getattr(task.flow_task, "watched", None) is not None


def refresh_error_status(step):
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


_refresh_error_status = refresh_error_status  # the name the Celery job node imports


@contextmanager
def undoable(using):
    """Run a node's code so that whatever it wrote is undone if it raises.

    Like a nested ``transaction.atomic()``, but the savepoint is only created
    when the code sends its first SQL statement: most conditions and handlers
    touch no table, and then the two statements of a savepoint are saved. A
    failure before any SQL has nothing to roll back; callbacks the code
    registered with ``transaction.on_commit`` are dropped either way. Code that
    catches a database error which broke the transaction (PostgreSQL aborts it)
    fails too, as it would inside ``transaction.atomic()``.

    Built on Django's public API: an execute wrapper (``connection.execute_wrapper``)
    enters a ``transaction.atomic()`` block just before the code's first
    statement, and leaves it when the code returns or raises, so Django creates,
    releases or rolls back the savepoint and drops the callbacks registered in
    it. One thing has no public API: withdrawing the ``on_commit`` callbacks a
    failing node registered *before* its first statement (there was no
    savepoint yet); :func:`_drop_callbacks_since` does that from the
    connection's list of callbacks. The public alternative, a savepoint for
    every node, costs two statements per automated node that runs code.
    """
    if transaction.get_autocommit(using) or transaction.get_rollback(using):
        with transaction.atomic(using=using):
            yield
        return
    connection = connections[using]
    lazy = _LazySavepoint(using)
    callbacks_before = len(connection.run_on_commit)
    try:
        with connection.execute_wrapper(lazy):
            yield
    except BaseException as exc:
        if lazy.atomic is not None:
            lazy.atomic.__exit__(type(exc), exc, exc.__traceback__)  # back to the savepoint, its callbacks dropped
        else:
            transaction.set_rollback(False, using=using)  # no statement was sent: nothing to roll back
        _drop_callbacks_since(connection, callbacks_before)
        raise
    caught = transaction.get_rollback(using)  # the code swallowed a database error the ORM marked
    if lazy.atomic is not None:
        try:
            lazy.atomic.__exit__(None, None, None)  # releases the savepoint (or rolls back to it when marked)
        except DatabaseError:  # PostgreSQL: the code caught an error that aborted the transaction
            caught = True
    if caught:
        if lazy.atomic is None:
            transaction.set_rollback(False, using=using)
        _drop_callbacks_since(connection, callbacks_before)
        raise transaction.TransactionManagementError(
            _("The node's code caught a database error; its writes were rolled back.")
        )


class _LazySavepoint:
    """An execute wrapper that opens a nested ``transaction.atomic()`` just before the first statement."""

    def __init__(self, using):
        self.using = using
        self.atomic = None
        self._opening = False

    def __call__(self, execute, sql, params, many, context):
        if self.atomic is None and not self._opening:
            self._opening = True  # the SAVEPOINT statement itself passes through this wrapper
            try:
                atomic = transaction.atomic(using=self.using)
                atomic.__enter__()
                self.atomic = atomic
            finally:
                self._opening = False
        return execute(sql, params, many, context)


def _drop_callbacks_since(connection, count):
    """Withdraw the ``on_commit`` callbacks registered after the first ``count`` (no public API does)."""
    del connection.run_on_commit[count:]


def close_branch(step, task):
    """``task`` stopped without going on (it was canceled): let the flow react.

    If it was the last open branch of a split, the Join closing that split fires
    now. If afterwards nothing is active in the process, the process is canceled.
    """
    _refresh_error_status(step)
    group = task.token.rpartition(".")[0]
    if "/" in group:  # a branch of a split
        join = task.flow_task.closing_join()
        if join is not None and not step.count_active(f"{group}."):
            join.arrive(step, [], group)  # a canceled branch does not lead anywhere
    if step.process.status in (ProcessStatus.STARTED, ProcessStatus.ERROR) and not step.has_active():
        step.set_process_status(ProcessStatus.CANCELED, finished=timezone.now())
        step.emit(signals.flow_finished, process=step.process)


class StartActivation(Activation):
    """Create the process and its start task, then run the flow on."""

    def save_process(self):
        """Insert the new process (STARTED); a start view saves its formsets after this."""
        process = self.process
        if process.pk is None:
            process.flow_class = self.flow_class
            process.status = ProcessStatus.STARTED
            insert_process(process, self.step.using)
        elif process.status == ProcessStatus.NEW:
            self.step.set_process_status(ProcessStatus.STARTED)

    def done(self):
        """Save the process, finish the start task and run the flow on; returns the process.

        The tasks the flow reached are in the database when this returns.
        """
        step, process = self.step, self.process
        now = timezone.now()
        self.save_process()
        task = self.task
        task.process = process
        task.status, task.started, task.finished = TaskStatus.DONE, task.started or now, now
        step._signals.insert(0, (signals.flow_started, {"process": process, "task": task}))
        step.emit(signals.task_finished, process=process, task=task)
        self.flow_task.activate_next(self)
        step.flush()
        return process


class HumanActivation(Activation):
    """A task that waits for a person: assign, unassign, reassign, done."""

    def close_timers(self, nodes, keep=None):
        """Cancel the task's timers of ``nodes`` (its deadlines) still waiting, but ``keep``: it needs them no more.

        The timers are the tasks of those nodes linked to this one; those made in
        this step are still in memory, the others are canceled with one UPDATE.
        """
        step, task = self.step, self.task
        now = timezone.now()
        waiting = (TaskStatus.SCHEDULED, TaskStatus.ERROR)
        for timer in step.tasks:  # created in this step: not in the database yet
            if timer.pk is None and timer.flow_task in nodes and timer.status in waiting and step.linked(timer, task):
                timer.status, timer.finished = TaskStatus.CANCELED, now
        if task.pk is not None:
            from .fields import node_path

            timers = step.flow_class.task_cls._base_manager.using(step.using).filter(
                process_id=step.process.pk,
                flow_task__in=[node_path(node) for node in nodes],
                status__in=waiting,
                previous=task.pk,
            )
            if keep is not None and keep.pk is not None:
                timers = timers.exclude(pk=keep.pk)
            timers.update(status=TaskStatus.CANCELED, finished=now)

    def interrupt(self, keep=None):
        """Its deadline came first (an escalation): cancel the task and its other deadline timers.

        The flow goes on from the deadline; a task that was in ERROR no longer
        holds the process in ERROR.
        """
        failed = self.task.status == TaskStatus.ERROR
        self.step.update_task(self.task, (self.task.status,), status=TaskStatus.CANCELED, finished=timezone.now())
        self.close_timers(getattr(self.flow_task, "deadlines", ()), keep=keep)
        if failed:
            refresh_error_status(self.step)

    def assign(self, user, by=None):
        """Give a NEW task to ``user`` (a user claiming it for themselves, or a manager)."""
        self.check("assign", by, to=user)
        self.step.update_task(
            self.task, (TaskStatus.NEW,), status=TaskStatus.ASSIGNED, owner=user, started=timezone.now()
        )
        self.task.owner_id = user.pk

    def unassign(self, by=None):
        """Put an ASSIGNED task back in the queue."""
        self.check("unassign", by)
        if not self.flow_task.has_queue:
            raise FlowIllegalTransition(
                _("%(task)s cannot be unassigned: its node has no permission, so no queue could take it back. "
                  "A manager can reassign it.")
                % {"task": task_label(self.task)}
            )
        self.step.update_task(self.task, (TaskStatus.ASSIGNED,), status=TaskStatus.NEW, owner=None, started=None)

    def reassign(self, user, by=None):
        """Give a NEW or ASSIGNED task to ``user`` (a manager's operation)."""
        self.check("reassign", by)
        self.step.update_task(
            self.task, (self.task.status,), status=TaskStatus.ASSIGNED, owner=user, started=timezone.now()
        )

    def assign_owner(self):
        """Give the task to its node's ``.Assign(...)`` owner, if it names one.

        A callable that raises (say, a lookup that finds nobody) is the flow's
        error, not the person's who led here: the task is saved in ERROR with the
        traceback, the step is kept, and ``retry`` asks the callable again.
        """
        node, step, task = self.flow_task, self.step, self.task
        if node._assign is None:
            return
        if callable(node._assign):
            try:
                with transaction.atomic(using=step.using):
                    owner = node.resolve_owner(self.process, step)
            except Exception as exc:
                self.fail(exc)
                return
        else:
            owner = node._assign
        if owner is not None:
            step.update_task(task, (task.status,), status=TaskStatus.ASSIGNED, owner=owner, started=timezone.now())

    def retry(self, by=None):
        """Ask the node's ``.Assign(...)`` callable again for a task it failed to assign."""
        self.check("retry", by)
        self.step.update_task(self.task, (TaskStatus.ERROR,), status=TaskStatus.NEW, error="")
        self.assign_owner()
        refresh_error_status(self.step)

    def check_done(self, by=None):
        """Raise unless ``by`` may complete the task now: checked before their data is saved."""
        self.check("complete", by)

    def done(self, by=None):
        """Complete the task (its owner does) and run the flow on.

        The tasks the flow reached are in the database when this returns.
        """
        self.check_done(by)
        self.finish()
        self.step.flush()


class AutomatedActivation(Activation):
    """A task the engine runs at once: the node's code runs in a savepoint.

    If it raises, the savepoint is rolled back, the task is saved in ERROR with
    the traceback and the process shows ERROR; the step that reached the node
    is kept. :meth:`retry` runs it again later.
    """

    def run(self):
        if self.flow_task.runs_user_code:
            try:
                with undoable(self.step.using):
                    self.flow_task.execute(self)
            except Exception as exc:
                # the savepoint undid the node's writes; undo them in the process object too,
                # so that a later node of this step that saves the process cannot write them back
                self.process.refresh_from_db(using=self.step.using)
                self.fail(exc)
                return
        else:
            self.flow_task.execute(self)
        self.finish()

    def retry(self, by=None):
        """Run an ERROR task again; the process goes back to STARTED when nothing else failed."""
        self.check("retry", by)
        self.step.update_task(self.task, (TaskStatus.ERROR,), status=TaskStatus.NEW, error="")
        _refresh_error_status(self.step)
        self.flow_task.retry(self)


class WaitingActivation(AutomatedActivation):
    """The activation of a task that waits for something outside the step (see ``WaitingTask``).

    The node's ``on_resume(activation, *args, **payload)`` is its own work; it
    runs in the step that :func:`resume_task` opened under the flow's lock.
    """

    def resume(self, *args, **payload):
        """Do the node's work for the waiting task, mark it DONE and send the flow on."""
        self.flow_task.on_resume(self, *args, **payload)
        self.finish()

    def retry(self, by=None):
        """An ERROR task waits again (in the node's first waiting status) for its next event."""
        self.check("retry", by)
        self.step.update_task(self.task, (TaskStatus.ERROR,), status=self.flow_task.waiting_statuses[0], error="")
        refresh_error_status(self.step)


class JobActivation(WaitingActivation):
    """A job task: SCHEDULED in the step that reached it, run later by :func:`viewflow.flow.job.run_job`."""

    def retry(self, by=None, scheduled=False):
        """Dispatch the job again: an ERROR task, or with ``scheduled=True`` a SCHEDULED one too.

        ``scheduled=True`` is for a task whose message was never sent (the
        broker was down when its step committed) or was lost: the task gets a
        new message id and a new message. Should the old message still turn
        up, whichever arrives first runs the job; the other finds the task no
        longer SCHEDULED and does nothing.
        """
        self.check("retry", by, statuses=(TaskStatus.ERROR, TaskStatus.SCHEDULED) if scheduled else None)
        self.reschedule()

    def reschedule(self):
        """Back to SCHEDULED with a new message id; the node sends the new message once the step commits."""
        self.step.update_task(
            self.task, (self.task.status,), status=TaskStatus.SCHEDULED, error="", external_task_id=uuid.uuid4().hex
        )
        refresh_error_status(self.step)
        self.flow_task.dispatch_on_commit(self.step, self.task)


def resume_task(node, process_pk, task_pk, args=(), payload=None):
    """Resume the waiting task ``task_pk`` of ``node``: the one way a waiting task goes on.

    Under the flow's lock the task is re-read with its process. A task that is
    no longer waiting (not in ``node.waiting_statuses``, another node's, or
    gone: then ``None`` is passed) is handed to ``node.moved_on(task, *args,
    **payload)``, whose result is returned: the event came late or twice.
    Otherwise the node's ``on_resume`` runs, the task is marked DONE and the
    flow goes on, all in one transaction; the activation is returned.

    If the node's work raises, the step is rolled back whole (the task still
    waits) and ``node.resume_failed(process_pk, task_pk, exc)`` decides: the
    default re-raises to the caller; a job saves the task in ERROR
    (:func:`fail_waiting_task`).
    """
    payload = payload or {}
    flow_class = node.flow_class
    read = False
    try:
        with run_task_step(flow_class, process_pk, task_pk) as (step, task):
            read = True
            if task.flow_task is not node or task.status not in node.waiting_statuses:
                return node.moved_on(task, *args, **payload)
            activation = node.activation_class(step, task)
            activation.resume(*args, **payload)
            return activation
    except Exception as exc:
        if read:
            return node.resume_failed(process_pk, task_pk, exc)
        if isinstance(exc, flow_class.task_cls.DoesNotExist):
            return node.moved_on(None, *args, **payload)
        raise


def fail_waiting_task(node, process_pk, task_pk, exc):
    """In a new step, save the waiting task in ERROR with the traceback of ``exc``.

    For a waiting task whose work raised where nobody receives the exception
    (a job's worker, a timer's scheduler). Returns the activation, or None when
    the task stopped waiting meanwhile (nothing is written then).
    """
    try:
        with run_task_step(node.flow_class, process_pk, task_pk) as (step, task):
            if task.flow_task is not node or task.status not in node.waiting_statuses:
                return None
            activation = node.activation_class(step, task)
            activation.fail(exc)
            return activation
    except node.flow_class.task_cls.DoesNotExist:
        return None


@contextmanager
def activate(task):
    """Lock ``task``'s process, re-read the task and yield its activation."""
    flow_task = task.flow_task
    if flow_task is None:
        raise FlowRuntimeError(_("Task #%(pk)s names no known node.") % {"pk": task.pk})
    flow_class = flow_task.flow_class
    with run_task_step(flow_class, task.process_id, task.pk) as (step, fresh):
        yield flow_task.activation_class(step, fresh)


def cancel_process(process, by=None):
    """Cancel a process and every task still active in it."""
    flow_class = process.flow_class
    if by is not None and not flow_class.policy.can_cancel_process(by, process):
        raise PermissionDenied(_("%(user)s may not cancel processes.") % {"user": by})
    with run_step(flow_class, process.pk) as step:
        if step.process.status not in RUNNING_PROCESS_STATUSES:
            raise FlowIllegalTransition(
                _("Process #%(pk)s cannot be canceled: its status is %(status)s.")
                % {"pk": process.pk, "status": step.process.get_status_display()}
            )
        cancel_in_step(step)
        process.status, process.finished = step.process.status, step.process.finished
    return process


def cancel_in_step(step):
    """Cancel the step's process and its active tasks (their child processes follow when the step ends)."""
    step.cancel_process()
