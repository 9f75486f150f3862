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


def test_lead_picks_an_override_span_by_dragging_across_days_and_by_keyboard_on_a_shift(page, live_server, login, schedule, screenshot):
    login(page, "lead")
    page.goto(f"{live_server.url}/schedules/{schedule.pk}/")
    days = page.locator("#timeline thead th[data-day-start]")
    final_cells = page.locator("#timeline tr.timeline-final td")
    first, last = final_cells.nth(2).bounding_box(), final_cells.nth(4).bounding_box()

    # Drag in an empty corner of the cells, clear of the shift blocks.
    page.mouse.move(first["x"] + first["width"] - 3, first["y"] + first["height"] - 2)
    page.mouse.down()
    page.mouse.move(last["x"] + last["width"] / 2, last["y"] + last["height"] - 2, steps=8)
    expect(page.locator("#timeline td.picking")).to_have_count(3 * page.locator("#timeline tbody tr").count())
    page.mouse.up()

    form = page.locator("#override-form")
    day_start = days.nth(2).get_attribute("data-day-start")
    day_end = days.nth(4).get_attribute("data-day-end")
    expect(form.get_by_label(re.compile(r"^Start"))).to_have_value(day_start)
    expect(form.get_by_label(re.compile(r"^End"))).to_have_value(day_end)
    expect(page.locator("#override-picked")).to_contain_text("3 days")
    expect(form.get_by_label("Who covers")).to_be_focused()
    screenshot(page, "schedule-override-picked-by-drag")

    form.get_by_label("Who covers").select_option(label="Gus Cover")
    form.get_by_label("Reason").fill("Conference week")
    form.get_by_role("button", name="Add override").click()
    expect(page.get_by_role("status").first).to_contain_text("Gus Cover now covers")
    expect(page.locator("#timeline tr.timeline-override td").nth(3)).to_contain_text("Gus Cover")

    # Keyboard: focus a shift of the final row and press Enter to cover exactly that shift.
    shift = page.locator("#timeline tr.timeline-final td").nth(6).locator(".shift").first
    shift.focus()
    page.keyboard.press("Enter")
    expect(form.get_by_label(re.compile(r"^Start"))).to_have_value(shift.get_attribute("data-start"))
    expect(form.get_by_label(re.compile(r"^End"))).to_have_value(shift.get_attribute("data-end"))
    expect(page.locator("#override-picked")).to_contain_text("covering")
