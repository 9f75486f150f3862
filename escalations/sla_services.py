"""SLA clocks: which policy applies, and starting, pausing, resuming, stopping and
recomputing an incident's clocks (see ARCHITECTURE.md "SLA clocks").

The clock functions run inside the incident's transaction (the incidents events are
subscribed ``in_transaction=True``), so a clock changes atomically with the change
that moves it. They lock the incident row first and the clock rows second; the
engine (``escalations.sla_engine``) locks clocks first and skips incidents somebody
holds, so the two never wait on each other in a cycle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.dateparse import parse_duration

from core.audit import audit_record
from core.errors import Forbidden, ValidationError
from core.time import db_now
from escalations.sla_calendar import CalendarSpec, business_add, business_elapsed

if TYPE_CHECKING:
    from escalations.models import BusinessCalendar, LegalClock, LegalClockVersion, SLAClock, SLAPolicy, SLATarget
    from incidents.models import Incident

ACTIONS = ("notify_commander", "propose_severity_raise")
OPEN_STATES = ("running", "paused")
TERMINAL = ("resolved", "closed", "declined", "merged")

# What stops each metric: the incident milestones (incidents.services) that mean "done".
STOP_MILESTONES: dict[str, frozenset[str]] = {
    "acknowledge": frozenset({"acknowledged"}),
    "triage": frozenset({"triaged"}),
    "first_response": frozenset({"first_response", "answer_sent", "report_filed", "authority_informed"}),
    "mitigation": frozenset({"mitigated", "content_removed"}),
    "resolution": frozenset({"resolved", "closed"}),
    "postmortem": frozenset({"postmortem_completed"}),
    "authority_response": frozenset({"answer_sent", "report_filed", "authority_informed", "content_removed"}),
}
# Milestone fields an IncidentCycle keeps as columns; the others are in its ``milestones`` JSON.
_CYCLE_COLUMNS = {
    "acknowledged": "acknowledged_at",
    "triaged": "triaged_at",
    "mitigated": "mitigated_at",
    "resolved": "resolved_at",
    "closed": "closed_at",
}

# Free-text instruments on regulator-order intakes → legal clock codes (first match wins;
# the more specific patterns come first). An intake may also name the code itself in
# ``intake_details["legal_clock"]``.
INSTRUMENT_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"ncii|intimate|deepfake|3\s*\(\s*2\s*\)\s*\(\s*b", "in-it-rules-ncii"),
    (r"grievance", "in-it-rules-grievance-ack"),
    (r"it rules|g\.?s\.?r\.?|meity|intermediary guidelines|section 69a|india", "in-it-rules-takedown"),
    (r"2021\s*/\s*784|\btco\b|terrorist content", "eu-tco-removal-order"),
    (r"netzdg|netzwerkdurchsetzungsgesetz", "de-netzdg-manifestly-unlawful"),
    (r"esafety|online safety act\s*2021|\bs(ection)?\.?\s*(65|77|88|109|128)\b", "au-osa-removal-notice"),
    (r"take it down", "us-take-it-down-ncii"),
    (r"2258a|ncmec|cybertipline", "us-2258a-ncmec-report"),
    (r"online safety act\s*2023|\bs(ection)?\.?\s*66\b|national crime agency", "uk-osa-s66-csea-report"),
    (r"5651.*8\s*/\s*a|8\s*/\s*a.*5651", "tr-5651-art8a-urgent"),
    (r"5651", "tr-5651-personal-rights"),
    (r"art(icle)?\.?\s*22\b|trusted flagger", "eu-dsa-art22-trusted-flagger"),
    (r"art(icle)?\.?\s*18\b", "eu-dsa-art18-threat-to-life"),
    (r"art(icle)?\.?\s*10\b", "eu-dsa-art10-info-order"),
    (r"art(icle)?\.?\s*9\b|digital services act|\bdsa\b", "eu-dsa-art9-order"),
)


# --- validation --------------------------------------------------------------------


def _action_problems(actions: object) -> list[str]:
    if not isinstance(actions, list):
        return ["must be a list of actions"]
    problems: list[str] = []
    for action in actions:
        if isinstance(action, str) and action in ACTIONS:
            continue
        if (
            isinstance(action, dict)
            and set(action) == {"page_policy"}
            and isinstance(action["page_policy"], int)
            and not isinstance(action["page_policy"], bool)
        ):
            continue
        problems.append(f'unknown action {action!r}; use "notify_commander", "propose_severity_raise" or {{"page_policy": <id>}}')
    return problems


def sla_target_problems(target: SLATarget) -> dict[str, list[str]]:
    """Field → problems for a target (empty when valid). Used by the model's clean and the services."""
    errors: dict[str, list[str]] = {}
    if target.duration is None and target.legal_clock_id is None:
        errors["duration"] = ["Give a duration or a legal clock."]
    elif target.duration is not None and target.duration <= timedelta(0):
        errors["duration"] = ["The duration must be positive."]
    if target.warn_pct is None or not 1 <= target.warn_pct <= 99:
        errors["warn_pct"] = ["The warning threshold is a percentage between 1 and 99."]
    if target.metric not in STOP_MILESTONES:
        errors["metric"] = [f"Choose one of: {', '.join(STOP_MILESTONES)}."]
    if target.start_from not in ("created_at", "received_at"):
        errors["start_from"] = ["Choose created_at or received_at."]
    for field in ("on_warning", "on_breach"):
        problems = _action_problems(getattr(target, field))
        if problems:
            errors[field] = problems
    return errors


