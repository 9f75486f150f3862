"""The OpenAPI document and Swagger UI: for signed-in callers, and working under the CSP."""

import re

import pytest
from django.core.cache import cache

from accounts.services import api_token_create

pytestmark = pytest.mark.django_db


def test_schema_loads_for_a_signed_in_user(client, responder):
    client.force_login(responder)

    response = client.get("/api/v1/schema/")

    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith("openapi: 3")
    assert "/api/v1/tokens/{id}/revoke/:" in body
    assert "bearerToken" in body


def test_schema_as_json_for_a_read_token(api, responder):
    cache.clear()
    _, plaintext = api_token_create(actor=responder, user=responder, name="ci", scopes=["read"])

    response = api(token=plaintext).get("/api/v1/schema/?format=json")

    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Firebreak API"


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/"])
def test_schema_and_docs_are_not_public(client, path):
    response = client.get(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_docs_page_loads_with_no_inline_script_and_a_nonced_style(client, responder):
    client.force_login(responder)

    response = client.get("/api/v1/docs/")

    html = response.content.decode()
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script[^>]*>", html)
    assert len(scripts) == 3
    assert all('src="' in tag for tag in scripts)
    assert f'<style nonce="{nonce}">' in html
    assert "swagger-ui-bundle.js" in html
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_docs_script_is_served_as_a_javascript_file(client, responder):
    client.force_login(responder)
    html = client.get("/api/v1/docs/").content.decode()
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1).replace("&amp;", "&")

    response = client.get(script_url)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()
    assert "/api/v1/schema/" in response.content.decode()


def test_swagger_assets_are_served_from_our_own_static_files(client, responder):
    client.force_login(responder)
    html = client.get("/api/v1/docs/").content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)

    assert assets
    assert all(a.startswith("/static/") for a in assets), assets
