from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from escalations import schedule_selectors, schedule_services
from escalations.models import ICalFeedToken, Override
from tests.escalations.factories_schedules import make_schedule, people, rotation

pytestmark = pytest.mark.django_db


@pytest.fixture
def crew():
    return people("ann", "bob", "cat")


@pytest.fixture
def schedule(crew):
    return make_schedule(rotations=[rotation(crew)])


def signed_in(client, user):
    client.force_login(user)
    return client


def local_input(dt, tz_name="Europe/Dublin"):
    from zoneinfo import ZoneInfo

    return dt.astimezone(ZoneInfo(tz_name)).strftime("%Y-%m-%dT%H:%M")


def test_list_shows_who_is_on_call_now(client, responder, schedule):
    current = schedule_selectors.schedule_oncall_at(schedule=schedule, at=timezone.now())[0]
    body = signed_in(client, responder).get("/schedules/").content.decode()
    assert "Rapid Response" in body
    assert str(current) in body


def test_list_requires_sign_in(client, schedule):
    response = client.get("/schedules/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_detail_names_the_viewers_zone_and_shows_a_two_week_timeline(client, responder, schedule):
    responder.time_zone = "Asia/Singapore"
    responder.save()
    response = signed_in(client, responder).get(f"/schedules/{schedule.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Asia/Singapore" in body
    assert body.count('<th scope="col" data-day-start=') == 14  # one column per day
    assert "On call (final)" in body
    assert 'id="override-form"' not in body  # responders see, managers change


def test_missing_schedule_page_is_404(client, responder):
    assert signed_in(client, responder).get("/schedules/424242/").status_code == 404


def test_lead_adds_an_override_through_the_form(client, lead, schedule, make_user):
    gus = make_user("gus")
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    response = signed_in(client, lead).post(
        f"/schedules/{schedule.pk}/",
        {"user": gus.pk, "start": local_input(start), "end": local_input(start + timedelta(hours=2)), "reason": "cover"},
    )
    assert response.status_code == 302
    body = client.get(response["Location"]).content.decode()
    now_section = body.split('id="oncall-now"')[1].split("</section>")[0]
    assert "gus" in now_section
    assert Override.objects.get(schedule=schedule).user == gus


def test_override_form_shows_errors_in_the_form(client, lead, schedule, make_user):
    gus = make_user("gus")
    start = timezone.now().replace(second=0, microsecond=0)
    client = signed_in(client, lead)
    response = client.post(f"/schedules/{schedule.pk}/", {"user": gus.pk, "start": local_input(start), "end": local_input(start)})
    assert response.status_code == 200
    assert "The end must be after the start." in response.content.decode()
    schedule_services.override_create(actor=lead, schedule=schedule, user=gus, start=start, end=start + timedelta(hours=2))
    response = client.post(
        f"/schedules/{schedule.pk}/",
        {"user": gus.pk, "start": local_input(start + timedelta(hours=1)), "end": local_input(start + timedelta(hours=3))},
    )
    assert response.status_code == 200
    assert "overlaps an existing override" in response.content.decode()
    response = client.post(f"/schedules/{schedule.pk}/", {"user": gus.pk, "start": "not a date", "end": ""})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()


def test_responder_cannot_post_overrides(client, responder, schedule, crew):
    response = signed_in(client, responder).post(f"/schedules/{schedule.pk}/", {"user": crew[0].pk, "start": "2026-01-01T00:00"})
    assert response.status_code == 403
    assert not Override.objects.exists()


def test_lead_removes_an_override(client, lead, schedule, make_user):
    now = timezone.now()
    override = schedule_services.override_create(
        actor=lead, schedule=schedule, user=make_user("gus"), start=now, end=now + timedelta(hours=1)
    )
    response = signed_in(client, lead).post(f"/schedules/{schedule.pk}/overrides/{override.pk}/delete/")
    assert response.status_code == 302
    assert not Override.objects.exists()


def test_feed_link_is_shown_once_and_can_be_revoked(client, responder, schedule):
    client = signed_in(client, responder)
    body = client.post(f"/schedules/{schedule.pk}/feeds/", {"kind": "schedule"}).content.decode()
    url = body.split('id="new-feed-url">')[1].split("</code>")[0]
    assert f"/api/v1/schedules/{schedule.pk}.ics?token=cal_" in url
    path = url.split("testserver", 1)[1]
    assert client.get(path).status_code == 200
    token = ICalFeedToken.objects.get(user=responder)
    assert token.prefix in client.get(f"/schedules/{schedule.pk}/").content.decode()
    client.post(f"/schedules/{schedule.pk}/feeds/{token.pk}/revoke/")
    assert client.get(path).status_code == 404


def test_personal_feed_link_points_at_my_shifts(client, responder, schedule):
    body = signed_in(client, responder).post(f"/schedules/{schedule.pk}/feeds/", {"kind": "personal"}).content.decode()
    assert "/api/v1/schedules/mine.ics?token=cal_" in body


def test_oncall_tag_renders_who_is_on_call_for_a_team(rf, responder, schedule):
    current = schedule_selectors.schedule_oncall_at(schedule=schedule, at=timezone.now())[0]
    html = Template("{% load oncall_tags %}{% oncall_now_for_team team %}").render(Context({"team": schedule.team}))
    assert str(current) in html
    assert "Rapid Response" in html
    assert "Times in" in html
    empty = Template("{% load oncall_tags %}{% oncall_now_for_team team %}").render(Context({"team": None}))
    assert "No on-call schedule" in empty


def test_every_incident_page_says_who_is_on_call_for_its_team(client, manager, schedule):
    from tests.incidents.factories import IncidentFactory

    current = schedule_selectors.schedule_oncall_at(schedule=schedule, at=timezone.now())[0]
    owned = IncidentFactory(team=schedule.team, commander=manager)
    body = signed_in(client, manager).get(f"/incidents/{owned.pk}/").content.decode()
    section = body.split('id="incident-oncall"')[1].split("</section>")[0]
    assert str(current) in section and "Rapid Response" in section

    # Without an owning team, the page lists the schedules that would be paged.
    teamless = IncidentFactory(team=None, commander=manager)
    body = client.get(f"/incidents/{teamless.pk}/").content.decode()
    section = body.split('id="incident-oncall"')[1].split("</section>")[0]
    assert str(current) in section and "No on-call schedule" not in section