def _raise_django(exc: DjangoValidationError, prefix: str = "") -> None:
    if hasattr(exc, "error_dict"):
        errors = {f"{prefix}{k}": [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    else:
        errors = {prefix.rstrip(".") or "non_field_errors": list(exc.messages)}
    first = next(iter(errors.values()))[0]
    raise ValidationError(first, errors=errors)


def _duration(value: Any, field: str) -> timedelta | None:
    if value is None or value == "":
        return None
    if isinstance(value, timedelta):
        result: timedelta | None = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = timedelta(seconds=value)
    elif isinstance(value, str):
        result = parse_duration(value.strip())
    else:
        result = None
    if result is None:
        raise ValidationError.for_field(field, 'Give a duration in seconds or as "HH:MM:SS" / ISO 8601 (e.g. "PT1H").')
    if result <= timedelta(0):
        raise ValidationError.for_field(field, "The duration must be positive.")
    return result


def _require(actor: Any, perm: str, what: str) -> None:
    if actor is None:
        return  # system (data migrations, demo data, the engine)
    if not (getattr(actor, "is_active", False) and actor.has_perm(perm)):
        raise Forbidden(f"You may not {what}.")


# --- calendars, policies, legal clock versions -------------------------------------

_CALENDAR_FIELDS = ("name", "time_zone", "is_24x7", "working_hours", "team")


@transaction.atomic
def business_calendar_save(
    *, actor: Any, data: dict[str, Any], calendar: BusinessCalendar | None = None, holidays: list[dict[str, Any]] | None = None
) -> BusinessCalendar:
    """Create (``calendar`` None) or change a business calendar, and optionally replace its holidays."""
    from escalations.models import BusinessCalendar, Holiday

    _require(actor, "escalations.change_businesscalendar" if calendar else "escalations.add_businesscalendar", "edit business calendars")
    if not isinstance(data, dict):
        raise ValidationError("Send the calendar as an object of fields.")
    unknown = set(data) - {*_CALENDAR_FIELDS, "team_id"}
    if unknown:
        raise ValidationError.for_field(sorted(unknown)[0], "Unknown field.")
    target = calendar or BusinessCalendar()
    before = {f: getattr(target, f) for f in ("name", "time_zone", "is_24x7", "working_hours")} if calendar else None
    for key, value in data.items():
        setattr(target, key, value)
    try:
        target.full_clean()
    except DjangoValidationError as exc:
        _raise_django(exc)
    target.save()
    if holidays is not None:
        if not isinstance(holidays, list):
            raise ValidationError.for_field("holidays", "Give the holidays as a list of {date, name}.")
        Holiday.objects.filter(calendar=target).delete()
        for i, item in enumerate(holidays):
            day: Any = (item or {}).get("date")
            holiday = Holiday(calendar=target, date=day, name=str((item or {}).get("name") or "Holiday")[:100])
            try:
                holiday.full_clean()
            except DjangoValidationError as exc:
                _raise_django(exc, prefix=f"holidays[{i}].")
            holiday.save()
    audit_record(
        actor=actor, action="sla.calendar_save", obj=target, before=before, after={"name": target.name, "time_zone": target.time_zone}
    )
    if calendar is not None:
        _recompute_open(actor=actor, reason=f'calendar "{target.name}" changed')
    return target


_POLICY_FIELDS = ("name", "description", "active", "priority", "channels", "severities", "regions", "flags")
_TARGET_FIELDS = (
    "metric",
    "name",
    "duration",
    "legal_clock",
    "calendar",
    "warn_pct",
    "pause_when_waiting",
    "start_from",
    "stop_condition",
    "on_warning",
    "on_breach",
)


def _target_from(policy: SLAPolicy, raw: Any, index: int) -> SLATarget:
    from escalations.models import BusinessCalendar, LegalClock, SLATarget

    prefix = f"targets[{index}]."
    if not isinstance(raw, dict):
        raise ValidationError.for_field(f"targets[{index}]", "Each target is an object.")
    unknown = set(raw) - set(_TARGET_FIELDS)
    if unknown:
        raise ValidationError.for_field(prefix + sorted(unknown)[0], "Unknown field.")
    target = SLATarget(policy=policy, metric=raw.get("metric") or "", name=str(raw.get("name") or "")[:200])
    target.duration = _duration(raw.get("duration"), prefix + "duration")
    if raw.get("legal_clock") not in (None, ""):
        clock = LegalClock.objects.filter(Q(code=str(raw["legal_clock"])) | Q(pk=_int_or_none(raw["legal_clock"]))).first()
        if clock is None:
            raise ValidationError.for_field(prefix + "legal_clock", "No such legal clock.")
        target.legal_clock = clock
    if raw.get("calendar") not in (None, ""):
        calendar = BusinessCalendar.objects.filter(pk=_int_or_none(raw["calendar"]) or 0).first()
        if calendar is None:
            raise ValidationError.for_field(prefix + "calendar", "No such business calendar.")
        target.calendar = calendar
    for key in ("warn_pct", "pause_when_waiting", "start_from", "stop_condition", "on_warning", "on_breach"):
        if key in raw:
            setattr(target, key, raw[key])
    if not isinstance(target.warn_pct, int) or isinstance(target.warn_pct, bool):
        raise ValidationError.for_field(prefix + "warn_pct", "The warning threshold is a percentage between 1 and 99.")
    if not isinstance(target.pause_when_waiting, bool):
        raise ValidationError.for_field(prefix + "pause_when_waiting", "Give true or false.")
    if not target.name:
        target.name = dict(_metric_labels()).get(target.metric, target.metric)
    problems = sla_target_problems(target)
    if problems:
        field, messages = next(iter(problems.items()))
        raise ValidationError(messages[0], errors={prefix + k: v for k, v in problems.items()})
    for action in [*target.on_warning, *target.on_breach]:
        if isinstance(action, dict):
            from escalations.models import EscalationPolicy

            if not EscalationPolicy.objects.filter(pk=action["page_policy"]).exists():
                raise ValidationError.for_field(prefix + "on_breach", f"No escalation policy {action['page_policy']}.")
    return target


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _metric_labels() -> list[tuple[str, str]]:
    from escalations.models import SLAMetric

    return list(SLAMetric.choices)


@transaction.atomic
def sla_policy_save(
    *, actor: Any, data: dict[str, Any], policy: SLAPolicy | None = None, targets: list[dict[str, Any]] | None = None
) -> SLAPolicy:
    """Create or change a policy (and, when given, replace its targets). A change bumps the
    version and recomputes the open clocks it governs, saying so on their timelines."""
    from escalations.models import SLAClock, SLAPolicy
    from incidents.models import HarmCategory

    _require(actor, "escalations.change_slapolicy" if policy else "escalations.add_slapolicy", "edit SLA policies")
    if not isinstance(data, dict):
        raise ValidationError("Send the policy as an object of fields.")
    unknown = set(data) - {*_POLICY_FIELDS, "harm_categories"}
    if unknown:
        raise ValidationError.for_field(sorted(unknown)[0], "Unknown field.")
    target_policy = policy or SLAPolicy()
    for key in _POLICY_FIELDS:
        if key in data:
            setattr(target_policy, key, data[key])
    for key in ("channels", "severities", "regions", "flags"):
        if not isinstance(getattr(target_policy, key), list):
            raise ValidationError.for_field(key, "Give a list (empty means any).")
    _check_rule_values(target_policy)
    if policy is not None:
        target_policy.version += 1
    try:
        target_policy.full_clean(exclude=["harm_categories"])
    except DjangoValidationError as exc:
        _raise_django(exc)
    target_policy.save()
    if "harm_categories" in data:
        ids = data["harm_categories"] or []
        if not isinstance(ids, list):
            raise ValidationError.for_field("harm_categories", "Give a list of harm category ids or slugs.")
        found = list(HarmCategory.objects.filter(Q(pk__in=[i for i in map(_int_or_none, ids) if i]) | Q(slug__in=[str(i) for i in ids])))
        if len(found) != len(set(map(str, ids))):
            raise ValidationError.for_field("harm_categories", "Unknown harm category.")
        target_policy.harm_categories.set(found)
    if targets is not None:
        if not isinstance(targets, list) or not targets:
            raise ValidationError.for_field("targets", "Give at least one target.")
        built = [_target_from(target_policy, raw, i) for i, raw in enumerate(targets)]
        metrics = [t.metric for t in built]
        if len(metrics) != len(set(metrics)):
            raise ValidationError.for_field("targets", "One target per metric in a policy.")
        existing = {t.metric: t for t in target_policy.targets.all()}
        for target in built:
            old = existing.pop(target.metric, None)
            if old is not None:
                target.pk = old.pk
                target.created_at = old.created_at
            target.save()
        for stale in existing.values():
            SLAClock.objects.filter(target=stale).update(target=None)
            stale.delete()
    audit_record(
        actor=actor,
        action="sla.policy_update" if policy else "sla.policy_create",
        obj=target_policy,
        after={"name": target_policy.name, "version": target_policy.version, "data": data, "targets": targets},
    )
    if policy is not None or targets is not None:
        _recompute_open(actor=actor, reason=f'SLA policy "{target_policy.name}" changed (version {target_policy.version})')
    return target_policy


def _check_rule_values(policy: SLAPolicy) -> None:
    from accounts.models import Region
    from incidents.models import Channel

    bad = [c for c in policy.channels if c not in Channel.values]
    if bad:
        raise ValidationError.for_field("channels", f"Unknown channel {bad[0]!r}.")
    bad_sev = [s for s in policy.severities if s not in (1, 2, 3, 4)]
    if bad_sev:
        raise ValidationError.for_field("severities", "Severities are 1 to 4.")
    bad = [r for r in policy.regions if r not in Region.values]
    if bad:
        raise ValidationError.for_field("regions", f"Unknown region {bad[0]!r}.")
    bad = [f for f in policy.flags if f not in ("minors_involved", "imminent_risk", "media_interest", "regulatory")]
    if bad:
        raise ValidationError.for_field("flags", f"Unknown flag {bad[0]!r}.")


@transaction.atomic
def legal_clock_version_add(
    *,
    actor: Any,
    legal_clock: LegalClock,
    effective_from: datetime,
    duration: Any,
    description: str = "",
    effective_until: datetime | None = None,
) -> LegalClockVersion:
    """A new rule from ``effective_from``. The version before it ends there; clocks already
    started keep the version they started with (nothing is recomputed)."""
    from escalations.models import LegalClockVersion

    _require(actor, "escalations.add_legalclockversion", "edit legal clocks")
    length = _duration(duration, "duration")
    if effective_from is None or effective_from.tzinfo is None:
        raise ValidationError.for_field("effective_from", "Give the date and time the rule takes effect, with its time zone.")
    if effective_until is not None and effective_until <= effective_from:
        raise ValidationError.for_field("effective_until", "Must be after effective_from.")
    if LegalClockVersion.objects.filter(legal_clock=legal_clock, effective_from=effective_from).exists():
        raise ValidationError.for_field("effective_from", "A version already starts at this time.")
    previous = (
        LegalClockVersion.objects.select_for_update()
        .filter(legal_clock=legal_clock, effective_from__lt=effective_from)
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gt=effective_from))
        .order_by("-effective_from")
        .first()
    )
    if previous is not None:
        previous.effective_until = effective_from
        previous.save(update_fields=["effective_until"])
    following = (
        LegalClockVersion.objects.filter(legal_clock=legal_clock, effective_from__gt=effective_from).order_by("effective_from").first()
    )
    if effective_until is None and following is not None:
        effective_until = following.effective_from
    version = LegalClockVersion.objects.create(
        legal_clock=legal_clock,
        effective_from=effective_from,
        effective_until=effective_until,
        duration=length,
        description=description[:500],
    )
    audit_record(
        actor=actor, action="sla.legal_clock_version_add", obj=legal_clock, after={"effective_from": effective_from, "duration": length}
    )
    return version


