"""Tools of the integrity tests: worker threads, pause points, lock probes, DB snapshots.

* :class:`Worker` runs a function in its own thread with its own database
  connection (closed at the end) and keeps its result or exception.
* :class:`PausePoint` patches a method so that one named thread stops there
  (before or after the real call) until the test releases it: the test forces
  an interleaving instead of hoping for one.
* :func:`wait_until_blocked` waits until a worker is really waiting for the
  process lock (a PostgreSQL lock wait, or a failed ``cache.add``).
* :func:`snapshot` reads every process/task/link row of the given processes.
"""

from __future__ import annotations

import functools
import threading
import time

from django.db import connection, connections

from viewflow.lock import CacheLock
from viewflow.models import Process, Task

TIMEOUT = 20


class Worker(threading.Thread):
    """Run ``func()`` in a thread with its own DB connection; ``.result`` / ``.error`` afterwards."""

    def __init__(self, name, func, start_barrier=None):
        super().__init__(name=name, daemon=True)
        self.func = func
        self.start_barrier = start_barrier
        self.result = self.error = None
        self.backend_pid = None
        self.ready = threading.Event()

    def run(self):
        try:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    self.backend_pid = cursor.fetchone()[0]
            self.ready.set()
            if self.start_barrier is not None:
                self.start_barrier.wait(TIMEOUT)
            self.result = self.func()
        except BaseException as exc:  # noqa: BLE001 — kept for the test to inspect
            self.error = exc
        finally:
            self.ready.set()
            connections.close_all()

    def start(self):
        super().start()
        assert self.ready.wait(TIMEOUT), f"{self.name} did not start"
        return self

    def finish(self):
        """Wait for the thread; return it (so ``.result`` / ``.error`` read well)."""
        self.join(TIMEOUT)
        assert not self.is_alive(), f"{self.name} is still running after {TIMEOUT}s"
        return self


def run_all(*funcs, names=None):
    """Run ``funcs`` at once (a barrier releases them together); return the finished workers."""
    barrier = threading.Barrier(len(funcs))
    names = names or [f"w{n}" for n in range(len(funcs))]
    workers = [Worker(name, func, barrier) for name, func in zip(names, funcs)]
    for worker in workers:
        worker.start()
    return [worker.finish() for worker in workers]


class PausePoint:
    """Stop thread ``thread_name`` at ``owner.method`` until :meth:`release`.

    ``when="before"`` stops before the real call, ``"after"`` once it returned.
    ``match(*args, **kwargs)`` narrows which call stops (the first matching one
    stops; later calls run through).
    """

    def __init__(self, monkeypatch, owner, method, thread_name, when="before", match=None):
        self.thread_name = thread_name
        self.when = when
        self.match = match
        self.reached = threading.Event()
        self._go = threading.Event()
        self._used = False
        original = getattr(owner, method)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            stop = self._should_stop(args, kwargs)
            if stop and self.when == "before":
                self._stop()
            result = original(*args, **kwargs)
            if stop and self.when == "after":
                self._stop()
            return result

        monkeypatch.setattr(owner, method, wrapper)

    def _should_stop(self, args, kwargs):
        if self._used or threading.current_thread().name != self.thread_name:
            return False
        if self.match is not None and not self.match(*args, **kwargs):
            return False
        self._used = True
        return True

    def _stop(self):
        self.reached.set()
        if not self._go.wait(TIMEOUT):
            raise RuntimeError(f"pause point of {self.thread_name} was never released")

    def wait(self):
        assert self.reached.wait(TIMEOUT), f"{self.thread_name} never reached its pause point"

    def release(self):
        self._go.set()


