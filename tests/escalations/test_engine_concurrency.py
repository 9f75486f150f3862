"""Two ticks at once, each on its own database connection: SKIP LOCKED plus the unique
keys mean every step fires once and no page or message is duplicated."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from escalations import engine
from escalations.models import Escalation, OutgoingMessage, Page
from tests.concurrency import run_concurrently
from tests.escalations.factories_paging import make_policy, start_incident

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ticks_fire_each_step_once(make_user):
    people = [make_user(f"r{i}", role="responder") for i in range(3)]
    make_policy(steps=[(5, [("user", p.pk) for p in people])])
    for _ in range(120):
        start_incident(at=T0)

    results = run_concurrently(lambda: engine.tick(T0, batch_size=20))

    assert sum(r.claimed for r in results) == 120
    assert Page.objects.count() == 120 * 3 * 2
    assert OutgoingMessage.objects.count() == 120 * 3 * 2
    assert not Escalation.objects.filter(step_index=0).exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deliveries_send_each_message_once(make_user):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    for _ in range(40):
        start_incident(at=T0)
    engine.tick(T0)

    results = run_concurrently(lambda: engine.deliver_due(T0, batch_size=10))
    results += run_concurrently(lambda: engine.deliver_due(T0, batch_size=100))

    assert sum(r.sent for r in results) == 80
    assert OutgoingMessage.objects.filter(state="sent").count() == 80
    from escalations.models import DeliveryAttempt

    assert DeliveryAttempt.objects.count() == 80


@pytest.mark.django_db(transaction=True)
def test_an_ack_racing_a_resolve_and_a_tick_ends_in_one_consistent_outcome(make_user, manager):
    from core.errors import Conflict
    from escalations.services import page_acknowledge
    from incidents import services as incident_services

    alice, bob = make_user("alice", role="responder"), make_user("bob", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)]), (5, [("user", bob.pk)])])
    incident = incident_services.incident_create(
        actor=manager, data={"title": "Race", "channel": "internal_detection", "harm_category": "dangerous-challenges", "severity": 2}
    )
    escalation = Escalation.objects.get(incident=incident)
    engine.tick(escalation.next_fire_at)
    page = Page.objects.get(escalation=escalation, channel="in_app")
    Escalation.objects.filter(pk=escalation.pk).update(next_fire_at=escalation.next_fire_at)
    outcomes = []

    def ack():
        try:
            page_acknowledge(actor=alice, page=page)
            outcomes.append("acknowledged")
        except Conflict:
            outcomes.append("conflict")

    def resolve():
        incident_services.incident_transition(actor=manager, incident=incident, to="declined", reason="Duplicate report")
        outcomes.append("declined")

    def tick():
        engine.tick(escalation.next_fire_at)
        outcomes.append("ticked")

    barrier = threading.Barrier(3)
    errors = []

    def run(fn):
        try:
            barrier.wait(timeout=10)
            fn()
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in (ack, resolve, tick)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    escalation.refresh_from_db()
    assert escalation.state in ("acknowledged", "resolved")
    assert escalation.next_fire_at is None
    if "acknowledged" in outcomes:
        assert escalation.state == "acknowledged"
    # Nothing pages after the race, whoever won.
    assert engine.tick(escalation.started_at.replace(year=2100)).claimed == 0


@pytest.mark.django_db(transaction=True)
def test_a_tick_with_parallel_batch_loops_fires_each_step_once(make_user):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    for _ in range(90):
        start_incident(at=T0)

    result = engine.tick(T0, batch_size=10, workers=3)

    assert result.claimed == 90
    assert Page.objects.count() == 180 and OutgoingMessage.objects.count() == 180
