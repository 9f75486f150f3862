import io

import pytest
from django.core.management import call_command

from escalations import demo_paging
from escalations.models import EscalationPolicy, PolicyRule


@pytest.mark.django_db
def test_demo_policies_are_created_once_on_top_of_the_demo_schedules(settings):
    settings.DEMO_PASSWORD = "firebreak-demo"
    call_command("seed_demo", stdout=io.StringIO())
    out = io.StringIO()

    demo_paging.seed(stdout=out, rng=None, now=None)
    demo_paging.seed(stdout=out, rng=None, now=None)

    assert EscalationPolicy.objects.count() == len(demo_paging.POLICIES)
    assert "0 escalation policies created" in out.getvalue()
    assert PolicyRule.objects.filter(policy__name="Legal", channel="regulator_order").exists()
