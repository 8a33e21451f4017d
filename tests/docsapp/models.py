"""Models the documentation's samples use (docs/*.md; run by tests/test_docs.py).

A runnable sample is executed as a module of this app, so ``from .models
import ExpenseProcess`` in a sample finds these.
"""

from django.db import models

from viewflow.models import Process


class ExpenseProcess(Process):
    description = models.CharField(max_length=200, blank=True, default="")
    amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    approved = models.BooleanField(default=False)
    escalated = models.BooleanField(default=False)
    paid = models.BooleanField(default=False)
    reference = models.CharField(max_length=64, blank=True, default="")
    receipts = models.JSONField(default=list, blank=True)


class ExpenseLine(models.Model):
    expense = models.ForeignKey(ExpenseProcess, on_delete=models.CASCADE, related_name="lines")
    label = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self):
        return self.label


class Invoice(models.Model):
    """Something outside any flow whose saving can start or move a process (signal samples)."""

    number = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    paid = models.BooleanField(default=False)

    def __str__(self):
        return self.number
