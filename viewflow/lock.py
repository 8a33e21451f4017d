"""Process locks: every step of a flow runs holding one of these.

A lock is called as ``lock_impl(flow_class, process_pk)`` and returns a context
manager that opens ``transaction.atomic()`` with the process locked against
other steps, and yields the process re-read inside the lock.

* :data:`select_for_update_lock` (the default): a row lock in the database.
  On SQLite, which has no row locks, the step's first statement is a write to
  the process row, which takes SQLite's database write lock, so steps are
  serialised there too.
* :data:`cache_lock`: a key in Django's cache (use a shared cache such as Redis
  when several machines run steps), taken before the transaction opens and
  released after it commits.
* :data:`no_lock`: no lock at all. Unsafe whenever two steps of one process can
  run at once (a Join reached by parallel branches, two users on one task);
  use it only for strictly sequential flows.
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager

from django.core.cache import caches
from django.db import connections, router, transaction

from .exceptions import FlowLockFailed

__all__ = ["NoLock", "SelectForUpdateLock", "CacheLock", "no_lock", "select_for_update_lock", "cache_lock"]


class BaseLock:
    """Open a transaction around a step and yield the process re-read inside it."""

    def __call__(self, flow_class, process_pk):
        return self.locked(flow_class, process_pk)

    @contextmanager
    def locked(self, flow_class, process_pk):
        process_cls = flow_class.process_cls
        using = router.db_for_write(process_cls)
        with transaction.atomic(using=using):
            yield self.read_process(process_cls, process_pk, using)

    def read_process(self, process_cls, process_pk, using):
        return process_cls._default_manager.using(using).get(pk=process_pk)


class NoLock(BaseLock):
    """Take no lock: for flows whose steps can never run concurrently."""


class SelectForUpdateLock(BaseLock):
    """Lock the process row with ``SELECT ... FOR UPDATE`` for the whole step."""

    def __init__(self, nowait=False):
        self.nowait = nowait

    def read_process(self, process_cls, process_pk, using):
        connection = connections[using]
        if not connection.features.has_select_for_update:
            return self._read_serialised(process_cls, process_pk, using, connection)
        queryset = process_cls._default_manager.using(using).select_for_update(nowait=self.nowait)
        try:
            return queryset.get(pk=process_pk)
        except process_cls.DoesNotExist:
            raise
        except Exception as exc:  # NOWAIT lock busy
            if self.nowait and "lock" in str(exc).lower():
                raise FlowLockFailed(f"process {process_pk} of {process_cls.__name__} is locked") from exc
            raise

    def _read_serialised(self, process_cls, process_pk, using, connection):
        # Without row locks (SQLite), a write as the first statement takes the
        # database write lock until commit; IMMEDIATE transactions already do.
        mode = (connection.settings_dict.get("OPTIONS") or {}).get("transaction_mode")
        if str(mode or "").upper() not in ("IMMEDIATE", "EXCLUSIVE"):
            from .models import Process

            base_table = Process._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(f'UPDATE "{base_table}" SET "id" = "id" WHERE "id" = %s', [process_pk])
        return process_cls._default_manager.using(using).get(pk=process_pk)


class CacheLock(BaseLock):
    """Lock a key in Django's cache; the key is held from before BEGIN until after COMMIT."""

    def __init__(self, cache="default", timeout=60, wait=30, poll=0.005):
        self.cache_alias = cache
        self.timeout = timeout
        self.wait = wait
        self.poll = poll
        self._held = threading.local()

    @contextmanager
    def locked(self, flow_class, process_pk):
        key = f"viewflow-lock-{flow_class._meta.flow_label}-{process_pk}"
        held = self._held.__dict__.setdefault("keys", set())
        if key in held:  # re-entered from the same thread, e.g. a job run on commit
            with super().locked(flow_class, process_pk) as process:
                yield process
            return
        cache = caches[self.cache_alias]
        owner = uuid.uuid4().hex
        self._acquire(cache, key, owner)
        held.add(key)
        try:
            with super().locked(flow_class, process_pk) as process:
                yield process
        finally:
            held.discard(key)
            if cache.get(key) == owner:
                cache.delete(key)

    def _acquire(self, cache, key, owner):
        deadline = time.monotonic() + self.wait
        delay = self.poll
        while not cache.add(key, owner, self.timeout):
            if time.monotonic() > deadline:
                raise FlowLockFailed(f"could not take {key!r} within {self.wait}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


no_lock = NoLock()
select_for_update_lock = SelectForUpdateLock()
cache_lock = CacheLock()
