import re

import pytest
from django.core.cache import cache

from accounts.models import ApiToken
from accounts.services import api_token_create, token_digest
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, responder):
    client.force_login(responder)
    return client


def test_profile_requires_sign_in(client):
    response = client.get("/accounts/profile/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_profile_page_shows_time_zone_select_and_token_form(signed_in):
    response = signed_in.get("/accounts/profile/")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<select name="time_zone"' in html
    assert '<option value="Asia/Singapore"' in html
    assert '<option value="Europe/Dublin" selected>' in html
    for scope in ("read", "write", "intake", "admin"):
        assert f'value="{scope}"' in html
    assert 'name="expires_in_days"' in html
    assert "No tokens yet." in html


def test_profile_update_saves_zone_languages_and_name(signed_in, responder):
    response = signed_in.post(
        "/accounts/profile/", {"display_name": "Tan Wei Ling", "time_zone": "Asia/Singapore", "languages": "en, zh ,ms"}
    )

    assert response.status_code == 302
    responder.refresh_from_db()
    assert (responder.display_name, responder.time_zone, responder.languages) == ("Tan Wei Ling", "Asia/Singapore", ["en", "zh", "ms"])
    page = signed_in.get("/accounts/profile/").content.decode()
    assert "Profile saved." in page
    assert "Asia/Singapore" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"time_zone": "Mars/Olympus_Mons", "languages": "en"}, "Select a valid choice"),
        ({"time_zone": "Europe/Dublin", "languages": "en, <script>"}, "is not a language code"),
    ],
)
def test_bad_profile_input_shows_a_form_error_and_changes_nothing(signed_in, responder, data, message):
    response = signed_in.post("/accounts/profile/", data)

    assert response.status_code == 400
    assert message in response.content.decode()
    responder.refresh_from_db()
    assert responder.time_zone == "Europe/Dublin"
    assert "<script>" not in response.content.decode().split("<main", 1)[1]


def test_creating_a_token_shows_the_secret_once_with_a_warning(signed_in, responder):
    response = signed_in.post("/accounts/profile/tokens/", {"name": "Grafana", "scopes": ["read", "intake"], "expires_in_days": "30"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    match = re.search(r'<code class="token" id="new-token-value">(fbk_[^<]+)</code>', html)
    assert match, html
    plaintext = match.group(1)
    assert "It is not shown again" in html
    assert 'data-copy="new-token-value"' in html
    token = ApiToken.objects.get(user=responder)
    assert token.digest == token_digest(plaintext)
    assert token.scopes == ["intake", "read"]

    again = signed_in.get("/accounts/profile/").content.decode()
    assert plaintext not in again
    assert f"fbk_{token.prefix}…" in again
    assert "intake, read" in again
    assert "never" in again


def test_token_form_errors_are_shown_in_the_page(signed_in, responder):
    response = signed_in.post("/accounts/profile/tokens/", {"name": "", "scopes": ["admin"], "expires_in_days": "0"})

    html = response.content.decode()
    assert response.status_code == 400
    assert "This field is required." in html
    assert "greater than or equal to 1" in html
    assert not ApiToken.objects.exists()


def test_non_admin_asking_for_admin_scope_gets_a_form_error(signed_in):
    response = signed_in.post("/accounts/profile/tokens/", {"name": "root", "scopes": ["admin"], "expires_in_days": "30"})

    assert response.status_code == 400
    assert "Only admins can hold a token with the" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_button_revokes_and_the_token_stops_working(signed_in, responder, api):
    token, plaintext = api_token_create(actor=responder, user=responder, name="ci", scopes=["read"])
    cache.clear()

    response = signed_in.post(f"/accounts/profile/tokens/{token.pk}/revoke/", follow=True)

    assert response.status_code == 200
    assert "is revoked" in response.content.decode()
    assert "revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="api_token.revoke", object_id=str(token.pk)).exists()
    assert api(token=plaintext).get("/api/v1/me/").status_code == 401


def test_revoking_someone_elses_token_is_a_404_page(signed_in, reviewer):
    token, _ = api_token_create(actor=reviewer, user=reviewer, name="theirs", scopes=["read"])

    response = signed_in.post(f"/accounts/profile/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_needs_post(signed_in, responder):
    token, _ = api_token_create(actor=responder, user=responder, name="ci", scopes=["read"])

    assert signed_in.get(f"/accounts/profile/tokens/{token.pk}/revoke/").status_code == 405
