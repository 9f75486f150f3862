from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from django.utils import timezone

from escalations import schedule_selectors, schedule_services
from escalations.models import Override
from tests.escalations.factories_schedules import make_schedule, people, rotation

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 25, 12, tzinfo=UTC)


@pytest.fixture
def crew():
    return people("ann", "bob", "cat")


@pytest.fixture
def schedule(crew):
    return make_schedule(rotations=[rotation(crew)])


def problem_fields(response):
    assert response["Content-Type"].startswith("application/problem+json")
    return set(response.json().get("errors", {}))


def test_anonymous_callers_are_refused(api, schedule):
    assert api().get("/api/v1/schedules/").status_code == 401
    assert api().get(f"/api/v1/schedules/{schedule.pk}/oncall/").status_code == 401


def test_everyone_signed_in_can_read_schedules(api, responder, schedule):
    body = api(responder).get("/api/v1/schedules/").json()
    assert [s["name"] for s in body["results"]] == ["Rapid Response"]
    assert body["results"][0]["rotations"][0]["members"][0]["username"] == "ann"


@pytest.mark.parametrize("page_size", [1, 50])
def test_list_query_count_does_not_grow_with_rows(api, responder, crew, django_assert_num_queries, page_size):
    for i in range(3):
        make_schedule(name=f"S{i}", rotations=[rotation(crew), rotation(crew[:1], name="Backup")])
    client = api(responder)
    with django_assert_num_queries(5):
        response = client.get(f"/api/v1/schedules/?page_size={page_size}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, 3)


def test_manager_creates_a_schedule_with_rotations(api, manager, crew):
    payload = {
        "name": "Legal",
        "time_zone": "Europe/Dublin",
        "rotations": [
            {
                "name": "Weekly",
                "members": [crew[0].pk, crew[1].pk],
                "shift_unit": "weeks",
                "shift_length": 1,
                "handoff_time": "10:00",
                "start_date": "2026-01-05",
                "restrictions": [{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}],
            }
        ],
    }
    response = api(manager).post("/api/v1/schedules/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["rotations"][0]["handoff_time"] == "10:00"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "X", "time_zone": "Atlantis/Capital"}, "time_zone"),
        ({"time_zone": "UTC"}, "name"),
        (
            {
                "name": "X",
                "time_zone": "UTC",
                "rotations": [{"name": "R", "members": [], "handoff_time": "09:00", "start_date": "2026-01-01"}],
            },
            "rotations[0].members",
        ),
        (
            {
                "name": "X",
                "time_zone": "UTC",
                "rotations": [{"name": "R", "members": [1], "handoff_time": "09:00", "start_date": "2026-01-01", "shift_length": 0}],
            },
            "rotations[0].shift_length",
        ),
    ],
)
def test_bad_schedule_input_is_a_400_naming_the_field(api, manager, payload, field):
    response = api(manager).post("/api/v1/schedules/", payload, format="json")
    assert response.status_code == 400
    assert field in problem_fields(response)


def test_responder_cannot_create_schedules(api, responder):
    assert api(responder).post("/api/v1/schedules/", {"name": "X", "time_zone": "UTC"}, format="json").status_code == 403


def test_missing_schedule_is_404(api, responder):
    assert api(responder).get("/api/v1/schedules/999999/").status_code == 404


def test_stale_patch_is_a_409_with_the_current_version(api, manager, schedule):
    client = api(manager)
    assert client.patch(f"/api/v1/schedules/{schedule.pk}/", {"name": "RR", "version": schedule.version}, format="json").status_code == 200
    response = client.patch(f"/api/v1/schedules/{schedule.pk}/", {"name": "RR2"}, format="json", HTTP_IF_MATCH=str(schedule.version))
    assert response.status_code == 409
    assert response.json()["current"]["version"] == schedule.version + 1


def test_oncall_at_answers_who_and_agrees_with_the_selector(api, responder, schedule):
    response = api(responder).get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": "2026-03-25T12:00:00Z"})
    assert response.status_code == 200
    expected = schedule_selectors.schedule_oncall_at(schedule=schedule, at=AT)
    assert [u["id"] for u in response.json()["users"]] == [u.pk for u in expected]