def legal_clock_version_at(legal_clock: LegalClock | int, at: datetime) -> LegalClockVersion | None:
    """The version of a legal clock in force at ``at`` (None when none was)."""
    from escalations.models import LegalClockVersion

    clock_id = legal_clock if isinstance(legal_clock, int) else legal_clock.pk
    return (
        LegalClockVersion.objects.filter(legal_clock_id=clock_id, effective_from__lte=at)
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gt=at))
        .order_by("-effective_from")
        .first()
    )


def legal_clock_for_intake(details: dict[str, Any]) -> tuple[LegalClock | None, str]:
    """The legal clock a regulator order names: ``legal_clock`` (a code) or its free-text
    ``legal_instrument``. Returns the clock (or None) and how it was chosen."""
    from escalations.models import LegalClock

    code = str(details.get("legal_clock") or "").strip()
    if code:
        clock = LegalClock.objects.filter(code=code).first()
        if clock is None:
            raise ValidationError.for_field("legal_clock", f"No legal clock {code!r}.")
        return clock, f"legal clock {code} named on the intake"
    text = str(details.get("legal_instrument") or "").strip()
    if not text:
        return None, "no legal instrument on the intake"
    exact = LegalClock.objects.filter(code=text.lower()).first()
    if exact is not None:
        return exact, f"legal instrument {text!r}"
    lowered = text.lower()
    for pattern, candidate in INSTRUMENT_PATTERNS:
        if re.search(pattern, lowered):
            clock = LegalClock.objects.filter(code=candidate).first()
            if clock is not None:
                return clock, f"legal instrument {text!r} → {candidate}"
    return None, f"no legal clock known for instrument {text!r}"


