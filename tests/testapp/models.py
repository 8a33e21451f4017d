"""Process models of the test flows."""

from django.db import models

from viewflow.models import Process


class SampleProcess(Process):
    """Data the test flows branch on."""

    text = models.CharField(max_length=150, blank=True, default="")
    approved = models.BooleanField(default=False)
    count = models.IntegerField(default=0)
    items = models.JSONField(default=list, blank=True)
