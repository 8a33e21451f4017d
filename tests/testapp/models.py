"""Process models of the test flows."""

from django.db import models

from viewflow.models import Process, Task


class SampleProcess(Process):
    """Data the test flows branch on."""

    text = models.CharField(max_length=150, blank=True, default="")
    approved = models.BooleanField(default=False)
    count = models.IntegerField(default=0)
    items = models.JSONField(default=list, blank=True)

    class Meta:
        permissions = [("review_sample", "Can review samples")]


class SampleLine(models.Model):
    """A line of a sample process, edited through an inline formset."""

    process = models.ForeignKey(SampleProcess, on_delete=models.CASCADE, related_name="lines")
    name = models.CharField(max_length=50)
    quantity = models.PositiveIntegerField(default=1)

    def __str__(self):
        return self.name


class SampleTask(Task):
    """A proxy of the task model, for a flow's ``task_cls``."""

    class Meta:
        proxy = True

    @property
    def is_sample(self):
        return True


class SampleProcessProxy(SampleProcess):
    """A proxy process model: a flow may name one as its ``process_cls``."""

    class Meta:
        proxy = True


class DetailedSampleProcess(SampleProcess):
    """A process model two tables below ``Process``."""

    detail = models.CharField(max_length=50, blank=True, default="")