def test_oncall_accepts_an_unencoded_plus_offset(api, responder, schedule):
    response = api(responder).get(f"/api/v1/schedules/{schedule.pk}/oncall/?at=2026-03-25T13:00:00+01:00")
    assert response.status_code == 200
    assert response.json()["at"].startswith("2026-03-25T12:00:00")


def test_oncall_defaults_to_now(api, responder, schedule):
    response = api(responder).get(f"/api/v1/schedules/{schedule.pk}/oncall/")
    assert response.status_code == 200
    assert len(response.json()["users"]) == 1


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01T00:00:00Z", "2026-03-25T12:00:00", "", "x" * 200])
def test_malformed_at_is_a_400_naming_at(api, responder, schedule, bad):
    response = api(responder).get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": bad})
    assert response.status_code == 400
    assert problem_fields(response) == {"at"}


def test_nul_in_at_is_a_400(api, responder, schedule):
    assert api(responder).get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": "2026\x00"}).status_code == 400


def test_shifts_agree_with_the_selector(api, responder, schedule):
    start, end = AT, AT + timedelta(days=3)
    response = api(responder).get(f"/api/v1/schedules/{schedule.pk}/shifts/", {"start": start.isoformat(), "end": end.isoformat()})
    assert response.status_code == 200
    expected = schedule_selectors.schedule_shifts_between(schedule=schedule, start=start, end=end)
    got = [(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]), s["user"]["id"]) for s in response.json()["results"]]
    assert got == [(s.start, s.end, s.user_id) for s in expected]


def test_shifts_range_is_capped_at_60_days(api, responder, schedule):
    response = api(responder).get(
        f"/api/v1/schedules/{schedule.pk}/shifts/", {"start": "2026-01-01T00:00:00Z", "end": "2026-03-05T00:00:00Z"}
    )
    assert response.status_code == 400
    assert problem_fields(response) == {"end"}


def test_override_through_the_api_wins_and_can_be_deleted(api, lead, schedule, make_user):
    gus = make_user("gus")
    start = timezone.now().replace(microsecond=0)
    client = api(lead)
    response = client.post(
        f"/api/v1/schedules/{schedule.pk}/overrides/",
        {"user": gus.pk, "start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat(), "reason": "swap"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    now_users = client.get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": (start + timedelta(minutes=5)).isoformat()}).json()["users"]
    assert [u["username"] for u in now_users] == ["gus"]
    clash = client.post(
        f"/api/v1/schedules/{schedule.pk}/overrides/",
        {"user": gus.pk, "start": (start + timedelta(hours=1)).isoformat(), "end": (start + timedelta(hours=3)).isoformat()},
        format="json",
    )
    assert clash.status_code == 400
    assert "overlaps" in clash.json()["detail"]
    override_id = response.json()["id"]
    assert client.delete(f"/api/v1/schedules/{schedule.pk}/overrides/{override_id}/").status_code == 204
    assert not Override.objects.filter(pk=override_id).exists()
    assert client.delete(f"/api/v1/schedules/{schedule.pk}/overrides/{override_id}/").status_code == 404


