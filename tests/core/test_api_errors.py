"""The API's error shape: problem+json with a message a person can act on, never a 500 for bad input."""

import json
from pathlib import Path

import pytest

from accounts.models import ApiToken

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def test_malformed_json_body_is_a_400_problem(api, responder):
    response = api(user=responder).post("/api/v1/tokens/", data='{"name": "x", "scopes": [', content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == 400
    assert body["title"] == "Invalid input"
    assert "JSON parse error" in body["detail"]


def test_nul_character_in_a_json_body_is_a_400(api, responder):
    raw = json.dumps({"name": "evil\u0000name", "scopes": ["read"]})
    assert "\\u0000" in raw

    response = api(user=responder).post("/api/v1/tokens/", data=raw, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert "NUL" in response.json()["detail"]
    assert not ApiToken.objects.exists()


def test_nul_in_a_json_key_is_a_400(api, responder):
    raw = json.dumps({"name": "ok", "scopes": ["read"], "x\u0000": 1})

    response = api(user=responder).post("/api/v1/tokens/", data=raw, content_type="application/json")

    assert response.status_code == 400


@pytest.mark.parametrize("query", ["cursor=%00", "page_size=1%00", "q=a%00b"])
def test_nul_in_the_query_string_is_a_400(api, responder, query):
    response = api(user=responder).get(f"/api/v1/tokens/?{query}")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert "NUL" in response.json()["detail"]


def test_form_encoded_body_is_refused_as_unsupported_media_type(api, responder):
    response = api(user=responder).post("/api/v1/tokens/", data="name=x&scopes=read", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response["Content-Type"] == PROBLEM


def test_unknown_api_path_is_a_404_problem_not_an_html_page(api, responder):
    response = api(user=responder).get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["title"] == "Not found" and body["status"] == 404
    assert "/api/v1/no-such-thing/" in body["detail"]


def test_missing_object_is_a_404_problem(api, responder):
    response = api(user=responder).post("/api/v1/tokens/424242/revoke/")

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert response.json() == {
        "type": "https://firebreak.example.org/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No such token.",
    }


def test_unknown_html_path_still_gets_the_html_404_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_wrong_method_is_a_405_problem_with_allow(api, responder):
    response = api(user=responder).delete("/api/v1/me/")

    assert response.status_code == 405
    assert response["Content-Type"] == PROBLEM
    assert "GET" in response["Allow"]


def test_field_errors_name_the_field(api, responder):
    response = api(user=responder).post("/api/v1/tokens/", {"name": "x", "scopes": ["read"], "expires_in_days": "soon"}, format="json")

    body = response.json()
    assert response.status_code == 400
    assert body["detail"].startswith("expires_in_days:")
    assert "expires_in_days" in body["errors"]


HOSTILE = json.loads((Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "hostile-inputs.json").read_text())


@pytest.mark.parametrize("text", HOSTILE, ids=[f"hostile-{i}" for i in range(len(HOSTILE))])
def test_hostile_token_names_are_stored_or_refused_never_a_500(api, client, responder, text):
    response = api(user=responder).post("/api/v1/tokens/", {"name": text, "scopes": ["read"]}, format="json")

    assert response.status_code in (201, 400), response.content
    assert response["Content-Type"] in ("application/json", PROBLEM)
    if response.status_code == 201:
        assert response.json()["name"] == text.strip()
        client.force_login(responder)
        page = client.get("/accounts/profile/").content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
