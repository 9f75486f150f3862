"""Demo escalation policies (paging part): responders via the follow-the-sun schedule,
then the whole Rapid Response team; Legal for regulator orders and law-enforcement
requests; Comms for media inquiries. Idempotent: an existing policy is left alone;
a policy whose schedule or team is missing is skipped with a note."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any, TextIO

from accounts.models import Team
from escalations.models import EscalationPolicy, Schedule
from escalations.services import policy_create

POLICIES: list[dict[str, Any]] = [
    {
        "name": "Rapid Response (SEV1–2)",
        "description": "Whoever is on call follow-the-sun, then every Rapid Response Dublin member; twice more without an ack.",
        "repeat": 2,
        "steps": [(5, [("schedule", "Rapid Response follow-the-sun")]), (10, [("team_members", "Rapid Response Dublin")])],
        "rules": [{"max_severity": 2, "priority": 10}],
    },
    {
        "name": "Rapid Response (SEV3–4)",
        "description": "On call only, with a longer wait.",
        "repeat": 0,
        "steps": [(30, [("schedule", "Rapid Response follow-the-sun")])],
        "rules": [{"max_severity": 4, "priority": 50}],
    },
    {
        "name": "Legal",
        "description": "Legal is paged by its own policy for regulator orders and law-enforcement requests.",
        "repeat": 1,
        "steps": [(15, [("schedule", "Legal on call")]), (30, [("team_members", "Legal")])],
        "rules": [{"max_severity": 4, "channel": "regulator_order"}, {"max_severity": 4, "channel": "law_enforcement"}],
    },
    {
        "name": "Comms",
        "description": "Comms is paged for media inquiries and any SEV1.",
        "repeat": 0,
        "steps": [(15, [("schedule", "Comms on call")]), (30, [("team_members", "Comms")])],
        "rules": [{"max_severity": 4, "channel": "media_inquiry"}, {"max_severity": 1}],
    },
]


def _target(kind: str, name: str) -> dict | None:
    if kind == "schedule":
        schedule = Schedule.objects.filter(name=name).first()
        return {"kind": kind, "id": schedule.pk} if schedule else None
    team = Team.objects.filter(name=name).first()
    return {"kind": kind, "id": team.pk} if team else None


def seed(*, stdout: TextIO, rng: random.Random, now: datetime) -> None:
    created, skipped = 0, []
    for spec in POLICIES:
        if EscalationPolicy.objects.filter(name=spec["name"]).exists():
            continue
        steps = []
        for wait, targets in spec["steps"]:
            resolved = [_target(kind, name) for kind, name in targets]
            steps.append({"wait_minutes": wait, "targets": [t for t in resolved if t]})
        if any(not step["targets"] for step in steps):
            skipped.append(spec["name"])
            continue
        policy_create(
            actor=None, name=spec["name"], description=spec["description"], repeat=spec["repeat"], steps=steps, rules=spec["rules"]
        )
        created += 1
    note = f"; skipped (missing demo schedules or teams): {', '.join(skipped)}" if skipped else ""
    stdout.write(f"escalations: {created} escalation policies created{note}\n")
