"""SLA clocks through the incident services: start on declare, pause while waiting on an
external party, stop on milestones, a new cycle on reopen, recompute on change."""

from datetime import timedelta

import pytest

from core.errors import ValidationError
from escalations.models import BusinessCalendar, SLAClock, SLAPolicy, SLATarget
from escalations.sla_calendar import business_add
from escalations.sla_services import sla_policy_explain, sla_policy_match, sla_policy_save
from incidents import services as incident_services
from incidents.models import Incident, TimelineEvent
from tests.escalations.factories_sla_core import declare, make_calendar, make_policy, only_policies

pytestmark = pytest.mark.django_db


def clocks(incident, cycle=None):
    qs = SLAClock.objects.filter(incident=incident)
    if cycle is not None:
        qs = qs.filter(cycle=cycle)
    return {c.metric: c for c in qs}


def close(a, b):
    """Equal to the second: elapsed business time is kept in whole seconds."""
    return abs((a - b).total_seconds()) < 1


def sla_timeline(incident):
    return list(TimelineEvent.objects.filter(incident=incident, kind="sla").order_by("at", "id").values_list("summary", flat=True))


def test_declaring_a_sev1_starts_the_sev1_clocks_from_creation(manager):
    incident = declare(manager, severity=1)

    started = clocks(incident)
    assert set(started) == {"acknowledge", "triage", "first_response", "mitigation", "resolution"}  # post-mortem starts at resolve
    ack = started["acknowledge"]
    assert ack.state == "running" and ack.cycle == 1
    assert ack.started_at == incident.created_at
    assert ack.due_at == incident.created_at + timedelta(minutes=15)
    assert ack.warn_at == incident.created_at + timedelta(minutes=15) * 0.75
    assert ack.next_check_at == ack.warn_at
    assert '"SEV1"' in ack.matched_because
    assert [e.kind for e in ack.events.all()] == ["start"]
    (entry,) = sla_timeline(incident)
    assert entry.startswith('SLA clocks started (declared) under policy "SEV1"')
    assert "Time to acknowledge due" in entry


def test_the_most_specific_policy_wins_and_says_why(manager):
    incident = declare(
        manager, severity=1, channel="regulator_order", received_at="2026-01-01T00:00:00Z", authority="A", legal_instrument="x"
    )

    match = sla_policy_match(incident)
    assert match.policy.name == "SEV1 regulator order"
    assert match.specificity == 2
    explained = sla_policy_explain(incident)
    verdicts = {c["name"]: c["verdict"] for c in explained["considered"]}
    assert verdicts["SEV1 regulator order"].startswith("applies")
    assert verdicts["Regulator order"] == "matches, but less specific (1 < 2)"
    assert verdicts["SEV1"] == "matches, but less specific (1 < 2)"
    assert verdicts["SEV2"].startswith("does not match: not SEV1 in [2]")
    assert "channel regulator_order in ['regulator_order']" in explained["why"]


def test_equally_specific_policies_are_decided_by_priority_then_age(manager):
    only_policies()
    older = make_policy("Older EMEA", regions=["emea"])
    make_policy("Newer EMEA", regions=["emea"])
    incident = declare(manager)
    assert sla_policy_match(incident).policy == older
    urgent = make_policy("Urgent EMEA", regions=["emea"])
    SLAPolicy.objects.filter(pk=urgent.pk).update(priority=5)
    assert sla_policy_match(incident).policy.name == "Urgent EMEA"
    flagged = make_policy("EMEA minors", regions=["emea"], flags=["minors_involved"])
    assert sla_policy_match(incident).policy.name == "Urgent EMEA"
    incident.minors_involved = True
    assert sla_policy_match(incident).policy == flagged


