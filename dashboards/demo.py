"""Demo data: the dashboards own no source rows; rebuild the rollup over the seeded history.
Runs last (dashboards is the last installed app), after every other app seeded."""

from __future__ import annotations

import datetime as dt
import random
from typing import TextIO

from dashboards.rollups import rollup_rebuild_range
from incidents.models import Incident


def seed(*, stdout: TextIO, rng: random.Random, now: dt.datetime) -> None:
    first = Incident.objects.order_by("created_at").values_list("created_at", flat=True).first()
    today = now.astimezone(dt.UTC).date()
    start = first.astimezone(dt.UTC).date() if first else today
    start = max(start, today - dt.timedelta(days=400))
    done = rollup_rebuild_range(start, today, now=now)
    stdout.write(f"dashboards: rollup rebuilt for {len(done)} days ({sum(done.values())} rows)\n")
