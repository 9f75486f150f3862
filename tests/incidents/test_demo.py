import io
import random

import pytest
from django.utils import timezone

from incidents import demo
from incidents.models import Channel, Incident, Status, TimelineEvent
from incidents.selectors import incident_list_visible

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_users(settings):
    from accounts import demo as accounts_demo

    settings.DEMO_PASSWORD = "firebreak-demo"
    accounts_demo.seed(stdout=io.StringIO(), rng=random.Random(1), now=timezone.now())


def test_demo_seed_makes_a_realistic_idempotent_set(demo_users, django_capture_on_commit_callbacks):
    from accounts.models import User

    out = io.StringIO()
    demo.seed(stdout=out, rng=random.Random(2026), now=timezone.now())
    total = Incident.objects.count()
    assert total >= 250
    assert {c for c in Incident.objects.values_list("channel", flat=True).distinct()} == set(Channel.values)
    statuses = set(Incident.objects.values_list("status", flat=True).distinct())
    assert {Status.NEW, Status.INVESTIGATING, Status.RESOLVED, Status.CLOSED, Status.DECLINED} <= statuses
    assert set(Incident.objects.values_list("severity", flat=True).distinct()) == {1, 2, 3, 4}
    assert Incident.objects.filter(compartment__slug="csea").exists()
    assert TimelineEvent.objects.count() > total * 2
    # references are unique per year and search works on the bulk rows
    assert Incident.objects.values("reference").distinct().count() == total
    manager = User.objects.get(username="manager")
    assert incident_list_visible(user=manager, filters={"q": "challenge"}).exists()
    reviewer = User.objects.get(username="reviewer")
    assert not incident_list_visible(user=reviewer).filter(compartment__slug="csea").exists()

    demo.seed(stdout=out, rng=random.Random(2026), now=timezone.now())
    assert Incident.objects.count() == total
    assert "skipped" in out.getvalue()
