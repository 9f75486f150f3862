"""A responder acknowledges a page from the bell, and from the signed link in a message."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from escalations import engine
from escalations.models import Escalation, Page
from escalations.services import page_ack_token
from tests.escalations.factories_paging import make_policy, start_incident

pytestmark = pytest.mark.e2e


@pytest.fixture
def paged(make_user):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    now = timezone.now()
    incident, [escalation] = start_incident(at=now, title="Challenge spreading", severity=1)
    engine.tick(now)
    return alice, incident, escalation


def test_the_bell_shows_the_page_and_the_list_acknowledges_it(page, live_server, login, paged):
    alice, incident, escalation = paged
    login(page, "alice")

    bell = page.locator("#bell")
    expect(bell).to_have_attribute("aria-label", "Notifications: 1 open pages, 0 unread")
    bell.click()
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=incident.reference)
    row.get_by_role("button", name="Acknowledge").click()

    expect(page.get_by_role("status")).to_contain_text(f"Acknowledged {incident.reference}")
    expect(page.get_by_text("Nothing is paging you.")).to_be_visible()
    escalation.refresh_from_db()
    assert escalation.state == "acknowledged"


def test_the_signed_link_asks_for_confirmation_before_acknowledging(page, live_server, paged):
    alice, incident, escalation = paged
    token = page_ack_token(Page.objects.get(escalation=escalation, channel="in_app"))

    page.goto(f"{live_server.url}/escalations/ack/{token}/")
    expect(page.get_by_role("heading", name=f"SEV1 incident {incident.reference} needs you")).to_be_visible()
    expect(page.get_by_text("Challenge spreading")).to_have_count(0)
    assert Escalation.objects.get(pk=escalation.pk).state == "active"
    page.get_by_role("button", name="Acknowledge").click()

    expect(page.get_by_role("status")).to_contain_text("Acknowledged at")
    page.goto(f"{live_server.url}/escalations/ack/{token}/")
    expect(page.get_by_role("status")).to_contain_text("Already acknowledged by alice at")