# --- which policy applies ----------------------------------------------------------


@dataclass(frozen=True)
class PolicyMatch:
    policy: SLAPolicy
    specificity: int
    reasons: tuple[str, ...]

    @property
    def why(self) -> str:
        rules = "; ".join(self.reasons) if self.reasons else "no rules (matches every incident)"
        return f'"{self.policy.name}" (specificity {self.specificity}, priority {self.policy.priority}): {rules}'


def _policy_verdict(policy: SLAPolicy, incident: Incident, category_ids: set[int]) -> tuple[bool, int, list[str]]:
    reasons: list[str] = []
    specificity = 0
    checks: list[tuple[bool, bool, str]] = [
        (bool(policy.channels), incident.channel in policy.channels, f"channel {incident.channel} in {policy.channels}"),
        (bool(policy.severities), incident.severity in policy.severities, f"SEV{incident.severity} in {policy.severities}"),
        (bool(policy.regions), incident.region in policy.regions, f"region {incident.region} in {policy.regions}"),
        (bool(category_ids), incident.harm_category_id in category_ids, "harm category is one of the policy's"),
    ]
    for constrained, ok, text in checks:
        if not constrained:
            continue
        if not ok:
            return False, 0, [f"not {text}"]
        specificity += 1
        reasons.append(text)
    for flag in policy.flags:
        if not getattr(incident, flag, False):
            return False, 0, [f"flag {flag} not set"]
        specificity += 1
        reasons.append(f"flag {flag} set")
    return True, specificity, reasons


def sla_policy_evaluate(incident: Incident) -> list[dict[str, Any]]:
    """Every active policy with whether it matches and why, best match first."""
    from escalations.models import SLAPolicy

    rows: list[dict[str, Any]] = []
    for policy in SLAPolicy.objects.filter(active=True).prefetch_related("harm_categories"):
        category_ids = {c.pk for c in policy.harm_categories.all()}
        matched, specificity, reasons = _policy_verdict(policy, incident, category_ids)
        rows.append({"policy": policy, "matched": matched, "specificity": specificity, "reasons": reasons})
    rows.sort(key=lambda r: (not r["matched"], -r["specificity"], -r["policy"].priority, r["policy"].pk))
    return rows


