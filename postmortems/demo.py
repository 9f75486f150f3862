"""Demo post-mortems for `manage.py seed_demo`: one published (with an overdue action item),
one in review with a reviewer's comment, one draft — for resolved SEV1/SEV2 incidents.

Idempotent: a post-mortem is filled in only while it is an untouched draft, and the demo
incidents this module may create are found again by title.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, TextIO

from django.contrib.auth import get_user_model

from incidents.models import Incident, Severity, Status
from incidents.services import incident_create, incident_transition, timeline_add_key_moment
from postmortems import services
from postmortems.models import PostMortem, PostMortemStatus

DEMO_INCIDENTS = [
    {
        "title": "Blackout challenge videos trending among minors in DE/FR",
        "summary": "Videos encouraging a choking challenge spread through search and the For You feed.",
        "harm_category": "dangerous-challenges",
        "severity": Severity.SEV1,
        "region": "emea",
        "countries": ["DE", "FR"],
        "languages": ["de", "fr"],
        "reach_views": 4_800_000,
    },
    {
        "title": "Coordinated scam ads impersonating a bank in BR",
        "summary": "Ads linking to a phishing page that imitated a large Brazilian bank.",
        "harm_category": "fraud-scams",
        "severity": Severity.SEV2,
        "region": "amer",
        "countries": ["BR"],
        "languages": ["pt-BR"],
        "reach_views": 620_000,
    },
    {
        "title": "Election deepfake audio circulating before the vote in IN",
        "summary": "A fabricated audio clip of a candidate spread in Hindi and Tamil.",
        "harm_category": "civic-integrity",
        "severity": Severity.SEV2,
        "region": "apac",
        "countries": ["IN"],
        "languages": ["hi", "ta"],
        "reach_views": 1_300_000,
    },
]

FACTORS = [
    ("detection", "New hashtag variants were not covered by the velocity alert."),
    ("enforcement_tooling", "The bulk-removal tool capped batches at 500 items."),
    ("process_handoff", "The Dublin → Singapore handoff note did not list the open removal batches."),
    ("communication", "Comms learnt of the press inquiry from the reporter, not from the incident channel."),
]


def _user(username: str) -> Any:
    return get_user_model().objects.filter(username=username, is_active=True).first()


def _demo_incident(spec: dict, *, manager: Any, now: dt.datetime, rng: random.Random) -> Incident:
    incident = Incident.objects.filter(title=spec["title"]).first()
    if incident is None:
        first_signal = now - dt.timedelta(hours=rng.randint(2, 9), minutes=rng.randint(0, 59))
        incident = incident_create(
            actor=manager,
            data={**spec, "channel": "internal_detection", "commander": manager.pk, "first_signal_at": first_signal.isoformat()},
        )
        timeline_add_key_moment(actor=manager, incident=incident, summary="Search intervention on the hashtag family", at=None)
    if incident.status not in (Status.RESOLVED, Status.CLOSED):
        if incident.status in (Status.NEW, Status.TRIAGED):
            incident = incident_transition(actor=manager, incident=incident, to=Status.INVESTIGATING)
        incident = incident_transition(
            actor=manager, incident=incident, to=Status.RESOLVED, resolution_summary="Content removed; demo data."
        )
    return incident


def _fill(postmortem: PostMortem, *, manager: Any, owner: Any, rng: random.Random, now: dt.datetime, days_ago: int) -> PostMortem:
    postmortem = services.postmortem_update(
        actor=manager,
        postmortem=postmortem,
        version=postmortem.version,
        data={
            "summary": "Harmful videos spread faster than our hashtag coverage; removal took longer than the target.",
            "response": "Rapid Response Dublin led; Policy confirmed the violation; Engineering ran bulk removals in batches.",
            "went_well": "- Policy decision within 40 minutes\n- Clear commander handoff to Singapore",
            "went_poorly": "- The velocity alert did not cover spelling variants\n- Bulk removal needed manual batching",
            "lessons": "Detection rules need to follow hashtag families, not single tags.",
        },
    )
    for category, description in rng.sample(FACTORS, 2):
        services.factor_add(actor=manager, postmortem=postmortem, category=category, description=description)
    back_then = now.date() - dt.timedelta(days=days_ago)
    services.action_item_create(
        actor=manager,
        postmortem=postmortem,
        today=back_then,
        data={
            "title": "Cover hashtag spelling variants in the velocity alert",
            "owner": owner.pk,
            "due_on": back_then + dt.timedelta(days=max(days_ago - 4, 1)),
            "priority": "P1",
            "tracker_url": "https://tracker.example.org/TS-4211",
        },
    )
    services.action_item_create(
        actor=manager,
        postmortem=postmortem,
        today=now.date(),
        data={
            "title": "Raise the bulk-removal batch limit",
            "owner": manager.pk,
            "due_on": now.date() + dt.timedelta(days=21),
            "priority": "P2",
        },
    )
    return PostMortem.objects.get(pk=postmortem.pk)


def seed(*, stdout: TextIO, rng: random.Random, now: dt.datetime) -> None:
    manager, lead, reviewer = _user("manager"), _user("lead"), _user("reviewer")
    if manager is None or lead is None:
        stdout.write("postmortems: demo users missing, skipped")
        return
    policy = services.policy_current()
    incidents = [_demo_incident(spec, manager=manager, now=now, rng=rng) for spec in DEMO_INCIDENTS]
    filled = 0
    for index, incident in enumerate(incidents):
        postmortem = services.postmortem_ensure_for_incident(incident_id=incident.pk, actor=manager)
        if postmortem is None or postmortem.status != PostMortemStatus.DRAFT or postmortem.summary or postmortem.factors.exists():
            continue
        owner = _user("responder") or manager
        postmortem = _fill(postmortem, manager=manager, owner=owner, rng=rng, now=now, days_ago=12 if index == 0 else 3)
        filled += 1
        if index == 2:
            continue  # stays a draft
        postmortem = services.postmortem_transition(actor=manager, postmortem=postmortem, action="submit")
        if reviewer is not None:
            services.comment_add(
                actor=reviewer, postmortem=postmortem, section="detection", body="Could we say how long the first report sat in the queue?"
            )
        if index == 0 and (postmortem.owner_id != lead.pk or not policy.forbid_self_approval):
            postmortem = services.postmortem_transition(actor=lead, postmortem=postmortem, action="approve")
            services.postmortem_transition(actor=lead, postmortem=postmortem, action="publish")
    stdout.write(f"postmortems: {len(incidents)} demo post-mortems ({filled} filled in this run)")
