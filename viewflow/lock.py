"""Process locks: every step of a flow runs holding one of these.

A lock is called as ``lock_impl(flow_class, process_pk)`` and returns a context
manager that opens ``transaction.atomic()`` with the process locked against
other steps, and yields the process re-read inside the lock. Called as
``lock_impl(flow_class, process_pk, task_pk)`` (the engine does, for a step on
one task), it yields that task instead, read together with its process in one
statement under the lock (``task.process`` is the flow's process object).

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

import functools
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager, nullcontext

from django.core.cache import caches
from django.db import OperationalError, connections, router, transaction

from . import statements
from .exceptions import FlowLockFailed

__all__ = [
    "NoLock",
    "SelectForUpdateLock",
    "CacheLock",
    "no_lock",
    "select_for_update_lock",
    "cache_lock",
    "lock_in_order",
    "lock_not_available",
]

#: what the databases answer a ``NOWAIT`` lock request on a row another transaction holds:
#: PostgreSQL's SQLSTATE 55P03 (lock_not_available), MySQL's error 3572 (ER_LOCK_NOWAIT),
#: Oracle's ORA-00054
_LOCK_NOT_AVAILABLE_SQLSTATES = frozenset({"55P03"})
_LOCK_NOT_AVAILABLE_CODES = frozenset({3572, 54})


def lock_not_available(exc):
    """Is ``exc`` (a database error) the database saying a ``NOWAIT`` lock is held by someone else?

    Read from the driver's error the database sent (its SQLSTATE or error
    code, ``exc.__cause__``), never from the wording of the message.
    """
    cause = exc.__cause__ or exc
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if sqlstate is not None:
        return sqlstate in _LOCK_NOT_AVAILABLE_SQLSTATES
    code = getattr(cause, "code", None)  # Oracle (python-oracledb)
    if code is None and cause.args and isinstance(cause.args[0], int):  # MySQL drivers: (code, message)
        code = cause.args[0]
    return code in _LOCK_NOT_AVAILABLE_CODES


class BaseLock:
    """Open a transaction around a step and yield the process (or the task) re-read inside it."""

    def __call__(self, flow_class, process_pk, task_pk=None):
        return self.locked(flow_class, process_pk, task_pk)

    @contextmanager
    def locked(self, flow_class, process_pk, task_pk=None):
        using = router.db_for_write(flow_class.process_cls)
        with self.hold(flow_class, process_pk), transaction.atomic(using=using):
            yield self.read(flow_class, process_pk, task_pk, using)

    def hold(self, flow_class, process_pk):
        """What the lock takes before the transaction opens (and gives up after it ends): nothing here."""
        return nullcontext()

    def read(self, flow_class, process_pk, task_pk, using):
        if task_pk is None:
            return self.read_process(flow_class.process_cls, process_pk, using)
        return read_task(flow_class, process_pk, task_pk, using)

    def read_process(self, process_cls, process_pk, using):
        return process_cls._default_manager.using(using).get(pk=process_pk)


def read_task(flow_class, process_pk, task_pk, using, for_update=False, nowait=False):
    """Task ``task_pk`` of process ``process_pk`` and the process, as the flow's classes, in one statement.

    Raises the task model's ``DoesNotExist`` when either is missing. With
    ``for_update``, the rows are locked process first (``FOR UPDATE OF`` names
    them in that order, and PostgreSQL locks in that order): every step holds
    the process before it touches a task, so steps cannot deadlock, and rows a
    step waited for are read as the step that held them left them.
    """
    process_cls, task_cls = flow_class.process_cls, flow_class.task_cls
    if statements.can_select_task_and_process(task_cls, process_cls, using):
        lock = (nowait,) if for_update else None
        return statements.select_task_and_process(task_cls, process_cls, using, task_pk, process_pk, lock)
    queryset, accessors = _task_with_process(task_cls, process_cls, for_update, nowait)
    task = queryset.using(using).get(pk=task_pk, process_id=process_pk)
    process = task.process
    for accessor in accessors:
        process = getattr(process, accessor)
    if type(process) is not process_cls:  # a proxy model: same rows, the flow's class
        process.__class__ = process_cls
    task.process = process
    return task


@functools.cache
def _task_with_process(task_cls, process_cls, for_update, nowait):
    """The (never evaluated) queryset :func:`read_task` filters, and the accessors down to the process."""
    from .models import Process

    links = []  # the parent links from Process down to the process model's own table
    model = process_cls._meta.concrete_model
    while model is not Process:
        parent, link = next(
            (parent, link) for parent, link in model._meta.parents.items() if issubclass(parent, Process)
        )
        links.insert(0, link)
        model = parent
    path = ["process"]
    for link in links:
        path.append(f"{path[-1]}__{link.related_query_name()}")
    queryset = task_cls._base_manager.select_related(path[-1]).order_by()
    if links:  # the subclass's own table: an inner join (a lock cannot take a LEFT JOIN's side)
        queryset = queryset.filter(**{f"{path[-1]}__isnull": False})
    if for_update:
        queryset = queryset.select_for_update(nowait=nowait, of=(*path, "self"))
    return queryset, tuple(link.remote_field.get_accessor_name() for link in links)


class NoLock(BaseLock):
    """Take no lock: for flows whose steps can never run concurrently."""


class SelectForUpdateLock(BaseLock):
    """Lock the process row with ``SELECT ... FOR UPDATE`` for the whole step."""

    def __init__(self, nowait=False):
        self.nowait = nowait

    def read(self, flow_class, process_pk, task_pk, using):
        connection = connections[using]
        if not connection.features.has_select_for_update:
            self._take_database_lock(connection, process_pk)
            return super().read(flow_class, process_pk, task_pk, using)
        try:
            if task_pk is not None and connection.features.has_select_for_update_of:
                return read_task(flow_class, process_pk, task_pk, using, for_update=True, nowait=self.nowait)
            process = self.read_process(flow_class.process_cls, process_pk, using)
            if task_pk is None:
                return process
            task = read_task(flow_class, process_pk, task_pk, using)
            task.process = process
            return task
        except OperationalError as exc:
            if self.nowait and lock_not_available(exc):
                raise FlowLockFailed(f"process {process_pk} of {flow_class.process_cls.__name__} is locked") from exc
            raise

    def read_process(self, process_cls, process_pk, using):
        queryset = process_cls._default_manager.using(using)
        if connections[using].features.has_select_for_update:
            queryset = queryset.select_for_update(nowait=self.nowait)
        return queryset.get(pk=process_pk)

    def _take_database_lock(self, connection, process_pk):
        # Without row locks (SQLite), a write as the first statement takes the
        # database write lock until commit; IMMEDIATE transactions already hold it.
        mode = (connection.settings_dict.get("OPTIONS") or {}).get("transaction_mode")
        if str(mode or "").upper() not in ("IMMEDIATE", "EXCLUSIVE"):
            from .models import Process

            base_table = Process._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(f'UPDATE "{base_table}" SET "id" = "id" WHERE "id" = %s', [process_pk])


class CacheLock(BaseLock):
    """Lock a key in Django's cache; the key is held from before BEGIN until after COMMIT."""

    def __init__(self, cache="default", timeout=60, wait=30, poll=0.005):
        self.cache_alias = cache
        self.timeout = timeout
        self.wait = wait
        self.poll = poll
        self._held = threading.local()

    @contextmanager
    def hold(self, flow_class, process_pk):
        """Take the process's key in the cache; given up once the transaction around the step has ended."""
        key = f"viewflow-lock-{flow_class._meta.flow_label}-{process_pk}"
        held = self._held.__dict__.setdefault("keys", set())
        if key in held:  # re-entered from the same thread, e.g. a job run on commit
            yield
            return
        cache = caches[self.cache_alias]
        owner = uuid.uuid4().hex
        self._acquire(cache, key, owner)
        held.add(key)
        try:
            yield
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


