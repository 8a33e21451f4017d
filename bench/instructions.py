"""CPU instructions per process of a scenario, counted by valgrind: steady where timings drift.

    .venv/bin/python -m bench.instructions [--scenario hello_http] [--n 20,120] [--variant floor] [--peer]

Runs ``bench.child`` on SQLite under ``valgrind --tool=cachegrind`` twice, with N1 and
N2 processes, and prints (instructions at N2 - instructions at N1) / (N2 - N1): the
set-up (imports, migrations, warm-up) cancels out. ``--variant floor`` counts
hello_http's three requests without an engine; ``--peer`` counts the peer library
through its own harness (``harness.child`` of ../shared/bench/peer-viewflow2, in the
virtualenv ``$PEER_VENV``, default ``.venv-peer`` as ``make bench`` leaves it).

Timings of the same code drift by 5-15 % from one run to the next on a shared
machine; this count moves by a fraction of a percent, so it shows whether a change of
1 % is a gain. It counts work, not waiting: the time a commit spends in ``fdatasync``
is not in it. About a minute per 100 hello_http processes (valgrind runs Python some
50 times slower).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .compare import PEER, ROOT


def instructions(scenario, n, variant=None, peer=False):
    """Instructions the whole child process executed for ``n`` processes of ``scenario``."""
    if peer:
        python = Path(os.environ.get("PEER_VENV", ROOT / ".venv-peer")) / "bin" / "python"
        cwd, child = PEER, "harness.child"
    else:
        python, cwd, child = Path(sys.executable), ROOT, "bench.child"
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "BENCH_DB": "sqlite",
            "BENCH_SQLITE_PATH": str(Path(folder) / "bench.sqlite3"),
            "PYTHONHASHSEED": "0",  # the same dict and set layouts in every run
            "PYTHONPATH": str(cwd),
        }
        command = [
            "valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={os.devnull}",
            str(python), "-m", child, "--scenario", scenario, "--n", str(n),
            *(["--variant", variant] if variant else []),
        ]
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode or found is None or '"ok": true' not in done.stdout:
        sys.exit(f"{scenario} with n={n} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="hello_http", choices=["hello_http", "hello_api", "split_join"])
    parser.add_argument("--n", default="20,120", help="the two numbers of processes, N1,N2 (N1 < N2)")
    parser.add_argument("--variant", help="a variant of ours, e.g. floor (hello_http without an engine)")
    parser.add_argument("--peer", action="store_true", help="count the peer library instead of this one")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    if args.peer and args.variant:
        sys.exit("--variant is for this project's scenarios, not the peer's")
    low, high = sorted(int(value) for value in args.n.split(","))
    counts = [instructions(args.scenario, n, args.variant, args.peer) for n in (low, high)]
    per_process = (counts[1] - counts[0]) / (high - low)
    who = "peer" if args.peer else "ours" + (f"[{args.variant}]" if args.variant else "")
    print(f"{args.scenario} ({who}): {per_process / 1e6:.3f} M instructions per process (n={low},{high}, SQLite)")


if __name__ == "__main__":
    main()
