"""The page, the API and the exports through HTTP: permissions, bad input, CSV, background jobs."""

import csv
import io

import pytest

from core.models import AuditEvent
from dashboards.models import ExportJob
from dashboards.rollups import rollup_rebuild_range
from dashboards.services import export_job_run
from tests.dashboards.factories import DAY, at, incident

pytestmark = pytest.mark.django_db

RANGE = {"from": DAY.isoformat(), "to": DAY.isoformat()}


@pytest.fixture
def data():
    incident(created_at=at(10), acknowledged_at=at(10, 5), reference="INC-2026-00001", title='=HYPERLINK("http://x")')
    incident(created_at=at(11), reference="INC-2026-00002", title="@SUM(A1)")
    incident(created_at=at(12), reference="INC-2026-00003", title="Plain")
    rollup_rebuild_range(DAY, DAY)


def _csv(response):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode())))


def test_lead_sees_the_dashboard_with_definitions_on_hover(client, lead, data):
    client.force_login(lead)
    response = client.get("/dashboards/", RANGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-describedby="def-tta"' in html and "acknowledged_at − created_at" in html
    assert 'id="kpi-opened">3<' in html
    assert "/dashboards/export/volume.csv?" in html
    assert 'style="' not in html and "<script>" not in html


def test_nav_links_to_the_dashboard_only_with_the_permission(client, lead, responder):
    client.force_login(lead)
    assert b'href="/dashboards/"' in client.get("/dashboards/").content
    client.force_login(responder)
    assert client.get("/dashboards/").status_code == 403


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-03-10", "to": "2026-03-01"}, "from", "after its end"),
        ({"from": "2025-01-01", "to": "2026-03-01"}, "to", "at most 400 days"),
        ({"region": "mars"}, "region", "Unknown region"),
        ({"category": "no-such"}, "category", "Unknown harm category"),
        ({"channel": "pigeon"}, "channel", "Unknown channel"),
        ({"severity": "9"}, "severity", "Severity must be"),
        ({"team": "999999"}, "team", "Unknown team"),
        ({"from": "yesterday"}, "from", "valid date"),
        ({"by": "colour"}, "by", "Group volume by"),
    ],
)
def test_bad_filters_are_clear_400s_on_page_and_api(client, api, lead, params, field, message):
    client.force_login(lead)
    page = client.get("/dashboards/", params)
    assert page.status_code == 400
    assert message in page.content.decode()
    response = api(lead).get("/api/v1/dashboards/summary/", params)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert field in body["errors"] and message in body["errors"][field][0]


def test_nul_in_a_filter_is_a_400(client, api, lead):
    client.force_login(lead)
    assert client.get("/dashboards/", {"region": "emea\x00"}).status_code == 400
    assert api(lead).get("/api/v1/dashboards/summary/", {"region": "emea\x00"}).status_code == 400


def test_api_summary_has_every_widget(api, lead, data):
    response = api(lead).get("/api/v1/dashboards/summary/", RANGE)
    assert response.status_code == 200
    body = response.json()
    assert body["totals"] == {"opened": 3, "resolved": 0}
    assert body["metrics"]["tta"]["count"] == 1
    for key in ("open", "volume", "time_in_status", "oncall", "postmortems", "sla", "previous"):
        assert key in body


def test_api_summary_needs_the_view_permission(api, responder):
    assert api(responder).get("/api/v1/dashboards/summary/").status_code == 403
    assert api().get("/api/v1/dashboards/summary/").status_code in (401, 403)


def test_query_counts_are_fixed(client, api, lead, data, django_assert_num_queries):
    client.force_login(lead)
    client.get("/dashboards/", RANGE)  # warm the session and permission caches
    incident(created_at=at(13))
    with django_assert_num_queries(16):
        assert api(lead).get("/api/v1/dashboards/summary/", RANGE).status_code == 200
    with django_assert_num_queries(24):
        assert client.get("/dashboards/", RANGE).status_code == 200


