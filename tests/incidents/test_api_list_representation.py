"""The list API writes incidents through a hand-built representation (its hot path);
it must stay the same document DRF builds from the declared fields."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from accounts.models import Clearance, Compartment
from incidents.api.serializers import IncidentOutput
from incidents.selectors import incident_list_visible
from tests.accounts.factories import TeamFactory
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db

T = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Dublin moves to summer time


@pytest.fixture
def varied(manager):
    team, compartment = TeamFactory(), Compartment.objects.create(slug="csea", name="CSEA")
    parent = IncidentFactory()
    bare = IncidentFactory(created_at=T)
    full = IncidentFactory(
        created_at=T,
        commander=manager,
        team=team,
        compartment=compartment,
        parent=parent,
        severity=1,
        countries=["DE", "IE"],
        languages=["de"],
        hashtags=["#blackout"],
        reach_views=1_250_000,
        minors_involved=True,
        waiting_on_external=True,
        waiting_reason="Regulator's reply",
        first_signal_at=T - timedelta(hours=2),
        received_at=T - timedelta(minutes=5, microseconds=123456),
        acknowledged_at=T + timedelta(hours=1, seconds=7),
        resolved_at=T + timedelta(days=1),
    )
    return [bare, full, parent]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Dublin", "Asia/Singapore", "America/Los_Angeles"])
def test_the_fast_representation_equals_the_declared_fields(manager, varied, zone):
    rows = list(incident_list_visible(user=manager).filter(pk__in=[i.pk for i in varied]))
    with timezone.override(zone):
        for incident in rows:
            fast = IncidentOutput(incident).data
            generic = serializers.ModelSerializer.to_representation(IncidentOutput(), incident)
            assert dict(fast) == dict(generic)
            assert list(fast) == list(generic)  # same keys, same order


def test_the_list_api_pages_with_the_fast_representation(api, manager, varied):
    Clearance.objects.create(user=manager, compartment=Compartment.objects.get(slug="csea"), reason="on the CSEA rota")
    body = api(manager).get("/api/v1/incidents/?page_size=50").json()
    full = next(r for r in body["results"] if r["severity"] == 1)
    assert full["commander"]["username"] == manager.username and full["compartment"] == "csea"
    assert full["acknowledged_at"].startswith("2026-03-29T")
