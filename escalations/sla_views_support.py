"""What the SLA pages and API show, shaped once for both: the queue's deadline provider,
the incident's clock rows (state, countdown, pause reason, legal citation, history) and
the policy-match explanation. Reads only; writes go through sla_services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Prefetch, QuerySet

from accounts.models import Region
from core.errors import ValidationError
from escalations.models import (
    BusinessCalendar,
    LegalClock,
    LegalClockVersion,
    SLAClockEvent,
    SLAPolicy,
    SLATarget,
)
from escalations.sla_selectors import sla_clocks_for_incident, sla_next_deadline_for_incidents
from escalations.sla_services import sla_clock_progress, sla_policy_explain
from incidents.models import Channel, HarmCategory, Incident, Severity
from incidents.queue_deadlines import QueueDeadline

OPEN_STATES = ("running", "paused", "breached")
POLICY_FLAGS = ("minors_involved", "imminent_risk", "media_interest", "regulatory")


def queue_deadlines(ids: list[int]) -> dict[int, QueueDeadline]:
    """The triage queue's provider (registered in EscalationsConfig.ready): one query for the
    page, the nearest open clock of each incident's current cycle (sla_selectors)."""
    return {
        pk: QueueDeadline(due_at=due_at, warn_at=warn_at, state=state, label=label)
        for pk, (due_at, warn_at, state, label) in sla_next_deadline_for_incidents(ids).items()
    }


@dataclass
class ClockRow:
    clock: Any
    elapsed: timedelta
    pause_reason: str
    is_open: bool
    events: list[Any] = field(default_factory=list)

    @property
    def legal_clock(self) -> Any:
        version = self.clock.legal_clock_version
        return version.legal_clock if version is not None else None

    @property
    def met_in_time(self) -> bool | None:
        return self.clock.attained


def _elapsed(clock: Any, now: datetime) -> timedelta:
    """Business time counted so far: the closed segments plus the running one, if any."""
    return timedelta(seconds=sla_clock_progress(clock, now)["elapsed_seconds"])


def _pause_reason(clock: Any, incident: Incident) -> str:
    if clock.state != "paused":
        return ""
    for event in reversed(clock.events.all()):
        if event.kind == "pause":
            reason = (event.data or {}).get("reason")
            if reason:
                return str(reason)
            break
    return incident.waiting_reason or "Paused"


def clock_rows(*, incident: Incident, now: datetime) -> list[ClockRow]:
    """Every clock of the incident (all cycles), open ones first, each with its history."""
    # The selector's shape, with each event's actor joined (the history names who did what).
    events = Prefetch("events", queryset=SLAClockEvent.objects.select_related("actor").order_by("at", "id"))
    clocks = sla_clocks_for_incident(incident).prefetch_related(None).prefetch_related(events)
    rows = []
    for clock in clocks:
        is_open = clock.stopped_at is None and clock.state in OPEN_STATES
        rows.append(
            ClockRow(
                clock=clock,
                elapsed=_elapsed(clock, now),
                pause_reason=_pause_reason(clock, incident),
                is_open=is_open,
                events=list(clock.events.all()),
            )
        )
    rows.sort(key=lambda r: (not r.is_open, -r.clock.cycle, r.clock.due_at, r.clock.pk))
    return rows


def clocks_etag(*, incident: Incident, rows: list[ClockRow], user: Any, tz: str) -> str:
    """Changes when a clock or the incident changes (the countdowns tick in the browser)."""
    import hashlib

    parts = [str(user.pk), tz, str(incident.pk), str(incident.version), incident.updated_at.isoformat()]
    for row in rows:
        clock = row.clock
        last = row.events[-1].pk if row.events else 0
        parts.append(f"{clock.pk}:{clock.state}:{clock.due_at.isoformat()}:{last}")
    return '"' + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32] + '"'


def policy_queryset() -> QuerySet[SLAPolicy]:
    """Policies with their targets, in match order (priority, then name): fixed query count."""
    return SLAPolicy.objects.prefetch_related(
        "harm_categories",
        Prefetch("targets", queryset=SLATarget.objects.select_related("legal_clock", "calendar").order_by("metric", "id")),
    ).order_by("-priority", "name", "id")


def policy_list() -> list[SLAPolicy]:
    return list(policy_queryset())


def legal_clock_list() -> list[Any]:
    return list(LegalClock.objects.prefetch_related(Prefetch("versions", queryset=LegalClockVersion.objects.order_by("effective_from"))))


def calendar_list() -> list[Any]:
    return list(BusinessCalendar.objects.select_related("team").prefetch_related("holidays").order_by("name"))


def _sample_problems(sample: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if sample.get("channel") and sample["channel"] not in Channel.values:
        errors["channel"] = [f"Unknown channel; use one of: {', '.join(Channel.values)}."]
    severity = sample.get("severity")
    sample["severity"] = None
    if severity not in ("", None):
        if str(severity).strip().isdigit() and len(str(severity).strip()) < 3:
            sample["severity"] = int(str(severity).strip())
        if sample["severity"] not in Severity.values:
            errors["severity"] = ["Severity is 1, 2, 3 or 4."]
    if sample.get("region") and sample["region"] not in Region.values:
        errors["region"] = [f"Unknown region; use one of: {', '.join(Region.values)}."]
    unknown = [f for f in sample.get("flags") or [] if f not in POLICY_FLAGS]
    if unknown:
        errors["flags"] = [f"Unknown flags: {', '.join(unknown)}; use {', '.join(POLICY_FLAGS)}."]
    slug = sample.get("harm_category")
    if slug and not HarmCategory.objects.filter(slug=slug).exists():
        errors["harm_category"] = [f"No harm category {slug!r}."]
    return errors


def policy_match_explain(sample: dict[str, Any]) -> dict[str, Any]:
    """Which active policy an incident with these attributes would get and why, with every
    other policy's verdict: the same rule that starts the clocks (sla_services), run on an
    unsaved incident built from the sample."""
    sample = dict(sample)
    errors = _sample_problems(sample)
    if errors:
        field, messages = next(iter(errors.items()))
        raise ValidationError(f"{field}: {messages[0]}", errors=errors)
    incident = Incident(
        channel=sample.get("channel") or "",
        severity=sample["severity"],
        region=sample.get("region") or "",
        harm_category=HarmCategory.objects.filter(slug=sample.get("harm_category") or "").first(),
        **{flag: flag in (sample.get("flags") or []) for flag in POLICY_FLAGS},
    )
    explained = sla_policy_explain(incident)
    winner = policy_queryset().filter(pk=explained["policy_id"]).first() if explained["policy_id"] else None
    candidates = [
        {
            "policy": row["policy_id"],
            "name": row["name"],
            "matches": row["matched"],
            "specificity": row["specificity"],
            "priority": row["priority"],
            "reason": row["verdict"] + (f" ({'; '.join(row['reasons'])})" if row["matched"] and row["reasons"] else ""),
        }
        for row in explained["considered"]
    ]
    return {"sample": sample, "policy": winner, "reason": explained["why"], "candidates": candidates}
