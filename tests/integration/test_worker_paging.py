"""A real Celery worker and beat against Redis db 6 and this test database: the engine
rule — Postgres is the truth, Celery only does the work — under a killed worker and a
flushed broker."""

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db import connection

from escalations.models import Escalation, OutgoingMessage, Page
from escalations.services import page_acknowledge
from incidents import services as incident_services
from tests.chaos.procs import Processes
from tests.escalations.factories_paging import Receiver, make_policy, webhook_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/6"
WAIT_SECONDS = 30


def _env(**extra) -> dict:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        CELERY_BROKER_URL=BROKER,
        REDIS_URL=BROKER,
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


@pytest.fixture
def broker():
    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    yield client
    client.flushdb()


def wait_for(condition, what: str, procs: Processes, timeout: float = WAIT_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n{procs.logs()}")


def _declare(actor, title):
    return incident_services.incident_create(
        actor=actor, data={"title": title, "channel": "internal_detection", "harm_category": "dangerous-challenges", "severity": 2}
    )


def _webhooks(incident):
    return OutgoingMessage.objects.filter(incident=incident, channel="webhook")


def test_a_declared_incident_is_paged_once_by_the_worker_and_an_ack_stops_the_next_step(make_user, manager, broker):
    alice = make_user("alice", role="responder")
    procs = Processes(_env())
    with Receiver() as receiver:
        webhook_for(alice, receiver.url)
        make_policy(steps=[(1, [("user", alice.pk)]), (1, [("user", alice.pk)])])
        try:
            procs.worker()
            procs.beat()
            acked = _declare(manager, "Acknowledged one")
            other = _declare(manager, "Unanswered one")
            # Whatever the broker held is gone; the next ticks re-read Postgres.
            broker.flushdb()

            wait_for(
                lambda: _webhooks(acked).filter(state="sent").exists() and _webhooks(other).filter(state="sent").exists(),
                "first pages",
                procs,
            )
            page_acknowledge(actor=alice, page=Page.objects.get(incident=acked, channel="in_app"))
            # Bring both escalations' next step forward instead of waiting out the minute.
            Escalation.objects.filter(incident__in=[acked, other]).exclude(state="acknowledged").update(
                next_fire_at=Escalation.objects.get(incident=other).started_at - timedelta(seconds=1)
            )
            broker.flushdb()
            wait_for(lambda: _webhooks(other).filter(state="sent").count() == 2, "the unanswered incident's second step", procs)
        finally:
            procs.stop_all()

    assert _webhooks(acked).count() == 1
    assert Escalation.objects.get(incident=acked).state == "acknowledged"
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    assert len(keys) == 3 and len(set(keys)) == 3


def test_a_worker_killed_mid_delivery_loses_nothing_and_repeats_at_most_once(make_user, manager, broker):
    alice = make_user("alice", role="responder")
    procs = Processes(_env(FIREBREAK_DELIVERY_CLAIM_SECONDS="3"))
    with Receiver(script=("hang", "200"), hang_seconds=20) as receiver:
        webhook_for(alice, receiver.url)
        make_policy(steps=[(30, [("user", alice.pk)])])
        try:
            procs.worker()
            procs.beat()
            incident = _declare(manager, "Crash mid-delivery")
            wait_for(lambda: len(receiver.requests) == 1, "the first webhook request", procs)
            procs.kill("worker")
            assert _webhooks(incident).get().state == "claimed"
            broker.flushdb()

            procs.worker("worker2")
            message = wait_for(lambda: _webhooks(incident).filter(state="sent").first(), "redelivery after the claim deadline", procs)
        finally:
            procs.stop_all()

    assert len(receiver.requests) == 2
    assert {r["headers"]["Idempotency-Key"] for r in receiver.requests} == {message.idempotency_key}
    assert message.attempts == 2
    assert Page.objects.filter(incident=incident, state="sent").count() == 2
