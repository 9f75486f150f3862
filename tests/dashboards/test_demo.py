import datetime as dt
import io
import random

import pytest

from dashboards import demo
from dashboards.models import DailyRollup
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_demo_rebuilds_the_rollup_and_is_idempotent():
    now = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    IncidentFactory(created_at=now - dt.timedelta(days=2))
    out = io.StringIO()
    demo.seed(stdout=out, rng=random.Random(1), now=now)
    demo.seed(stdout=out, rng=random.Random(1), now=now)
    assert "rollup rebuilt for 3 days" in out.getvalue()
    assert sum(DailyRollup.objects.values_list("opened", flat=True)) == 1
