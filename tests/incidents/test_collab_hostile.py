"""Hostile text through every collaboration write: a clear 4xx or a stored value, never a 500,
and nothing executable in the pages that show it."""

import pytest

from tests.shared_fixtures import hostile_inputs

pytestmark = pytest.mark.django_db

HOSTILE = hostile_inputs()


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_is_stored_safely_or_refused(api, client, incident, manager, text):
    base = f"/api/v1/incidents/{incident.pk}"
    writes = [
        (f"{base}/tasks/", {"title": text, "detail": text}),
        (f"{base}/mitigations/", {"kind": "other", "detail": text, "countries": [text[:2]]}),
        (f"{base}/updates/", {"audience": "press", "recipient": text, "subject": text, "body": text}),
        (f"{base}/evidence/", {"kind": "content_item", "title": text, "platform_id": text, "url": text, "captured": {"note": text}}),
    ]
    for url, body in writes:
        response = api(manager).post(url, body, format="json")
        assert response.status_code in (201, 400), (url, response.status_code, response.content[:300])
        if response.status_code == 400:
            assert response["Content-Type"] == "application/problem+json" and response.json()["detail"]
    client.force_login(manager)
    for name in ("tasks", "updates", "evidence"):
        html = client.get(f"/incidents/{incident.pk}/{name}/").content.decode()
        assert "<script>alert" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
        assert 'href="javascript:' not in html.lower()
