"""Security headers on real responses, and cookie flags."""

import re

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def login_page(client):
    return client.get("/accounts/login/")


def test_login_page_renders(login_page):
    assert login_page.status_code == 200
    assert 'name="password"' in login_page.content.decode()


def test_csp_uses_a_nonce_and_no_unsafe_inline(login_page):
    csp = login_page["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())

    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"]).group(1)
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    # The page's own scripts carry that nonce.
    assert f'nonce="{nonce}"' in login_page.content.decode()


def test_each_response_gets_a_fresh_nonce(client):
    first = re.search(r"'nonce-([^']+)'", client.get("/accounts/login/")["Content-Security-Policy"]).group(1)
    second = re.search(r"'nonce-([^']+)'", client.get("/accounts/login/")["Content-Security-Policy"]).group(1)

    assert first != second


def test_pages_carry_the_hardening_headers(login_page):
    assert login_page["X-Frame-Options"] == "DENY"
    assert login_page["X-Content-Type-Options"] == "nosniff"
    assert login_page["Referrer-Policy"] == "same-origin"
    assert login_page["Cross-Origin-Opener-Policy"] == "same-origin"


def test_api_responses_carry_the_hardening_headers(api, responder):
    response = api(user=responder).get("/api/v1/me/")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response


def test_session_cookie_is_http_only_and_same_site(client, responder):
    response = client.post("/accounts/login/", {"username": "responder", "password": "correct-horse-battery-staple"})

    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_login_form_has_no_inline_handlers_or_styles(login_page):
    html = login_page.content.decode()

    assert not re.search(r"\son[a-z]+=", html)
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
