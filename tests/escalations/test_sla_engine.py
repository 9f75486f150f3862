"""SLA warnings and breaches fired by ``engine.tick(now)``: time travel by passing ``now``;
exactly once under repeated and concurrent ticks; actions at warning and breach."""

from datetime import timedelta

import pytest

from escalations import engine, sla_engine
from escalations.models import Escalation, OutgoingMessage, SLAClock, SLAClockEvent
from incidents.models import Incident, Notification, TimelineEvent
from tests.concurrency import run_concurrently
from tests.escalations.factories_paging import make_policy as make_paging_policy
from tests.escalations.factories_sla_core import declare, make_policy, only_policies


def ack_clock(incident):
    return SLAClock.objects.get(incident=incident, metric="acknowledge")


def sla_entries(incident):
    return list(TimelineEvent.objects.filter(incident=incident, kind="sla").values_list("summary", flat=True))


@pytest.mark.django_db
def test_a_warning_then_a_breach_each_fire_exactly_once(manager):
    incident = declare(manager, severity=1, commander="manager")
    clock = ack_clock(incident)
    t0 = incident.created_at

    assert engine.tick(t0 + timedelta(minutes=5)).sla_warnings == 0
    first = engine.tick(clock.warn_at)
    again = engine.tick(clock.warn_at + timedelta(seconds=1))
    clock.refresh_from_db()
    assert (first.sla_warnings, again.sla_warnings) == (1, 0)
    assert clock.state == "running" and clock.warned_at == clock.warn_at and clock.next_check_at == clock.due_at
    assert Notification.objects.filter(user=manager, incident=incident, kind="sla_warn").count() == 1
    assert sum(s.startswith("SLA warning: Time to acknowledge at 75 %") for s in sla_entries(incident)) == 1

    breach = engine.tick(clock.due_at)
    repeat = engine.tick(clock.due_at + timedelta(minutes=1))
    clock.refresh_from_db()
    assert (breach.sla_breaches, repeat.sla_breaches) == (1, 0)
    assert clock.state == "breached" and clock.breached_at == clock.due_at and clock.next_check_at is None
    assert [e.kind for e in clock.events.all()] == ["start", "warn", "breach"]
    assert Notification.objects.filter(user=manager, incident=incident, kind="sla_breach").count() == 1
    (email,) = OutgoingMessage.objects.filter(incident=incident, kind="alert")
    assert email.idempotency_key == f"sla:{clock.pk}:1:breach:{manager.pk}:email"
    assert email.channel == "email" and "SLA breached (Time to acknowledge)" in email.payload["subject"]
    entries = sla_entries(incident)
    assert sum(s.startswith("SLA breached: Time to acknowledge was due") for s in entries) == 1
    breach_entry = TimelineEvent.objects.get(incident=incident, kind="sla", summary__startswith="SLA breached: Time to acknowledge")
    assert "severity raise not proposed: already SEV1" in breach_entry.data["actions"]

    # A breached clock is still stopped by its milestone later: it stays breached.
    from incidents.services import incident_acknowledge

    incident_acknowledge(actor=manager, incident=Incident.objects.get(pk=incident.pk))
    clock.refresh_from_db()
    assert clock.state == "breached" and clock.stopped_at is not None


@pytest.mark.django_db
def test_a_breach_proposes_a_severity_raise_to_the_commander_without_changing_it(manager):
    incident = declare(manager, severity=2, commander="manager")
    clock = ack_clock(incident)

    engine.tick(clock.due_at + timedelta(seconds=5))

    proposal = Notification.objects.get(user=manager, incident=incident, kind="sla_severity_proposal")
    assert "consider raising the severity to SEV1" in proposal.text
    assert Incident.objects.get(pk=incident.pk).severity == 2
    # Seen late (the engine was down through the warning): the breach only, no stale warning.
    assert [e.kind for e in ack_clock(incident).events.all()] == ["start", "breach"]


@pytest.mark.django_db
def test_without_a_commander_the_incident_managers_are_told(manager, make_user):
    other = make_user("im2", role="incident_manager")
    incident = declare(manager, severity=2)
    engine.tick(ack_clock(incident).due_at)
    assert set(Notification.objects.filter(incident=incident, kind="sla_breach").values_list("user__username", flat=True)) == {
        manager.username,
        other.username,
    }


