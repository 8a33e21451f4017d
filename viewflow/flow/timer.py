"""Time in a flow: Timer, the deadlines of a person's task, and StartTimer.

One mechanism does all of it. A waiting timer is a task row in SCHEDULED with
its ``due`` time (an indexed column); the scheduler
(:func:`viewflow.scheduler.fire_due`, run by ``manage.py run_timers`` or a
Celery beat entry) finds the due ones and resumes each under the flow's lock,
so it fires exactly once, and never for a task that moved on meanwhile.

* :class:`Timer` waits, then the flow goes ``.Next(...)``.
* ``View(...).Deadline(delay, then=this.node, interrupting=True)`` gives each
  task of the node a timer of its own: a :class:`Deadline` task, created with
  the person's task (same token, linked to it as its ``previous``). When the
  person's task is done or canceled first, its deadline timers are canceled in
  the same step; when the deadline comes first, an interrupting one cancels the
  person's task and the flow goes on at ``then`` (escalation), a
  non-interrupting one starts ``then`` beside it (a reminder) and the task stays.
* :class:`StartTimer` starts a process on a schedule. Its next slot is a
  :class:`~viewflow.models.Schedule` row (a start has no process to hang a
  task on); the scheduler claims a slot with a conditional update, so two
  schedulers, or a beat that ticks twice, start it once.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..activation import WaitingActivation, undoable
from ..references import NodeRef
from ..status import TaskStatus
from .base import Edge, HumanTask, WaitingTask, due_time
from .start import BaseStart

__all__ = ["Timer", "Deadline", "StartTimer", "due_time", "CATCH_UP_CHOICES"]


def short_duration(delta):
    """A timedelta in a few characters: "2 d 4 h", "1 h 30 min", "45 s"."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, _("%d d")), (hours, _("%d h")), (minutes, _("%d min")), (secs, _("%d s"))]
    shown = [text % value for value, text in parts if value][:2]
    return " ".join(shown) or _("%d s") % 0


def describe_delay(delay):
    """A short label of a delay for the flow chart ("after 2 d", "at 2026-03-02 10:00"), or "" for a callable."""
    if isinstance(delay, datetime.timedelta):
        return _("after %(delay)s") % {"delay": short_duration(delay)}
    if isinstance(delay, datetime.datetime):
        return _("at %(time)s") % {"time": delay.strftime("%Y-%m-%d %H:%M")}
    return ""


class TimerActivation(WaitingActivation):
    """A timer's task: armed with its due time, fired by the scheduler or a manager, armed again by retry."""

    def arm(self):
        """Give the new task its due time; a delay callable that raises leaves the task in ERROR."""
        due = self._due_time()
        if due is not None:
            self.task.due = due  # the task is new in this step: written with its INSERT

    def _due_time(self):
        try:
            with undoable(self.step.using):  # the callable's writes, if it raises; no savepoint for a timedelta
                return due_time(self.flow_task.delay, self.process, timezone.now())
        except Exception as exc:
            self.fail(exc)
            return None

    def retry(self, by=None):
        """Wait again, with the due time computed again from now (its delay callable had raised)."""
        super().retry(by=by)
        due = self._due_time()
        if due is not None:
            self.step.update_task(self.task, (TaskStatus.SCHEDULED,), due=due)

    def interrupt(self, watched):
        """An escalation: cancel the watched tasks still active (and their other deadlines)."""
        for task in watched:
            if task.is_active:
                task.flow_task.activation_class(self.step, task).interrupt(keep=self.task)

    def fire(self, by=None):
        """Fire the timer now, in this step (a manager's operation): the flow goes on as if its time had come."""
        self.check("fire", by=by)
        self.resume(now=timezone.now(), force=True)


