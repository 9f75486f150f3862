import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from incidents.services import incident_create, incident_transition
from tests.postmortems.conftest import ensure_harm_categories

pytestmark = pytest.mark.e2e


@pytest.fixture
def resolved_sev1(make_user):
    manager = make_user("manager", role="incident_manager")
    make_user("lead", role="lead")
    ensure_harm_categories()
    incident = incident_create(
        actor=manager,
        data={
            "title": "Blackout challenge trending among minors",
            "summary": "Videos spreading in DE and FR.",
            "channel": "internal_detection",
            "harm_category": "dangerous-challenges",
            "severity": 1,
            "commander": manager.pk,
            "reach_views": 90000,
        },
    )
    incident = incident_transition(actor=manager, incident=incident, to="investigating")
    return incident_transition(actor=manager, incident=incident, to="resolved", resolution_summary="Hashtag blocked.")


def test_manager_writes_lead_approves_and_publishes_read_only(page, live_server, login, resolved_sev1, screenshot):
    postmortem = resolved_sev1.postmortem
    url = f"{live_server.url}/postmortems/{postmortem.pk}/"

    login(page, "manager")
    page.goto(f"{live_server.url}/postmortems/")
    page.get_by_role("link", name=postmortem.title).click()
    expect(page).to_have_url(url)
    expect(page.get_by_text("Blameless writing")).to_be_visible()

    page.get_by_label("Summary").fill("The challenge spread for **six hours** before search was blocked.")
    page.get_by_role("button", name="Preview summary").click()
    expect(page.locator("#preview-summary strong")).to_have_text("six hours")
    page.get_by_role("button", name="Save sections").click()
    expect(page.get_by_text("Sections saved.")).to_be_visible()

    page.get_by_label("Factor category").select_option("detection")
    page.get_by_label("Factor description").fill("No velocity alert on new hashtags")
    page.get_by_role("button", name="Add factor").click()
    expect(page.locator("#factors")).to_contain_text("No velocity alert on new hashtags")

    items = page.locator("#action-items")
    items.get_by_label("Title").fill("Alert on hashtag velocity")
    items.get_by_label("Owner").select_option(label="manager")
    items.get_by_label("Due date").fill((dt.date.today() + dt.timedelta(days=14)).isoformat())
    items.get_by_label("Priority").select_option("P1")
    items.get_by_label("Tracker link").fill("https://tracker.example/T-42")
    items.get_by_role("button", name="Add action item").click()
    expect(page.locator("#action-items table")).to_contain_text("Alert on hashtag velocity")

    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_test_id("pm-status")).to_have_text("In review")
    screenshot(page, "postmortem-in-review")

    page.get_by_role("button", name="Sign out").click()
    login(page, "lead")
    page.goto(url)
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("pm-status")).to_have_text("Approved")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_test_id("pm-status")).to_have_text("Published")

    expect(page.get_by_text("published and read-only")).to_be_visible()
    expect(page.locator("textarea")).to_have_count(0)
    expect(page.get_by_role("button", name="Save sections")).to_have_count(0)
    expect(page.locator("#section-summary strong")).to_have_text("six hours")
    expect(page.get_by_role("link", name="Download as Markdown")).to_have_attribute("href", re.compile(r"/export\.md$"))
    screenshot(page, "postmortem-published")
