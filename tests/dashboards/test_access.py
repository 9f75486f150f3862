"""Aggregates leave out restricted incidents the viewer is not cleared for; drill-downs 404."""

import pytest

from dashboards.forms import DashboardFilters
from dashboards.rollups import rollup_rebuild_range
from dashboards.selectors import dashboard_summary
from incidents.models import HarmCategory, Status
from tests.dashboards.factories import DAY, at, clear, incident, restricted_compartment

pytestmark = pytest.mark.django_db

ONE_DAY = DashboardFilters(date_from=DAY, date_to=DAY)


def _numbers(user, filters=ONE_DAY):
    summary = dashboard_summary(user=user, filters=filters, now=at(18))
    summary.pop("filters")
    return summary


@pytest.fixture
def csea_category():
    return HarmCategory.objects.exclude(slug="dangerous-challenges").first()


def test_uncleared_viewer_cannot_infer_a_restricted_incidents_category_or_region(lead, csea_category):
    incident(created_at=at(9), acknowledged_at=at(9, 5), region="emea")
    rollup_rebuild_range(DAY, DAY)
    before = _numbers(lead)
    by_region_before = _numbers(lead, DashboardFilters(date_from=DAY, date_to=DAY, region="apac", by="region"))
    by_cat_before = _numbers(lead, DashboardFilters(date_from=DAY, date_to=DAY, category=csea_category.pk))

    csea = restricted_compartment()
    incident(
        created_at=at(10),
        acknowledged_at=at(11),
        resolved_at=at(12),
        status=Status.RESOLVED,
        compartment=csea,
        region="apac",
        harm_category=csea_category,
    )
    incident(created_at=at(10), compartment=csea, region="apac", harm_category=csea_category, severity=1)
    rollup_rebuild_range(DAY, DAY)

    assert _numbers(lead) == before
    assert _numbers(lead, DashboardFilters(date_from=DAY, date_to=DAY, region="apac", by="region")) == by_region_before
    assert _numbers(lead, DashboardFilters(date_from=DAY, date_to=DAY, category=csea_category.pk)) == by_cat_before


def test_cleared_viewer_counts_the_restricted_incident(lead, make_user, csea_category):
    csea = restricted_compartment()
    incident(created_at=at(10), compartment=csea, region="apac", harm_category=csea_category)
    rollup_rebuild_range(DAY, DAY)
    cleared = make_user("cleared_lead", role="lead")
    clear(cleared, csea)
    assert _numbers(cleared)["totals"]["opened"] == 1
    assert _numbers(cleared)["open"]["total"] == 1
    assert _numbers(lead)["totals"]["opened"] == 0
    assert _numbers(lead)["open"]["total"] == 0


def test_drilldown_and_csv_leave_out_invisible_incidents(client, lead, csea_category):
    csea = restricted_compartment()
    incident(created_at=at(10), compartment=csea, reference="INC-2026-09999", title="Hidden one")
    incident(created_at=at(10), reference="INC-2026-00001", title="Visible one")
    client.force_login(lead)
    q = {"from": DAY.isoformat(), "to": DAY.isoformat()}
    page = client.get("/dashboards/incidents/", q)
    assert page.status_code == 200
    assert b"INC-2026-00001" in page.content and b"INC-2026-09999" not in page.content
    csv = b"".join(client.get("/dashboards/export/incidents.csv", q).streaming_content)
    assert b"INC-2026-00001" in csv and b"INC-2026-09999" not in csv
