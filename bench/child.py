"""Run ONE scenario on ONE database in this fresh interpreter; print its result as a JSON line.

    python -m bench.child --scenario hello_api --n 1000 [--variant job]
"""

import argparse
import json
import sys
import traceback
from datetime import UTC, datetime

from . import core

MARKER = "@@RESULT@@"


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--variant", default=None)
    parser.add_argument("--fill", default=None)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args(argv)
    result = {"scenario": args.scenario, "n": args.n, "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        started = core.time.perf_counter()
        core.setup_django()
        core.reset_database()
        db, db_version, db_settings = core.db_description()
        result.update(db=db, db_version=db_version, db_settings=db_settings, versions=core.versions())
        result["setup_s"] = round(core.time.perf_counter() - started, 3)
        from .scenarios import SCENARIOS

        kwargs = {"n": args.n, "threads": args.threads, "reps": args.reps}
        if args.variant:
            kwargs["variant"] = args.variant
        if args.fill:
            kwargs["fill"] = args.fill
        figures = SCENARIOS[args.scenario](**kwargs)
        result.update(figures)
        result["peak_rss_mib"] = core.peak_rss_mib()
        if not figures.get("skipped"):
            result["ok"] = bool(figures.get("checks", {}).get("ok", False))
    except Exception as exc:  # noqa: BLE001 - the orchestrator reports it
        result["ok"] = False
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()[-4000:]
        result["peak_rss_mib"] = core.peak_rss_mib()
    print(MARKER + " " + json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
