"""Flows started by a StartTimer; tests/test_timers.py passes them to ``fire_due(flows=...)``.

Outside any installed app on purpose: ``fire_due()`` without ``flows`` looks after the
project's flows (``all_flows()``), and these must not start processes in other tests.
"""

import datetime

from tests.testapp.models import SampleProcess
from viewflow import flow
from viewflow.base import Flow, this


class WeeklyFlow(Flow):
    """Weekly: a report every Monday at 9 (Europe/Berlin)."""

    process_cls = SampleProcess

    start = flow.StartTimer(this.fill, cron="0 9 * * MON", tz="Europe/Berlin").Next(this.end)
    end = flow.End()

    def fill(self, activation, when):
        activation.process.text = when.isoformat()


class HourlyFlow(Flow):
    """Hourly: every hour, catching up one missed slot."""

    process_cls = SampleProcess

    start = flow.StartTimer(every=datetime.timedelta(hours=1)).Next(this.end)
    end = flow.End()


class HourlyAllFlow(Flow):
    """Hourly, all: every missed slot starts its process."""

    process_cls = SampleProcess

    start = flow.StartTimer(every=datetime.timedelta(hours=1), catch_up="all").Next(this.end)
    end = flow.End()


class HourlyNoneFlow(Flow):
    """Hourly, none: a missed slot starts nothing."""

    process_cls = SampleProcess

    start = flow.StartTimer(every=datetime.timedelta(hours=1), catch_up="none").Next(this.end)
    end = flow.End()
