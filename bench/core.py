"""Plumbing of one scenario run: Django setup, database reset, SQL counting, timing.

The counting rules are the peer harness's (``../shared/bench/peer-viewflow2``):
every statement through Django's cursor is counted with a
``connection.execute_wrapper`` and put in a category by its main table, so the
two libraries' figures can be divided by each other.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import statistics
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django():
    """Configure Django with ``bench.settings`` and build the URL namespaces."""
    for path in (str(ROOT), str(ROOT / "demo")):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.urls import reverse

    import bench.urls  # noqa: F401  (what a server's first request does)

    reverse("viewflow:index")


def reset_database():
    """An empty, migrated database: a new SQLite file, or the bench schema recreated."""
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        schema = os.environ.get("BENCH_PG_SCHEMA", "viewflow_bench")
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
            raise RuntimeError(f"unsafe schema name {schema!r}")
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            cursor.execute(f'CREATE SCHEMA "{schema}"')
        connection.close()
    call_command("migrate", verbosity=0, interactive=False)


def db_description():
    from django.db import connection

    if connection.vendor == "postgresql":
        settings = {}
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
            for name in ("synchronous_commit", "fsync", "shared_buffers", "default_transaction_isolation"):
                cursor.execute(f"SHOW {name}")
                settings[name] = cursor.fetchone()[0]
        return "postgresql", version, settings
    import sqlite3

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = cursor.fetchone()[0]
    mode = connection.settings_dict["OPTIONS"].get("transaction_mode")
    return (
        "sqlite",
        sqlite3.sqlite_version,
        {"journal_mode": journal, "synchronous": synchronous, "transaction_mode": mode},
    )


def analyze_database():
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def versions():
    from importlib.metadata import version

    import django

    import viewflow

    out = {"python": platform.python_version(), "django": django.get_version(), "viewflow": viewflow.__version__}
    try:
        out["psycopg"] = version("psycopg")
    except Exception:  # pragma: no cover
        out["psycopg"] = None
    return out


# -- SQL counting (the peer harness's categories) ------------------------------

CATEGORIES = ("engine", "tx", "session", "auth", "other")
_TX_RE = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE\s+SAVEPOINT)\b", re.IGNORECASE)
_TABLE_RE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?([A-Za-z_][A-Za-z0-9_]*)"?', re.IGNORECASE)


def classify(sql):
    """engine (``viewflow_*`` tables), tx, session, auth (``auth_*``, content types) or other.

    The §1 process model's own table (``helloworld_helloworldprocess``) counts as
    ``other``: the peer keeps that data in ``viewflow_process.data``.
    """
    if _TX_RE.match(sql):
        return "tx"
    match = _TABLE_RE.search(sql)
    table = match.group(1).lower() if match else ""
    if table.startswith("viewflow_"):
        return "engine"
    if table == "django_session":
        return "session"
    if table.startswith("auth_") or table == "django_content_type":
        return "auth"
    return "other"


class QueryCounter:
    """A thread-safe ``execute_wrapper`` counting statements by category."""

    def __init__(self, keep_sql=False):
        self.counts = Counter()
        self.errors = Counter()
        self.keep_sql = keep_sql
        self.statements = []
        self.time_s = 0.0
        self._lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        category = classify(sql)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        except Exception as exc:
            cause = exc.__cause__ or exc
            with self._lock:
                self.errors[type(cause).__name__] += 1
            raise
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                self.counts[category] += 1
                self.time_s += elapsed
                if self.keep_sql:
                    self.statements.append((category, round(elapsed * 1000, 3), sql))

    @property
    def total(self):
        return sum(self.counts.values())

    def snapshot(self):
        with self._lock:
            return Counter(self.counts)

    def reset(self):
        with self._lock:
            self.counts.clear()
            self.errors.clear()
            self.statements.clear()
            self.time_s = 0.0

    @contextmanager
    def installed(self, connection=None):
        if connection is None:
            from django.db import connection
        with connection.execute_wrapper(self):
            yield self


class CommitClock:
    """Time spent in COMMIT on this thread's default connection.

    Both libraries commit once per step a person takes; on SQLite with its default
    ``delete`` journal and ``synchronous=FULL`` each commit waits for four
    ``fdatasync`` calls, a cost of the disk rather than of either library.
    """

    def __init__(self):
        self.count = 0
        self.seconds = 0.0

    def reset(self):
        self.count, self.seconds = 0, 0.0

    @contextmanager
    def installed(self):
        from django.db import connection

        real = connection._commit

        def timed_commit():
            started = time.perf_counter()
            try:
                return real()
            finally:
                self.count += 1
                self.seconds += time.perf_counter() - started

        connection._commit = timed_commit
        try:
            yield self
        finally:
            del connection._commit  # the method of the class again

    def figures(self, units):
        return {
            "commits_per_process": round(self.count / units, 2),
            "commit_ms_per_process": round(self.seconds * 1000 / units, 3),
        }


def sql_figures(counts, units):
    total = sum(counts.values())
    by_category = {cat: round(counts.get(cat, 0) / units, 2) for cat in CATEGORIES}
    by_category["engine_only"] = round((counts.get("engine", 0) + counts.get("tx", 0)) / units, 2)
    by_category["framework"] = round((counts.get("session", 0) + counts.get("auth", 0)) / units, 2)
    return {"sql_queries_per_process": round(total / units, 2), "sql_per_process_by_category": by_category}


# -- memory and time -------------------------------------------------------------


def peak_rss_mib():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mib():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def percentile(values, pct):
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def latency_summary_ms(seconds):
    """p50 / p95 / p99 / max of durations in seconds, in milliseconds."""
    if not seconds:
        return {}
    return {
        "p50_ms": round(statistics.median(seconds) * 1000, 2),
        "p95_ms": round(percentile(seconds, 95) * 1000, 2),
        "p99_ms": round(percentile(seconds, 99) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
    }
