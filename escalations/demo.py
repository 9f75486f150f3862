"""Demo on-call schedules (schedules part): follow-the-sun Rapid Response and
weekly Legal and Comms rotations, built from the accounts demo users and teams.
Idempotent: a schedule that already exists is left alone; missing users or
teams are skipped with a note."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any, TextIO

from django.contrib.auth import get_user_model

from accounts.models import Team
from escalations import schedule_services
from escalations.models import Schedule

WEEKDAYS = [0, 1, 2, 3, 4]
START = date(2026, 1, 5)  # a Monday: weekly rotations hand over on Mondays


def _office(zone: str) -> list[dict]:
    return [{"weekdays": WEEKDAYS, "start": "08:00", "end": "16:00", "time_zone": zone}]


SCHEDULES: list[dict[str, Any]] = [
    {
        "name": "Rapid Response follow-the-sun",
        "team": "Rapid Response Dublin",
        "time_zone": "UTC",
        "description": "Dublin, Singapore and US office hours hand over to each other; a weekend layer covers the rest.",
        "rotations": [
            {
                "name": "Dublin office hours",
                "layer": 4,
                "members": ["cian.murphy", "lena.schmidt", "tomas.novak", "amira.haddad"],
                "shift_unit": "days",
                "shift_length": 1,
                "handoff_time": "08:00",
                "restrictions": _office("Europe/Dublin"),
            },
            {
                "name": "Singapore office hours",
                "layer": 3,
                "members": ["raj.menon", "siti.rahman", "kenji.watanabe", "minh.nguyen"],
                "shift_unit": "days",
                "shift_length": 1,
                "handoff_time": "00:00",
                "restrictions": _office("Asia/Singapore"),
            },
            {
                "name": "US office hours",
                "layer": 2,
                "members": ["jordan.reyes", "ana.costa", "dwayne.brooks", "emily.chen"],
                "shift_unit": "days",
                "shift_length": 1,
                "handoff_time": "16:00",
                "restrictions": _office("America/Los_Angeles"),
            },
            {
                "name": "Weekend and gaps",
                "layer": 1,
                "members": ["manager", "responder", "lead"],
                "shift_unit": "weeks",
                "shift_length": 1,
                "handoff_time": "09:00",
            },
        ],
    },
    {
        "name": "Rapid Response Singapore",
        "team": "Rapid Response Singapore",
        "time_zone": "Asia/Singapore",
        "description": "Daily 08:00 handoff in Singapore.",
        "rotations": [
            {
                "name": "Daily",
                "layer": 1,
                "members": ["responder", "raj.menon", "siti.rahman", "kenji.watanabe", "minh.nguyen"],
                "shift_unit": "days",
                "shift_length": 1,
                "handoff_time": "08:00",
            }
        ],
    },
    {
        "name": "Rapid Response US",
        "team": "Rapid Response US",
        "time_zone": "America/Los_Angeles",
        "description": "Daily 08:00 handoff in Los Angeles.",
        "rotations": [
            {
                "name": "Daily",
                "layer": 1,
                "members": ["lead", "jordan.reyes", "ana.costa", "dwayne.brooks", "emily.chen"],
                "shift_unit": "days",
                "shift_length": 1,
                "handoff_time": "08:00",
            }
        ],
    },
    {
        "name": "Legal on call",
        "team": "Legal",
        "time_zone": "America/Chicago",
        "description": "Weekly rotation, Monday 09:00 Chicago.",
        "rotations": [
            {
                "name": "Weekly",
                "layer": 1,
                "members": ["reviewer", "emily.chen"],
                "shift_unit": "weeks",
                "shift_length": 1,
                "handoff_time": "09:00",
            }
        ],
    },
    {
        "name": "Comms on call",
        "team": "Comms",
        "time_zone": "Europe/Dublin",
        "description": "Weekly rotation, Monday 09:00 Dublin.",
        "rotations": [
            {
                "name": "Weekly",
                "layer": 1,
                "members": ["lena.schmidt", "reviewer", "ana.costa"],
                "shift_unit": "weeks",
                "shift_length": 1,
                "handoff_time": "09:00",
            }
        ],
    },
]


def seed(*, stdout: TextIO, rng: random.Random, now: datetime) -> None:
    User = get_user_model()
    created, skipped = 0, []
    for spec in SCHEDULES:
        if Schedule.objects.filter(name=spec["name"]).exists():
            continue
        team = Team.objects.filter(name=spec["team"]).first()
        usernames = {u for r in spec["rotations"] for u in r["members"]}
        users = {u.username: u for u in User.objects.filter(username__in=usernames, is_active=True)}
        if team is None or len(users) != len(usernames):
            skipped.append(spec["name"])
            continue
        rotations = [
            {**r, "members": [users[u].pk for u in r["members"]], "start_date": (START - timedelta(days=7 * rng.randint(0, 3))).isoformat()}
            for r in spec["rotations"]
        ]
        schedule_services.schedule_create(
            actor=None,
            name=spec["name"],
            team=team,
            time_zone=spec["time_zone"],
            description=spec["description"],
            rotations=rotations,
            now=now,
        )
        created += 1
    note = f"; skipped (missing demo users or teams): {', '.join(skipped)}" if skipped else ""
    stdout.write(f"escalations: {created} on-call schedules created{note}\n")

    # Escalation policies route on-call paging through the schedules above.
    from escalations import demo_paging

    demo_paging.seed(stdout=stdout, rng=rng, now=now)

    # Business calendars, legal-clock orders and clocks in every state on the demo incidents.
    from escalations import demo_sla

    demo_sla.seed(stdout=stdout, rng=rng, now=now)
