"""A leave request: the employee's dates, and each approver's decision."""

from django.db import models

from viewflow.models import Process


class LeaveProcess(Process):
    first_day = models.DateField()
    days = models.PositiveIntegerField(help_text="Working days away.")
    reason = models.CharField(max_length=200, blank=True, default="")
    approved = models.BooleanField(default=False, help_text="The manager approves.")
    escalated = models.BooleanField(default=False)
    reminders = models.PositiveIntegerField(default=0, help_text="How often the manager was reminded.")
    director_approved = models.BooleanField(default=False, help_text="The director approves a long leave.")
    comment = models.TextField(blank=True, default="")
    booked = models.BooleanField(default=False)
    returned_on = models.DateField(blank=True, null=True)

    class Meta:
        verbose_name = "leave request"


class LongLeavePolicy(models.Model):
    """Leaves longer than ``max_days`` need the director's approval too."""

    max_days = models.PositiveIntegerField(default=10)

    def __str__(self):
        return f"leaves over {self.max_days} days"

    @classmethod
    def current(cls):
        policy = cls.objects.order_by("-pk").first()
        return policy.max_days if policy else 10
