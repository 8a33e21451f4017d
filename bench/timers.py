"""Timers at scale (issue 17): not a timed test; PostgreSQL only; figures go to BENCHMARKS.md.

    DATABASE_URL=postgres://root@127.0.0.1:5432/bench python -m bench.timers
    DATABASE_URL=... python -m bench.timers --n 100000 --schedulers 1 2 --rate 200 --seconds 30

1. *burst*: ``--n`` timers due at once (armed in bulk, as many processes of
   ``TimerBenchFlow`` waiting at their Timer); ``manage.py run_timers`` with 1,
   then 2 processes: the seconds until every timer fired, and a proof that each
   fired exactly once (one End task per process, every timer DONE).
2. *steady*: a producer arms ``--rate`` timers per second, each due when armed,
   for ``--seconds``; one ``run_timers --interval 0.2``: the lag between a
   timer's due time and the moment it fired (``finished - due``) at p50/p99.

Runs in the schema ``BENCH_PG_SCHEMA`` (default ``viewflow_bench_timers``),
dropped and recreated first. Prints one JSON object per run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def arm(count, due):
    """``count`` processes waiting at TimerBenchFlow.wait, due at ``due``: bulk INSERTs, 5,000 rows a time."""
    from bench.benchflows.flows import TimerBenchFlow
    from viewflow.models import Process, Task
    from viewflow.status import ProcessStatus, TaskStatus

    node = TimerBenchFlow.wait
    for offset in range(0, count, 5000):
        size = min(5000, count - offset)
        processes = Process.objects.bulk_create(
            [Process(flow_class=TimerBenchFlow, status=ProcessStatus.STARTED) for _ in range(size)]
        )
        Task.objects.bulk_create(
            [
                Task(process=process, flow_task=node, flow_task_type=node.task_type, status=TaskStatus.SCHEDULED,
                     token="start", due=due)
                for process in processes
            ]
        )


def waiting():
    from bench.benchflows.flows import TimerBenchFlow
    from viewflow.models import Task

    return Task.objects.filter(flow_task=TimerBenchFlow.wait, status="SCHEDULED").count()


def schedulers(count, *args):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": f"{ROOT}:{ROOT / 'demo'}"}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "django", "run_timers", "-v", "0", *args],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def stop(processes):
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(60)


def exactly_once(count):
    """Every timer DONE, and one End task per process: nothing lost, nothing fired twice."""
    from django.db.models import Count

    from bench.benchflows.flows import TimerBenchFlow
    from viewflow.models import Task

    done = Task.objects.filter(flow_task=TimerBenchFlow.wait, status="DONE").count()
    ends = Task.objects.filter(flow_task=TimerBenchFlow.end).values("process_id").annotate(n=Count("id"))
    per_process = {row["n"] for row in ends}
    return done == count and ends.count() == count and per_process == {1}


def burst(count, processes, batch):
    from django.utils import timezone

    from bench.core import reset_database

    reset_database()
    arm(count, timezone.now())
    started = time.monotonic()
    running = schedulers(processes, "--batch", str(batch), "--interval", "0.2")
    while waiting():
        time.sleep(0.2)
    seconds = time.monotonic() - started
    stop(running)
    return {
        "run": "burst", "timers": count, "schedulers": processes, "batch": batch,
        "seconds": round(seconds, 2), "timers_per_second": round(count / seconds), "exactly_once": exactly_once(count),
    }


def steady(rate, seconds, batch):
    from django.utils import timezone

    from bench.benchflows.flows import TimerBenchFlow
    from bench.core import reset_database
    from viewflow.models import Task

    reset_database()
    running = schedulers(1, "--batch", str(batch), "--interval", "0.2")
    time.sleep(2)  # let it start
    tick, armed, started = 0.05, 0, time.monotonic()
    while time.monotonic() - started < seconds:
        target = int((time.monotonic() - started) * rate)
        if target > armed:
            arm(target - armed, timezone.now())
            armed = target
        time.sleep(tick)
    while waiting():
        time.sleep(0.2)
    stop(running)
    lags = sorted(
        (finished - due).total_seconds()
        for finished, due in Task.objects.filter(flow_task=TimerBenchFlow.wait).values_list("finished", "due")
    )
    return {
        "run": "steady", "rate": rate, "seconds": seconds, "timers": armed, "batch": batch,
        "lag_p50_ms": round(statistics.median(lags) * 1000),
        "lag_p99_ms": round(lags[int(len(lags) * 0.99) - 1] * 1000),
        "lag_max_ms": round(lags[-1] * 1000), "exactly_once": exactly_once(armed),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--schedulers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("BENCH_DB", "postgres")
    os.environ.setdefault("BENCH_PG_SCHEMA", "viewflow_bench_timers")
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to a PostgreSQL database")
    from bench.core import setup_django

    setup_django()
    for count in args.schedulers:
        print(json.dumps(burst(args.n, count, args.batch)), flush=True)
    print(json.dumps(steady(args.rate, args.seconds, args.batch)), flush=True)


if __name__ == "__main__":
    main()
