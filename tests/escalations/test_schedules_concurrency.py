from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from core.errors import ValidationError
from escalations import schedule_services
from escalations.models import Override
from tests.escalations.factories_schedules import make_schedule, people, rotation

NOW = datetime(2026, 3, 25, 12, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_overrides_racing_cannot_both_win():
    ann, bob, gus, hal = people("ann", "bob", "gus", "hal")
    schedule = make_schedule(rotations=[rotation([ann, bob])], now=NOW)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def add(user, offset):
        try:
            barrier.wait(timeout=5)
            schedule_services.override_create(
                actor=None, schedule=schedule, user=user, start=NOW + offset, end=NOW + offset + timedelta(hours=3), now=NOW
            )
            outcomes.append("created")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(gus, timedelta(0))), threading.Thread(target=add, args=(hal, timedelta(hours=1)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["created", "refused"]
    assert Override.objects.filter(schedule=schedule).count() == 1