def test_acknowledging_stops_the_acknowledge_clock_as_met(manager):
    incident = declare(manager, severity=1)
    incident_services.incident_acknowledge(actor=manager, incident=incident)

    ack = SLAClock.objects.get(incident=incident, metric="acknowledge")
    assert ack.state == "met" and ack.stopped_at is not None and ack.stopped_at <= ack.due_at
    assert ack.next_check_at is None
    assert [e.kind for e in ack.events.all()] == ["start", "stop"]
    assert clocks(incident)["triage"].state == "running"
    assert "SLA clocks stopped (milestone acknowledged): Time to acknowledge met" in sla_timeline(incident)


def test_a_milestone_recorded_after_the_due_time_stops_the_clock_as_breached(manager):
    incident = declare(manager, severity=1)
    # A milestone cannot be recorded in the future: move the clock's start back instead.
    two_hours_ago = incident.created_at - timedelta(hours=2)
    SLAClock.objects.filter(incident=incident, metric="first_response").update(
        due_at=two_hours_ago + timedelta(hours=1), started_at=two_hours_ago, segment_started_at=two_hours_ago
    )
    incident_services.incident_record_milestone(actor=manager, incident=incident, milestone="first_response")

    clock = SLAClock.objects.get(incident=incident, metric="first_response")
    assert clock.state == "breached"
    assert clock.breached_at == clock.due_at
    assert clock.stopped_at is not None and clock.stopped_at > clock.due_at
    assert clock.elapsed_seconds >= 2 * 3600
    assert [e.kind for e in clock.events.all()] == ["start", "stop"]


def test_waiting_on_an_external_party_pauses_and_resuming_moves_the_deadline(manager):
    incident = declare(manager, severity=2)
    before = clocks(incident)
    incident_services.incident_set_flags(
        actor=manager, incident=incident, flags={"waiting_on_external": True}, reason="Waiting for the platform partner"
    )

    paused = clocks(incident)
    assert paused["mitigation"].state == "paused" and paused["mitigation"].next_check_at is None
    assert paused["acknowledge"].state == "running"  # acknowledging is ours alone: it never pauses
    event = paused["mitigation"].events.get(kind="pause")
    assert event.data["reason"] == "Waiting for the platform partner"
    timeline = sla_timeline(incident)
    assert any(s.startswith("SLA clocks paused (waiting on an external party: Waiting for the platform partner)") for s in timeline)
    assert TimelineEvent.objects.filter(incident=incident, kind="flags_changed").exists()

    incident_services.incident_set_flags(actor=manager, incident=incident, flags={"waiting_on_external": False})
    resumed = clocks(incident)["mitigation"]
    assert resumed.state == "running" and resumed.paused_at is None
    paused_for = resumed.segment_started_at - paused["mitigation"].paused_at
    assert close(resumed.due_at, before["mitigation"].due_at + paused_for)
    assert resumed.next_check_at == resumed.warn_at
    assert [e.kind for e in resumed.events.all()] == ["start", "pause", "resume"]
    assert any(s.startswith("SLA clocks resumed: Time to mitigation / removal now due") for s in sla_timeline(incident))


