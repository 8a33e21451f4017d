"""Fire due timers, deadlines and scheduled starts: the scheduler loop.

    manage.py run_timers                   # until SIGTERM or Ctrl-C, a round every 5 seconds
    manage.py run_timers --once            # one round (a cron job, a test)
    manage.py run_timers --batch 500 --interval 1

Each round calls :func:`viewflow.scheduler.fire_due`, the same function as the
Celery beat entry. Run as many as you like, on as many machines: each timer
fires once (see :mod:`viewflow.scheduler`). On SIGTERM or SIGINT the loop
finishes the batch it is in (its transaction commits) and exits; a scheduler
killed harder loses nothing either: the batch it was in fires on the next round
of any scheduler.
"""

from __future__ import annotations

import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from ...scheduler import DEFAULT_BATCH, fire_due


def positive_int(value):
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def positive_float(value):
    number = float(value)
    if not number > 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Fire the timers, deadlines and scheduled starts that are due; loops until SIGTERM unless --once."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="fire what is due now, then exit")
        parser.add_argument(
            "--batch", type=positive_int, default=DEFAULT_BATCH, metavar="N",
            help=f"timers per batch, each batch one transaction on PostgreSQL (default {DEFAULT_BATCH})",
        )
        parser.add_argument(
            "--interval", type=positive_float, default=5.0, metavar="SECONDS",
            help="pause between rounds when nothing was due (default 5); a timer fires at most this late",
        )

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        self.stopping = threading.Event()
        if not options["once"]:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self.stop)
        batch, interval = options["batch"], options["interval"]
        total = 0
        if not options["once"]:
            self.log(f"run_timers: started (batch {batch}, every {interval:g}s)")
        while not self.stopping.is_set():
            try:
                fired = fire_due(batch=batch, max_batches=1)
            except DatabaseError as exc:  # the database restarts, a connection drops: try again next round
                if options["once"]:
                    raise CommandError(f"run_timers: {exc}") from exc
                self.stderr.write(f"run_timers: database error, retrying in {interval:g}s: {exc}")
                close_old_connections()
                self.stopping.wait(interval)
                continue
            for item in fired:
                self.log(f"fired {item}")
            total += len(fired)
            if options["once"]:
                if fired:
                    continue  # a full batch: more may be due
                break
            if not fired:
                close_old_connections()
                self.stopping.wait(interval)
        if not options["once"]:
            self.log(f"run_timers: stopped after firing {total}")
        elif self.verbosity >= 1:
            self.stdout.write(f"{total} fired.")

    def stop(self, signum, frame):
        """SIGTERM/SIGINT: finish the batch in hand, then leave the loop."""
        self.stopping.set()

    def log(self, message):
        if self.verbosity >= 1:
            self.stdout.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}")
            self.stdout.flush()
