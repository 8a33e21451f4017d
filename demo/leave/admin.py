from django.contrib import admin
from django.utils import timezone

from viewflow.admin import ProcessAdmin

from .models import LeaveProcess, LongLeavePolicy
from .signals import employee_returned


@admin.register(LeaveProcess)
class LeaveAdmin(ProcessAdmin):
    list_display = ("id", "first_day", "days", "status", "escalated", "booked", "returned_on")
    actions = (*ProcessAdmin.actions, "mark_returned")

    @admin.action(description="Employee is back at work (sends the employee_returned signal)")
    def mark_returned(self, request, queryset):
        for leave in queryset:
            employee_returned.send(sender=LeaveProcess, process=leave, returned_on=timezone.localdate())
        self.message_user(request, f"Sent for {queryset.count()} leave request(s).")


admin.site.register(LongLeavePolicy)
