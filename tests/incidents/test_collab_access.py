"""An uncleared user learns nothing about a restricted incident from any collaboration surface."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Clearance
from incidents.models_collab import EvidenceView, Task
from incidents.services_collab import evidence_add, stakeholder_update_create, task_create
from tests.accounts.factories import CompartmentFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def restricted(csea_incident, manager, make_incident):
    task = task_create(actor=manager, incident=csea_incident, title="File the NCMEC report")
    update = stakeholder_update_create(actor=manager, incident=csea_incident, audience="regulator", recipient="NCMEC", body="Report.")
    item = evidence_add(actor=manager, incident=csea_incident, kind="hash_only", sha256="a" * 64, platform_id="dm:1", graphic=True)
    # A file-bearing graphic item needs a restricted incident outside CSEA (CSEA refuses files).
    usds = CompartmentFactory(slug="usds", name="USDS")
    Clearance.objects.create(user=manager, compartment=usds)
    other = make_incident(compartment="usds", harm_category="violent-graphic")
    graphic = evidence_add(
        actor=manager, incident=other, kind="file", upload=SimpleUploadedFile("x.png", PNG, content_type="image/png"), graphic=True
    )
    return {"incident": csea_incident, "task": task, "update": update, "item": item, "other": other, "graphic": graphic}


def _api_requests(r):
    i, t, u, e, o, g = r["incident"].pk, r["task"].pk, r["update"].uid, r["item"].uid, r["other"].pk, r["graphic"].uid
    return [
        ("get", f"/api/v1/incidents/{i}/tasks/", None),
        ("post", f"/api/v1/incidents/{i}/tasks/", {"title": "x"}),
        ("get", f"/api/v1/incidents/{i}/tasks/{t}/", None),
        ("patch", f"/api/v1/incidents/{i}/tasks/{t}/", {"status": "done"}),
        ("post", f"/api/v1/incidents/{i}/tasks/{t}/complete/", {}),
        ("get", f"/api/v1/incidents/{i}/mitigations/", None),
        ("get", f"/api/v1/incidents/{i}/updates/", None),
        ("post", f"/api/v1/incidents/{i}/updates/", {"audience": "internal", "body": "x"}),
        ("get", f"/api/v1/incidents/{i}/updates/{u}/", None),
        ("patch", f"/api/v1/incidents/{i}/updates/{u}/", {"body": "y"}),
        ("post", f"/api/v1/incidents/{i}/updates/{u}/approve/", {}),
        ("get", f"/api/v1/incidents/{i}/subscription/", None),
        ("put", f"/api/v1/incidents/{i}/subscription/", None),
        ("get", f"/api/v1/incidents/{i}/evidence/", None),
        ("post", f"/api/v1/incidents/{i}/evidence/", {"kind": "hash_only", "sha256": "b" * 64, "platform_id": "v"}),
        ("get", f"/api/v1/incidents/{i}/evidence/{e}/", None),
        ("post", f"/api/v1/incidents/{i}/evidence/{e}/reveal/", {}),
        ("get", f"/api/v1/incidents/{o}/evidence/{g}/file/", None),
        ("post", f"/api/v1/incidents/{o}/evidence/{g}/reveal/", {}),
    ]


def test_uncleared_reviewer_gets_404_on_every_api_endpoint(api, restricted, reviewer):
    client = api(reviewer)
    for method, url, body in _api_requests(restricted):
        response = getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
        assert "NCMEC" not in response.content.decode()


def test_uncleared_reviewer_gets_404_on_every_page_and_partial(client, restricted, reviewer):
    i, t, u, e, o, g = (restricted[k] for k in ("incident", "task", "update", "item", "other", "graphic"))
    client.force_login(reviewer)
    requests = [
        ("get", f"/incidents/{i.pk}/tasks/"),
        ("post", f"/incidents/{i.pk}/tasks/"),
        ("post", f"/incidents/{i.pk}/tasks/{t.pk}/status/"),
        ("post", f"/incidents/{i.pk}/mitigations/"),
        ("get", f"/incidents/{i.pk}/updates/"),
        ("post", f"/incidents/{i.pk}/updates/"),
        ("post", f"/incidents/{i.pk}/updates/subscription/"),
        ("get", f"/incidents/{i.pk}/updates/{u.uid}/edit/"),
        ("post", f"/incidents/{i.pk}/updates/{u.uid}/approve/"),
        ("post", f"/incidents/{i.pk}/updates/{u.uid}/send/"),
        ("get", f"/incidents/{i.pk}/evidence/"),
        ("post", f"/incidents/{i.pk}/evidence/"),
        ("get", f"/incidents/{i.pk}/evidence/{e.uid}/"),
        ("post", f"/incidents/{i.pk}/evidence/{e.uid}/reveal/"),
        ("post", f"/incidents/{i.pk}/evidence/{e.uid}/delete/"),
        ("get", f"/incidents/{o.pk}/evidence/{g.uid}/file/"),
        ("post", f"/incidents/{o.pk}/evidence/{g.uid}/reveal/"),
    ]
    for method, url in requests:
        response = getattr(client, method)(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 404, (method, url, response.status_code)
    assert not EvidenceView.objects.filter(user=reviewer).exists()
    assert Task.objects.count() == 1


def test_missing_ids_are_404_too(api, client, incident, manager):
    client.force_login(manager)
    assert client.get(f"/incidents/{incident.pk}/evidence/00000000-0000-0000-0000-000000000000/file/").status_code == 404
    assert api(manager).get(f"/api/v1/incidents/{incident.pk}/tasks/999999/").status_code == 404
    assert api(manager).get("/api/v1/incidents/999999/evidence/").status_code == 404


def test_anonymous_callers_are_refused(api, client, restricted):
    i = restricted["incident"].pk
    assert api().get(f"/api/v1/incidents/{i}/tasks/").status_code in (401, 403)
    response = client.get(f"/incidents/{i}/tasks/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_evidence_from_another_incident_is_not_reachable_through_a_visible_one(api, restricted, incident, manager):
    g = restricted["graphic"].uid
    assert api(manager).get(f"/api/v1/incidents/{incident.pk}/evidence/{g}/").status_code == 404
