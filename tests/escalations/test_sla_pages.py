"""SLA on the pages: the queue's countdown of the nearest clock, the clock panel on the
incident page (polled, 304 while unchanged, 404 for the uncleared), the "waiting on an
external party" flag set from it, and the policies page with the legal clocks table."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from escalations.models import BusinessCalendar, Holiday, SLAPolicy
from incidents.services import incident_acknowledge, incident_create
from tests.escalations.factories_sla import make_clock, make_legal_clock, make_policy, restricted_incident
from tests.incidents.conftest import incident_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def only_test_policies():
    """The shipped default policies would start clocks of their own on every new incident."""
    SLAPolicy.objects.all().delete()


HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def incident(manager):
    return incident_create(actor=manager, data=incident_data(title="Clocked incident"))


@pytest.fixture
def policy():
    return make_policy(
        "Test SEV2 clocks",
        severities=[2],
        targets=(("acknowledge", timedelta(minutes=30)), ("mitigation", timedelta(hours=4)), ("resolution", timedelta(days=2))),
    )


def _row(html, incident):
    return re.search(rf'<tr id="inc-{incident.pk}".*?</tr>', html, re.S).group(0)


def test_queue_row_counts_down_to_the_nearest_open_clock_with_its_metric(client, manager, incident, policy):
    make_clock(incident, policy.targets.get(metric="resolution"), due_in=timedelta(hours=30))
    make_clock(incident, policy.targets.get(metric="acknowledge"), due_in=timedelta(minutes=12), warn_in=timedelta(minutes=-3))
    make_clock(incident, policy.targets.get(metric="mitigation"), state="paused", due_in=timedelta(minutes=1), events=("start", "pause"))
    client.force_login(manager)

    row = _row(client.get("/").content.decode(), incident)

    assert '<span class="visually-hidden">Time to acknowledge: </span>' in row
    assert 'data-state="running"' in row
    assert "data-warn=" in row
    assert 'title="Time to acknowledge: due ' in row


def test_a_breached_clock_is_shown_as_breached_and_a_stopped_one_not_at_all(client, manager, incident, policy):
    make_clock(incident, policy.targets.get(metric="acknowledge"), due_in=timedelta(minutes=-5), stopped_at=timezone.now(), state="met")
    make_clock(
        incident, policy.targets.get(metric="mitigation"), state="breached", due_in=timedelta(minutes=-20), breached_at=timezone.now()
    )
    client.force_login(manager)

    row = _row(client.get("/").content.decode(), incident)

    assert "Time to mitigation / removal: </span>" in row
    assert 'data-state="breached"' in row


def test_incident_page_shows_every_clock_with_state_citation_pause_reason_and_history(client, manager, incident, policy):
    version = make_legal_clock(internal_target=True)
    make_clock(incident, policy.targets.get(metric="acknowledge"), due_in=timedelta(minutes=12), warn_in=timedelta(minutes=-3))
    make_clock(
        incident,
        policy.targets.get(metric="mitigation"),
        state="paused",
        events=("start", "pause"),
        legal_version=version,
        elapsed_seconds=1800,
    )
    client.force_login(manager)

    html = client.get(f"/incidents/{incident.reference}/").content.decode()

    panel = re.search(r'<section id="incident-sla".*?</section>', html, re.S).group(0)
    assert "SLA clocks" in panel
    assert "2 open of 2" in panel
    assert '<span class="sla-state sla-state-running">Running</span>' in panel
    assert '<span class="sla-state sla-state-paused">Paused</span>' in panel
    assert "Waiting for the platform partner" in panel
    assert 'href="https://eur-lex.europa.eu/eli/reg/2021/784/oj"' in panel
    assert ">internal target</span>" in panel
    assert "History · 2 events" in panel
    assert "30 min / 4 h" in panel
    assert f'hx-get="/incidents/{incident.pk}/sla/"' in panel
    assert "style=" not in panel and "<script" not in panel


def test_panel_answers_304_until_a_clock_changes_and_404_to_the_uncleared(client, manager, reviewer, incident, policy):
    clock = make_clock(incident, policy.targets.get(metric="acknowledge"))
    client.force_login(manager)
    first = client.get(f"/incidents/{incident.pk}/sla/", **HX)
    assert first.status_code == 200
    etag = first["ETag"]
    assert client.get(f"/incidents/{incident.pk}/sla/", HTTP_IF_NONE_MATCH=etag, **HX).status_code == 304

    clock.state = "breached"
    clock.save(update_fields=["state"])
    assert client.get(f"/incidents/{incident.pk}/sla/", HTTP_IF_NONE_MATCH=etag, **HX).status_code == 200

    hidden = restricted_incident(manager)
    client.force_login(reviewer)
    assert client.get(f"/incidents/{hidden.pk}/sla/", **HX).status_code == 404
    assert client.post(f"/incidents/{hidden.pk}/sla/waiting/", {"waiting": "on", "reason": "x"}, **HX).status_code == 404


def test_manager_marks_the_incident_waiting_with_a_reason_and_clears_it(client, manager, incident):
    client.force_login(manager)

    refused = client.post(f"/incidents/{incident.pk}/sla/waiting/", {"waiting": "on", "reason": ""}, **HX)
    assert refused.status_code == 422
    assert "Say who or what the incident is waiting on." in refused.content.decode()

    done = client.post(f"/incidents/{incident.pk}/sla/waiting/", {"waiting": "on", "reason": "Waiting for the regulator"}, **HX)
    assert done.status_code == 200
    assert done["HX-Trigger"] == "incident-changed"
    incident.refresh_from_db()
    assert incident.waiting_on_external is True
    assert incident.waiting_reason == "Waiting for the regulator"
    assert "Waiting for the regulator" in done.content.decode()
    assert incident.timeline.filter(kind="flags_changed").exists()

    cleared = client.post(f"/incidents/{incident.pk}/sla/waiting/", {"waiting": "off"})
    assert cleared.status_code == 302
    incident.refresh_from_db()
    assert incident.waiting_on_external is False


def test_a_reviewer_may_not_set_the_waiting_flag(client, reviewer, incident):
    client.force_login(reviewer)

    response = client.post(f"/incidents/{incident.pk}/sla/waiting/", {"waiting": "on", "reason": "Because"}, **HX)

    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.waiting_on_external is False


def test_policies_page_lists_targets_legal_clocks_and_calendars(client, lead, policy):
    make_legal_clock(internal_target=True)
    calendar = BusinessCalendar.objects.create(
        name="Dublin office", time_zone="Europe/Dublin", working_hours={str(d): [["09:00", "17:30"]] for d in range(5)}
    )
    Holiday.objects.create(calendar=calendar, date="2026-12-25", name="Christmas Day")
    client.force_login(lead)

    html = client.get("/sla/").content.decode()

    assert "<h1>SLA policies</h1>" in html
    assert "Test SEV2 clocks" in html
    assert "Test Regulation Art. 3(3)" in html
    assert "Test Regulation (EU) 2021/784, Art. 3(3)" in html
    assert ">internal target</span>" in html
    assert "Mon–Fri 09:00–17:30" in html
    assert "Christmas Day" in html


def test_policies_page_explains_which_policy_wins(client, lead, policy):
    make_policy("SEV2 media", severities=[2], channels=["media_inquiry"])
    client.force_login(lead)

    html = client.get("/sla/", {"check": "1", "channel": "media_inquiry", "severity": "2"}).content.decode()

    assert "<strong>SEV2 media</strong>" in html
    assert "matches, but less specific (1 &lt; 2)" in html

    bad = client.get("/sla/", {"check": "1", "severity": "7"})
    assert bad.status_code == 400
    assert "Severity is 1, 2, 3 or 4." in bad.content.decode()


def test_policies_page_needs_a_role_that_may_view_policies(client, make_user):
    nobody = make_user("nobody")
    client.force_login(nobody)

    assert client.get("/sla/").status_code == 403


def test_queue_follows_the_clocks_the_services_start_and_stop(client, manager):
    make_policy("Declared SEV2", severities=[2], targets=(("acknowledge", timedelta(minutes=30)), ("resolution", timedelta(days=3))))
    incident = incident_create(actor=manager, data=incident_data(title="Clocks from the services"))
    client.force_login(manager)

    assert '<span class="visually-hidden">Time to acknowledge: </span>' in _row(client.get("/").content.decode(), incident)

    incident_acknowledge(actor=manager, incident=incident)
    row = _row(client.get("/").content.decode(), incident)
    assert '<span class="visually-hidden">Time to resolution: </span>' in row
    panel = client.get(f"/incidents/{incident.pk}/sla/", **HX).content.decode()
    assert '<span class="sla-state sla-state-met">Met</span>' in panel