def sla_policy_match(incident: Incident) -> PolicyMatch | None:
    """The policy that governs an incident: the most specific active match (most
    constrained rules), ties broken by higher ``priority`` then lower id."""
    rows = sla_policy_evaluate(incident)
    if not rows or not rows[0]["matched"]:
        return None
    best = rows[0]
    return PolicyMatch(policy=best["policy"], specificity=best["specificity"], reasons=tuple(best["reasons"]))


def sla_policy_explain(incident: Incident) -> dict[str, Any]:
    """Which policy matched and why, and why each other candidate lost (for the UI and API)."""
    rows = sla_policy_evaluate(incident)
    winner = rows[0] if rows and rows[0]["matched"] else None
    considered = []
    for row in rows:
        policy = row["policy"]
        if winner is not None and row is winner:
            verdict = "applies: most specific match" if len(rows) > 1 else "applies"
        elif not row["matched"]:
            verdict = "does not match: " + "; ".join(row["reasons"])
        elif winner is not None and row["specificity"] < winner["specificity"]:
            verdict = f"matches, but less specific ({row['specificity']} < {winner['specificity']})"
        else:
            verdict = "matches as specifically, but loses the tie (priority, then older policy first)"
        considered.append(
            {
                "policy_id": policy.pk,
                "name": policy.name,
                "matched": row["matched"],
                "specificity": row["specificity"],
                "priority": policy.priority,
                "reasons": row["reasons"],
                "verdict": verdict,
            }
        )
    why = PolicyMatch(winner["policy"], winner["specificity"], tuple(winner["reasons"])).why if winner else "no active SLA policy matches"
    return {"policy_id": winner["policy"].pk if winner else None, "why": why, "considered": considered}


# --- clock arithmetic ---------------------------------------------------------------


def _spec(clock: SLAClock) -> CalendarSpec | None:
    return CalendarSpec.from_calendar(clock.calendar) if clock.calendar_id else None


def _schedule(clock: SLAClock, from_at: datetime, spec: CalendarSpec | None) -> None:
    """Set due_at, warn_at and next_check_at for a clock running from ``from_at`` with
    ``elapsed_seconds`` already spent."""
    total = clock.duration.total_seconds()
    remaining = max(total - clock.elapsed_seconds, 0.0)
    clock.due_at = business_add(from_at, timedelta(seconds=remaining), spec)
    if clock.warned_at is None:
        warn_total = total * clock.warn_pct / 100
        clock.warn_at = business_add(from_at, timedelta(seconds=max(warn_total - clock.elapsed_seconds, 0.0)), spec)
    if clock.state == "running":
        clock.next_check_at = clock.warn_at if clock.warned_at is None and clock.warn_at and clock.warn_at < clock.due_at else clock.due_at
    else:
        clock.next_check_at = None


def _elapsed_until(clock: SLAClock, at: datetime, spec: CalendarSpec | None) -> int:
    """Business seconds spent by ``at``."""
    if clock.state == "running" and clock.segment_started_at is not None:
        return clock.elapsed_seconds + int(business_elapsed(clock.segment_started_at, at, spec).total_seconds())
    return clock.elapsed_seconds


def sla_clock_progress(clock: SLAClock, now: datetime) -> dict[str, Any]:
    """Elapsed and remaining business time of a clock at ``now`` (for pages and the API)."""
    spec = _spec(clock)
    elapsed = _elapsed_until(clock, min(now, clock.stopped_at or now), spec)
    total = int(clock.duration.total_seconds())
    return {
        "elapsed_seconds": elapsed,
        "remaining_seconds": total - elapsed,
        "percent": round(100 * elapsed / total, 1) if total else 100.0,
    }


# --- incident helpers ---------------------------------------------------------------


def _lock_incident(incident_id: int) -> Incident:
    from incidents.models import Incident

    return Incident.objects.select_for_update().get(pk=incident_id)


def _cycle_reached(incident: Incident) -> set[str]:
    """Milestones already reached in the incident's current cycle."""
    from incidents.models import IncidentCycle

    cycle = IncidentCycle.objects.filter(incident=incident, number=incident.cycle).first()
    if cycle is None:
        return set()
    reached = {name for name, column in _CYCLE_COLUMNS.items() if getattr(cycle, column) is not None}
    return reached | set(cycle.milestones or {})


def _cycle_start(incident: Incident) -> datetime:
    from incidents.models import IncidentCycle

    if incident.cycle <= 1:
        return incident.created_at
    cycle = IncidentCycle.objects.filter(incident=incident, number=incident.cycle).first()
    return cycle.started_at if cycle else incident.created_at


def _timeline(incident: Incident, summary: str, data: dict[str, Any], at: datetime, actor: Any = None) -> None:
    from incidents.services import timeline_record

    timeline_record(incident=incident, kind="sla", actor=actor, summary=summary, data=data, at=at)


def _user(actor_id: int | None) -> Any:
    if actor_id is None:
        return None
    from accounts.models import User

    return User.objects.filter(pk=actor_id).first()


def _fmt(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"


def _fmt_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p) or f"{seconds} s"


@dataclass
class _Plan:
    target: SLATarget
    duration: timedelta
    legal_version: LegalClockVersion | None
    start: datetime
    note: str


