"""Flows of the Celery job tests (``tests/test_celery_*.py``), their jobs in ``tasks.py``."""

from viewflow import flow
from viewflow.base import Flow, this
from viewflow.contrib import celery
from viewflow.site import viewsite

from . import tasks
from .models import SampleProcess

__all__ = ["FileJobFlow", "RetryingJobFlow"]


class FileJobFlow(Flow):
    """A background job steered by files (see ``tasks.file_job``)."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.work)
    work = celery.Job(tasks.file_job).Next(this.end)
    end = flow.End()

    def fill(self, activation, workdir, count=0):
        activation.process.text = str(workdir)
        activation.process.count = count


class RetryingJobFlow(Flow):
    """A bound job that asks Celery to retry it ``count`` times."""

    process_cls = SampleProcess

    start = flow.StartFunction(this.fill).Next(this.work)
    work = celery.Job(tasks.retrying_job).Next(this.end)
    end = flow.End()

    def fill(self, activation, workdir, count=0):
        activation.process.text = str(workdir)
        activation.process.count = count


viewsite.register(FileJobFlow)
