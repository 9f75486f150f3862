"""Drives the product against the private database of the chaos suite, through its
services, from a process of its own: ``python -m tests.chaos.control <command> <json>``.
Prints one JSON object. The chaos tests run it with the private ``DATABASE_URL``."""

from __future__ import annotations

import json
import sys


def setup(spec: dict) -> dict:
    from django.contrib.auth.models import Group

    from accounts.models import User
    from escalations.models import ContactMethod, NotificationRule
    from escalations.services import policy_create

    ids = {}
    for u in spec["users"]:
        user = User.objects.create_user(u["username"], f"{u['username']}@example.org", u.get("password", "correct-horse-battery-staple"))
        user.groups.add(Group.objects.get(name=u["role"]))
        ids[u["username"]] = user.pk
        if u.get("webhook"):
            method = ContactMethod.objects.create(
                user=user, kind="webhook", target=u["webhook"], secret="s3cret", webhook_format="slack", verified=True
            )
            NotificationRule.objects.create(user=user, contact_method=method, delay_minutes=0)
    if spec.get("policy"):
        policy_create(
            actor=None,
            name=spec["policy"].get("name", "Chaos responders"),
            repeat=0,
            steps=[
                {"wait_minutes": wait, "targets": [{"kind": "user", "id": ids[name]} for name in names]}
                for wait, names in spec["policy"]["steps"]
            ],
            rules=[{"max_severity": 4}],
        )
    return {"users": ids}


def declare(spec: dict) -> dict:
    from accounts.models import User
    from incidents import services

    actor = User.objects.get(username=spec["actor"])
    incidents = [
        services.incident_create(
            actor=actor, data={"title": title, "channel": "internal_detection", "harm_category": "dangerous-challenges", "severity": 2}
        ).pk
        for title in spec["titles"]
    ]
    return {"incidents": incidents}


def ack(spec: dict) -> dict:
    from accounts.models import User
    from escalations.models import Page
    from escalations.services import page_acknowledge

    user = User.objects.get(username=spec["username"])
    page = Page.objects.filter(incident_id=spec["incident"], recipient=user, channel="in_app").order_by("id").first()
    page_acknowledge(actor=user, page=page)
    return {"page": page.pk}


def action_items(spec: dict) -> dict:
    """A resolved incident's post-mortem with action items owned by ``owner``, each with its
    reminder rows (the caller brings them due)."""
    import datetime as dt

    from accounts.models import User
    from incidents import services as incidents
    from postmortems import services as postmortems

    actor = User.objects.get(username=spec["actor"])
    owner = User.objects.get(username=spec["owner"])
    data = {"title": "Post-mortem for reminders", "channel": "internal_detection", "harm_category": "dangerous-challenges"}
    incident = incidents.incident_create(actor=actor, data={**data, "severity": 2, "commander": actor.pk})
    incidents.timeline_add_key_moment(actor=actor, incident=incident, summary="Hashtag blocked in search", at=incident.created_at)
    incident = incidents.incident_transition(actor=actor, incident=incident, to="investigating")
    incident = incidents.incident_transition(actor=actor, incident=incident, to="resolved", resolution_summary="Content removed.")
    today = dt.date.today()
    for n in range(spec.get("items", 2)):
        postmortems.action_item_create(
            actor=actor,
            postmortem=incident.postmortem,
            data={"title": f"Follow-up {n}", "owner": owner.pk, "due_on": today + dt.timedelta(days=1), "priority": "P1"},
            today=today,
        )
    return {"incident": incident.pk, "postmortem": incident.postmortem.pk}


def audit(spec: dict) -> dict:
    from dataclasses import asdict

    from core.time import db_now
    from escalations import engine

    report = engine.auditor(db_now())
    return {**asdict(report), "repaired": report.repaired}


COMMANDS = {"setup": setup, "declare": declare, "ack": ack, "action_items": action_items, "audit": audit}


def main() -> None:
    import django

    django.setup()
    command, spec = sys.argv[1], json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    print(json.dumps(COMMANDS[command](spec)))


if __name__ == "__main__":
    main()
