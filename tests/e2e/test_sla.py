"""SLA clocks in real Chromium: the manager sees the nearest deadline of each incident
counting down in the queue, coloured at warning and breach, opens the incident and reads
every clock with its state, pause reason and history, and flags the incident as waiting
on an external party from the clock panel."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from escalations.models import SLAPolicy
from incidents.services import incident_create
from tests.escalations.factories_sla import make_clock, make_legal_clock, make_policy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _incident(manager, title, severity=2):
    data = {"title": title, "channel": "internal_detection", "harm_category": "fraud-scams", "severity": severity, "region": "emea"}
    return incident_create(actor=manager, data=data)


def test_manager_sees_sla_countdowns_in_the_queue_and_the_clock_panel_with_history(page, live_server, login, make_user, screenshot):
    manager = make_user("manager", role="incident_manager", time_zone="Europe/Dublin")
    SLAPolicy.objects.all().delete()  # only this test's clocks, not the shipped policies'
    warned = _incident(manager, "Fake parcel-fee texts spreading in DMs")
    breached = _incident(manager, "Giveaway scam ads bypassing review")
    calm = _incident(manager, "Spam wave of fake giveaway comments")
    # The policy comes after the incidents, so the clocks are exactly the ones written below.
    policy = make_policy(
        "Test SEV2 clocks",
        severities=[2],
        targets=(("acknowledge", timedelta(minutes=30)), ("mitigation", timedelta(hours=4)), ("resolution", timedelta(days=3))),
    )
    targets = {t.metric: t for t in policy.targets.all()}
    make_clock(warned, targets["acknowledge"], due_in=timedelta(minutes=12), warn_in=timedelta(minutes=-3), events=("start", "warn"))
    make_clock(
        warned,
        targets["mitigation"],
        state="paused",
        legal_version=make_legal_clock(),
        events=("start", "pause"),
        elapsed_seconds=1500,
    )
    make_clock(warned, targets["resolution"], due_in=timedelta(days=2, hours=20))
    make_clock(breached, targets["acknowledge"], state="breached", due_in=timedelta(minutes=-20), events=("start", "warn", "breach"))
    make_clock(calm, targets["resolution"], due_in=timedelta(days=2))

    login(page, "manager")
    expect(page.get_by_role("heading", name="Triage queue")).to_be_visible()

    warn_cell = page.locator(f"#inc-{warned.pk} td.deadline")
    expect(warn_cell.locator("time.countdown")).to_have_class(re.compile(r"\bsla-warn\b"))
    expect(warn_cell.locator("time.countdown")).to_contain_text("left")
    expect(warn_cell).to_contain_text("Time to acknowledge:")  # the label read out before the countdown
    expect(warn_cell.locator("time.countdown")).to_have_attribute("title", re.compile(r"^Time to acknowledge: due "))
    breach_cell = page.locator(f"#inc-{breached.pk} td.deadline time.countdown")
    expect(breach_cell).to_have_class(re.compile(r"\bsla-breach\b"))
    expect(breach_cell).to_contain_text("overdue")
    expect(page.locator(f"#inc-{calm.pk} td.deadline time.countdown")).to_have_class(re.compile(r"\bsla-ok\b"))
    screenshot(page, "sla-queue")

    page.get_by_role("link", name=warned.reference).click()
    panel = page.locator("#incident-sla")
    expect(panel.get_by_role("heading", name="SLA clocks")).to_be_visible()
    expect(panel).to_contain_text("3 open of 3")
    expect(panel).to_contain_text("Europe/Dublin")
    ack = panel.locator("tbody.sla-clock", has_text="Time to acknowledge")
    expect(ack.locator("time.countdown")).to_have_class(re.compile(r"\bsla-warn\b"))
    mitigation = panel.locator("tbody.sla-clock", has_text="Time to mitigation")
    expect(mitigation.locator(".sla-state")).to_have_text("Paused")
    expect(mitigation).to_contain_text("Waiting for the platform partner")
    expect(mitigation.get_by_role("link", name="Test Regulation (EU) 2021/784, Art. 3(3)")).to_have_attribute(
        "href", re.compile(r"eur-lex\.europa\.eu")
    )

    history = ack.locator("details.sla-history")
    expect(history.locator("ol.sla-events")).to_be_hidden()
    history.locator("summary").click()
    expect(history.locator("ol.sla-events li")).to_have_count(2)
    expect(history.locator("ol.sla-events")).to_contain_text("Warning")
    screenshot(page, "sla-incident-panel")

    panel.get_by_label("Waiting on").fill("Carrier's abuse desk to confirm the sender IDs")
    panel.get_by_role("button", name="Mark waiting").click()
    expect(page.locator("#incident-sla")).to_contain_text("waiting on an external party")
    expect(page.locator("#incident-sla")).to_contain_text("Carrier's abuse desk to confirm the sender IDs")
    expect(page.locator("#incident-sla").get_by_role("button", name="No longer waiting")).to_be_visible()
    screenshot(page, "sla-incident-waiting")


def test_lead_reads_the_policies_and_legal_clocks_and_checks_which_policy_applies(page, live_server, login, make_user, screenshot):
    make_user("lead", role="lead", time_zone="Asia/Singapore")

    login(page, "lead")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="SLA").click()
    expect(page.get_by_role("heading", name="SLA policies", level=1)).to_be_visible()
    legal = page.locator("table.legal-clocks")
    india = legal.locator("#legal-in-it-rules-takedown")
    expect(india.locator("tr")).to_have_count(2)  # 36 hours until 20 Feb 2026, 3 hours from then
    expect(india).to_contain_text("36 h")
    expect(india).to_contain_text("3 h")
    expect(legal.locator("#legal-eu-dsa-art9-order")).to_contain_text("internal target")
    expect(legal.locator("#legal-de-netzdg-manifestly-unlawful")).to_contain_text("no longer in force")

    form = page.locator("form.sla-match-form")
    form.get_by_label("Channel").select_option("regulator_order")
    form.get_by_label("Severity").select_option("1")
    form.get_by_role("button", name="Check").click()
    expect(page.get_by_role("status")).to_contain_text("SEV1 regulator order")
    expect(page.locator("table[aria-label='Every policy against this sample']")).to_contain_text("less specific")
    screenshot(page, "sla-policies")