def test_override_with_end_before_start_names_end(api, lead, schedule, crew):
    response = api(lead).post(
        f"/api/v1/schedules/{schedule.pk}/overrides/",
        {"user": crew[0].pk, "start": "2026-03-25T12:00:00Z", "end": "2026-03-25T11:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert problem_fields(response) == {"end"}


def test_responder_cannot_add_overrides(api, responder, schedule, crew):
    response = api(responder).post(
        f"/api/v1/schedules/{schedule.pk}/overrides/",
        {"user": crew[0].pk, "start": "2026-03-25T12:00:00Z", "end": "2026-03-25T13:00:00Z"},
        format="json",
    )
    assert response.status_code == 403


# -- iCalendar -------------------------------------------------------------------------------------


def parse_events(response):
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    return [(e.decoded("dtstart"), e.decoded("dtend"), str(e.get("summary"))) for e in calendar.walk("VEVENT")]


def test_schedule_feed_has_one_event_per_shift_agreeing_with_the_selector(client, responder, schedule, crew):
    _, secret = schedule_services.ical_token_create(actor=responder, schedule=schedule)
    response = client.get(f"/api/v1/schedules/{schedule.pk}.ics", {"token": secret})
    assert response.status_code == 200
    events = parse_events(response)
    # The feed runs from "now" (its first event is clipped there) for 60 days.
    window_start, window_end = events[0][0], events[-1][1]
    assert window_end - window_start == timedelta(days=60)
    shifts = schedule_selectors.schedule_shifts_between(schedule=schedule, start=window_start, end=window_end)
    names = {u.pk: str(u) for u in crew}
    assert [(s, e) for s, e, _ in events] == [(s.start, s.end) for s in shifts]
    assert all(names[s.user_id] in summary for s, (_, _, summary) in zip(shifts, events, strict=False))
    assert 59 <= len(events) <= 61


@pytest.mark.parametrize("token", ["", "nope", "cal_wrong"])
def test_feed_with_a_bad_token_is_404(client, schedule, token):
    assert client.get(f"/api/v1/schedules/{schedule.pk}.ics", {"token": token}).status_code == 404


def test_feed_with_a_revoked_or_foreign_token_is_404(client, responder, schedule, crew):
    other = make_schedule(name="Other", rotations=[rotation(crew)])
    token, secret = schedule_services.ical_token_create(actor=responder, schedule=schedule)
    assert client.get(f"/api/v1/schedules/{other.pk}.ics", {"token": secret}).status_code == 404
    schedule_services.ical_token_revoke(actor=responder, token=token)
    assert client.get(f"/api/v1/schedules/{schedule.pk}.ics", {"token": secret}).status_code == 404


def test_personal_feed_lists_only_the_owners_shifts(client, crew, schedule):
    ann = crew[0]
    from django.contrib.auth.models import Group

    ann.groups.add(Group.objects.get(name="responder"))
    _, secret = schedule_services.ical_token_create(actor=ann, schedule=None)
    response = client.get("/api/v1/schedules/mine.ics", {"token": secret})
    assert response.status_code == 200
    events = parse_events(response)
    assert events and all("ann" in summary for _, _, summary in events)
    # A personal token does not open a schedule's feed.
    assert client.get(f"/api/v1/schedules/{schedule.pk}.ics", {"token": secret}).status_code == 404


def test_rotations_are_added_changed_and_removed_through_the_api(api, manager, schedule, crew):
    client = api(manager)
    response = client.post(
        f"/api/v1/schedules/{schedule.pk}/rotations/",
        {
            "name": "Business hours",
            "members": [crew[2].pk],
            "handoff_time": "09:00",
            "start_date": "2026-01-05",
            "restrictions": [{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    rotation_id, layer = response.json()["id"], response.json()["layer"]
    assert layer == 2
    # Wednesday 2026-03-25 12:00 UTC is 12:00 in Dublin (GMT): the higher layer wins.
    assert client.get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": "2026-03-25T12:00:00Z"}).json()["users"][0]["username"] == "cat"
    patched = client.patch(f"/api/v1/schedules/{schedule.pk}/rotations/{rotation_id}/", {"members": [crew[0].pk]}, format="json")
    assert patched.status_code == 200
    assert client.get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": "2026-03-25T12:00:00Z"}).json()["users"][0]["username"] == "ann"
    bad = client.patch(f"/api/v1/schedules/{schedule.pk}/rotations/{rotation_id}/", {"shift_length": 0}, format="json")
    assert bad.status_code == 400 and problem_fields(bad) == {"shift_length"}
    assert client.delete(f"/api/v1/schedules/{schedule.pk}/rotations/{rotation_id}/").status_code == 204
    assert client.delete(f"/api/v1/schedules/{schedule.pk}/rotations/{rotation_id}/").status_code == 404


def test_responder_cannot_change_rotations(api, responder, schedule):
    rotation_id = schedule.rotations.get().pk
    assert (
        api(responder).patch(f"/api/v1/schedules/{schedule.pk}/rotations/{rotation_id}/", {"name": "x"}, format="json").status_code == 403
    )


HOSTILE = [
    {"members": 5},
    {"members": "abc"},
    {"members": [{"id": 1}]},
    {"restrictions": "weekdays"},
    {"restrictions": [{"weekdays": "0-4", "start": "09:00", "end": "17:00"}]},
    {"restrictions": [{"weekdays": [True], "start": "09:00", "end": "17:00"}]},
    {"restrictions": [{"weekdays": [1], "start": "24:00", "end": "17:00"}]},
    {"restrictions": [{"weekdays": [1], "start": "09:00+05:00", "end": "17:00"}]},
    {"handoff_time": "9am"},
    {"start_date": "0001-01-01"},
    {"shift_length": 10**12},
    {"layer": -1},
    {"name": "x" * 500},
    {"shift_unit": None},
    {"unknown": 1},
]


@pytest.mark.parametrize("change", HOSTILE)
def test_hostile_rotation_input_is_a_400_never_a_500(api, manager, crew, change):
    rotation_data = {"name": "R", "members": [crew[0].pk], "handoff_time": "09:00", "start_date": "2026-01-05", **change}
    response = api(manager).post("/api/v1/schedules/", {"name": "Hostile", "time_zone": "UTC", "rotations": [rotation_data]}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"]


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999Z"])
def test_times_at_the_edge_of_the_calendar_are_a_400(api, responder, schedule, at):
    response = api(responder).get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": at})
    assert response.status_code == 400
    assert problem_fields(response) == {"at"}


def test_names_with_line_breaks_are_refused(api, manager):
    response = api(manager).post("/api/v1/schedules/", {"name": "A\r\nBEGIN:VEVENT", "time_zone": "UTC"}, format="json")
    assert response.status_code == 400
    assert problem_fields(response) == {"name"}


def test_hostile_names_are_escaped_in_json_and_ical(api, manager, client, crew):
    name = "<script>alert(1)</script>;BEGIN:VEVENT,SUMMARY:forged"
    schedule = make_schedule(name=name, rotations=[rotation(crew[:1])])
    # A person's display name is edited elsewhere and may hold line breaks.
    crew[0].display_name = "Ann\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:forged"
    crew[0].save()
    assert api(manager).get(f"/api/v1/schedules/{schedule.pk}/").json()["name"] == name
    _, secret = schedule_services.ical_token_create(actor=manager, schedule=schedule)
    response = client.get(f"/api/v1/schedules/{schedule.pk}.ics", {"token": secret})
    events = parse_events(response)
    assert len(events) == len(icalendar.Calendar.from_ical(response.content).walk("VEVENT"))
    assert not any(summary == "forged" for _, _, summary in events)
    assert response.content.split(b"\r\n").count(b"BEGIN:VEVENT") == len(events)


@pytest.mark.parametrize("count", [1, 6])
def test_override_and_shift_lists_use_a_fixed_number_of_queries(api, responder, schedule, make_user, django_assert_num_queries, count):
    start = timezone.now().replace(microsecond=0)
    for i in range(count):
        schedule_services.override_create(
            actor=None,
            schedule=schedule,
            user=make_user(f"o{i}"),
            start=start + timedelta(hours=2 * i),
            end=start + timedelta(hours=2 * i + 1),
        )
    schedule.refresh_from_db()
    client = api(responder)
    with django_assert_num_queries(4):  # role permissions (2), schedule, overrides with their people
        overrides = client.get(f"/api/v1/schedules/{schedule.pk}/overrides/")
    assert len(overrides.json()["results"]) == count
    with django_assert_num_queries(3):  # schedule, spans, people (permissions are cached on the user)
        shifts = client.get(f"/api/v1/schedules/{schedule.pk}/shifts/", {"start": start.isoformat()})
    assert len({s["user"]["username"] for s in shifts.json()["results"]}) >= count