@pytest.mark.django_db
def test_a_breach_can_page_an_escalation_policy(manager, make_user):
    legal = make_user("legal", role="responder")
    paging = make_paging_policy(name="Legal on call", steps=[(5, [("user", legal.pk)])], rules=[])
    only_policies()
    make_policy("Page legal", targets=[{"metric": "triage", "duration": 600, "on_breach": [{"page_policy": paging.pk}]}])
    incident = declare(manager)
    assert not Escalation.objects.filter(incident=incident).exists()
    due = SLAClock.objects.get(incident=incident).due_at

    engine.tick(due)
    escalation = Escalation.objects.get(incident=incident, policy=paging)
    assert escalation.next_fire_at == due
    engine.tick(due + timedelta(seconds=1))
    assert OutgoingMessage.objects.filter(incident=incident, recipient=legal, kind="page").exists()
    engine.tick(due + timedelta(minutes=1))
    assert Escalation.objects.filter(incident=incident).count() == 1


@pytest.mark.django_db
def test_paused_and_stopped_clocks_never_fire(manager):
    incident = declare(manager, severity=2, commander="manager")
    from incidents.services import incident_acknowledge, incident_set_flags

    incident_set_flags(actor=manager, incident=incident, flags={"waiting_on_external": True}, reason="Waiting on the partner")
    incident_acknowledge(actor=manager, incident=Incident.objects.get(pk=incident.pk))

    result = engine.tick(incident.created_at + timedelta(days=30))
    states = dict(SLAClock.objects.filter(incident=incident).values_list("metric", "state"))
    assert states["acknowledge"] == "met"
    assert states["mitigation"] == "paused" and states["triage"] == "paused" and states["resolution"] == "paused"
    assert result.sla_breaches == 0
    assert not SLAClockEvent.objects.filter(clock__incident=incident, kind__in=["warn", "breach"]).exists()


@pytest.mark.django_db
def test_an_overdue_clock_shows_as_engine_lag_on_the_heartbeat(manager):
    from core.models import EngineHeartbeat

    incident = declare(manager, severity=1)
    due = ack_clock(incident).due_at
    result = engine.tick(due + timedelta(seconds=42))
    assert result.lag_seconds >= 42
    assert EngineHeartbeat.objects.get(name=engine.HEARTBEAT).lag_seconds >= 42


@pytest.mark.django_db
def test_nothing_due_costs_one_query(manager, django_assert_num_queries):
    incident = declare(manager, severity=1)
    with django_assert_num_queries(1):
        result = sla_engine.fire_due(incident.created_at + timedelta(minutes=1))
    assert result.claimed == 0


@pytest.mark.django_db
def test_the_auditor_reschedules_a_lost_check_and_stops_clocks_of_closed_incidents(manager):
    lost = declare(manager, severity=1)
    SLAClock.objects.filter(incident=lost, metric="acknowledge").update(next_check_at=None)
    closed = declare(manager, severity=2)
    Incident.objects.filter(pk=closed.pk).update(status="closed")

    report = engine.auditor(lost.created_at + timedelta(minutes=1))

    clock = ack_clock(lost)
    assert report.sla_rescheduled == 1 and clock.next_check_at == clock.warn_at
    assert report.sla_stopped == 4
    assert not SLAClock.objects.filter(incident=closed, stopped_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ticks_breach_each_clock_once(manager):
    incidents = [declare(manager, severity=1, commander="manager", title=f"Burst {i}") for i in range(40)]
    later = max(i.created_at for i in incidents) + timedelta(days=2)
    total = SLAClock.objects.filter(state="running").count()
    assert total == 40 * 5

    results = run_concurrently(lambda: sla_engine.fire_due(later, batch_size=25))
    # A clock whose incident the other tick held is left for the next tick, never doubled.
    leftover = sla_engine.fire_due(later)

    assert sum(r.breaches for r in results) + leftover.breaches == total
    assert sum(r.breaches for r in results) > 0
    assert SLAClockEvent.objects.filter(kind="breach").count() == total
    assert SLAClock.objects.filter(state="breached").count() == total
    assert Notification.objects.filter(kind="sla_breach").count() == total
    assert OutgoingMessage.objects.filter(kind="alert").count() == total
    assert sla_engine.fire_due(later + timedelta(seconds=1)).breaches == 0
