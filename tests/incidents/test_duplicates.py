from datetime import timedelta

import pytest

from incidents.models import Incident
from incidents.services import incident_find_duplicates

pytestmark = pytest.mark.django_db


def _found(data, user):
    return {incident.pk: reason for incident, reason in incident_find_duplicates(data=data, user=user)}


def test_same_content_url_is_a_duplicate(manager, make_incident):
    existing = make_incident(title="Scam network", hashtags=[], content_items=["https://video.example/v/42"])
    found = _found({"title": "Completely different words", "content_items": [{"url": "https://video.example/v/42"}]}, manager)
    assert "same content item https://video.example/v/42" in found[existing.pk]


def test_same_content_id_is_a_duplicate(manager, make_incident):
    existing = make_incident(title="Scam network", hashtags=[], content_items=["7301234567"])
    assert existing.pk in _found({"title": "Other", "content_items": ["7301234567"]}, manager)


def test_shared_hashtag_is_a_duplicate(manager, make_incident):
    existing = make_incident(title="Something", hashtags=["#Skullbreaker"])
    found = _found({"title": "Unrelated", "hashtags": ["skullbreaker", "other"]}, manager)
    assert found[existing.pk] == "shared hashtag #skullbreaker"


def test_similar_title_is_a_duplicate_and_a_different_one_is_not(manager, make_incident):
    existing = make_incident(title="Dangerous blackout challenge trending among minors in Ireland", hashtags=[])
    assert "similar title" in _found({"title": "Dangerous blackout challenge trending among minors in Poland"}, manager)[existing.pk]
    assert _found({"title": "Media inquiry about election adverts"}, manager) == {}


def test_only_the_last_fourteen_days_count(manager, make_incident):
    old = make_incident(title="Scam network impersonating a bank", hashtags=["bankscam"])
    Incident.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(days=15))
    assert _found({"title": "Scam network impersonating a bank", "hashtags": ["bankscam"]}, manager) == {}


def test_duplicates_never_cross_visibility(manager, reviewer, csea_incident):
    data = {"title": csea_incident.title, "hashtags": csea_incident.hashtags, "content_items": csea_incident.content_items}
    assert csea_incident.pk in _found(data, manager)
    assert _found(data, reviewer) == {}


def test_bad_input_finds_nothing_rather_than_failing(manager, incident):
    assert incident_find_duplicates(data={"title": 42, "hashtags": "not-a-list-but-ok", "content_items": [{"nope": 1}]}, user=manager) == []
    assert incident_find_duplicates(data=None, user=manager) == []
