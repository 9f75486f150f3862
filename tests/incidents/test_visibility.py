from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Clearance
from core.errors import Forbidden, NotFound, ValidationError
from core.models import AuditEvent
from incidents.models import IncidentUserObjectPermission, Notification
from incidents.selectors import incident_get_for_break_glass, incident_get_visible, incident_list_visible, notification_list_for_user
from incidents.services import comment_create, incident_break_glass, incident_grant_access, notification_create
from tests.incidents.conftest import incident_data

pytestmark = pytest.mark.django_db


def _object_urls(pk):
    return [
        ("get", f"/api/v1/incidents/{pk}/", None),
        ("patch", f"/api/v1/incidents/{pk}/", {"title": "x", "version": 1}),
        ("post", f"/api/v1/incidents/{pk}/transition/", {"to": "triaged"}),
        ("post", f"/api/v1/incidents/{pk}/severity/", {"severity": 1, "reason": "x"}),
        ("get", f"/api/v1/incidents/{pk}/comments/", None),
        ("post", f"/api/v1/incidents/{pk}/comments/", {"body": "hello"}),
        ("get", f"/api/v1/incidents/{pk}/timeline/", None),
        ("post", f"/api/v1/incidents/{pk}/timeline/", {"summary": "x"}),
        ("get", f"/api/v1/incidents/{pk}/duplicates/", None),
        ("get", f"/api/v1/incidents/{pk}/grants/", None),
        ("post", f"/api/v1/incidents/{pk}/grants/", {"user": "reviewer"}),
        ("delete", f"/api/v1/incidents/{pk}/grants/?user=reviewer", None),
    ]


def _call(client, method, url, body):
    return getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)


def test_uncleared_reviewer_gets_404_on_every_incident_endpoint(api, reviewer, csea_incident):
    client = api(reviewer)
    for method, url, body in _object_urls(csea_incident.pk):
        response = _call(client, method, url, body)
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.json()["detail"] == "No such incident."


def test_missing_and_forbidden_answer_the_same(api, reviewer, csea_incident):
    forbidden = api(reviewer).get(f"/api/v1/incidents/{csea_incident.pk}/").json()
    missing = api(reviewer).get(f"/api/v1/incidents/{csea_incident.pk + 1000}/").json()
    assert forbidden == missing


def test_uncleared_reviewer_does_not_find_it_in_lists_search_or_duplicates(api, reviewer, manager, csea_incident, make_incident):
    visible = make_incident(title="Scam links spreading in DMs", hashtags=["#csealinks"], content_items=["https://video.example/v/123"])
    client = api(reviewer)
    listed = [row["id"] for row in client.get("/api/v1/incidents/").json()["results"]]
    assert listed == [visible.pk]
    for q in ("network", csea_incident.reference, "#csealinks", "NCMEC"):
        assert csea_incident.pk not in [r["id"] for r in client.get("/api/v1/incidents/", {"q": q}).json()["results"]]
    duplicates = client.get(f"/api/v1/incidents/{visible.pk}/duplicates/").json()
    assert duplicates == []
    # the cleared manager sees the restricted one as a duplicate
    assert [d["incident"]["id"] for d in api(manager).get(f"/api/v1/incidents/{visible.pk}/duplicates/").json()] == [csea_incident.pk]


def test_a_mention_does_not_notify_someone_who_cannot_see_the_incident(api, manager, reviewer, responder, csea, csea_incident):
    Clearance.objects.create(user=responder, compartment=csea)
    comment_create(actor=manager, incident=csea_incident, body="@reviewer and @responder please look")
    assert not Notification.objects.filter(user=reviewer).exists()
    assert Notification.objects.filter(user=responder, kind="mention", incident=csea_incident).count() == 1
    assert api(reviewer).get("/api/v1/notifications/").json()["results"] == []
    assert len(api(responder).get("/api/v1/notifications/").json()["results"]) == 1
    assert notification_create(user=reviewer, incident=csea_incident, kind="page", text="x") is None


def test_notifications_disappear_when_access_is_lost(manager, responder, csea, csea_incident):
    clearance = Clearance.objects.create(user=responder, compartment=csea)
    notification_create(user=responder, incident=csea_incident, kind="page", text="Paged")
    assert notification_list_for_user(user=responder).count() == 1
    clearance.revoked_at = timezone.now()
    clearance.save()
    responder._cleared_compartments = None
    assert notification_list_for_user(user=responder).count() == 0


