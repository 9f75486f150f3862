from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.escalations.factories_schedules import make_schedule, people, rotation

pytestmark = pytest.mark.e2e

DUBLIN = ZoneInfo("Europe/Dublin")


@pytest.fixture
def schedule(make_user):
    make_user("lead", role="lead", time_zone="Europe/Dublin")
    make_user("gus", display_name="Gus Cover")
    crew = people("ann", "bob")
    return make_schedule(name="Rapid Response", rotations=[rotation(crew, start=date.today() - timedelta(days=3))])


def test_lead_adds_an_override_and_sees_it_on_call_and_in_the_timeline(page, live_server, login, schedule, screenshot):
    login(page, "lead")
    page.goto(f"{live_server.url}/schedules/")
    page.get_by_role("link", name="Rapid Response").click()
    expect(page.get_by_role("heading", name="Rapid Response", level=1)).to_be_visible()
    now_section = page.locator("#oncall-now")
    expect(now_section).to_contain_text("Europe/Dublin")
    expect(now_section).not_to_contain_text("Gus Cover")

    start = (timezone.now() - timedelta(minutes=10)).astimezone(DUBLIN)
    end = start + timedelta(hours=3)
    form = page.locator("#override-form")
    form.get_by_label("Who covers").select_option(label="Gus Cover")
    form.get_by_label(re.compile(r"^Start")).fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label(re.compile(r"^End")).fill(end.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Reason").fill("Ann at the dentist")
    form.get_by_role("button", name="Add override").click()

    expect(page.get_by_role("status").first).to_contain_text("Gus Cover now covers")
    expect(page.locator("#oncall-now")).to_contain_text("Gus Cover")
    expect(page.locator("#oncall-now")).to_contain_text(f"until {end.strftime('%a %-d %b %H:%M')}")
    expect(page.locator("#timeline tr.timeline-override")).to_contain_text("Gus Cover")
    expect(page.locator("#timeline tr.timeline-final")).to_contain_text("Gus Cover")
    screenshot(page, "schedule-with-override")

    # A clashing override is refused inside the form.
    form = page.locator("#override-form")
    form.get_by_label("Who covers").select_option(label="ann")
    form.get_by_label(re.compile(r"^Start")).fill((start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label(re.compile(r"^End")).fill((end + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_role("button", name="Add override").click()
    expect(page.locator("#override-form")).to_contain_text("overlaps an existing override")
