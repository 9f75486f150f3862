"""Browser checks for the account pages and the API docs under the real CSP."""

import re

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import ApiToken


def test_swagger_ui_renders_under_the_csp(page, login, responder):
    login(page, "responder")

    page.goto("/api/v1/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Firebreak API")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/tokens/").first).to_be_visible()


def test_profile_creates_a_token_shown_once_and_revokes_it(page, login, responder, screenshot):
    login(page, "responder")
    page.goto("/accounts/profile/")

    page.get_by_label("Token name").fill("Grafana bridge")
    page.get_by_label(re.compile(r"^intake:")).check()
    page.get_by_role("button", name="Create token").click()

    secret = page.locator("#new-token-value")
    expect(secret).to_contain_text("fbk_")
    expect(page.get_by_text("It is not shown again", exact=False)).to_be_visible()
    page.get_by_role("button", name="Copy to clipboard").click()
    expect(page.locator("[data-copy-status]")).not_to_be_empty()
    screenshot(page, "profile-new-token")
    token = ApiToken.objects.get(user=responder)
    assert token.scopes == ["intake", "read"]

    page.goto("/accounts/profile/")
    expect(page.locator("#new-token-value")).to_have_count(0)
    page.get_by_role("button", name="Revoke token Grafana bridge").click()
    expect(page.get_by_text("is revoked")).to_be_visible()
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_admin_sets_up_totp_and_reaches_the_admin(page, login, admin_user, screenshot):
    login(page, "admin")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/"))
    expect(page.locator("figure.qr svg")).to_be_visible()
    screenshot(page, "2fa-setup")

    device = TOTPDevice.objects.get(user=admin_user)
    page.get_by_label("6-digit code").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Confirm and continue").click()

    expect(page).not_to_have_url(re.compile(r"/accounts/2fa/"))
    page.goto("/admin/")
    expect(page.get_by_text("Site administration")).to_be_visible()