def _plan(incident: Incident, target: SLATarget, *, start: datetime, instrument: LegalClock | None) -> _Plan | str:
    """How a target applies to this incident: its duration (from the legal clock version in
    force when the order was received, if any) and start; or a reason it does not apply."""
    legal_clock = target.legal_clock
    if target.metric == "authority_response" and instrument is not None:
        legal_clock = instrument  # the order's own instrument decides its legal clock
    if legal_clock is not None:
        instant = incident.received_at or incident.created_at
        version = legal_clock_version_at(legal_clock, instant)
        if version is not None:
            internal = " (internal target: the law gives no fixed time)" if legal_clock.internal_target else ""
            return _Plan(target, version.duration, version, start, f"{legal_clock.code} in force at {_fmt(instant)}{internal}")
        if target.duration is None:
            return f"{legal_clock.code}: no version in force at {_fmt(instant)}"
        return _Plan(target, target.duration, None, start, f"{legal_clock.code} not in force at {_fmt(instant)}; policy target used")
    assert target.duration is not None
    return _Plan(target, target.duration, None, start, "")


def _event(clock: SLAClock, kind: str, at: datetime, actor: Any = None, **data: Any) -> None:
    from escalations.models import SLAClockEvent

    SLAClockEvent.objects.create(
        clock=clock, kind=kind, at=at, actor=actor if getattr(actor, "is_authenticated", False) else None, data=data
    )


# --- clock lifecycle ----------------------------------------------------------------


def _start_targets(
    incident: Incident, match: PolicyMatch, at: datetime, *, actor: Any, restart: bool, only_metrics: set[str] | None = None
) -> list[tuple[SLAClock, _Plan]]:
    from escalations.models import SLAClock

    instrument = None
    if incident.channel == "regulator_order":
        instrument, _how = legal_clock_for_intake(incident.intake_details or {})
    existing = set(SLAClock.objects.filter(incident=incident, cycle=incident.cycle).values_list("metric", flat=True))
    reached = _cycle_reached(incident)
    started: list[tuple[SLAClock, _Plan]] = []
    for target in match.policy.targets.select_related("legal_clock", "calendar").order_by("metric", "pk"):
        if target.metric in existing or (only_metrics is not None and target.metric not in only_metrics):
            continue
        if target.metric == "postmortem":
            continue  # starts when the incident resolves
        if STOP_MILESTONES[target.metric] & reached:
            continue
        if incident.cycle > 1:
            start = _cycle_start(incident)
        elif target.start_from == "received_at" and incident.received_at is not None:
            start = incident.received_at
        else:
            start = incident.created_at
        plan = _plan(incident, target, start=start, instrument=instrument)
        if isinstance(plan, str):
            _timeline(incident, f"SLA target {target.name!r} not started: {plan}", {"target_id": target.pk}, at)
            continue
        started.append((_new_clock(incident, plan, match, at, actor=actor, restart=restart), plan))
    return started


def _new_clock(incident: Incident, plan: _Plan, match: PolicyMatch, at: datetime, *, actor: Any, restart: bool) -> SLAClock:
    from escalations.models import SLAClock

    target = plan.target
    clock = SLAClock(
        incident=incident,
        target=target,
        metric=target.metric,
        name=target.name,
        cycle=incident.cycle,
        state="running",
        duration=plan.duration,
        calendar=target.calendar,
        warn_pct=target.warn_pct,
        started_at=plan.start,
        elapsed_seconds=0,
        segment_started_at=plan.start,
        policy_version=match.policy.version,
        legal_clock_version=plan.legal_version,
        matched_because=match.why[:500],
    )
    spec = CalendarSpec.from_calendar(target.calendar)
    _schedule(clock, plan.start, spec)
    if incident.waiting_on_external and target.pause_when_waiting:
        clock.elapsed_seconds = _elapsed_until(clock, at, spec)
        clock.state = "paused"
        clock.paused_at = at
        clock.segment_started_at = None
        clock.next_check_at = None
    clock.save()
    _event(
        clock,
        "restart" if restart else "start",
        at,
        actor,
        started_at=plan.start.isoformat(),
        due_at=clock.due_at.isoformat(),
        warn_at=clock.warn_at.isoformat() if clock.warn_at else None,
        duration_seconds=int(plan.duration.total_seconds()),
        policy_id=match.policy.pk,
        policy_version=match.policy.version,
        legal_clock_version_id=plan.legal_version.pk if plan.legal_version else None,
        note=plan.note,
        why=match.why,
    )
    if clock.state == "paused":
        _event(clock, "pause", at, actor, reason=incident.waiting_reason)
    return clock


def _describe(started: list[tuple[SLAClock, _Plan]]) -> str:
    return "; ".join(
        f"{clock.name} due {_fmt(clock.due_at)} ({_fmt_duration(clock.duration)}{', ' + plan.note if plan.note else ''})"
        for clock, plan in started
    )