@contextmanager
def lock_in_order(entries, task_pk=None):
    """Lock several processes for one step, in the order ``entries`` declares; yield what each lock read.

    ``entries`` is ``[(flow_class, process_pk), ...]``; each process is locked
    with its own flow's ``lock_impl``, in that order, and all in one
    transaction. Yields the processes re-read under their locks, in the same
    order; with ``task_pk``, the last item is that task of the last process
    (read as :func:`read_task` does, ``task.process`` included).

    Why an order: two steps that each need two processes deadlock when one
    takes A then B and the other B then A. Subprocesses need two (a child
    ending moves its parent on; a canceled parent cancels its children), so
    the engine declares one order for every such step: ancestors before
    descendants (see :mod:`viewflow.lineage`). Every lock is taken before any
    row is read, and none is given up before the transaction ends.

    Locks of this module (subclasses of ``BaseLock``) share one transaction:
    their cache keys are all taken before it opens and given up after it ends,
    their row locks are taken in order inside it. Any other ``lock_impl`` (a
    plain callable returning a context manager) is entered as it is, nested in
    the same order, so its transaction becomes a savepoint of the first one.
    """
    if not entries:
        raise ValueError("lock_in_order() needs at least one process")
    last = len(entries) - 1
    locks = [flow_class.lock_impl for flow_class, _pk in entries]
    with ExitStack() as stack:
        if all(isinstance(lock, BaseLock) for lock in locks):
            using = router.db_for_write(entries[0][0].process_cls)
            for lock, (flow_class, pk) in zip(locks, entries):
                stack.enter_context(lock.hold(flow_class, pk))
            stack.enter_context(transaction.atomic(using=using))
            yield [
                lock.read(flow_class, pk, task_pk if n == last else None, using)
                for n, (lock, (flow_class, pk)) in enumerate(zip(locks, entries))
            ]
            return
        yield [
            stack.enter_context(flow_class.lock(pk, task_pk) if n == last else flow_class.lock(pk))
            for n, (flow_class, pk) in enumerate(entries)
        ]


no_lock = NoLock()
select_for_update_lock = SelectForUpdateLock()
cache_lock = CacheLock()
