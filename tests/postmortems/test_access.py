import pytest

from accounts.models import Clearance
from tests.postmortems.factories import action_item, fill_and_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def published_csea(manager, make_user, csea, csea_postmortem):
    from postmortems import services

    other_lead = make_user("csea-lead", role="lead")
    Clearance.objects.create(user=other_lead, compartment=csea, reason="lead")
    action_item(csea_postmortem, manager, manager)
    postmortem = fill_and_submit(csea_postmortem, manager)
    services.postmortem_transition(actor=other_lead, postmortem=postmortem, action="approve")
    return services.postmortem_transition(actor=other_lead, postmortem=postmortem, action="publish")


def test_uncleared_reviewer_gets_404_on_every_surface(client, api, reviewer, published_csea):
    pk = published_csea.pk
    client.force_login(reviewer)
    for url in (f"/postmortems/{pk}/", f"/postmortems/{pk}/export.md", f"/postmortems/{pk}/print/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/postmortems/{pk}/comments/", {"section": "summary", "body": "hi"}).status_code == 404

    listing = client.get("/postmortems/")
    assert listing.status_code == 200
    assert published_csea.title.encode() not in listing.content
    overdue = client.get("/postmortems/action-items/")
    assert published_csea.incident.reference.encode() not in overdue.content

    reviewer_api = api(reviewer)
    assert reviewer_api.get(f"/api/v1/postmortems/{pk}/").status_code == 404
    assert reviewer_api.get(f"/api/v1/postmortems/{pk}/action-items/").status_code == 404
    assert reviewer_api.post(f"/api/v1/postmortems/{pk}/comments/", {"section": "summary", "body": "x"}, format="json").status_code == 404
    assert reviewer_api.get("/api/v1/postmortems/").json()["results"] == []


def test_cleared_reviewer_sees_it_and_the_read_is_audited(client, api, reviewer, csea, published_csea):
    from core.models import AuditEvent

    Clearance.objects.create(user=reviewer, compartment=csea, reason="policy reviewer")
    client.force_login(reviewer)
    assert client.get(f"/postmortems/{published_csea.pk}/").status_code == 200
    assert client.get(f"/postmortems/{published_csea.pk}/export.md").status_code == 200
    reads = set(AuditEvent.objects.filter(actor=reviewer, object_id=str(published_csea.pk)).values_list("action", flat=True))
    assert reads == {"postmortem.read.page", "postmortem.read.export"}
    assert [r["id"] for r in api(reviewer).get("/api/v1/postmortems/").json()["results"]] == [published_csea.pk]


def test_missing_and_forbidden_look_the_same(api, reviewer, published_csea):
    forbidden = api(reviewer).get(f"/api/v1/postmortems/{published_csea.pk}/")
    missing = api(reviewer).get("/api/v1/postmortems/999999/")
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json()["detail"] == missing.json()["detail"]


def test_users_without_a_role_see_nothing(client, make_user, postmortem):
    nobody = make_user("nobody")
    client.force_login(nobody)
    assert client.get(f"/postmortems/{postmortem.pk}/").status_code == 404
