"""Leave approval: a manager decides, long leaves escalate to a director, a Signal closes it.

A manager who lets a request wait is reminded after ``REMIND_AFTER``; if it still
waits after ``ESCALATE_AFTER`` it goes to a director (``make demo`` runs
``manage.py run_timers`` beside the server, so both happen within a minute).
"""

import datetime

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.flow import flow_signal, flow_start_func
from viewflow.site import viewsite
from viewflow.status import TaskStatus
from viewflow.views import ProcessView, StartView

from .models import LeaveProcess, LongLeavePolicy
from .signals import employee_returned

#: short enough to watch in the demo; a real flow would say days
REMIND_AFTER = datetime.timedelta(seconds=20)
ESCALATE_AFTER = datetime.timedelta(seconds=60)


def waiting_return(flow_task, sender, process, **kwargs):
    """Task loader of ``wait_return``: the process's task still waiting for the employee."""
    return flow_task.flow_class.task_cls._default_manager.filter(
        process_id=process.pk, flow_task=flow_task, status=TaskStatus.NEW
    ).first()


class LeaveFlow(Flow):
    """Leave request

    An employee asks for days off; their manager approves. A leave longer than
    the policy allows is escalated to a director. A rejected employee is told so
    (the rejection of a request imported from HR waits in the managers' queue);
    an approved leave is booked and closes when the employee is back at work.
    """

    process_cls = LeaveProcess

    start = (
        flow.Start(StartView, fields=["first_day", "days", "reason"])
        .Annotation(title="Ask for leave")
        .Permission(auto_create=True)
        .Next(this.manager_approval)
    )
    import_request = flow.StartFunction(this.fill_from_hr_system).Next(this.manager_approval)
    manager_approval = (
        flow.View(ProcessView, fields=["approved", "comment"])
        .Annotation(title="Manager approval")
        .Permission(auto_create=True)
        .Due(ESCALATE_AFTER)
        .Deadline(REMIND_AFTER, then=this.remind_manager, interrupting=False)
        .Deadline(ESCALATE_AFTER, then=this.escalate)
        .Next(this.decide)
    )
    remind_manager = flow.Handler(this.count_reminder).Annotation(title="Remind the manager")
    decide = (
        flow.Switch()
        .Case(this.rejected, cond=lambda leave: not leave.approved)
        .Case(this.escalate, cond=lambda leave: leave.days > LongLeavePolicy.current())
        .Default(this.book)
    )
    escalate = flow.Handler(this.mark_escalated).Next(this.director_approval)
    director_approval = (
        flow.View(ProcessView, fields=["director_approved", "comment"])
        .Annotation(
            title="Director approval",
            description="This leave is longer than the policy allows, or its manager did not answer in time.",
        )
        .Permission(auto_create=True)
        .Due(datetime.timedelta(minutes=2))
        .Next(this.check_director)
    )
    check_director = flow.If(lambda leave: leave.director_approved).OnTrue(this.book).OnFalse(this.rejected)
    book = flow.Handler(this.book_leave).Annotation(title="Book the leave").Next(this.wait_return)
    wait_return = (
        flow.Signal(employee_returned, this.on_return)
        .Annotation(title="Wait until the employee is back")
        .Next(this.end)
    )
    rejected = (
        flow.View(ProcessView)
        .Annotation(title="Leave rejected", description="Read the comment; your leave was not approved.")
        .Assign(this.start.owner)  # the employee who asked
        .Permission("leave.can_manager_approval_leaveprocess")  # a request imported from HR: a manager tells them
        .Next(this.end)
    )
    end = flow.End()

    @flow_start_func
    def fill_from_hr_system(self, activation, first_day, days, reason=""):
        """``LeaveFlow.import_request.run(first_day, days)``: a request imported from another system."""
        leave = activation.process
        leave.first_day, leave.days, leave.reason = first_day, days, reason

    def count_reminder(self, activation):
        """A reminder to the manager (a real project would send a mail here)."""
        activation.process.reminders += 1
        activation.process.save(update_fields=["reminders"])

    def mark_escalated(self, activation):
        activation.process.escalated = True
        activation.process.save(update_fields=["escalated"])

    def book_leave(self, activation):
        activation.process.booked = True
        activation.process.save(update_fields=["booked"])

    @flow_signal(waiting_return)
    def on_return(self, activation, sender, process, returned_on, **kwargs):
        activation.process.returned_on = returned_on
        activation.process.save(update_fields=["returned_on"])


viewsite.register(LeaveFlow)
