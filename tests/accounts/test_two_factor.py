import re
from base64 import b32decode
from urllib.parse import quote

import pytest
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("path", ["/", "/admin/", "/accounts/profile/"])
def test_admin_without_otp_is_sent_to_2fa(admin_client, path):
    response = admin_client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/2fa/?next={quote(path, safe='')}"


def test_setup_page_shows_secret_uri_and_inline_svg_qr(admin_client, admin_user):
    response = admin_client.get("/accounts/2fa/?next=/admin/")

    html = response.content.decode()
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    secret = re.search(r'<code class="token" id="otp-secret">([A-Z2-7=]+)</code>', html).group(1)
    assert b32decode(secret) == device.bin_key
    assert "otpauth://totp/Firebreak%3Aadmin?secret=" in html or "otpauth://totp/Firebreak:admin?secret=" in html
    assert "<svg" in html and "<img" not in html
    assert "style=" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]
    # A reload shows the same pending secret rather than a new one.
    admin_client.get("/accounts/2fa/")
    assert TOTPDevice.objects.filter(user=admin_user).count() == 1


def test_correct_code_confirms_the_device_and_lets_the_admin_in(admin_client, admin_user):
    admin_client.get("/accounts/2fa/?next=/admin/")
    device = TOTPDevice.objects.get(user=admin_user)

    response = admin_client.post("/accounts/2fa/", {"code": current_code(device), "next": "/admin/"})

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action="otp.device_confirm", actor=admin_user).exists()
    assert admin_client.get("/admin/").status_code == 200
    assert admin_client.get("/").status_code == 200


def test_wrong_code_shows_a_form_error_and_keeps_the_admin_out(admin_client, admin_user):
    admin_client.get("/accounts/2fa/")
    device = TOTPDevice.objects.get(user=admin_user)
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"

    response = admin_client.post("/accounts/2fa/", {"code": wrong, "next": "/admin/"})

    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert admin_client.get("/admin/").status_code == 302


def test_malformed_code_shows_a_form_error(admin_client):
    response = admin_client.post("/accounts/2fa/", {"code": "12ab"})

    assert response.status_code == 400
    assert "Enter the 6 digits" in response.content.decode()


def test_second_session_verifies_with_the_confirmed_device(client, admin_user):
    device = TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    client.force_login(admin_user)

    page = client.get("/accounts/2fa/")
    assert "Enter your sign-in code" in page.content.decode()
    assert "otp-secret" not in page.content.decode()

    response = client.post("/accounts/2fa/", {"code": current_code(device), "next": "/"})

    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/admin/").status_code == 200


def test_a_used_code_cannot_be_replayed(client, admin_user):
    device = TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    code = current_code(device)
    client.force_login(admin_user)
    assert client.post("/accounts/2fa/", {"code": code}).status_code == 302

    other = type(client)()
    other.force_login(admin_user)
    response = other.post("/accounts/2fa/", {"code": code})

    assert response.status_code == 400


def test_next_pointing_elsewhere_is_ignored(client, admin_user):
    device = TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    client.force_login(admin_user)

    response = client.post("/accounts/2fa/", {"code": current_code(device), "next": "https://evil.example/"})

    assert response["Location"] == "/"


def test_non_admin_is_not_forced_but_can_enable_it_from_the_profile(client, responder):
    client.force_login(responder)
    assert client.get("/").status_code == 200
    profile = client.get("/accounts/profile/").content.decode()
    assert "Set up an authenticator app" in profile

    client.get("/accounts/2fa/?next=/accounts/profile/")
    device = TOTPDevice.objects.get(user=responder)
    response = client.post("/accounts/2fa/", {"code": current_code(device), "next": "/accounts/profile/"}, follow=True)

    assert response.status_code == 200
    assert "Two-factor sign-in is set up." in response.content.decode()
    assert "Turn off two-factor sign-in" in response.content.decode()


def test_turning_2fa_off_needs_a_verified_session(client, responder):
    TOTPDevice.objects.create(user=responder, name="phone", confirmed=True)
    client.force_login(responder)

    response = client.post("/accounts/profile/2fa/remove/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/")
    assert TOTPDevice.objects.filter(user=responder).exists()


def test_turning_2fa_off_is_refused_for_a_session_that_never_verified(client, responder):
    client.force_login(responder)
    TOTPDevice.objects.create(user=responder, name="phone", confirmed=True)

    response = client.post("/accounts/profile/2fa/remove/")

    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=responder).exists()


def test_verified_user_can_turn_2fa_off(client, responder):
    device = TOTPDevice.objects.create(user=responder, name="phone", confirmed=True)
    client.force_login(responder)
    client.post("/accounts/2fa/", {"code": current_code(device)})

    response = client.post("/accounts/profile/2fa/remove/")

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=responder).exists()
    assert AuditEvent.objects.filter(action="otp.device_remove", actor=responder).exists()


def test_api_is_not_redirected_for_admins(api, admin_user):
    assert api(user=admin_user).get("/api/v1/me/").status_code == 200


@override_settings(FIREBREAK_ADMIN_OTP_REQUIRED=False)
def test_with_otp_off_the_admin_reaches_the_django_admin(admin_client):
    response = admin_client.get("/admin/")

    assert response.status_code == 200
    assert "Site administration" in response.content.decode()


def test_htmx_fragment_requests_are_not_answered_with_the_2fa_page(admin_client):
    from_other_page = admin_client.get("/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/incidents/7/")
    from_2fa_page = admin_client.get("/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/accounts/2fa/?next=/")

    assert from_other_page.status_code == 204
    assert from_other_page["HX-Redirect"] == "/accounts/2fa/?next=%2Fincidents%2F7%2F"
    assert from_2fa_page.status_code == 204
    assert "HX-Redirect" not in from_2fa_page
    assert from_2fa_page.content == b""


def test_a_non_admin_who_turned_2fa_on_is_asked_for_a_code_at_sign_in(client, responder):
    device = TOTPDevice.objects.create(user=responder, name="phone", confirmed=True)
    signed_in = client.post("/accounts/login/", {"username": "responder", "password": "correct-horse-battery-staple"})
    assert signed_in.status_code == 302

    gated = client.get("/")
    assert gated.status_code == 302
    assert gated["Location"].startswith("/accounts/2fa/")

    client.post("/accounts/2fa/", {"code": current_code(device), "next": "/"})
    assert client.get("/").status_code == 200


def test_a_non_admin_without_2fa_is_not_gated_after_sign_in(client, responder):
    client.post("/accounts/login/", {"username": "responder", "password": "correct-horse-battery-staple"})

    assert client.get("/").status_code == 200
