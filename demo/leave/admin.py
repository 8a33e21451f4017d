from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from viewflow import operations
from viewflow.admin import ProcessAdmin

from .flows import LeaveFlow, waiting_return
from .models import LeaveProcess, LongLeavePolicy


@admin.register(LeaveProcess)
class LeaveAdmin(ProcessAdmin):
    list_display = ("id", "first_day", "days", "status", "escalated", "booked", "returned_on")
    actions = (*ProcessAdmin.actions, "mark_returned")

    @admin.action(description=_("Employee is back at work (resumes the task waiting for it)"), permissions=("change",))
    def mark_returned(self, request, queryset):
        closed = skipped = 0
        for leave in queryset:
            task = waiting_return(LeaveFlow.wait_return, sender=LeaveProcess, process=leave)
            if task is None:  # this leave does not wait for the employee
                skipped += 1
                continue
            try:
                # through the engine, as the user: it checks they may manage the flow, locks, re-reads the task
                resumed = operations.resume(
                    task, by=request.user, sender=LeaveProcess, process=leave, returned_on=timezone.localdate()
                )
            except PermissionDenied as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            if resumed is None:  # it moved on while we waited for the lock
                skipped += 1
            else:
                closed += 1
        if closed:
            message = ngettext(
                "%(n)d leave request closed: the employee is back at work.",
                "%(n)d leave requests closed: the employees are back at work.",
                closed,
            )
            self.message_user(request, message % {"n": closed}, messages.SUCCESS)
        if skipped:
            message = ngettext(
                "%(n)d leave request skipped: it was not waiting for the employee's return.",
                "%(n)d leave requests skipped: they were not waiting for the employees' return.",
                skipped,
            )
            self.message_user(request, message % {"n": skipped}, messages.WARNING)


admin.site.register(LongLeavePolicy)
