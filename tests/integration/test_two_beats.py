"""Two `celery beat` processes at once (a botched deploy, a failover that left the old
one running) double every scheduled task; Postgres keys make that harmless."""

from collections import Counter
from pathlib import Path

import pytest
from django.db.models import Count

from core.models import EngineHeartbeat
from escalations import engine
from escalations.models import OutgoingMessage, Page
from tests.escalations.factories_paging import Receiver, make_policy, webhook_for
from tests.integration import test_worker_paging as harness

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BROKER = "redis://127.0.0.1:6379/13"


@pytest.fixture
def broker():
    client = harness.redis.Redis.from_url(BROKER)
    client.flushdb()
    yield client
    client.flushdb()


def _env() -> dict:
    env = harness._env()
    env.update(CELERY_BROKER_URL=BROKER, REDIS_URL=BROKER)
    return env


def _beat(procs: harness.Processes, name: str) -> None:
    procs.start(name, ["beat", "-l", "warning", "-s", str(Path(procs.dir) / f"{name}-schedule"), "--pidfile", ""])


def _heartbeat():
    beat = EngineHeartbeat.objects.filter(name=engine.HEARTBEAT).first()
    return beat.beat_at if beat else None


def test_two_beats_page_once_per_page(make_user, manager, broker):
    alice = make_user("alice", role="responder")
    bob = make_user("bob", role="responder")
    procs = harness.Processes(_env())
    with Receiver() as receiver:
        webhook_for(alice, receiver.url)
        webhook_for(bob, receiver.url)
        make_policy(steps=[(30, [("user", alice.pk), ("user", bob.pk)])])
        try:
            procs.worker()
            _beat(procs, "beat-a")
            _beat(procs, "beat-b")
            incident = harness._declare(manager, "Doubled beat")
            webhooks = OutgoingMessage.objects.filter(incident=incident, channel="webhook")
            harness.wait_for(lambda: webhooks.filter(state="sent").count() == 2, "both webhook pages delivered", procs)
            # Let both beats fire several more ticks and deliveries past the delivery.
            delivered_at = max(webhooks.values_list("sent_at", flat=True))
            harness.wait_for(
                lambda: (_heartbeat() or delivered_at) - delivered_at >= harness.timedelta(seconds=3), "three more engine ticks", procs
            )
        finally:
            procs.stop_all()

    pages = Page.objects.filter(incident=incident, channel="webhook")
    assert sorted(pages.values_list("recipient_id", flat=True)) == sorted([alice.pk, bob.pk])
    for page in pages:
        messages = OutgoingMessage.objects.filter(page=page)
        assert [(m.state, m.attempts) for m in messages] == [("sent", 1)]
    duplicates = (
        Page.objects.filter(incident=incident)
        .values("escalation", "cycle", "repeat", "step", "recipient", "channel")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert list(duplicates) == []
    keys = Counter(r["headers"]["Idempotency-Key"] for r in receiver.requests)
    assert len(keys) == 2 and set(keys.values()) == {1}
    assert Page.objects.filter(incident=incident, channel="in_app").count() == 2
