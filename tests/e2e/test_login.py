import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_user_signs_in_through_the_form_and_lands_on_the_triage_queue(page, live_server, login, make_user, screenshot):
    make_user("dana", role="incident_manager")

    login(page, live_server, "dana")

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Triage queue")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    # htmx and app.js came from the static files, under the CSP, without a console error.
    page.wait_for_load_state("load")  # deferred scripts have run
    assert page.evaluate("typeof window.htmx") == "object"
    screenshot(page, "login-home")


def test_wrong_password_keeps_the_user_on_the_form_with_an_error(page, live_server, make_user):
    make_user("dana", role="incident_manager")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page.get_by_role("heading", name="Triage queue")).to_have_count(0)


def test_anonymous_visitor_is_sent_to_the_login_page(page, live_server):
    page.goto(f"{live_server.url}/")

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Sign in to Firebreak")).to_be_visible()
