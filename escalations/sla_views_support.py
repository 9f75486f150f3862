"""What the SLA pages and API show, shaped once for both: the queue's deadline provider,
the incident's clock rows (state, countdown, pause reason, legal citation, history) and
the policy-match explanation. Reads only; writes go through sla_services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, Prefetch, QuerySet, Value, When

from accounts.models import Region
from core.errors import ValidationError
from escalations.models import (
    BusinessCalendar,
    LegalClock,
    LegalClockVersion,
    SLAClock,
    SLAClockEvent,
    SLAClockState,
    SLAMetric,
    SLAPolicy,
    SLATarget,
)
from escalations.sla_policy_services import POLICY_FLAGS
from incidents.models import Channel, HarmCategory, Incident, Severity
from incidents.queue_deadlines import QueueDeadline

OPEN_STATES = ("running", "paused", "breached")


def clock_label(metric: str, name: str) -> str:
    label = SLAMetric(metric).label if metric in SLAMetric.values else metric
    return f"{label} ({name})" if name and name != label else label


def queue_deadlines(ids: list[int]) -> dict[int, QueueDeadline]:
    """The triage queue's provider (registered in EscalationsConfig.ready): one query for the
    page. Per incident the open clock someone must act on first: the earliest running or
    breached one; a paused clock only when nothing else is open."""
    rows = (
        SLAClock.objects.filter(incident_id__in=ids, stopped_at__isnull=True, state__in=OPEN_STATES)
        .annotate(paused_last=Case(When(state=SLAClockState.PAUSED, then=Value(1)), default=Value(0)))
        .order_by("incident_id", "paused_last", "due_at", "id")
        .distinct("incident_id")
        .values_list("incident_id", "due_at", "warn_at", "state", "metric", "name")
    )
    return {
        pk: QueueDeadline(due_at=due_at, warn_at=warn_at, state=state, label=clock_label(metric, name))
        for pk, due_at, warn_at, state, metric, name in rows
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
    done = timedelta(seconds=clock.elapsed_seconds or 0)
    if clock.state in ("running", "breached") and clock.stopped_at is None and clock.segment_started_at:
        from escalations.sla_calendar import business_elapsed

        running = business_elapsed(clock.segment_started_at, max(now, clock.segment_started_at), clock.calendar)
        done += running if isinstance(running, timedelta) else timedelta(seconds=running)
    return done


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
    clocks = (
        SLAClock.objects.filter(incident=incident)
        .select_related("target__policy", "calendar", "legal_clock_version__legal_clock")
        .prefetch_related(Prefetch("events", queryset=SLAClockEvent.objects.select_related("actor").order_by("at", "id")))
    )
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
    if severity not in ("", None):
        try:
            sample["severity"] = int(severity)
        except (TypeError, ValueError):
            sample["severity"] = None
        if sample["severity"] not in Severity.values:
            errors["severity"] = ["Severity is 1, 2, 3 or 4."]
    else:
        sample["severity"] = None
    if sample.get("region") and sample["region"] not in Region.values:
        errors["region"] = [f"Unknown region; use one of: {', '.join(Region.values)}."]
    unknown = [f for f in sample.get("flags") or [] if f not in POLICY_FLAGS]
    if unknown:
        errors["flags"] = [f"Unknown flags: {', '.join(unknown)}; use {', '.join(POLICY_FLAGS)}."]
    slug = sample.get("harm_category")
    if slug and not HarmCategory.objects.filter(slug=slug).exists():
        errors["harm_category"] = [f"No harm category {slug!r}."]
    return errors


def _check(policy: SLAPolicy, sample: dict[str, Any]) -> tuple[bool, int, list[str]]:
    """Whether the policy matches the sample, how specific it is (rules it constrains), and why."""
    reasons: list[str] = []
    ok = True
    specificity = 0
    categories = sorted(c.slug for c in policy.harm_categories.all())
    rules: list[tuple[str, list[Any], Any]] = [
        ("channel", list(policy.channels), sample.get("channel") or None),
        ("severity", list(policy.severities), sample.get("severity")),
        ("region", list(policy.regions), sample.get("region") or None),
        ("harm category", categories, sample.get("harm_category") or None),
    ]
    for label, allowed, value in rules:
        if not allowed:
            continue
        specificity += 1
        shown = ", ".join(f"SEV{a}" if label == "severity" else str(a) for a in allowed)
        if value in allowed:
            reasons.append(f"{label} is one of {shown}")
        else:
            ok = False
            reasons.append(f"{label} {'not given' if value is None else repr(value)} is not one of {shown}")
    if policy.flags:
        specificity += 1
        missing = [f for f in policy.flags if f not in (sample.get("flags") or [])]
        if missing:
            ok = False
            reasons.append(f"flags {', '.join(missing)} not set")
        else:
            reasons.append(f"flags {', '.join(policy.flags)} set")
    if not policy.active:
        ok = False
        reasons.append("inactive")
    if not reasons:
        reasons.append("matches every incident (no rules)")
    return ok, specificity, reasons


def policy_match_explain(sample: dict[str, Any]) -> dict[str, Any]:
    """Which policy an incident with these attributes gets and why: the matching policy that
    constrains the most rules wins; equally specific ones go by priority (higher first), then
    the older policy. Every policy is listed with its verdict."""
    sample = dict(sample)
    errors = _sample_problems(sample)
    if errors:
        field, messages = next(iter(errors.items()))
        raise ValidationError(f"{field}: {messages[0]}", errors=errors)
    candidates = []
    for policy in policy_queryset():
        ok, specificity, reasons = _check(policy, sample)
        candidates.append(
            {
                "policy_obj": policy,
                "policy": policy.pk,
                "name": policy.name,
                "matches": ok,
                "specificity": specificity,
                "priority": policy.priority,
                "reason": "; ".join(reasons),
            }
        )
    matching = sorted((c for c in candidates if c["matches"]), key=lambda c: (-c["specificity"], -c["priority"], c["policy"]))
    winner = matching[0] if matching else None
    if winner is None:
        reason = "No active policy matches: no SLA clock would start."
    else:
        reason = f"{winner['name']} matches ({winner['reason']}) with {winner['specificity']} rule(s)"
        if len(matching) > 1:
            runner = matching[1]
            if runner["specificity"] < winner["specificity"]:
                reason += f", more specific than {runner['name']} ({runner['specificity']})"
            elif runner["priority"] < winner["priority"]:
                reason += f"; as specific as {runner['name']} but with higher priority ({winner['priority']} > {runner['priority']})"
            else:
                reason += f"; as specific as {runner['name']} with the same priority, and older"
        reason += "."
    candidates.sort(key=lambda c: (not c["matches"], -c["specificity"], -c["priority"], c["policy"]))
    winning_policy = winner["policy_obj"] if winner else None
    for c in candidates:
        c.pop("policy_obj")
    return {"sample": sample, "policy": winning_policy, "reason": reason, "candidates": candidates}
