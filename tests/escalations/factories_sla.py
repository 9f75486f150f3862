"""Builders for the SLA API and page tests: rows written directly, so a test controls every
column of a clock (the services are tested in test_sla_services.py)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Clearance
from escalations.models import LegalClock, LegalClockVersion, SLAClock, SLAClockEvent, SLAPolicy, SLATarget
from incidents.services import incident_create
from tests.accounts.factories import CompartmentFactory
from tests.incidents.conftest import incident_data

PAUSE_REASON = "Waiting for the platform partner"


def make_policy(name="Test policy", *, targets=(("acknowledge", timedelta(minutes=30)),), priority=0, **rules):
    policy = SLAPolicy.objects.create(name=name, priority=priority, **rules)
    for metric, duration in targets:
        SLATarget.objects.create(
            policy=policy, metric=metric, name=dict(SLATarget._meta.get_field("metric").choices)[metric], duration=duration
        )
    return policy


def make_legal_clock(*, code="test-tco-removal", internal_target=False, duration=timedelta(hours=1)):
    clock = LegalClock.objects.create(
        code=code,
        jurisdiction="European Union",
        instrument="Test Regulation Art. 3(3)",
        trigger="Removal order",
        citation="Test Regulation (EU) 2021/784, Art. 3(3)",
        source_url="https://eur-lex.europa.eu/eli/reg/2021/784/oj",
        stop_condition="Content removed or disabled",
        internal_target=internal_target,
    )
    return LegalClockVersion.objects.create(
        legal_clock=clock, effective_from=timezone.now() - timedelta(days=365), duration=duration, description="Test version"
    )


def make_clock(
    incident,
    target,
    *,
    state="running",
    due_in=timedelta(minutes=20),
    warn_in=None,
    legal_version=None,
    events=("start",),
    elapsed_seconds=0,
    stopped_at=None,
    breached_at=None,
    started_ago=timedelta(minutes=10),
):
    now = timezone.now()
    started = now - started_ago
    due = now + due_in
    warn = now + warn_in if warn_in is not None else due - (due - started) / 4
    clock = SLAClock.objects.create(
        incident=incident,
        target=target,
        metric=target.metric,
        name=target.name,
        cycle=incident.cycle,
        state=state,
        duration=target.duration or timedelta(hours=1),
        warn_pct=target.warn_pct,
        started_at=started,
        due_at=due,
        warn_at=warn,
        elapsed_seconds=elapsed_seconds,
        segment_started_at=started if state == "running" else None,
        paused_at=now if state == "paused" else None,
        stopped_at=stopped_at,
        warned_at=now if "warn" in events else None,
        breached_at=breached_at or (now if "breach" in events else None),
        next_check_at=warn if state == "running" else None,
        policy_version=target.policy.version,
        legal_clock_version=legal_version,
    )
    for kind in events:
        SLAClockEvent.objects.create(clock=clock, kind=kind, at=now, data={"reason": PAUSE_REASON} if kind == "pause" else {})
    return clock


def restricted_incident(manager):
    csea = CompartmentFactory(slug="csea", name="Child safety (CSEA)")
    Clearance.objects.create(user=manager, compartment=csea, reason="rapid response lead")
    return incident_create(
        actor=manager,
        data=incident_data(
            title="CSEA network sharing links via DMs", harm_category="csea", compartment="csea", hashtags=[], commander="manager"
        ),
    )
