"""Start and stop real Celery worker processes for the tests, with bounded waits.

Each worker runs in its own process group (so a kill reaches its pool
children too) and logs to a file the tests read. :class:`Workers` is used by
a fixture whose finalizer stops every worker it started, also when a test fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: seconds a worker may take to start consuming
START_TIMEOUT = 30


def wait_for(predicate, timeout, what, on_timeout=lambda: ""):
    """Poll ``predicate`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{on_timeout()}")
        time.sleep(0.05)


class Worker:
    """One ``celery worker`` process (and its pool children) in its own process group."""

    def __init__(self, name, workdir, env, pool="solo", concurrency=1, extra_env=None):
        self.name = name
        self.log_path = Path(workdir) / f"{name}.log"
        self.ready_path = Path(workdir) / f"{name}.ready"
        command = [
            sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker",
            "--hostname", f"{name}@%h", "--pool", pool, "--concurrency", str(concurrency),
            "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO",
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**env, **(extra_env or {}), "VIEWFLOW_TEST_WORKER_READY": str(self.ready_path)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches the pool children
            )

    @property
    def pid(self):
        return self.process.pid

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self):
        return self.process.poll() is None

    def wait_ready(self, timeout=START_TIMEOUT):
        def ready():
            if not self.alive():
                raise AssertionError(f"worker {self.name} exited with {self.process.returncode}:\n{self.log()}")
            return self.ready_path.exists()

        wait_for(ready, timeout, f"worker {self.name} to start", self.log)
        return self

    def kill(self, sig=signal.SIGKILL, timeout=10):
        """Send ``sig`` to the whole process group and wait for the worker to exit."""
        self._signal_group(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait(timeout)

    def stop(self, timeout=10):
        """Kill the whole group at once: a test's worker holds nothing worth a graceful shutdown
        (a warm or cold one costs seconds per worker)."""
        self._signal_group(signal.SIGKILL)
        if self.alive():
            self.process.wait(timeout)

    def _signal_group(self, sig):
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass


class Workers:
    """Start workers against the test database and stop all of them at the end."""

    def __init__(self, workdir, env):
        self.workdir = workdir
        self.env = env
        self.started = []

    def start(self, name=None, pool="solo", concurrency=1, wait=True, **extra_env):
        """Start a worker; ``extra_env`` adds environment variables (strings) for it alone."""
        worker = Worker(name or f"w{len(self.started) + 1}", self.workdir, self.env, pool, concurrency, extra_env)
        self.started.append(worker)
        return worker.wait_ready() if wait else worker

    def logs(self):
        return "\n".join(f"--- {w.name} ---\n{w.log()[-4000:]}" for w in self.started)

    def stop_all(self):
        for worker in self.started:
            worker.stop()
