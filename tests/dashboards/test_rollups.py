"""The rollup rebuild equals a raw scan, and rebuilding is idempotent."""

import datetime as dt
import io
import random

import pytest
from django.core.management import call_command

from dashboards.forms import DashboardFilters
from dashboards.models import DailyRollup
from dashboards.rollups import rollup_rebuild_range
from dashboards.selectors import _rollup_sums, cleared_compartments, totals_raw
from dashboards.tasks import rollups_refresh_task
from incidents.models import Channel, HarmCategory, Status
from tests.accounts.factories import TeamFactory
from tests.dashboards.factories import DAY, incident

pytestmark = pytest.mark.django_db

START = DAY - dt.timedelta(days=6)


@pytest.fixture
def spread():
    rng = random.Random(8)
    categories = list(HarmCategory.objects.all()[:4])
    teams = [TeamFactory(name="Dublin"), TeamFactory(name="Singapore"), None]
    for _ in range(120):
        created = dt.datetime.combine(START, dt.time(), tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randrange(0, 7 * 24 * 60))
        fields = {
            "created_at": created,
            "harm_category": rng.choice(categories),
            "region": rng.choice(["emea", "apac", "amer", "global"]),
            "channel": rng.choice([Channel.INTERNAL_DETECTION, Channel.MEDIA_INQUIRY]),
            "severity": rng.randint(1, 4),
            "team": rng.choice(teams),
        }
        if rng.random() < 0.8:
            fields["acknowledged_at"] = created + dt.timedelta(seconds=rng.randrange(10, 20000))
        if rng.random() < 0.5:
            fields["resolved_at"] = created + dt.timedelta(seconds=rng.randrange(100, 5 * 86400))
            fields["status"] = Status.RESOLVED
        incident(**fields)
    return categories


def _filters(**kw):
    return DashboardFilters(date_from=START, date_to=DAY, **kw)


def test_rollup_totals_and_histogram_counts_equal_the_raw_scan(lead, spread):
    rollup_rebuild_range(START - dt.timedelta(days=1), DAY + dt.timedelta(days=6))
    cleared = cleared_compartments(lead)
    for f in [_filters(), _filters(region="emea"), _filters(severity=2, channel=Channel.MEDIA_INQUIRY), _filters(category=spread[0].pk)]:
        sums = _rollup_sums(f, cleared)
        raw = totals_raw(user=lead, filters=f)
        assert {"opened": sums["opened"], "resolved": sums["resolved"]} == raw
        from dashboards.selectors import _fetch, _range, _where

        where, params = _where(f, cleared, "i")
        start, end = _range(f)
        acked = _fetch(
            f"SELECT COUNT(*) FROM incidents_incident i WHERE i.created_at >= %s AND i.created_at < %s AND i.acknowledged_at IS NOT NULL AND {where}",  # noqa: S608
            [start, end, *params],
        )[0][0]
        assert sum(sums["tta_hist"]) == acked


def test_open_at_end_of_day_matches_the_raw_count(spread):
    rollup_rebuild_range(DAY, DAY)
    end = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    from incidents.models import Incident

    raw = Incident.objects.filter(created_at__lt=end).exclude(resolved_at__lt=end).count()
    assert sum(DailyRollup.objects.filter(day=DAY).values_list("open_at_end", flat=True)) == raw


def test_rebuilding_twice_leaves_the_same_rows(spread):
    rollup_rebuild_range(START, DAY)
    first = sorted(
        map(
            str,
            DailyRollup.objects.values_list(
                "day", "harm_category_id", "region", "channel", "severity", "team_id", "opened", "tta_b3", "tta_b9"
            ),
        )
    )
    call_command("dashboards_rebuild", "--from", START.isoformat(), "--to", DAY.isoformat(), stdout=io.StringIO())
    again = sorted(
        map(
            str,
            DailyRollup.objects.values_list(
                "day", "harm_category_id", "region", "channel", "severity", "team_id", "opened", "tta_b3", "tta_b9"
            ),
        )
    )
    assert first
    assert first == again


def test_rebuild_command_rejects_a_reversed_range():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="after"):
        call_command("dashboards_rebuild", "--from", "2026-03-10", "--to", "2026-03-01")


def test_refresh_task_rebuilds_recent_days():
    from django.utils import timezone

    incident(created_at=timezone.now())
    assert rollups_refresh_task() >= 1
    assert DailyRollup.objects.filter(day=timezone.now().astimezone(dt.UTC).date(), opened=1).exists()


def test_refresh_task_also_rebuilds_the_declaration_day_of_a_recently_changed_incident():
    from django.utils import timezone

    old_day = timezone.now().astimezone(dt.UTC).date() - dt.timedelta(days=20)
    created = dt.datetime.combine(old_day, dt.time(9), tzinfo=dt.UTC)
    inc = incident(created_at=created)
    rollup_rebuild_range(old_day, old_day)
    assert sum(DailyRollup.objects.get(day=old_day).hist("ttr")) == 0
    inc.resolved_at = created + dt.timedelta(hours=3)
    inc.status = Status.RESOLVED
    inc.save()  # updated_at moves
    rollups_refresh_task()
    assert sum(DailyRollup.objects.get(day=old_day).hist("ttr")) == 1