def test_pausing_outside_business_hours_costs_no_business_time(manager):
    only_policies()
    calendar = make_calendar()
    make_policy("Office hours", targets=[{"metric": "triage", "duration": "08:00:00", "calendar": calendar.pk}])
    incident = declare(manager)
    clock = SLAClock.objects.get(incident=incident)
    # Rewind the clock to a known week: started Friday 16:30 Dublin (1 h of business time left that day).
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from escalations import sla_services

    dublin = ZoneInfo("Europe/Dublin")
    friday = datetime(2026, 11, 20, 16, 30, tzinfo=dublin)
    clock.started_at = clock.segment_started_at = friday
    clock.elapsed_seconds = 0
    sla_services._schedule(clock, friday, sla_services._spec(clock))
    clock.save()
    assert clock.due_at == datetime(2026, 11, 23, 16, 0, tzinfo=dublin)  # 1 h Friday + 7 h Monday

    # Paused Friday 20:00 (after hours), resumed Saturday noon: Monday's due time does not move.
    sla_services.sla_clocks_set_waiting(incident_id=incident.pk, waiting=True, at=datetime(2026, 11, 20, 20, 0, tzinfo=dublin), reason="x")
    clock.refresh_from_db()
    assert clock.elapsed_seconds == 3600
    sla_services.sla_clocks_set_waiting(incident_id=incident.pk, waiting=False, at=datetime(2026, 11, 21, 12, 0, tzinfo=dublin))
    clock.refresh_from_db()
    assert clock.due_at == datetime(2026, 11, 23, 16, 0, tzinfo=dublin)

    # Paused Monday 10:00 to 11:30 (in hours): the due time moves 1.5 h.
    sla_services.sla_clocks_set_waiting(incident_id=incident.pk, waiting=True, at=datetime(2026, 11, 23, 10, 0, tzinfo=dublin), reason="x")
    sla_services.sla_clocks_set_waiting(incident_id=incident.pk, waiting=False, at=datetime(2026, 11, 23, 11, 30, tzinfo=dublin))
    clock.refresh_from_db()
    assert clock.elapsed_seconds == 2 * 3600
    assert clock.due_at == datetime(2026, 11, 23, 17, 30, tzinfo=dublin)
    assert clock.due_at == business_add(datetime(2026, 11, 23, 11, 30, tzinfo=dublin), timedelta(hours=6), calendar)


def test_resolving_stops_every_clock_and_starts_the_postmortem_clock_reopen_starts_cycle_two(manager):
    incident = declare(manager, severity=1)
    incident_services.incident_transition(actor=manager, incident=incident, to="investigating")
    incident_services.incident_transition(actor=manager, incident=incident, to="resolved", resolution_summary="Removed.")

    first = clocks(incident, cycle=1)
    assert {m: c.state for m, c in first.items() if m != "postmortem"} == {
        "acknowledge": "met",
        "triage": "met",
        "first_response": "met",
        "mitigation": "met",
        "resolution": "met",
    }
    assert first["postmortem"].state == "running"
    assert first["postmortem"].due_at == first["resolution"].stopped_at + timedelta(days=5)

    incident = Incident.objects.get(pk=incident.pk)
    incident_services.incident_transition(actor=manager, incident=incident, to="investigating", reason="It came back")
    second = clocks(incident, cycle=2)
    assert set(second) == {"acknowledge", "first_response", "mitigation", "resolution"}  # reopening is triaged already
    incident.refresh_from_db()
    reopened_at = TimelineEvent.objects.get(incident=incident, kind="reopened").at
    assert all(c.started_at == reopened_at and c.state == "running" for c in second.values())
    assert all(c.events.first().kind == "restart" for c in second.values())
    assert clocks(incident, cycle=1)["acknowledge"].state == "met"  # history kept


def test_raising_the_severity_recomputes_open_clocks_and_says_so(manager):
    incident = declare(manager, severity=2)
    old_due = clocks(incident)["mitigation"].due_at
    incident_services.incident_set_severity(actor=manager, incident=incident, severity=1, reason="Spreading fast")

    now_clocks = clocks(incident)
    mitigation = now_clocks["mitigation"]
    assert close(mitigation.due_at, incident.created_at + timedelta(hours=4)) and old_due == incident.created_at + timedelta(hours=8)
    assert mitigation.target.policy.name == "SEV1"
    recompute = mitigation.events.get(kind="recompute")
    assert recompute.data["reason"] == "severity SEV2 → SEV1"
    assert recompute.data["before"]["duration_seconds"] == 8 * 3600
    assert "first_response" in now_clocks  # SEV1 has a target SEV2 lacked: started now
    assert any(s.startswith("SLA clocks recomputed (severity SEV2 → SEV1)") for s in sla_timeline(incident))


