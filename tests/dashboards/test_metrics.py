"""Every dashboard number against values worked out by hand."""

import datetime as dt

import pytest

from dashboards.forms import DashboardFilters
from dashboards.rollups import rollup_rebuild_range
from dashboards.selectors import dashboard_summary, metric_exact, percentile_from_hist
from escalations.models import SLAClock
from incidents.models import Status
from postmortems.models import ActionItem, PostMortem
from tests.accounts.factories import TeamFactory
from tests.dashboards.factories import DAY, at, incident, oncall, page, status_change

pytestmark = pytest.mark.django_db

ONE_DAY = DashboardFilters(date_from=DAY, date_to=DAY)
NOW = at(16)


def minutes(n):
    return dt.timedelta(minutes=n)


@pytest.fixture
def response_times():
    """Three incidents declared at 10:00 on DAY, acknowledged after 3, 10 and 45 minutes;
    two resolved after 2 h and 5 h; first signals 30 s and 90 min before declaration."""
    created = at(10)
    a = incident(created_at=created, acknowledged_at=created + minutes(3), resolved_at=created + minutes(120), status=Status.RESOLVED)
    b = incident(created_at=created, acknowledged_at=created + minutes(10), resolved_at=created + minutes(300), status=Status.RESOLVED)
    c = incident(created_at=created, acknowledged_at=created + minutes(45), first_signal_at=created - minutes(90))
    a.first_signal_at = created - dt.timedelta(seconds=30)
    a.save(update_fields=["first_signal_at"])
    rollup_rebuild_range(DAY, DAY)
    return a, b, c


def test_percentile_from_histogram_interpolates_inside_the_bucket():
    # Buckets [0,60) [60,120) [120,240) [240,480) [480,960) ...; one value in bucket 2 and one in 4.
    hist = [0, 0, 1, 0, 1] + [0] * 12
    # Median: rank 1.0 falls at the top of bucket 2 → 120 + 120 × (1 − 0) / 1 = 240 s.
    assert percentile_from_hist(hist, 0.5) == 240
    # p90: rank 1.8 → bucket 4 at 0.8 of its width: 480 + 480 × 0.8 = 864 s.
    assert percentile_from_hist(hist, 0.9) == pytest.approx(864)
    assert percentile_from_hist([0] * 17, 0.5) is None


def test_mtta_mttr_and_time_to_detect_medians_and_p90(lead, response_times):
    metrics = dashboard_summary(user=lead, filters=ONE_DAY, now=NOW)["metrics"]
    # MTTA samples 180 s, 600 s, 2700 s sit in buckets [120,240), [480,960), [1920,3840).
    # Median rank 1.5 → 480 + 480 × 0.5 = 720 s; p90 rank 2.7 → 1920 + 1920 × 0.7 = 3264 s.
    assert metrics["tta"]["count"] == 3
    assert metrics["tta"]["median_seconds"] == pytest.approx(720)
    assert metrics["tta"]["p90_seconds"] == pytest.approx(3264)
    assert metrics["tta"]["mean_seconds"] == pytest.approx((180 + 600 + 2700) / 3)
    # MTTR samples 7200 s in [3840,7680) and 18000 s in [15360,30720).
    # Median rank 1.0 → 3840 + 3840 × 1 = 7680 s; p90 rank 1.8 → 15360 + 15360 × 0.8 = 27648 s.
    assert metrics["ttr"]["count"] == 2
    assert metrics["ttr"]["median_seconds"] == pytest.approx(7680)
    assert metrics["ttr"]["p90_seconds"] == pytest.approx(27648)
    # Time to detect: 30 s in [0,60) and 5400 s in [3840,7680): median rank 1.0 → 60 s.
    assert metrics["ttd"]["count"] == 2
    assert metrics["ttd"]["median_seconds"] == pytest.approx(60)
    assert metrics["ttm"]["count"] == 0
    assert metrics["ttm"]["median_seconds"] is None
    assert "acknowledged_at − created_at" in metrics["tta"]["definition"]


def test_exact_percentile_from_raw_rows_lies_in_the_histogram_bucket(lead, response_times):
    assert metric_exact(user=lead, filters=ONE_DAY, metric="tta", q=0.5) == pytest.approx(600)
    assert metric_exact(user=lead, filters=ONE_DAY, metric="ttr", q=0.5) == pytest.approx((7200 + 18000) / 2)


def test_counts_and_comparison_with_the_previous_period(lead, response_times):
    incident(created_at=at(9, day=DAY - dt.timedelta(days=1)))
    rollup_rebuild_range(DAY - dt.timedelta(days=1), DAY)
    summary = dashboard_summary(user=lead, filters=ONE_DAY, now=NOW)
    assert summary["totals"] == {"opened": 3, "resolved": 2}
    assert summary["previous"]["totals"] == {"opened": 1, "resolved": 0}
    assert summary["previous"]["range"] == {"from": "2026-03-09", "to": "2026-03-09"}


