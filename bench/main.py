"""Run this library's benchmark: every scenario on every database, each in a fresh interpreter.

    python -m bench.main                        # SQLite (+ PostgreSQL when DATABASE_URL is set)
    python -m bench.main --quick                # small N, a smoke test
    python -m bench.main --only hello_api --n hello_api=200 --out results.json

stdout: one JSON object per run (scenario x database x variant); stderr: progress.
The scenarios, N and JSON fields are those of ../shared/bench/peer-viewflow2; the
extra runs (the §1 flow with its Job, the inbox at 1,000,000 processes, the
cache lock) carry a ``variant``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from .child import MARKER

ROOT = Path(__file__).resolve().parent.parent

ORDER = ["hello_http", "hello_api", "split_join", "inbox", "concurrent_join", "subprocess"]
DEFAULT_N = {
    "hello_http": 200, "hello_api": 1000, "split_join": 200, "inbox": 100_000, "concurrent_join": 50, "subprocess": 100,
}
QUICK_N = {"hello_http": 20, "hello_api": 50, "split_join": 20, "inbox": 2_000, "concurrent_join": 5, "subprocess": 5}
#: (scenario, variant, options): the comparable run first (variant None or the peer's lock), then extras
RUNS = [
    ("hello_http", "handler", {}),
    ("hello_http", "job", {}),
    ("hello_http", "floor", {}),
    ("hello_api", "handler", {}),
    ("hello_api", "job", {}),
    ("split_join", None, {}),
    ("inbox", None, {"fill": "bulk"}),
    ("inbox", "1m", {"fill": "sql", "n": 1_000_000, "dbs": ("postgres",)}),  # the bar is on PostgreSQL
    ("concurrent_join", "select_for_update_lock", {}),
    ("concurrent_join", "cache_lock", {}),
    ("subprocess", "ten_children", {}),  # ours only (the peer harness has none): an extra run
]
QUICK_EXTRA_N = {"1m": 20_000}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def eprint(*args):
    print(*args, file=sys.stderr, flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=None, help="comma list of sqlite,postgres")
    parser.add_argument("--only", default=None, help="comma list of scenarios")
    parser.add_argument("--n", action="append", default=[], metavar="SCENARIO=N")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-extras", action="store_true", help="only the runs comparable with the peer")
    parser.add_argument(
        "--extras-only", action="store_true", help="only the extra runs (job flow, 1m inbox, cache lock)"
    )
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--timeout", type=int, default=1200)
    parser.add_argument("--out", default=None)
    return parser.parse_args(argv)


def run_child(scenario, db, n, args, workdir, variant=None, fill=None):
    env = dict(os.environ)
    env["BENCH_DB"] = db
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if db == "sqlite":
        fd, path = tempfile.mkstemp(prefix=f"{scenario}-", suffix=".sqlite3", dir=workdir)
        os.close(fd)
        os.unlink(path)
        env["BENCH_SQLITE_PATH"] = path
    cmd = [sys.executable, "-m", "bench.child", "--scenario", scenario, "--n", str(n),
           "--threads", str(args.threads), "--reps", str(args.reps)]
    if variant:
        cmd += ["--variant", variant]
    if fill:
        cmd += ["--fill", fill]
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=args.timeout)
        stdout, stderr, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        rc = "timeout"
    result = None
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            result = json.loads(line[len(MARKER):])
    if result is None:
        result = {"scenario": scenario, "db": db, "n": n, "ok": False,
                  "error": f"child exited with {rc} and no result", "stderr_tail": stderr[-3000:]}
    if variant and "variant" not in result:
        result["variant"] = variant
    if db == "sqlite":
        try:
            os.unlink(env["BENCH_SQLITE_PATH"])
        except OSError:
            pass
    result["process_s"] = round(time.perf_counter() - started, 2)
    return result, stderr


def main(argv=None):
    args = parse_args(argv)
    dbs = args.db.split(",") if args.db else (["sqlite", "postgres"] if os.environ.get("DATABASE_URL") else ["sqlite"])
    if "postgres" in dbs and not os.environ.get("DATABASE_URL"):
        sys.exit("--db postgres needs DATABASE_URL")
    scenarios = args.only.split(",") if args.only else ORDER
    ns = dict(QUICK_N if args.quick else DEFAULT_N)
    for item in args.n:
        name, _, value = item.partition("=")
        ns[name] = int(value)
    runs = [r for r in RUNS if r[0] in scenarios]
    comparable = (None, "handler", "select_for_update_lock")
    if args.no_extras:
        runs = [r for r in runs if r[1] in comparable]
    if args.extras_only:
        runs = [r for r in runs if r[1] not in comparable]
    meta = {
        "harness": "viewflow bench",
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"machine": platform.machine(), "cpu": cpu_model(), "cpus": os.cpu_count(),
                 "kernel": platform.release(), "python": platform.python_version()},
        "dbs": dbs, "n": {s: ns[s] for s in scenarios}, "argv": sys.argv[1:] if argv is None else argv,
    }
    eprint(f"viewflow bench: dbs={','.join(dbs)} scenarios={','.join(scenarios)}")
    results = []
    total_started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="viewflow-bench-db-") as workdir:
        for db in dbs:
            for scenario, variant, options in runs:
                n = options.get("n", ns[scenario])
                if variant in QUICK_EXTRA_N and args.quick:
                    n = QUICK_EXTRA_N[variant]
                if n == 0:
                    continue
                if db not in options.get("dbs", (db,)):
                    continue
                label = scenario + (f"[{variant}]" if variant else "")
                if scenario == "concurrent_join" and db != "postgres":
                    if variant == "select_for_update_lock":
                        result = {"scenario": scenario, "db": "sqlite", "n": n, "variant": variant, "skipped": True,
                                  "reason": "PostgreSQL only (needs concurrent writers and row locks)"}
                        print(json.dumps(result), flush=True)
                        results.append(result)
                    continue
                eprint(f"  {label} on {db} (N={n:,}) ...")
                result, stderr = run_child(scenario, db, n, args, workdir, variant, options.get("fill"))
                eprint(f"  {label} on {db}: {'ok' if result.get('ok') else 'NOT OK'} in {result['process_s']} s")
                if result.get("error"):
                    eprint(stderr[-3000:])
                    eprint(result.get("traceback", ""))
                print(json.dumps(result, default=str), flush=True)
                results.append(result)
    meta["total_s"] = round(time.perf_counter() - total_started, 1)
    eprint(f"total {meta['total_s']} s")
    if args.out:
        Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str) + "\n")
        eprint(f"wrote {args.out}")
    return 1 if any(r.get("error") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