class TimerTask(WaitingTask):
    """Base of the nodes whose task waits in SCHEDULED until its ``due`` time (the scheduler resumes it).

    ``fire(task, now)`` is what the scheduler and a manager's "fire now" call:
    under the lock, a task that still waits is resumed; one that moved on
    (done, canceled, or given a later due time meanwhile) is left alone.
    """

    waiting_statuses = (TaskStatus.SCHEDULED,)
    activation_class = TimerActivation
    can_undo = False
    task_actions = WaitingTask.task_actions + ("fire", "due")
    shape = "event"
    fires_on_due = True

    def __init__(self, delay):
        super().__init__()
        self.delay = delay

    def arm(self, step, previous, token, task=None, **fields):
        """Create the waiting task with its due time (:meth:`TimerActivation.arm`)."""
        task = self.make_task(step, previous, token, task, status=TaskStatus.SCHEDULED, **fields)
        activation = self.activation_class(step, task)
        activation.arm()
        return activation

    def activate(self, step, previous, token, task=None):
        return self.arm(step, previous, token, task)

    def fire(self, task, now=None, force=False):
        """Fire ``task`` if it still waits and is due at ``now`` (or at once with ``force``); see the class."""
        return self.resume_by_pk(task.process_id, task.pk, now=now or timezone.now(), force=force)

    def on_resume(self, activation, /, now=None, force=False, **payload):
        task = activation.task
        if not force and (task.due is None or (now is not None and task.due > now)):
            raise NotDue(task)  # moved to a later time meanwhile: rolled back, nothing written

    def resume_failed(self, process_pk, task_pk, exc):
        if isinstance(exc, NotDue):
            return None
        raise exc

    def delay_label(self):
        return describe_delay(self.delay)


class NotDue(Exception):
    """The timer's task waits for a later time than the scheduler asked about."""


class Timer(TimerTask):
    """``flow.Timer(delay)``: wait, then go ``.Next(...)``.

    ``delay`` is a timedelta (from when the flow reaches the node), an aware
    datetime, or a callable of the process returning either.
    """

    task_type = "TIMER"


class Deadline(TimerTask):
    """The timer of one ``.Deadline(...)`` of a person's task (the flow declares it for you).

    Its task is created beside each task of ``watched`` with the same token and
    ``previous`` = that task. ``then`` is where the flow goes when it fires;
    ``interrupting`` says whether the watched task is canceled first.
    """

    task_type = "DEADLINE"

    def __init__(self, watched, delay, then, interrupting=True):
        super().__init__(delay)
        self.watched = watched
        self.interrupting = interrupting
        self._next_ref = then

    @property
    def task_title(self):
        if self._title:
            return self._title
        if self.interrupting:
            return _("Deadline of %(task)s") % {"task": self.watched.task_title}
        return _("Reminder of %(task)s") % {"task": self.watched.task_title}

    def resolve_edges(self, flow_class):
        ref = self._next_ref
        super().resolve_edges(flow_class)
        if ref is not None and self._next is None:
            name = ref.name if isinstance(ref, NodeRef) else ref
            flow_class._meta.errors[-1] = (
                self.watched.name,
                f".Deadline(then={name!r}) names no node of the flow",
            )

    def outgoing(self):
        label = gettext_lazy("escalate") if self.interrupting else gettext_lazy("remind")
        return [Edge(self, self._next, label)] if self._next is not None else []

    def on_resume(self, activation, /, now=None, force=False, **payload):
        super().on_resume(activation, now=now, force=force)
        if not self.interrupting:
            return  # a reminder: the watched task stays as it is, nothing to read
        step = activation.step
        watched = [
            task
            for task in step.flow_class.task_cls._base_manager.using(step.using).filter(
                leading=activation.task.pk, process_id=step.process.pk
            )
            if task.flow_task is self.watched
        ]
        activation.interrupt(watched)  # this deadline itself is finished by the resume


#: how a StartTimer treats the slots that passed while no scheduler ran
CATCH_UP_CHOICES = ("last", "all", "none")


