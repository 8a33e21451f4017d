"""``make bench``: run this library's bench and the peer harness in one go, print the ratios.

    python -m bench.compare              # default N, SQLite and PostgreSQL
    python -m bench.compare --quick      # small N (make bench-quick)

Runs ``python -m bench.main`` (this project) and ``../shared/bench/peer-viewflow2/run.sh``
(the peer, django-viewflow 2.4.0, in a cached virtualenv ``$PEER_VENV``) one after the
other on the same databases, then prints per scenario and database: processes per
second and SQL statements per process of both and their ratios (ours / peer), latency
per process, the inbox and queue pages, and the bars of issue 7. The last line of
stdout is one JSON object ``{"<scenario>/<db>": {"throughput_ratio": x, "query_ratio": y}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER = Path(os.environ.get("PEER_HARNESS", ROOT.parent / "shared" / "bench" / "peer-viewflow2"))
DB_NAMES = {"sqlite": "sqlite", "postgresql": "postgres"}
SCENARIOS = ["hello_http", "hello_api", "split_join", "inbox", "concurrent_join"]
#: the run of ours that is compared with the peer's run of the same scenario
COMPARABLE = {"hello_http": "handler", "hello_api": "handler", "split_join": None, "inbox": None,
              "concurrent_join": "select_for_update_lock"}
PEER_VARIANT = {"concurrent_join": "select_for_update_lock"}
#: the scenarios of a few seconds each, run in several rounds (see ``report``)
ROUNDED = ("hello_http", "hello_api", "split_join")


def eprint(*args):
    print(*args, file=sys.stderr, flush=True)


def run(cmd, env, label):
    """Run a harness; its stderr goes through, its stdout (JSON lines) is collected."""
    eprint(f"== {label}: {' '.join(str(c) for c in cmd)}")
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    results = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            results.append(json.loads(line))
    eprint(f"== {label}: exit {proc.returncode}, {len(results)} results, {time.perf_counter() - started:.0f} s")
    return results, proc.returncode


def key(result):
    return result["scenario"], DB_NAMES.get(result.get("db"), result.get("db"))


def fmt(value, digits=1, suffix=""):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{suffix}"
    return f"{value}{suffix}"


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return round(a / b, 3)


def latency(result):
    lat = result.get("latency_per_process") or result.get("latency_per_task_completion") or {}
    return lat


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def commit_share(ours_by, peer_by, dbs):
    """The hello worlds' time per process split into commits and the rest (markdown lines).

    Both libraries commit three times per process (one per step a person takes);
    the peer harness does not time its commits, so the peer's rest assumes a
    commit costs it what it costs us (its transactions write more rows, so if
    anything it pays more).
    """
    rows = []
    for scenario in ("hello_http", "hello_api"):
        for db in dbs:
            mine = ours_by.get((scenario, db), {}).get(COMPARABLE[scenario])
            theirs = peer_by.get((scenario, db))
            if not mine or not theirs or mine.get("commit_ms_per_process") is None or not theirs.get("processes_per_s"):
                continue
            ours_ms, peer_ms = 1000 / mine["processes_per_s"], 1000 / theirs["processes_per_s"]
            commit_ms = mine["commit_ms_per_process"]
            rows.append([scenario, db, fmt(ours_ms, 2), fmt(mine["commits_per_process"]), fmt(commit_ms, 2),
                         fmt(ours_ms - commit_ms, 2), fmt(peer_ms, 2), fmt(peer_ms - commit_ms, 2),
                         fmt(ratio(peer_ms - commit_ms, ours_ms - commit_ms), 2, "x"),
                         fmt(ratio(peer_ms, commit_ms), 2, "x")])
    if not rows:
        return []
    return [
        "### Commits: the disk's share of a hello world process (ms per process)",
        "",
        table(["scenario", "db", "ours", "commits", "in COMMIT", "ours without", "peer", "peer without (est.)",
               "ratio without commits", "ratio at zero engine cost"], rows),
        "",
        "in COMMIT: time inside the database's commit, timed around Django's `_commit` during the timed loop. "
        "Both libraries commit three times per process; the peer's time without commits assumes the same cost "
        "per commit. ratio at zero engine cost: the peer's time over our commits alone, the most any library "
        "could reach on this disk.",
        "",
    ]


def median_run(runs):
    """The run with the median processes per second (the middle one of an odd number)."""
    ranked = sorted(runs, key=lambda r: r.get("processes_per_s") or 0)
    return ranked[(len(ranked) - 1) // 2]


def report(ours, peer, dbs):
    """Markdown tables and the summary dict.

    A scenario run in several rounds (ours, then the peer's, again and again) is
    shown by each library's median run; its throughput ratio is the median of
    the rounds' ratios, each taken between two runs made one after the other.
    """
    ours_runs, peer_runs = {}, {}
    for r in ours:
        ours_runs.setdefault(key(r), {}).setdefault(r.get("variant"), []).append(r)
    for r in peer:
        if r.get("variant") in (None, PEER_VARIANT.get(r["scenario"])):
            peer_runs.setdefault(key(r), []).append(r)
    ours_by = {
        k: {variant: median_run(runs) for variant, runs in variants.items()} for k, variants in ours_runs.items()
    }
    peer_by = {k: median_run(runs) for k, runs in peer_runs.items()}
    summary, rows, lines, rounds = {}, [], [], []
    for scenario in SCENARIOS:
        for db in dbs:
            mine = ours_by.get((scenario, db), {}).get(COMPARABLE[scenario])
            theirs = peer_by.get((scenario, db))
            if mine is None or theirs is None or mine.get("skipped") or theirs.get("skipped"):
                continue
            paired = [
                ratio(a.get("processes_per_s"), b.get("processes_per_s"))
                for a, b in zip(ours_runs[(scenario, db)][COMPARABLE[scenario]], peer_runs[(scenario, db)])
            ]
            if scenario == "inbox":
                # the fill is bench code and SQL per process means nothing for it: compare the queue
                # page, pages per second (peer GET ms / ours) and SQL statements per GET
                q_ratio = ratio(mine["queue"]["http_sql_per_request"], theirs["queue"]["http_sql_per_request"])
                t_ratio = ratio(theirs["queue"]["http_get_ms_median"], mine["queue"]["http_get_ms_median"])
            else:
                q_ratio = ratio(mine.get("sql_queries_per_process"), theirs.get("sql_queries_per_process"))
                t_ratio = ratio(mine.get("processes_per_s"), theirs.get("processes_per_s"))
                if len(paired) > 1 and None not in paired:
                    t_ratio = statistics.median(paired)
                    rounds.append([scenario, db, ", ".join(fmt(r, 2, "x") for r in paired), fmt(t_ratio, 2, "x")])
            summary[f"{scenario}/{db}"] = {"throughput_ratio": t_ratio, "query_ratio": q_ratio}
            lo, lp = latency(mine), latency(theirs)
            rows.append(
                [
                    scenario,
                    db,
                    fmt(mine.get("processes_per_s")),
                    fmt(theirs.get("processes_per_s")),
                    fmt(t_ratio, 2, "x"),
                    fmt(
                        mine.get("sql_queries_per_process")
                        if scenario != "inbox"
                        else mine["queue"]["http_sql_per_request"]
                    ),
                    fmt(
                        theirs.get("sql_queries_per_process")
                        if scenario != "inbox"
                        else theirs["queue"]["http_sql_per_request"]
                    ),
                    fmt(q_ratio, 2, "x"),
                    f"{fmt(lo.get('p50_ms'))} / {fmt(lo.get('p99_ms'))}" if lo else "-",
                    f"{fmt(lp.get('p50_ms'))} / {fmt(lp.get('p95_ms'))}" if lp else "-",
                    "yes" if mine.get("ok") and theirs.get("ok") else f"ours {mine.get('ok')}, peer {theirs.get('ok')}",
                ]
            )
    lines.append("### Ours / peer, per scenario and database")
    lines.append("")
    lines.append(table(["scenario", "db", "ours proc/s", "peer proc/s", "throughput ratio", "ours SQL/proc",
                        "peer SQL/proc", "query ratio", "ours p50 / p99 ms", "peer p50 / p95 ms", "checks ok"], rows))
    lines.append("")
    lines.append(
        "inbox: proc/s is the bulk fill rate (bench code, not the library); its throughput ratio is queue "
        "pages per second (peer GET ms / ours) and its SQL is per queue page GET. "
        "concurrent_join: ours with select_for_update_lock vs the peer's select_for_update_lock (NOWAIT + retries); "
        "latency per branch task. The peer harness reports p95, not p99."
    )
    lines.append("")
    if rounds:
        lines.append("### Rounds: ours then the peer's, one after the other")
        lines.append("")
        lines.append(table(["scenario", "db", "ratio of each round", "median (the ratio above)"], rounds))
        lines.append("")
        lines.append("The machine's speed drifts by a fifth within minutes; a ratio of two runs made one after the "
                     "other drifts less, and the median of several rounds least. The table above shows each "
                     "library's median run.")
        lines.append("")

    # the other runs of ours (§1 flow with its Job, cache lock), against the same peer run
    extra = []
    for (scenario, db), variants in ours_by.items():
        for variant, mine in variants.items():
            if variant == COMPARABLE.get(scenario) or scenario == "inbox" or mine.get("skipped"):
                continue
            theirs = peer_by.get((scenario, db))
            lo = latency(mine)
            extra.append(
                [
                    f"{scenario}[{variant}]",
                    db,
                    fmt(mine.get("processes_per_s")),
                    fmt(ratio(mine.get("processes_per_s"), theirs and theirs.get("processes_per_s")), 2, "x"),
                    fmt(mine.get("sql_queries_per_process")),
                    fmt(
                        ratio(mine.get("sql_queries_per_process"), theirs and theirs.get("sql_queries_per_process")),
                        2,
                        "x",
                    ),
                    f"{fmt(lo.get('p50_ms'))} / {fmt(lo.get('p99_ms'))}",
                    "yes" if mine.get("ok") else "NO",
                ]
            )
    if extra:
        lines.append("### Other runs of ours (same peer run as the reference)")
        lines.append("")
        lines.append(
            table(["run", "db", "proc/s", "throughput ratio", "SQL/proc", "query ratio", "p50 / p99 ms", "ok"], extra)
        )
        lines.append("")
        lines.append(
            "hello_*[job]: the §1 flow as written (send = celery.Job, run in-process after commit: one more step). "
            "hello_http[floor]: the same three POSTs to a view with no engine (session, user, permission, "
            "redirect): the part of every hello_http process that no workflow library can remove; its "
            "throughput ratio is how far above the peer a library with a free engine would be."
        )
        lines.append("")

    lines.extend(commit_share(ours_by, peer_by, dbs))

    # inbox and queue pages
    pages = []
    for db in dbs:
        for label, result in [("ours", v) for v in ours_by.get(("inbox", db), {}).values()] + [
            ("peer", peer_by.get(("inbox", db)))
        ]:
            if not result or result.get("skipped") or "queue" not in result:
                continue
            for page in ("queue", "inbox", "api_inbox"):
                if page not in result:  # the REST API's page: ours only
                    continue
                q = result[page]
                pages.append(
                    [
                        db,
                        label,
                        f"{result.get('processes', result.get('n')):,}",
                        page,
                        f"{q['total_rows']:,}" if q["total_rows"] is not None else "-",
                        fmt(q["first_page_sql_ms_median"], 2),
                        fmt(q["view_data_ms_median"], 2),
                        fmt(q["http_get_ms_median"], 1),
                        fmt(q["http_sql_per_request"]),
                        fmt(q["http_response_kib"]),
                    ]
                )
    if pages:
        lines.append("### Inbox and queue pages (bob; medians)")
        lines.append("")
        lines.append(table(["db", "library", "processes", "page", "rows (count shown)", "first page SQL ms",
                            "view data ms", "whole GET ms", "SQL per GET", "HTML KiB"], pages))
        lines.append("")

    # bars of issue 7
    bars = []
    for name, figures in summary.items():
        bars.append([name, "ok" if (figures["throughput_ratio"] or 0) >= 2 else "MISSED",
                     "ok" if figures["query_ratio"] is not None and figures["query_ratio"] <= 0.5 else "MISSED"])
    for db in dbs:
        for _variant, result in ours_by.get(("inbox", db), {}).items():
            if db != "postgres" or "queue" not in result:
                continue
            for page in ("queue", "inbox", "api_inbox"):
                if page not in result:
                    continue
                q = result[page]
                bars.append([f"{page} page at {result['processes']:,} ({db})",
                             "ok" if q["first_page_sql_ms_median"] < 20 else "MISSED",
                             "ok" if q["http_get_ms_median"] < 100 else "MISSED"])
    conc = ours_by.get(("concurrent_join", "postgres"), {}).get("select_for_update_lock")
    if conc and not conc.get("skipped"):
        c = conc.get("checks", {})
        bars.append(
            [
                "concurrent_join exactly once, no deadlock, p95 < 60 ms",
                "ok" if c.get("ok") and not conc["events"]["deadlock"] else "MISSED",
                "ok" if (latency(conc).get("p95_ms") or 1e9) < 60 else f"MISSED ({latency(conc).get('p95_ms')} ms)",
            ]
        )
    lines.append("### Bars (issue 7): throughput >= 2x, queries <= 0.5x; pages: SQL < 20 ms, GET < 100 ms")
    lines.append("")
    lines.append(table(["what", "throughput / SQL bar", "query / GET bar"], bars))
    return "\n".join(lines), summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small N everywhere (make bench-quick)")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--skip-peer", default=None, metavar="FILE", help="reuse the peer's results from FILE")
    parser.add_argument("--skip-ours", default=None, metavar="FILE", help="reuse our results from FILE")
    parser.add_argument("--out-dir", default=str(ROOT / "bench"), help="where results-*.json go")
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="rounds of the short scenarios, ours then the peer's each time (default 3; 1 with --quick)",
    )
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    dbs = args.db.split(",")
    env = dict(os.environ)
    if "postgres" in dbs:
        env.setdefault("DATABASE_URL", "postgres://root@127.0.0.1:5432/bench")
    env.setdefault("PEER_VENV", str(ROOT / ".venv-peer"))
    suffix = "quick" if args.quick else "full"
    out_dir = Path(args.out_dir)
    ours_file, peer_file = out_dir / f"results-ours-{suffix}.json", out_dir / f"results-peer-{suffix}.json"

    # Scenario by scenario, ours then the peer's on the same database, so that a change
    # of load on the machine (it is shared) hits both sides of a ratio alike.
    ours = json.loads(Path(args.skip_ours).read_text())["results"] if args.skip_ours else []
    peer = json.loads(Path(args.skip_peer).read_text())["results"] if args.skip_peer else []
    meta = {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "dbs": dbs, "quick": args.quick}

    def save():  # after every run: a long run interrupted still leaves its figures
        ours_file.write_text(json.dumps({"meta": meta, "results": ours}, indent=2, default=str) + "\n")
        peer_file.write_text(json.dumps({"meta": meta, "results": peer}, indent=2, default=str) + "\n")
    for db in dbs:
        for scenario in SCENARIOS:
            if scenario == "concurrent_join" and db != "postgres":
                continue
            only = ["--db", db, "--only", scenario] + (["--quick"] if args.quick else [])
            for round_ in range(args.rounds if scenario in ROUNDED else 1):
                label = f"{scenario} on {db}" + (f", round {round_ + 1}" if scenario in ROUNDED else "")
                if not args.skip_ours:
                    cmd = [sys.executable, "-m", "bench.main", *only, "--no-extras"]
                    ours += run(cmd, env, f"ours {label}")[0]
                    save()
                if not args.skip_peer:
                    cmd = [str(PEER / "run.sh"), *only, "--variants", "select_for_update_lock"]
                    peer += run(cmd, env, f"peer {label}")[0]
                    save()
    if not args.skip_ours and not args.quick:
        # ours only: the §1 flow with its Job, the inbox at 1,000,000 (PostgreSQL), the cache lock;
        # the hello world extras with a smaller N to keep the run short
        cmd = [sys.executable, "-m", "bench.main", "--db", ",".join(dbs), "--extras-only",
               "--n", "hello_http=100", "--n", "hello_api=300"]
        ours += run(cmd, env, "ours, extra runs")[0]
    save()
    eprint(f"wrote {ours_file} and {peer_file}")

    text, summary = report(ours, peer, dbs)
    print(text, flush=True)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
