import pytest

pytestmark = pytest.mark.django_db


def test_smoke(client, manager, incident):
    client.force_login(manager)
    r = client.get("/")
    assert r.status_code == 200, r.content[:3000]
    assert b"Triage queue" in r.content
    assert incident.reference.encode() in r.content
    r = client.get(f"/incidents/{incident.reference}/")
    assert r.status_code == 200, r.content[:3000]
    r = client.get("/incidents/new/")
    assert r.status_code == 200, r.content[:3000]
