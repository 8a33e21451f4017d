from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from viewflow.admin import ProcessAdmin

from .models import LeaveProcess, LongLeavePolicy
from .signals import employee_returned


@admin.register(LeaveProcess)
class LeaveAdmin(ProcessAdmin):
    list_display = ("id", "first_day", "days", "status", "escalated", "booked", "returned_on")
    actions = (*ProcessAdmin.actions, "mark_returned")

    @admin.action(description=_("Employee is back at work (sends the employee_returned signal)"))
    def mark_returned(self, request, queryset):
        closed = skipped = 0
        for leave in queryset:
            answers = employee_returned.send(sender=LeaveProcess, process=leave, returned_on=timezone.localdate())
            # the flow's receiver answers None when no task of this leave waits for the signal
            if any(answer is not None for _receiver, answer in answers):
                closed += 1
            else:
                skipped += 1
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
