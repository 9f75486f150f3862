"""The engine driven by explicit instants: no sleeping, no broker."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from escalations import engine
from escalations.models import OutgoingMessage, Page, Schedule
from escalations.services import page_acknowledge
from incidents.models import Notification, TimelineEvent
from tests.escalations.factories_paging import make_policy, start_incident

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def _pages(escalation):
    return list(Page.objects.filter(escalation=escalation).order_by("repeat", "step", "recipient_id", "channel"))


def test_a_due_step_pages_each_recipient_once_and_delivers_once(make_user):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    incident, [escalation] = start_incident(at=T0)

    first = engine.tick(T0)
    again = engine.tick(T0)

    assert first.claimed == 1 and again.claimed == 0
    pages = _pages(escalation)
    assert [(p.recipient_id, p.channel) for p in pages] == [(alice.pk, "email"), (alice.pk, "in_app")]
    delivered = engine.deliver_due(T0)
    assert delivered.sent == 2
    assert engine.deliver_due(T0 + timedelta(minutes=1)).claimed == 0
    assert len(mail.outbox) == 1
    key = OutgoingMessage.objects.get(channel="email").idempotency_key
    assert mail.outbox[0].extra_headers["X-Firebreak-Idempotency-Key"] == key
    assert Notification.objects.filter(user=alice, incident=incident, kind="page").count() == 1
    assert {p.state for p in Page.objects.filter(escalation=escalation)} == {"sent"}
    assert TimelineEvent.objects.filter(incident=incident, kind="page", summary__contains="paged 1 person").count() == 1


def test_the_next_step_fires_after_its_wait_and_not_before(make_user):
    alice, bob = make_user("alice", role="responder"), make_user("bob", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)]), (10, [("user", bob.pk)])])
    _, [escalation] = start_incident(at=T0)

    engine.tick(T0)
    early = engine.tick(T0 + timedelta(minutes=4, seconds=59))
    on_time = engine.tick(T0 + timedelta(minutes=5))

    assert early.claimed == 0 and on_time.claimed == 1
    assert {p.recipient_id for p in _pages(escalation) if p.step == 1} == {bob.pk}


def test_acknowledging_stops_the_escalation_and_nothing_more_is_paged(make_user):
    alice, bob = make_user("alice", role="responder"), make_user("bob", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)]), (5, [("user", bob.pk)])])
    incident, [escalation] = start_incident(at=T0)
    engine.tick(T0)
    page = Page.objects.get(escalation=escalation, channel="in_app")

    page_acknowledge(actor=alice, page=page)
    later = engine.tick(T0 + timedelta(hours=2))

    escalation.refresh_from_db()
    incident.refresh_from_db()
    assert escalation.state == "acknowledged" and escalation.next_fire_at is None
    assert later.claimed == 0
    assert not Page.objects.filter(escalation=escalation, recipient=bob).exists()
    assert incident.acknowledged_at is not None
    # Undelivered messages of an acknowledged escalation are dropped, not sent.
    assert engine.deliver_due(T0 + timedelta(hours=2)).sent == 0
    assert len(mail.outbox) == 0


def test_the_policy_repeats_k_times_then_is_exhausted(make_user):
    alice, bob = make_user("alice", role="responder"), make_user("bob", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)]), (5, [("user", bob.pk)])], repeat=1)
    incident, [escalation] = start_incident(at=T0)

    fired = [engine.tick(T0 + timedelta(minutes=5 * n)).claimed for n in range(6)]

    escalation.refresh_from_db()
    assert fired == [1, 1, 1, 1, 1, 0]
    assert escalation.state == "exhausted"
    in_app = [(p.repeat, p.step, p.recipient_id) for p in _pages(escalation) if p.channel == "in_app"]
    assert in_app == [(0, 0, alice.pk), (0, 1, bob.pk), (1, 0, alice.pk), (1, 1, bob.pk)]
    assert TimelineEvent.objects.filter(incident=incident, summary__contains="exhausted").count() == 1


def test_a_schedule_gap_moves_to_the_next_step_at_once_and_flags_it(make_user, admin_user):
    commander = make_user("cmdr", role="incident_manager")
    bob = make_user("bob", role="responder")
    empty = Schedule.objects.create(name="Nobody on call")
    make_policy(steps=[(15, [("schedule", empty.pk)]), (15, [("user", bob.pk)])])
    incident, [escalation] = start_incident(at=T0, commander=commander)

    result = engine.tick(T0)

    assert result.gaps == 1 and result.claimed == 2
    assert {p.recipient_id for p in _pages(escalation)} == {bob.pk}
    assert TimelineEvent.objects.filter(incident=incident, summary__contains="nobody to page").count() == 1
    gap_targets = set(OutgoingMessage.objects.filter(kind="gap").values_list("recipient_id", flat=True))
    assert gap_targets == {commander.pk, admin_user.pk}
    engine.deliver_due(T0)
    assert Notification.objects.filter(user=commander, kind="page_gap").count() == 1


def test_an_inactive_person_is_a_gap_not_a_silent_drop(make_user):
    gone, bob = make_user("gone", role="responder"), make_user("bob", role="responder")
    make_policy(steps=[(10, [("user", gone.pk)]), (10, [("user", bob.pk)])])
    gone.is_active = False
    gone.save()
    _, [escalation] = start_incident(at=T0)

    result = engine.tick(T0)

    assert result.gaps == 1
    assert {p.recipient_id for p in _pages(escalation)} == {bob.pk}


def test_people_on_call_are_paged_through_the_schedule(make_user):
    from escalations.models import OnCallSpan

    carol = make_user("carol", role="responder")
    schedule = Schedule.objects.create(name="Rapid response")
    OnCallSpan.objects.create(schedule=schedule, user=carol, start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=8), source="rotation")
    make_policy(steps=[(10, [("schedule", schedule.pk)])])
    _, [escalation] = start_incident(at=T0)

    engine.tick(T0)

    assert {p.recipient_id for p in _pages(escalation)} == {carol.pk}


def test_a_crashed_delivery_is_resent_after_its_claim_deadline_with_the_same_key(make_user):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(30, [("user", alice.pk)])])
    start_incident(at=T0)
    engine.tick(T0)
    # A worker claims the batch and dies before recording any outcome.
    claimed, _ = engine._claim_messages(T0, 100)
    assert len(claimed) == 2

    inside_window = engine.deliver_due(T0 + timedelta(seconds=30))
    after_deadline = engine.deliver_due(T0 + timedelta(seconds=61))

    assert inside_window.claimed == 0
    assert after_deadline.sent == 2
    email = OutgoingMessage.objects.get(channel="email")
    assert email.attempts == 2 and email.state == "sent"
    assert [m.extra_headers["X-Firebreak-Idempotency-Key"] for m in mail.outbox] == [email.idempotency_key]


def test_the_auditor_releases_stuck_messages_and_fires_overdue_steps(make_user):
    from core.models import EngineHeartbeat

    alice, bob = make_user("alice", role="responder"), make_user("bob", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)]), (5, [("user", bob.pk)])])
    _, [escalation] = start_incident(at=T0)
    engine.tick(T0)
    engine._claim_messages(T0, 100)

    report = engine.auditor(T0 + timedelta(minutes=20))

    assert report.released_messages == 2
    assert report.overdue_escalations == 1 and report.overdue_fired == 1
    assert {p.recipient_id for p in _pages(escalation)} == {alice.pk, bob.pk}
    assert EngineHeartbeat.objects.get(name=engine.AUDITOR_HEARTBEAT).detail["repaired"] == report.repaired


def test_the_auditor_stops_escalations_of_incidents_no_longer_open(make_user):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    incident, [escalation] = start_incident(at=T0)
    type(incident).objects.filter(pk=incident.pk).update(status="resolved")

    report = engine.auditor(T0)

    escalation.refresh_from_db()
    assert report.resolved_closed_incidents == 1
    assert escalation.state == "resolved"
    assert engine.tick(T0 + timedelta(hours=1)).claimed == 0


def test_tick_records_a_heartbeat_with_the_lag_of_the_oldest_overdue_step(make_user):
    from core.models import EngineHeartbeat

    alice = make_user("alice", role="responder")
    make_policy(steps=[(30, [("user", alice.pk)])])
    start_incident(at=T0)

    engine.tick(T0 + timedelta(seconds=7))

    beat = EngineHeartbeat.objects.get(name="escalations")
    assert beat.beat_at == T0 + timedelta(seconds=7)
    assert beat.lag_seconds == pytest.approx(7.0)
    assert beat.detail["claimed"] == 1