def test_editing_a_policy_recomputes_the_clocks_it_governs(manager):
    incident = declare(manager, severity=2)
    policy = SLAPolicy.objects.get(name="SEV2")
    targets = [
        {"metric": t.metric, "name": t.name, "duration": t.duration, "on_breach": t.on_breach, "on_warning": t.on_warning}
        for t in policy.targets.all()
    ]
    for t in targets:
        if t["metric"] == "mitigation":
            t["duration"] = "02:00:00"
    sla_policy_save(actor=None, policy=policy, data={}, targets=targets)

    mitigation = clocks(incident)["mitigation"]
    assert close(mitigation.due_at, incident.created_at + timedelta(hours=2))
    assert mitigation.policy_version == 2
    assert any('SLA policy "SEV2" changed (version 2)' in s for s in sla_timeline(incident))


@pytest.mark.parametrize(
    ("targets", "field"),
    [
        ([{"metric": "acknowledge", "duration": 0}], "targets[0].duration"),
        ([{"metric": "acknowledge", "duration": -60}], "targets[0].duration"),
        ([{"metric": "acknowledge", "duration": "soon"}], "targets[0].duration"),
        ([{"metric": "acknowledge"}], "targets[0].duration"),
        ([{"metric": "acknowledge", "duration": 60, "warn_pct": 0}], "targets[0].warn_pct"),
        ([{"metric": "acknowledge", "duration": 60, "warn_pct": 100}], "targets[0].warn_pct"),
        ([{"metric": "acknowledge", "duration": 60, "on_breach": ["launch_rockets"]}], "targets[0].on_breach"),
        ([{"metric": "acknowledge", "duration": 60, "legal_clock": "no-such-law"}], "targets[0].legal_clock"),
        ([{"metric": "nap", "duration": 60}], "targets[0].metric"),
        ([{"metric": "acknowledge", "duration": 60}, {"metric": "acknowledge", "duration": 90}], "targets"),
    ],
)
def test_bad_targets_are_refused_naming_the_field_and_nothing_is_saved(targets, field):
    with pytest.raises(ValidationError) as caught:
        sla_policy_save(actor=None, data={"name": "Broken", "severities": [3]}, targets=targets)
    assert field in caught.value.errors
    assert not SLAPolicy.objects.filter(name="Broken").exists()
    assert not SLATarget.objects.filter(policy__name="Broken").exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "No hours", "time_zone": "Europe/Dublin", "working_hours": {}}, "working_hours"),
        ({"name": "Empty days", "time_zone": "Europe/Dublin", "working_hours": {"0": [], "1": []}}, "working_hours"),
        ({"name": "Backwards", "time_zone": "Europe/Dublin", "working_hours": {"0": [["17:00", "09:00"]]}}, "working_hours"),
        ({"name": "Mars", "time_zone": "Mars/Olympus_Mons", "working_hours": {"0": [["09:00", "17:00"]]}}, "time_zone"),
        ({"name": "Bad day", "time_zone": "UTC", "working_hours": {"9": [["09:00", "17:00"]]}}, "working_hours"),
    ],
)
def test_bad_calendars_are_refused_naming_the_field(data, field):
    from escalations.sla_services import business_calendar_save

    with pytest.raises(ValidationError) as caught:
        business_calendar_save(actor=None, data=data)
    assert field in caught.value.errors
    assert not BusinessCalendar.objects.filter(name=data["name"]).exists()


def test_a_24x7_calendar_needs_no_hours():
    from escalations.sla_services import business_calendar_save

    calendar = business_calendar_save(actor=None, data={"name": "Always", "time_zone": "UTC", "is_24x7": True, "working_hours": {}})
    assert calendar.pk


def test_only_admins_edit_policies(responder, admin_user):
    from core.errors import Forbidden

    with pytest.raises(Forbidden):
        sla_policy_save(actor=responder, data={"name": "Mine"}, targets=[{"metric": "acknowledge", "duration": 60}])
    assert sla_policy_save(actor=admin_user, data={"name": "Mine"}, targets=[{"metric": "acknowledge", "duration": 60}]).pk