class ProbedCacheLock(CacheLock):
    """A :class:`CacheLock` that records which threads found the key taken (for :func:`wait_until_blocked`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.contended = set()

    def _acquire(self, cache, key, owner):
        original_add = cache.add

        def add(*args, **kwargs):
            added = original_add(*args, **kwargs)
            if not added:
                self.contended.add(threading.current_thread().name)
            return added

        cache.add = add
        try:
            return super()._acquire(cache, key, owner)
        finally:
            del cache.add


def wait_until_blocked(worker, flow_class):
    """Wait until ``worker`` is waiting for the process lock that another thread holds."""
    lock = flow_class.lock_impl
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if not worker.is_alive():
            raise AssertionError(f"{worker.name} finished instead of waiting for the lock: {worker.error!r}")
        if isinstance(lock, ProbedCacheLock):
            if worker.name in lock.contended:
                return
        elif connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [worker.backend_pid])
                row = cursor.fetchone()
            if row and row[0] == "Lock":
                return
        else:
            raise AssertionError("cannot tell whether a thread waits for a lock on this database")
        time.sleep(0.01)
    raise AssertionError(f"{worker.name} never waited for the lock")


def snapshot(*process_pks):
    """Every row of the processes (with their own fields), their tasks and their links, as plain data."""
    processes = {}
    for process in Process.objects.filter(pk__in=process_pks).order_by("pk"):
        concrete = process.flow_class.process_cls.objects.get(pk=process.pk) if process.flow_class else process
        processes[process.pk] = {
            field.attname: getattr(concrete, field.attname) for field in type(concrete)._meta.concrete_fields
        }
    tasks = [
        {field.attname: getattr(task, field.attname) for field in Task._meta.concrete_fields}
        for task in Task.objects.filter(process_id__in=process_pks).order_by("pk")
    ]
    for row in tasks:
        row["flow_task"] = str(row["flow_task"])
    links = sorted(
        Task.previous.through.objects.filter(from_task__process_id__in=process_pks).values_list(
            "from_task_id", "to_task_id"
        )
    )
    return {"processes": processes, "tasks": tasks, "links": links}


def shape(process_pk):
    """The state of a process without ids, times and random tokens: for comparing two runs."""
    process = Process.objects.get(pk=process_pk)
    concrete = process.flow_class.process_cls.objects.get(pk=process_pk)
    data = {
        field.attname: getattr(concrete, field.attname)
        for field in type(concrete)._meta.concrete_fields
        if field.attname not in ("id", "process_ptr_id", "created", "finished")
    }
    tasks = list(Task.objects.filter(process_id=process_pk).order_by("pk"))
    names = {task.pk: task.flow_task.name for task in tasks}
    rows = sorted(
        (
            task.flow_task.name,
            task.status,
            task.owner_id,
            tuple(sorted(names[prev.pk] for prev in task.previous.all())),
            bool(task.error),
        )
        for task in tasks
    )
    return {"process": data, "tasks": rows}


# -- fixtures and shortcuts shared by the integrity tests ------------------------

import pytest  # noqa: E402

from tests.testapp.integrity_flows import IntegrityFlow, JobFlow, ParallelFlow, PingFlow  # noqa: E402
from viewflow.lock import select_for_update_lock  # noqa: E402

INTEGRITY_FLOWS = (IntegrityFlow, ParallelFlow, JobFlow, PingFlow)
LOCK_CACHE = "integrity-lock"
LOCK_KEY_PREFIX = "viewflow-integrity-tests"

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: row locks and concurrent connections (SQLite has its own test_sqlite_locking.py)",
)


def use_lock(monkeypatch, lock):
    for flow_class in INTEGRITY_FLOWS:
        monkeypatch.setattr(flow_class, "lock_impl", lock)
    return lock


def redis_cache_lock(settings):
    """A cache lock on Redis (the test Redis index), through a dedicated cache alias."""
    import redis
    from django.core.cache import caches

    settings.CACHES = {
        **settings.CACHES,
        LOCK_CACHE: {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_TEST_URL,
            "KEY_PREFIX": LOCK_KEY_PREFIX,
        },
    }
    # forget lock keys a killed earlier run may have left; touch nothing else in this Redis database
    client = redis.Redis.from_url(settings.REDIS_TEST_URL)
    stale = list(client.scan_iter(match=f"{LOCK_KEY_PREFIX}:*"))
    if stale:
        client.delete(*stale)
    client.close()
    assert caches[LOCK_CACHE].get("probe") is None
    return ProbedCacheLock(cache=LOCK_CACHE, timeout=60, wait=TIMEOUT)


@pytest.fixture(params=["select_for_update_lock", "cache_lock"])
def flow_lock(request, monkeypatch, settings):
    """Each integrity flow runs with the row lock, then with the cache lock on Redis."""
    if request.param == "cache_lock":
        return use_lock(monkeypatch, redis_cache_lock(settings))
    return use_lock(monkeypatch, select_for_update_lock)


def start_integrity(text="", **fields):
    """Start an IntegrityFlow process from code (as its start view would)."""
    with IntegrityFlow.start.start() as activation:
        activation.process.text = text
        for name, value in fields.items():
            setattr(activation.process, name, value)
        process = activation.done()
    return process


def task_of(process, node, **filters):
    return Task.objects.get(process_id=process.pk, flow_task=node, **filters)


def nodes(process):
    """``[(node name, status)]`` of a process's tasks, in creation order."""
    return [(task.flow_task.name, task.status) for task in Task.objects.filter(process_id=process.pk).order_by("pk")]