def test_widget_csv_streams_and_is_audited(client, lead, data):
    client.force_login(lead)
    response = client.get("/dashboards/export/metrics.csv", RANGE)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"].startswith("attachment;")
    rows = _csv(response)
    assert rows[0] == ["metric", "label", "incidents", "median_hours", "p90_hours", "mean_hours"]
    assert rows[2][0] == "tta" and rows[2][2] == "1"
    assert AuditEvent.objects.filter(action="dashboards.export_widget", object_id="metrics").exists()
    assert client.get("/dashboards/export/nonsense.csv", RANGE).status_code == 404


def test_incident_csv_neutralises_formulas(client, lead, data):
    client.force_login(lead)
    rows = _csv(client.get("/dashboards/export/incidents.csv", RANGE))
    titles = {r[0]: r[1] for r in rows[1:]}
    assert titles == {"INC-2026-00001": '\'=HYPERLINK("http://x")', "INC-2026-00002": "'@SUM(A1)", "INC-2026-00003": "Plain"}
    assert AuditEvent.objects.filter(action="dashboards.export_incidents").exists()


def test_export_without_permission_is_refused_with_a_message(client, make_user, data):
    manager = make_user("mgr", role="incident_manager")
    client.force_login(manager)
    assert client.get("/dashboards/", RANGE).status_code == 200
    response = client.get("/dashboards/export/incidents.csv", RANGE)
    assert response.status_code == 403
    assert b"permission to export" in response.content
    assert client.get("/dashboards/export/metrics.csv", RANGE).status_code == 403
    assert b"/dashboards/export/" not in client.get("/dashboards/", RANGE).content


def test_large_export_runs_as_a_job_downloadable_only_by_its_requester(
    client, lead, make_user, data, tmp_path, django_capture_on_commit_callbacks, settings
):
    # Both through the settings fixture: mixed with @override_settings, the fixture's
    # teardown would put back the decorator's value and leak it into later tests.
    settings.DASHBOARDS_EXPORT_SYNC_LIMIT = 2
    settings.DASHBOARDS_EXPORT_DIR = tmp_path
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.get("/dashboards/export/incidents.csv", RANGE)
    assert response.status_code == 302
    assert len(callbacks) == 1  # the task is queued after commit
    job = ExportJob.objects.get()
    assert job.state == "pending" and job.total_rows == 3
    progress = client.get(f"/dashboards/exports/{job.pk}/", HTTP_HX_REQUEST="true")
    assert b'hx-trigger="every 2s"' in progress.content and b"<progress" in progress.content

    assert export_job_run(job_id=job.pk, chunk_size=2) == "done"
    job.refresh_from_db()
    assert job.state == "done" and job.rows_written == 3 and job.progress == 100
    assert b"export-download" in client.get(f"/dashboards/exports/{job.pk}/", HTTP_HX_REQUEST="true").content
    download = client.get(f"/dashboards/exports/{job.pk}/download/")
    assert download.status_code == 200
    rows = _csv(download)
    assert [r[0] for r in rows[1:]] == ["INC-2026-00001", "INC-2026-00002", "INC-2026-00003"]
    assert rows[1][1].startswith("'=")
    assert AuditEvent.objects.filter(action="dashboards.export_download").exists()

    other = make_user("other_lead", role="lead")
    client.force_login(other)
    assert client.get(f"/dashboards/exports/{job.pk}/").status_code == 404
    assert client.get(f"/dashboards/exports/{job.pk}/download/").status_code == 404


@pytest.mark.parametrize("count", [1, 50])
def test_drilldown_list_costs_a_fixed_number_of_queries(client, lead, count, django_assert_num_queries):
    for k in range(count):
        incident(created_at=at(10), reference=f"INC-2026-{k + 1:05d}")
    client.force_login(lead)
    client.get("/dashboards/incidents/", RANGE)
    with django_assert_num_queries(9):
        response = client.get("/dashboards/incidents/", RANGE)
    assert response.status_code == 200
    assert response.content.count(b">INC-2026-") == count
