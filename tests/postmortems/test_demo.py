import io
import random

import pytest
from django.utils import timezone

from postmortems import demo
from postmortems.models import ActionItem, ContributingFactor, PostMortem
from postmortems.selectors import action_item_list_visible

pytestmark = pytest.mark.django_db


def test_demo_seed_is_idempotent_and_covers_the_states(make_user, manager, lead):
    make_user("reviewer", role="reviewer")
    make_user("responder", role="responder")

    demo.seed(stdout=io.StringIO(), rng=random.Random(2026), now=timezone.now())
    counts = (PostMortem.objects.count(), ContributingFactor.objects.count(), ActionItem.objects.count())
    demo.seed(stdout=io.StringIO(), rng=random.Random(2026), now=timezone.now())

    assert (PostMortem.objects.count(), ContributingFactor.objects.count(), ActionItem.objects.count()) == counts
    assert sorted(PostMortem.objects.values_list("status", flat=True)) == ["draft", "in_review", "published"]
    assert action_item_list_visible(user=lead, filters={"overdue": True}).exists()