def sla_clocks_start(*, incident_id: int, at: datetime, reason: str, actor_id: int | None = None) -> list[SLAClock]:
    """Start the clocks of the matching policy for the incident's current cycle (declare,
    reopen). Runs in the caller's transaction; a clock that exists already is left alone."""
    incident = _lock_incident(incident_id)
    if incident.status in TERMINAL:
        return []
    if incident.received_at is not None and incident.received_at > at + timedelta(seconds=1):
        raise ValidationError.for_field("received_at", "The order cannot have been received in the future.")
    match = sla_policy_match(incident)
    if match is None:
        return []
    actor = _user(actor_id)
    started = _start_targets(incident, match, at, actor=actor, restart=incident.cycle > 1)
    if started:
        verb = "restarted for cycle " + str(incident.cycle) if incident.cycle > 1 else "started"
        _timeline(
            incident,
            f"SLA clocks {verb} ({reason}) under policy {match.why}: {_describe(started)}",
            {"policy_id": match.policy.pk, "policy_version": match.policy.version, "clock_ids": [c.pk for c, _ in started]},
            at,
        )
    return [clock for clock, _ in started]


def _open_clocks(incident: Incident) -> list[SLAClock]:
    from escalations.models import SLAClock

    return list(
        SLAClock.objects.select_for_update(of=("self",))
        .filter(incident=incident, cycle=incident.cycle, stopped_at__isnull=True)
        .select_related("target", "calendar")
        .prefetch_related("calendar__holidays")
        .order_by("pk")
    )


def sla_clocks_set_waiting(*, incident_id: int, waiting: bool, at: datetime, reason: str = "", actor_id: int | None = None) -> int:
    """Pause (waiting on an external party) or resume the clocks whose target pauses for it."""
    incident = _lock_incident(incident_id)
    actor = _user(actor_id)
    changed = []
    for clock in _open_clocks(incident):
        if clock.target is not None and not clock.target.pause_when_waiting:
            continue
        spec = _spec(clock)
        if waiting and clock.state == "running":
            clock.elapsed_seconds = _elapsed_until(clock, at, spec)
            clock.state = "paused"
            clock.paused_at = at
            clock.segment_started_at = None
            clock.next_check_at = None
            clock.save(update_fields=["elapsed_seconds", "state", "paused_at", "segment_started_at", "next_check_at"])
            _event(clock, "pause", at, actor, reason=reason, elapsed_seconds=clock.elapsed_seconds)
            changed.append(clock)
        elif not waiting and clock.state == "paused":
            paused_for = business_elapsed(clock.paused_at or at, at, spec)
            clock.state = "running"
            clock.segment_started_at = at
            clock.paused_at = None
            _schedule(clock, at, spec)
            clock.save(update_fields=["state", "segment_started_at", "paused_at", "due_at", "warn_at", "next_check_at"])
            _event(
                clock,
                "resume",
                at,
                actor,
                due_at=clock.due_at.isoformat(),
                paused_business_seconds=int(paused_for.total_seconds()),
            )
            changed.append(clock)
    if changed:
        if waiting:
            summary = f"SLA clocks paused (waiting on an external party: {reason}): " + ", ".join(c.name for c in changed)
        else:
            summary = "SLA clocks resumed: " + "; ".join(f"{c.name} now due {_fmt(c.due_at)}" for c in changed)
        _timeline(incident, summary, {"clock_ids": [c.pk for c in changed], "waiting": waiting, "reason": reason}, at, actor)
    return len(changed)


def _stop(clock: SLAClock, at: datetime, actor: Any, why: str) -> None:
    spec = _spec(clock)
    clock.elapsed_seconds = _elapsed_until(clock, at, spec)
    late = clock.elapsed_seconds > clock.duration.total_seconds()
    if clock.state != "breached":
        clock.state = "breached" if late else "met"
        if late and clock.breached_at is None:
            clock.breached_at = clock.due_at  # stopped late before the engine saw the breach
    clock.stopped_at = at
    clock.segment_started_at = None
    clock.paused_at = None
    clock.next_check_at = None
    clock.save(update_fields=["elapsed_seconds", "state", "breached_at", "stopped_at", "segment_started_at", "paused_at", "next_check_at"])
    _event(clock, "stop", at, actor, reason=why, outcome=clock.state, elapsed_seconds=clock.elapsed_seconds)


def sla_clocks_stop(
    *, incident_id: int, at: datetime, reason: str, metrics: set[str] | None = None, actor_id: int | None = None
) -> list[SLAClock]:
    """Stop the open clocks of the current cycle (those of ``metrics``, or all but the
    post-mortem clock). A clock stopped after its due time is breached, otherwise met."""
    incident = _lock_incident(incident_id)
    actor = _user(actor_id)
    stopped = []
    for clock in _open_clocks(incident):
        if metrics is not None and clock.metric not in metrics:
            continue
        if metrics is None and clock.metric == "postmortem":
            continue
        _stop(clock, at, actor, reason)
        stopped.append(clock)
    if stopped:
        _timeline(
            incident,
            f"SLA clocks stopped ({reason}): " + "; ".join(f"{c.name} {'met' if c.state == 'met' else 'breached'}" for c in stopped),
            {"clock_ids": [c.pk for c in stopped], "reason": reason},
            at,
            actor,
        )
    return stopped


def sla_clocks_on_milestone(*, incident_id: int, milestone: str, at: datetime, actor_id: int | None = None) -> list[SLAClock]:
    metrics = {metric for metric, names in STOP_MILESTONES.items() if milestone in names}
    if not metrics:
        return []
    return sla_clocks_stop(
        incident_id=incident_id, at=at, reason=f"milestone {milestone.replace('_', ' ')}", metrics=metrics, actor_id=actor_id
    )


