from __future__ import annotations

import io
import random
from datetime import UTC, datetime

import pytest

from accounts import demo as accounts_demo
from escalations import demo, schedule_selectors
from escalations.models import Schedule

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 7, 15, 12, tzinfo=UTC)


def run(module):
    out = io.StringIO()
    module.seed(stdout=out, rng=random.Random(2026), now=NOW)
    return out.getvalue()


def test_demo_schedules_are_seeded_once_and_follow_the_sun(settings):
    settings.DEMO_PASSWORD = "firebreak-demo"
    run(accounts_demo)
    first = run(demo)
    assert "5 on-call schedules created" in first
    assert "0 on-call schedules created" in run(demo)
    assert Schedule.objects.count() == 5

    sun = Schedule.objects.get(name="Rapid Response follow-the-sun")
    dublin = {"cian.murphy", "lena.schmidt", "tomas.novak", "amira.haddad"}
    singapore = {"raj.menon", "siti.rahman", "kenji.watanabe", "minh.nguyen"}
    us = {"jordan.reyes", "ana.costa", "dwayne.brooks", "emily.chen"}

    def who(hour):
        return {u.username for u in schedule_selectors.schedule_oncall_at(schedule=sun, at=NOW.replace(hour=hour))}

    # Wednesday in July: Singapore 08:00-16:00 is 00:00-08:00 UTC, Dublin (IST) 07:00-15:00 UTC wins
    # its overlap, Los Angeles (PDT) 08:00-16:00 is 15:00-23:00 UTC; the weekend layer fills 23:00.
    assert who(3) <= singapore and who(3)
    assert who(10) <= dublin and who(10)
    assert who(18) <= us and who(18)
    assert who(23) <= {"manager", "responder", "lead"} and who(23)
    saturday = datetime(2026, 7, 18, 12, tzinfo=UTC)
    assert {u.username for u in schedule_selectors.schedule_oncall_at(schedule=sun, at=saturday)} <= {"manager", "responder", "lead"}
    legal = Schedule.objects.get(name="Legal on call")
    assert schedule_selectors.oncall_for_team(team=legal.team, at=NOW)


def test_demo_skips_gracefully_without_the_accounts_demo():
    assert "skipped" in run(demo)
    assert not Schedule.objects.exists()
