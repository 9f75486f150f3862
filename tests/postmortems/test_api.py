import datetime as dt

import pytest

from postmortems.models import ActionItem, PostMortem
from tests.postmortems.factories import action_item

pytestmark = pytest.mark.django_db


def test_list_and_retrieve(api, manager, postmortem):
    body = api(manager).get("/api/v1/postmortems/").json()
    assert [r["id"] for r in body["results"]] == [postmortem.pk]
    assert body["results"][0]["status"] == "draft"
    detail = api(manager).get(f"/api/v1/postmortems/{postmortem.pk}/").json()
    assert detail["incident"]["reference"] == postmortem.incident.reference
    assert detail["timeline"], "the timeline was imported"


def test_patch_sections_with_version_and_409_on_stale(api, manager, postmortem):
    client = api(manager)
    ok = client.patch(f"/api/v1/postmortems/{postmortem.pk}/", {"version": postmortem.version, "summary": "Six hours."}, format="json")
    assert ok.status_code == 200, ok.json()
    assert ok.json()["summary"] == "Six hours." and ok.json()["version"] == postmortem.version + 1

    stale = client.patch(f"/api/v1/postmortems/{postmortem.pk}/", {"version": postmortem.version, "summary": "Lost update"}, format="json")
    assert stale.status_code == 409
    assert stale["Content-Type"].startswith("application/problem+json")
    assert stale.json()["current_version"] == postmortem.version + 1

    missing = client.patch(f"/api/v1/postmortems/{postmortem.pk}/", {"summary": "no version"}, format="json")
    assert missing.status_code == 400 and "version" in missing.json()["errors"]


def test_responder_cannot_edit(api, responder, postmortem):
    response = api(responder).patch(f"/api/v1/postmortems/{postmortem.pk}/", {"version": postmortem.version, "summary": "x"}, format="json")
    assert response.status_code == 403


def test_transition_flow_and_refusals(api, manager, lead, postmortem):
    url = f"/api/v1/postmortems/{postmortem.pk}/transition/"
    assert api(manager).post(url, {"action": "submit"}, format="json").status_code == 400  # summary missing
    api(manager).patch(f"/api/v1/postmortems/{postmortem.pk}/", {"version": postmortem.version, "summary": "Six hours."}, format="json")
    assert api(manager).post(url, {"action": "submit"}, format="json").json()["status"] == "in_review"
    assert api(manager).post(url, {"action": "approve"}, format="json").status_code == 403
    assert api(lead).post(url, {"action": "publish"}, format="json").status_code == 409
    assert api(lead).post(url, {"action": "fly"}, format="json").status_code == 400
    assert api(lead).post(url, {"action": "approve"}, format="json").json()["status"] == "approved"
    assert api(lead).post(url, {"action": "publish"}, format="json").json()["status"] == "published"
    edit = api(manager).patch(f"/api/v1/postmortems/{postmortem.pk}/", {"version": 99, "summary": "x"}, format="json")
    assert edit.status_code == 409


def test_create_by_hand(api, manager, responder, make_resolved):
    incident = make_resolved(severity=3)
    assert api(responder).post("/api/v1/postmortems/", {"incident": incident.pk}, format="json").status_code == 403
    created = api(manager).post("/api/v1/postmortems/", {"incident": incident.pk}, format="json")
    assert created.status_code == 201
    assert PostMortem.objects.filter(incident=incident).count() == 1
    assert api(manager).post("/api/v1/postmortems/", {"incident": incident.pk}, format="json").status_code == 409
    assert api(manager).post("/api/v1/postmortems/", {"incident": 999999}, format="json").status_code == 404


def test_action_items_create_list_patch(api, manager, postmortem):
    url = f"/api/v1/postmortems/{postmortem.pk}/action-items/"
    due = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    created = api(manager).post(url, {"title": "Velocity alert", "owner": manager.pk, "due_on": due, "priority": "P1"}, format="json")
    assert created.status_code == 201, created.json()
    item_id = created.json()["id"]
    assert [i["id"] for i in api(manager).get(url).json()["results"]] == [item_id]
    patched = api(manager).patch(f"{url}{item_id}/", {"status": "in_progress"}, format="json")
    assert patched.json()["status"] == "in_progress"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "x", "due_on": "2099-01-01"}, "owner"),
        ({"title": "x", "owner": "me", "due_on": "2000-01-01"}, "due_on"),
        ({"title": "x", "owner": "me", "due_on": "2099-01-01", "tracker_url": "javascript:alert(1)"}, "tracker_url"),
        ({"title": "x", "owner": "me", "due_on": "2099-01-01", "priority": "P9"}, "priority"),
    ],
)
def test_action_item_bad_input_is_a_400_naming_the_field(api, manager, postmortem, payload, field):
    if payload.get("owner") == "me":
        payload["owner"] = manager.pk
    response = api(manager).post(f"/api/v1/postmortems/{postmortem.pk}/action-items/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not ActionItem.objects.exists()


def test_factor_outside_taxonomy_is_400(api, manager, postmortem):
    response = api(manager).post(f"/api/v1/postmortems/{postmortem.pk}/factors/", {"category": "bad-luck"}, format="json")
    assert response.status_code == 400 and "category" in response.json()["errors"]


def test_anonymous_and_tokenless_are_refused(api, postmortem):
    assert api().get("/api/v1/postmortems/").status_code in (401, 403)


@pytest.mark.parametrize("size", [1, 50])
def test_list_query_count_does_not_grow(api, manager, make_resolved, django_assert_num_queries, size):
    first = make_resolved().postmortem
    for _ in range(3):
        pm = make_resolved().postmortem
        action_item(pm, manager, manager)
    action_item(first, manager, manager)
    client = api(manager)
    client.get("/api/v1/postmortems/?page_size=1")  # warm permission caches
    with django_assert_num_queries(1):
        response = client.get(f"/api/v1/postmortems/?page_size={size}")
    assert len(response.json()["results"]) == min(size, 4)


@pytest.mark.parametrize("size", [1, 50])
def test_item_list_query_count_does_not_grow(api, manager, postmortem, django_assert_num_queries, size):
    for n in range(3):
        action_item(postmortem, manager, manager, title=f"Item {n}")
    client = api(manager)
    url = f"/api/v1/postmortems/{postmortem.pk}/action-items/"
    client.get(url + "?page_size=1")
    with django_assert_num_queries(2):
        response = client.get(f"{url}?page_size={size}")
    assert len(response.json()["results"]) == min(size, 3)


def test_the_owner_of_an_item_may_update_its_status_without_the_role_permission(api, manager, responder, postmortem):
    item = action_item(postmortem, manager, responder)
    url = f"/api/v1/postmortems/{postmortem.pk}/action-items/{item.pk}/"
    assert api(responder).patch(url, {"status": "done"}, format="json").json()["status"] == "done"
    other = action_item(postmortem, manager, manager)
    refused = api(responder).patch(f"/api/v1/postmortems/{postmortem.pk}/action-items/{other.pk}/", {"status": "done"}, format="json")
    assert refused.status_code == 403