HumanTask.deadline_class = Deadline  # what .Deadline(...) declares; flow.base cannot import this module back

class StartTimer(BaseStart):
    """``flow.StartTimer(every=timedelta | cron="0 9 * * MON")``: start a process on a schedule.

    ``func(activation, when)`` (optional, as ``StartTimer(func, cron=...)``) may
    fill the new process; ``when`` is the slot's time. ``tz`` is the time zone
    of a cron schedule (default: the project's ``TIME_ZONE``), so "9 o'clock"
    stays 9 o'clock across a daylight-saving change.

    ``catch_up`` says what happens to the slots that passed while no scheduler
    ran: ``"last"`` (the default) starts one process for them, ``"all"`` one per
    missed slot, ``"none"`` none (a slot fired more than ``grace`` late starts
    nothing). Never a storm: the next slot is armed from the present.
    """

    #: the scheduler (:mod:`viewflow.scheduler`) arms the nodes that say so, without importing them
    starts_on_schedule = True

    task_type = "START_TIMER"
    shape = "event"

    def __init__(self, func=None, every=None, cron=None, tz=None, catch_up="last", grace=datetime.timedelta(minutes=1)):
        super().__init__()
        self.func = func
        self.every = every
        self.cron = cron
        self.tz = tz
        self.catch_up = catch_up
        self.grace = grace

    def resolve_edges(self, flow_class):
        super().resolve_edges(flow_class)
        if self.func is not None and not callable(self.func):
            self.func = self._resolve_ref(self.func, flow_class)

    def schedule_errors(self):
        """What is wrong with the schedule's declaration (for the checks), as sentences."""
        errors = []
        if (self.every is None) == (self.cron is None):
            errors.append("needs exactly one of every=timedelta or cron='...'")
        positive = isinstance(self.every, datetime.timedelta) and self.every.total_seconds() > 0
        if self.every is not None and not positive:
            errors.append(f"every={self.every!r} is not a positive timedelta")
        if self.cron is not None:
            from croniter import croniter

            if not isinstance(self.cron, str) or not croniter.is_valid(self.cron):
                errors.append(f"cron={self.cron!r} is not a valid cron expression")
        if self.catch_up not in CATCH_UP_CHOICES:
            errors.append(f"catch_up={self.catch_up!r} is not one of {', '.join(CATCH_UP_CHOICES)}")
        return errors

    def zone(self):
        if self.tz is None:
            return timezone.get_default_timezone()
        return ZoneInfo(self.tz) if isinstance(self.tz, str) else self.tz

    def next_after(self, moment):
        """The first slot strictly after ``moment`` (aware)."""
        if self.every is not None:
            return moment + self.every
        from croniter import croniter

        local = moment.astimezone(self.zone())
        return croniter(self.cron, local).get_next(datetime.datetime).astimezone(datetime.UTC)

    def first_slot(self, now):
        return self.next_after(now)

    def following_slot(self, due, now):
        """The slot to arm after firing (or skipping) the slot ``due`` at ``now``."""
        following = self.next_after(due)
        if self.catch_up == "all" or following > now:
            return following
        if self.every is not None:  # jump over the missed slots in one step, not one by one
            missed = (now - due) // self.every
            following = due + self.every * missed
        while following <= now:
            following = self.next_after(following)
        return following

    def starts_at(self, due, now):
        """Does the slot ``due``, reached at ``now``, start a process?"""
        return self.catch_up != "none" or now - due <= self.grace

    def start_for(self, when):
        """Start a process for the slot ``when``; returns it (the flow moved on to the next nodes)."""
        with self.start() as activation:
            activation.task.due = when
            if self.func is not None:
                self.func(activation, when)
            return activation.done()

    @property
    def schedule_label(self):
        if self.cron is not None:
            return self.cron
        if isinstance(self.every, datetime.timedelta):
            return _("every %(delay)s") % {"delay": short_duration(self.every)}
        return ""