def test_commander_grant_lets_a_named_reviewer_see_exactly_that_incident(api, manager, reviewer, csea_incident):
    other = incident_data(title="Another CSEA case", compartment="csea", harm_category="csea", hashtags=[])
    from incidents.services import incident_create

    second = incident_create(actor=manager, data=other)
    response = api(manager).post(
        f"/api/v1/incidents/{csea_incident.pk}/grants/", {"user": "reviewer", "reason": "Legal review"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert api(reviewer).get(f"/api/v1/incidents/{csea_incident.pk}/").status_code == 200
    assert api(reviewer).get(f"/api/v1/incidents/{second.pk}/").status_code == 404
    assert [r["id"] for r in api(reviewer).get("/api/v1/incidents/").json()["results"]] == [csea_incident.pk]
    assert Notification.objects.filter(user=reviewer, kind="access_granted").exists()

    assert api(manager).delete(f"/api/v1/incidents/{csea_incident.pk}/grants/?user=reviewer").status_code == 204
    assert api(reviewer).get(f"/api/v1/incidents/{csea_incident.pk}/").status_code == 404


def test_a_non_commander_cannot_grant(api, make_user, reviewer, csea, csea_incident):
    lead = make_user("cleared-lead", role="lead")
    Clearance.objects.create(user=lead, compartment=csea)
    response = api(lead).post(f"/api/v1/incidents/{csea_incident.pk}/grants/", {"user": "reviewer"}, format="json")
    assert response.status_code == 403
    with pytest.raises(Forbidden):
        incident_grant_access(actor=lead, incident=csea_incident, user=reviewer)
    assert not IncidentUserObjectPermission.objects.filter(user=reviewer).exists()


def test_a_lead_who_is_commander_can_grant(make_user, reviewer, csea, csea_incident):
    lead = make_user("commanding-lead", role="lead")
    Clearance.objects.create(user=lead, compartment=csea)
    csea_incident.commander = lead
    csea_incident.save(update_fields=["commander"])
    incident_grant_access(actor=lead, incident=csea_incident, user=reviewer)
    assert incident_get_visible(user=reviewer, pk=csea_incident.pk) == csea_incident


def test_admins_do_not_bypass_compartments(api, admin_user, csea_incident):
    assert api(admin_user).get(f"/api/v1/incidents/{csea_incident.pk}/").status_code == 404
    assert not incident_list_visible(user=admin_user).filter(pk=csea_incident.pk).exists()


def test_break_glass_needs_a_reason_is_audited_and_alerts_owners(admin_user, manager, reviewer, csea, csea_incident):
    csea.owners.add(manager)
    incident = incident_get_for_break_glass(user=admin_user, pk=csea_incident.pk)
    with pytest.raises(ValidationError):
        incident_break_glass(actor=admin_user, incident=incident, reason="")
    with pytest.raises(NotFound):
        incident_get_for_break_glass(user=reviewer, pk=csea_incident.pk)
    with pytest.raises(Forbidden):
        incident_break_glass(actor=reviewer, incident=incident, reason="I would like to look please")

    grant = incident_break_glass(actor=admin_user, incident=incident, reason="Owner unreachable; NCMEC asked for a status")
    assert grant.expires_at is not None
    assert incident_get_visible(user=admin_user, pk=csea_incident.pk) == csea_incident
    assert AuditEvent.objects.filter(action="incident.break_glass", actor=admin_user, object_id=str(csea_incident.pk)).exists()
    assert csea_incident.timeline.filter(kind="break_glass").exists()
    assert Notification.objects.filter(user=manager, kind="break_glass").exists()

    IncidentUserObjectPermission.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(NotFound):
        incident_get_visible(user=admin_user, pk=csea_incident.pk)


def test_opening_a_restricted_incident_is_audited(api, manager, csea_incident, incident):
    assert api(manager).get(f"/api/v1/incidents/{csea_incident.pk}/").status_code == 200
    assert AuditEvent.objects.filter(action="incident.read", actor=manager, object_id=str(csea_incident.pk)).count() == 1
    api(manager).get(f"/api/v1/incidents/{incident.pk}/")
    assert not AuditEvent.objects.filter(action="incident.read", object_id=str(incident.pk)).exists()


def test_a_user_without_a_role_sees_nothing(api, make_user, incident):
    nobody = make_user("nobody")
    assert api(nobody).get(f"/api/v1/incidents/{incident.pk}/").status_code == 403
    assert not incident_list_visible(user=nobody).exists()


def test_only_commander_or_manager_lists_grants(api, manager, make_user, csea, csea_incident):
    cleared_responder = make_user("cleared-responder", role="responder")
    Clearance.objects.create(user=cleared_responder, compartment=csea)
    assert api(cleared_responder).get(f"/api/v1/incidents/{csea_incident.pk}/grants/").status_code == 403
    assert api(manager).get(f"/api/v1/incidents/{csea_incident.pk}/grants/").status_code == 200


def test_break_glass_over_the_api(api, admin_user, reviewer, csea_incident):
    url = f"/api/v1/incidents/{csea_incident.pk}/break-glass/"
    assert api(reviewer).post(url, {"reason": "Curious about this one"}, format="json").status_code == 403
    assert api(admin_user).post(url, {}, format="json").status_code == 400
    assert (
        api(admin_user)
        .post(f"/api/v1/incidents/{csea_incident.pk + 999}/break-glass/", {"reason": "Need to check the status"}, format="json")
        .status_code
        == 404
    )
    response = api(admin_user).post(url, {"reason": "Commander unreachable; regulator asks for status"}, format="json")
    assert response.status_code == 201 and response.json()["expires_at"]
    assert api(admin_user).get(f"/api/v1/incidents/{csea_incident.pk}/").status_code == 200


def test_a_granted_lead_cannot_lift_the_compartment(api, make_user, manager, csea_incident):
    from incidents.services import incident_grant_access

    lead = make_user("granted-lead", role="lead")
    incident_grant_access(actor=manager, incident=csea_incident, user=lead)
    fresh = api(lead).get(f"/api/v1/incidents/{csea_incident.pk}/").json()
    response = api(lead).patch(f"/api/v1/incidents/{csea_incident.pk}/", {"version": fresh["version"], "compartment": ""}, format="json")
    assert response.status_code == 403
    csea_incident.refresh_from_db()
    assert csea_incident.compartment is not None
    # a cleared manager may
    response = api(manager).patch(f"/api/v1/incidents/{csea_incident.pk}/", {"version": fresh["version"], "compartment": ""}, format="json")
    assert response.status_code == 200
    assert response.json()["compartment"] is None
