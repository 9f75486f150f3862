"""Demo SLA data (SLA part): business calendars for the Dublin, Singapore and US teams
with their public holidays, a business-hours policy for SEV4 incidents, three regulator
orders received a while ago (so their legal clocks are running, in warning and breached),
and clocks on the recent open demo incidents; then one pass of the SLA engine so warnings
and breaches are recorded as they would be by the worker. Live demo incidents already got
their clocks when they were declared (met when triaged, paused while waiting).
Idempotent: existing calendars, the policy and the orders are left alone."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, TextIO

from django.contrib.auth import get_user_model

from accounts.models import Team
from escalations.models import BusinessCalendar, SLAClock, SLAPolicy

DEMO_MARKER = "demo_seed"  # incidents.demo's marker: these orders are demo incidents too
SLA_MARKER = "demo_sla"
RECENT = timedelta(days=3)

WEEKDAYS = range(5)

CALENDARS: list[dict[str, Any]] = [
    {
        "name": "Dublin business hours",
        "team": "Rapid Response Dublin",
        "time_zone": "Europe/Dublin",
        "hours": ("09:00", "17:30"),
        "holidays": [
            ("2026-12-25", "Christmas Day"),
            ("2026-12-28", "St Stephen's Day (observed)"),
            ("2027-01-01", "New Year's Day"),
            ("2027-02-01", "St Brigid's Day"),
            ("2027-03-17", "St Patrick's Day"),
            ("2027-03-29", "Easter Monday"),
            ("2027-05-03", "May bank holiday"),
        ],
    },
    {
        "name": "Singapore business hours",
        "team": "Rapid Response Singapore",
        "time_zone": "Asia/Singapore",
        "hours": ("09:00", "18:00"),
        "holidays": [
            ("2026-12-25", "Christmas Day"),
            ("2027-01-01", "New Year's Day"),
            ("2027-02-08", "Chinese New Year (observed)"),
            ("2027-02-09", "Chinese New Year (second day)"),
            ("2027-03-26", "Good Friday"),
            ("2027-05-01", "Labour Day"),
            ("2027-08-09", "National Day"),
        ],
    },
    {
        "name": "US business hours",
        "team": "Rapid Response US",
        "time_zone": "America/Los_Angeles",
        "hours": ("09:00", "17:00"),
        "holidays": [
            ("2026-11-26", "Thanksgiving Day"),
            ("2026-12-25", "Christmas Day"),
            ("2027-01-01", "New Year's Day"),
            ("2027-01-18", "Martin Luther King Jr. Day"),
            ("2027-05-31", "Memorial Day"),
            ("2027-07-05", "Independence Day (observed)"),
        ],
    },
]

BUSINESS_POLICY = {
    "name": "SEV4 in business hours",
    "description": "Low-severity incidents are handled in Dublin office hours; the clock stops at night, at weekends and on holidays.",
    "severities": [4],
    "priority": 0,
    "targets": [
        ("acknowledge", "Acknowledge in business hours", timedelta(hours=4)),
        ("triage", "Triage within a business day", timedelta(hours=8, minutes=30)),
        ("resolution", "Resolve within ten business days", timedelta(hours=85)),
    ],
}

# Orders received a while before they were declared here: the legal clock runs from receipt.
ORDERS: list[dict[str, Any]] = [
    {
        "received_ago": timedelta(minutes=50),
        "severity": 1,
        "title": "TCO removal order from the Guardia Civil: attack manifesto mirrored on 9 accounts",
        "harm_category": "violent-extremism",
        "region": "emea",
        "countries": ["ES"],
        "surfaces": ["video", "comments"],
        "intake_details": {
            "authority": "Guardia Civil (ES)",
            "legal_instrument": "Regulation (EU) 2021/784 (TCO) Art. 3",
            "order_reference": "GC-TCO-2291",
        },
        "summary": "Removal order for 9 URLs, received by the legal inbox 50 minutes before it was declared; one hour from receipt.",
    },
    {
        "received_ago": timedelta(hours=26),
        "severity": 2,
        "title": "eSafety removal notice: intimate images shared without consent",
        "harm_category": "adult-sexual",
        "region": "apac",
        "countries": ["AU"],
        "surfaces": ["dms"],
        "intake_details": {
            "authority": "eSafety Commissioner (AU)",
            "legal_instrument": "Online Safety Act 2021 s. 77",
            "order_reference": "ESC-2026-0977",
        },
        "summary": "Notice sat in a shared mailbox over the weekend; 24 hours from receipt.",
    },
    {
        "received_ago": timedelta(minutes=40),
        "severity": 2,
        "title": "MeitY blocking order under the IT Rules: deepfake video of a minister",
        "harm_category": "misinformation",
        "region": "apac",
        "countries": ["IN"],
        "surfaces": ["video"],
        "intake_details": {
            "authority": "Ministry of Electronics and IT (IN)",
            "legal_instrument": "IT Rules 2021 r. 3(1)(d) (G.S.R. 120(E))",
            "order_reference": "MEITY-69A-4410",
        },
        "summary": "Order for 3 URLs; three hours from receipt since the February 2026 amendment.",
    },
]


def _calendars(stdout: TextIO) -> dict[str, BusinessCalendar]:
    from escalations.sla_services import business_calendar_save

    made = 0
    for spec in CALENDARS:
        if BusinessCalendar.objects.filter(name=spec["name"]).exists():
            continue
        start, end = spec["hours"]
        business_calendar_save(
            actor=None,
            data={
                "name": spec["name"],
                "team": Team.objects.filter(name=spec["team"]).first(),
                "time_zone": spec["time_zone"],
                "is_24x7": False,
                "working_hours": {str(d): [[start, end]] if d in WEEKDAYS else [] for d in range(7)},
            },
            holidays=[{"date": day, "name": name} for day, name in spec["holidays"]],
        )
        made += 1
    stdout.write(f"escalations: {made} business calendars created\n")
    return {c.name: c for c in BusinessCalendar.objects.all()}


def _business_policy(calendars: dict[str, BusinessCalendar]) -> None:
    from escalations.sla_services import sla_policy_save

    spec = BUSINESS_POLICY
    calendar = calendars.get("Dublin business hours")
    if calendar is None or SLAPolicy.objects.filter(name=spec["name"]).exists():
        return
    sla_policy_save(
        actor=None,
        data={k: spec[k] for k in ("name", "description", "severities", "priority")},
        targets=[
            {"metric": metric, "name": name, "duration": int(duration.total_seconds()), "calendar": calendar.pk}
            for metric, name, duration in spec["targets"]
        ],
    )


def _orders(*, now: datetime) -> int:
    from incidents.models import Incident
    from incidents.services import incident_create

    if Incident.objects.filter(**{f"intake_details__{SLA_MARKER}": True}).exists():
        return 0
    manager = get_user_model().objects.filter(username="manager").first()
    if manager is None:
        return 0
    for spec in ORDERS:
        data = {k: v for k, v in spec.items() if k != "received_ago"}
        data["channel"] = "regulator_order"
        data["received_at"] = now - spec["received_ago"]
        data["intake_details"] = {**spec["intake_details"], DEMO_MARKER: True, SLA_MARKER: True}
        incident_create(actor=manager, data=data)
    return len(ORDERS)


def _recent_clocks(*, now: datetime) -> int:
    """Open demo incidents declared in the last days get the clocks their policy gives."""
    from escalations.sla_services import sla_clocks_start
    from incidents.models import Incident

    started = 0
    recent = (
        Incident.objects.open()
        .filter(created_at__gte=now - RECENT, **{f"intake_details__{DEMO_MARKER}": True})
        .exclude(pk__in=SLAClock.objects.values("incident_id"))
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    for pk in recent:
        started += len(sla_clocks_start(incident_id=pk, at=now, reason="demo data"))
    return started


def seed(*, stdout: TextIO, rng: random.Random, now: datetime) -> None:
    from escalations.sla_engine import fire_due

    calendars = _calendars(stdout)
    _business_policy(calendars)
    orders = _orders(now=now)
    clocks = _recent_clocks(now=now)
    fire_due(now)
    states = {state: SLAClock.objects.filter(state=state).count() for state in ("running", "paused", "met", "breached")}
    warning = SLAClock.objects.filter(state="running", warned_at__isnull=False).count()
    stdout.write(
        f"escalations: {orders} regulator orders with legal clocks, {clocks} clocks started on recent incidents; "
        f"clocks now {states['running']} running ({warning} in warning), {states['paused']} paused, "
        f"{states['met']} met, {states['breached']} breached\n"
    )
