import io

import pytest
from django.core.management import call_command

from escalations import demo_sla
from escalations.models import BusinessCalendar, Holiday, SLAClock, SLAPolicy
from incidents.models import Incident


@pytest.mark.django_db
def test_demo_has_team_calendars_and_clocks_in_every_state_and_seeds_once(settings):
    settings.DEMO_PASSWORD = "firebreak-demo"
    out = io.StringIO()
    call_command("seed_demo", stdout=out)

    calendars = {c.name: c for c in BusinessCalendar.objects.select_related("team")}
    assert {spec["name"] for spec in demo_sla.CALENDARS} <= set(calendars)
    dublin = calendars["Dublin business hours"]
    assert dublin.time_zone == "Europe/Dublin"
    assert dublin.team.name == "Rapid Response Dublin"
    assert dublin.working_hours["0"] == [["09:00", "17:30"]] and dublin.working_hours["6"] == []
    assert Holiday.objects.filter(calendar=calendars["US business hours"], name="Thanksgiving Day").exists()
    assert SLAPolicy.objects.get(name="SEV4 in business hours").targets.filter(calendar=dublin).count() == 3

    orders = {i.intake_details["order_reference"]: i for i in Incident.objects.filter(intake_details__demo_sla=True)}
    assert len(orders) == 3
    tco = SLAClock.objects.get(incident=orders["GC-TCO-2291"], metric="authority_response")
    assert tco.legal_clock_version.legal_clock.code == "eu-tco-removal-order"
    assert tco.started_at == orders["GC-TCO-2291"].received_at
    assert tco.state == "running" and tco.warned_at is not None  # 50 of 60 minutes gone
    esafety = SLAClock.objects.get(incident=orders["ESC-2026-0977"], metric="authority_response")
    assert esafety.state == "breached" and esafety.breached_at is not None
    india = SLAClock.objects.get(incident=orders["MEITY-69A-4410"], metric="authority_response")
    assert india.duration.total_seconds() == 3 * 3600
    assert india.state == "running" and india.warned_at is None

    states = set(SLAClock.objects.values_list("state", flat=True))
    assert {"running", "paused", "met", "breached"} <= states
    assert "clocks now" in out.getvalue()

    counts = (BusinessCalendar.objects.count(), SLAPolicy.objects.count(), SLAClock.objects.count(), Incident.objects.count())
    again = io.StringIO()
    demo_sla.seed(stdout=again, rng=None, now=orders["GC-TCO-2291"].created_at)
    assert "0 business calendars created" in again.getvalue()
    assert (BusinessCalendar.objects.count(), SLAPolicy.objects.count(), SLAClock.objects.count(), Incident.objects.count()) == counts
