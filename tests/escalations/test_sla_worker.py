"""A real Celery worker and beat against this test database: a one-hour TCO removal order
received 61 minutes ago breaches once on the worker's next tick, and later ticks (and a
flushed broker) fire nothing twice."""

from datetime import timedelta

import pytest
import redis

from core.models import EngineHeartbeat
from core.time import db_now
from escalations import engine
from escalations.models import OutgoingMessage, SLAClock, SLAClockEvent
from incidents.models import Notification, TimelineEvent
from tests.escalations.factories_sla_core import regulator_order
from tests.integration import test_worker_paging as harness

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BROKER = "redis://127.0.0.1:6379/3"
CACHE = "redis://127.0.0.1:6379/2"


@pytest.fixture
def broker():
    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    yield client
    client.flushdb()


def _beat_after(moment):
    beat = EngineHeartbeat.objects.filter(name=engine.HEARTBEAT).first()
    return beat is not None and beat.beat_at > moment


def test_a_one_hour_tco_order_breaches_exactly_once_under_a_running_worker(manager, broker):
    env = harness._env()
    env.update(CELERY_BROKER_URL=BROKER, REDIS_URL=CACHE)
    procs = harness.Processes(env)
    received = db_now() - timedelta(minutes=61)
    incident = regulator_order(manager, instrument="TCO Regulation (EU) 2021/784", received_at=received, commander="manager")
    clock = SLAClock.objects.get(incident=incident, metric="authority_response")
    assert clock.duration == timedelta(hours=1) and clock.due_at == received + timedelta(hours=1)
    assert clock.state == "running"
    try:
        procs.worker()
        procs.beat()
        harness.wait_for(lambda: SLAClock.objects.filter(pk=clock.pk, state="breached").exists(), "the breach", procs)
        breached_at = SLAClock.objects.get(pk=clock.pk).breached_at
        broker.flushdb()  # whatever the broker held is gone; the next ticks re-read Postgres
        harness.wait_for(lambda: _beat_after(breached_at + timedelta(seconds=3)), "three more ticks", procs)
    finally:
        procs.stop_all()

    assert SLAClockEvent.objects.filter(clock=clock, kind="breach").count() == 1
    assert Notification.objects.filter(user=manager, incident=incident, kind="sla_breach").count() == 1
    assert OutgoingMessage.objects.filter(incident=incident, kind="alert", recipient=manager).count() == 1
    assert TimelineEvent.objects.filter(incident=incident, kind="sla", summary__startswith="SLA breached: Act on the order").count() == 1