def sla_postmortem_clock_start(*, incident_id: int, at: datetime) -> list[SLAClock]:
    """The post-mortem-due clock starts when the incident resolves (if its policy has one)."""
    incident = _lock_incident(incident_id)
    match = sla_policy_match(incident)
    if match is None:
        return []
    started = _start_targets_postmortem(incident, match, at)
    if started:
        _timeline(incident, f"Post-mortem clock started: {_describe(started)}", {"clock_ids": [c.pk for c, _ in started]}, at)
    return [c for c, _ in started]


def _start_targets_postmortem(incident: Incident, match: PolicyMatch, at: datetime) -> list[tuple[SLAClock, _Plan]]:
    from escalations.models import SLAClock

    target = match.policy.targets.filter(metric="postmortem").select_related("calendar", "legal_clock").first()
    if target is None or SLAClock.objects.filter(incident=incident, cycle=incident.cycle, metric="postmortem").exists():
        return []
    plan = _plan(incident, target, start=at, instrument=None)
    if isinstance(plan, str):
        return []
    return [(_new_clock(incident, plan, match, at, actor=None, restart=False), plan)]


def sla_clocks_recompute(*, incident_id: int, at: datetime, reason: str, actor_id: int | None = None) -> int:
    """Re-apply the matching policy to the open clocks (severity, category, region or
    channel changed, or the policy was edited), keeping the time already spent and the
    legal clock version each started with. Says so on the timeline."""
    incident = _lock_incident(incident_id)
    if incident.status in TERMINAL:
        return 0
    actor = _user(actor_id)
    match = sla_policy_match(incident)
    targets = {t.metric: t for t in match.policy.targets.select_related("legal_clock", "calendar")} if match else {}
    instrument = legal_clock_for_intake(incident.intake_details or {})[0] if incident.channel == "regulator_order" else None
    changes: list[str] = []
    changed_ids: list[int] = []
    for clock in _open_clocks(incident):
        if clock.state not in OPEN_STATES:
            continue
        target = targets.get(clock.metric)
        if target is None or match is None:
            continue  # the new policy has no such target: the clock keeps running as it was
        plan = _plan(incident, target, start=clock.started_at, instrument=instrument)
        if isinstance(plan, str):
            continue
        if (
            clock.legal_clock_version is not None
            and plan.legal_version is not None
            and plan.legal_version.legal_clock_id == clock.legal_clock_version.legal_clock_id
        ):
            plan.duration, plan.legal_version = clock.duration, clock.legal_clock_version
        same = (
            clock.target_id == target.pk
            and clock.duration == plan.duration
            and clock.calendar_id == target.calendar_id
            and clock.warn_pct == target.warn_pct
            and clock.policy_version == match.policy.version
        )
        if same:
            continue
        old_due = clock.due_at
        before = {"due_at": clock.due_at.isoformat(), "duration_seconds": int(clock.duration.total_seconds()), "target_id": clock.target_id}
        old_spec = _spec(clock)
        clock.elapsed_seconds = _elapsed_until(clock, at, old_spec)
        if clock.state == "running":
            clock.segment_started_at = at
        clock.target = target
        clock.name = target.name
        clock.duration = plan.duration
        clock.calendar = target.calendar
        clock.warn_pct = target.warn_pct
        clock.policy_version = match.policy.version
        clock.legal_clock_version = plan.legal_version
        clock.matched_because = match.why[:500]
        _schedule(clock, at, CalendarSpec.from_calendar(target.calendar))
        clock.save()
        _event(
            clock,
            "recompute",
            at,
            actor,
            reason=reason,
            before=before,
            after={"due_at": clock.due_at.isoformat(), "duration_seconds": int(clock.duration.total_seconds()), "target_id": target.pk},
            why=match.why,
        )
        changes.append(f"{clock.name} due {_fmt(clock.due_at)} (was {_fmt(old_due)})")
        changed_ids.append(clock.pk)
    new: list[tuple[SLAClock, _Plan]] = []
    if match is not None:
        new = _start_targets(incident, match, at, actor=actor, restart=False)
    if changes or new:
        parts = changes + [f"new: {clock.name} due {_fmt(clock.due_at)}" for clock, _ in new]
        _timeline(
            incident,
            f"SLA clocks recomputed ({reason}) under policy {match.why if match else '—'}: " + "; ".join(parts),
            {"clock_ids": changed_ids + [c.pk for c, _ in new], "reason": reason, "policy_id": match.policy.pk if match else None},
            at,
            actor,
        )
    return len(changes) + len(new)


def sla_policy_recompute_after_edit(*, actor: Any, policy: SLAPolicy) -> int:
    """After an edit outside sla_policy_save (the Django admin): recompute the open clocks."""
    audit_record(actor=actor, action="sla.policy_update", obj=policy, after={"name": policy.name, "version": policy.version})
    return _recompute_open(actor=actor, reason=f'SLA policy "{policy.name}" changed (version {policy.version})')


def _recompute_open(*, actor: Any, reason: str) -> int:
    """After a policy or calendar edit: recompute every incident with an open clock."""
    from escalations.models import SLAClock

    now = db_now()
    incident_ids = sorted(
        set(SLAClock.objects.filter(state__in=OPEN_STATES, stopped_at__isnull=True).values_list("incident_id", flat=True))
    )
    total = 0
    for incident_id in incident_ids:
        total += sla_clocks_recompute(incident_id=incident_id, at=now, reason=reason, actor_id=getattr(actor, "pk", None))
    return total
