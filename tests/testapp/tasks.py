"""Celery jobs of the test flows, steered by files in the directory named by ``process.text``.

Every run appends a line to ``runs`` (with the pid of the process that ran it),
so a test can tell how often a job body ran and where.
"""

import os
import time
from pathlib import Path

from celery import shared_task

from viewflow.flow import flow_job

#: seconds a held job waits for its ``hold`` file to go before it gives up
HOLD_LIMIT = 20


def note(workdir, line):
    with open(Path(workdir) / "runs", "a") as runs_file:
        runs_file.write(f"{line} {os.getpid()}\n")


def runs(workdir):
    """The lines the job bodies wrote: ``[("start", pid), ("done", pid), ...]``."""
    path = Path(workdir) / "runs"
    words = path.read_text().split() if path.exists() else []
    return [(word, int(pid)) for word, pid in zip(words[::2], words[1::2])]


@shared_task
@flow_job()
def file_job(activation):
    """Fail while ``broken`` exists, wait while ``hold`` exists, then count one run."""
    workdir = Path(activation.process.text)
    note(workdir, "start")
    if (workdir / "broken").exists():
        raise RuntimeError("the job is broken")
    deadline = time.monotonic() + HOLD_LIMIT
    while (workdir / "hold").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the job was held too long")
        time.sleep(0.05)
    process = activation.process
    process.count += 1
    process.save(update_fields=["count"])
    note(workdir, "done")


@shared_task(bind=True, max_retries=3)
@flow_job
def retrying_job(self, activation):
    """Ask Celery to retry until ``process.count`` retries were made."""
    note(activation.process.text, f"try{self.request.retries}")
    if self.request.retries < activation.process.count:
        raise self.retry(countdown=0)