def test_time_in_status_from_timeline_transitions(lead):
    # One incident: new 10:00–10:30, triaged 10:30–12:00, investigating 12:00–14:00, then resolved.
    one = incident(created_at=at(10))
    status_change(one, at(10, 30), "new", "triaged")
    status_change(one, at(12), "triaged", "investigating")
    status_change(one, at(14), "investigating", "resolved")
    # Another still new at 16:00: 6 h in new.
    incident(created_at=at(10))
    rows = {r["status"]: r for r in dashboard_summary(user=lead, filters=ONE_DAY, now=NOW)["time_in_status"]["rows"]}
    assert rows["new"] == {"status": "new", "incidents": 2, "total_hours": 6.5, "mean_hours": 3.25}
    assert rows["triaged"]["total_hours"] == 1.5
    assert rows["investigating"]["total_hours"] == 2.0
    assert rows["mitigating"]["incidents"] == 0


def test_open_incidents_by_severity_and_status(lead):
    incident(created_at=at(10), severity=1, status=Status.NEW)
    incident(created_at=at(10), severity=1, status=Status.NEW)
    incident(created_at=at(10), severity=2, status=Status.INVESTIGATING)
    incident(created_at=at(10), severity=2, status=Status.RESOLVED)
    open_ = dashboard_summary(user=lead, filters=ONE_DAY, now=NOW)["open"]
    assert open_["total"] == 3
    assert open_["rows"][0]["new"] == 2
    assert open_["rows"][1]["investigating"] == 1


def test_oncall_load_counts_night_pages_in_the_recipients_zone(lead, make_user):
    berlin = make_user("berlin", time_zone="Europe/Berlin")
    inc = incident(created_at=at(10))
    page(inc, berlin, at(21, 30))  # 22:30 in Berlin (CET): night
    page(inc, berlin, at(5, 30), step=1)  # 06:30 in Berlin: night
    page(inc, berlin, at(12), step=2)  # 13:00 in Berlin: day
    oncall(berlin, at(20, day=DAY - dt.timedelta(days=1)), at(8))  # 4 h before the range start are clipped: 8 h
    rows = dashboard_summary(user=lead, filters=ONE_DAY, now=NOW)["oncall"]["rows"]
    assert rows == [{"user": "berlin", "pages": 3, "night_pages": 2, "hours_on_call": 8.0}]
    # With a team filter, pages of other teams' incidents and hours on other schedules drop out.
    other = TeamFactory(name="Elsewhere")
    assert (
        dashboard_summary(user=lead, filters=DashboardFilters(date_from=DAY, date_to=DAY, team=other.pk), now=NOW)["oncall"]["rows"] == []
    )


def test_sla_attainment_and_breach_list(lead):
    inc = incident(created_at=at(10), reference="INC-2026-00077")
    due = at(11)
    common = {"incident": inc, "started_at": at(10), "due_at": due, "duration": dt.timedelta(hours=1)}
    SLAClock.objects.create(metric="acknowledge", state="met", stopped_at=at(10, 20), cycle=1, **common)
    SLAClock.objects.create(metric="acknowledge", state="breached", breached_at=due, cycle=2, **common)
    SLAClock.objects.create(metric="acknowledge", state="breached", breached_at=due, stopped_at=at(12), cycle=3, **common)
    SLAClock.objects.create(metric="resolution", state="running", cycle=1, **common)
    sla = dashboard_summary(user=lead, filters=ONE_DAY, now=NOW)["sla"]
    rows = {r["metric"]: r for r in sla["rows"]}
    # 1 met, 2 breached (one stopped late) → 33.3 %; the running resolution clock is undecided.
    assert rows["acknowledge"] == {"metric": "acknowledge", "met": 1, "breached": 2, "open": 0, "attainment_pct": 33.3}
    assert rows["resolution"]["attainment_pct"] is None
    assert [b["reference"] for b in sla["breaches"]] == ["INC-2026-00077", "INC-2026-00077"]


def test_postmortem_completion_and_overdue_action_items(lead):
    done = incident(created_at=at(10))
    draft = incident(created_at=at(10))
    pm_done = PostMortem.objects.create(incident=done, title="A", status="published")
    PostMortem.objects.create(incident=draft, title="B", status="draft")
    ActionItem.objects.create(postmortem=pm_done, title="Late", owner=lead, due_on=DAY, status="open")
    ActionItem.objects.create(postmortem=pm_done, title="Done", owner=lead, due_on=DAY, status="done")
    ActionItem.objects.create(postmortem=pm_done, title="Later", owner=lead, due_on=NOW.date() + dt.timedelta(days=3), status="open")
    pm = dashboard_summary(user=lead, filters=ONE_DAY, now=NOW + dt.timedelta(days=1))["postmortems"]
    assert pm["total"] == 2
    assert pm["published"] == 1
    assert pm["completion_pct"] == 50.0
    assert pm["overdue_action_items"] == 1
