import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from dashboards.rollups import rollup_rebuild_range
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def recent_incidents(make_user):
    make_user("lead", role="lead")
    now = timezone.now()
    for days_ago, minutes_to_ack in [(1, 4), (2, 12), (3, 30), (12, 90), (20, 7)]:
        created = now - dt.timedelta(days=days_ago)
        IncidentFactory(created_at=created, acknowledged_at=created + dt.timedelta(minutes=minutes_to_ack), region="emea")
    today = now.astimezone(dt.UTC).date()
    rollup_rebuild_range(today - dt.timedelta(days=40), today)
    return today


def test_lead_opens_the_dashboard_changes_the_range_and_downloads_a_csv(page, live_server, login, recent_incidents, screenshot):
    today = recent_incidents
    login(page, "lead")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(page.locator("#kpi-opened")).to_have_text("5")
    expect(page.locator("#volume-chart canvas")).to_be_visible()

    page.get_by_label("From").fill((today - dt.timedelta(days=6)).isoformat())
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#kpi-opened")).to_have_text("3")
    mtta = page.get_by_text("MTTA", exact=True)
    expect(mtta).to_have_attribute("title", "Time to acknowledge: first acknowledgement minus declaration (acknowledged_at − created_at).")
    screenshot(page, "dashboard-lead")

    with page.expect_download() as info:
        page.locator("#w-volume").get_by_role("link", name="CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("firebreak-volume-")
    body = Path(download.path()).read_text(encoding="utf-8")
    assert body.splitlines()[0].startswith("day,")
    assert len(body.splitlines()) == 1 + 7


def test_a_large_export_shows_progress_and_then_a_download_link(page, live_server, login, recent_incidents, settings, tmp_path, screenshot):
    from dashboards.models import ExportJob
    from dashboards.services import export_job_run

    settings.DASHBOARDS_EXPORT_SYNC_LIMIT = 2
    settings.DASHBOARDS_EXPORT_DIR = tmp_path
    login(page, "lead")
    page.goto(f"{live_server.url}/dashboards/")
    page.get_by_role("link", name="Export incidents (CSV)").click()
    expect(page.get_by_role("heading", name="Incident export")).to_be_visible()
    expect(page.locator("#export-bar")).to_be_visible()

    job = ExportJob.objects.get()
    assert export_job_run(job_id=job.pk) == "done"  # what the worker does
    link = page.get_by_role("link", name="Download the CSV")
    expect(link).to_be_visible(timeout=10_000)  # the next htmx poll swaps it in
    screenshot(page, "dashboard-export-ready")
    with page.expect_download() as info:
        link.click()
    lines = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("reference,title,") and len(lines) == 1 + 5
