"""Writes to SLA policies from the API: create, update (targets matched by id, others
added or removed) and delete, each in one transaction with the audit entry; every
problem is a ValidationError naming the field (``targets[1].duration``), nothing is
half-saved. Open clocks follow a policy change through sla_services' recompute."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F

from accounts.models import Region
from core.audit import audit_record
from core.errors import Conflict, NotFound, ValidationError
from escalations.models import BusinessCalendar, LegalClock, SLAMetric, SLAPolicy, SLAStartFrom, SLATarget
from escalations.sla_services import sla_target_problems
from incidents.models import Channel, HarmCategory, Severity

POLICY_FLAGS = ("minors_involved", "imminent_risk", "media_interest", "regulatory", "waiting_on_external")
MAX_DURATION = timedelta(days=3660)


class _Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            field, messages = next(iter(self.errors.items()))
            raise ValidationError(f"{field}: {messages[0]}", errors=self.errors)


def _choices(values: Any, allowed: list, field: str, errors: _Errors) -> list:
    if values is None:
        return []
    if not isinstance(values, list):
        errors.add(field, "Give a list (empty = any).")
        return []
    bad = [v for v in values if v not in allowed]
    if bad:
        errors.add(field, f"Unknown value(s) {', '.join(map(str, bad))}; use {', '.join(map(str, allowed))}.")
    return sorted(set(values) - set(bad), key=str)


def _target(policy: SLAPolicy | None, index: int, raw: dict[str, Any], existing: dict[int, SLATarget], errors: _Errors) -> SLATarget:
    where = f"targets[{index}]"
    target_id = raw.get("id")
    if target_id is not None:
        if target_id not in existing:
            errors.add(f"{where}.id", f"This policy has no target {target_id}.")
            target = SLATarget(policy=policy)
        else:
            target = existing[target_id]
    else:
        target = SLATarget(policy=policy)
    if "metric" in raw or target.pk is None:
        if raw.get("metric") not in SLAMetric.values:
            errors.add(f"{where}.metric", f"Use one of: {', '.join(SLAMetric.values)}.")
        else:
            target.metric = raw["metric"]
    if "name" in raw or target.pk is None:
        name = str(raw.get("name") or "").strip()
        target.name = name or (SLAMetric(target.metric).label if target.metric in SLAMetric.values else "")
    if "duration_seconds" in raw:
        seconds = raw["duration_seconds"]
        target.duration = timedelta(seconds=seconds) if seconds is not None else None
        if target.duration is not None and target.duration > MAX_DURATION:
            errors.add(f"{where}.duration", "A target longer than ten years is not a target.")
    if "legal_clock" in raw:
        code = raw["legal_clock"]
        target.legal_clock = None
        if code:
            clock = LegalClock.objects.filter(code=code).first()
            if clock is None:
                errors.add(f"{where}.legal_clock", f"No legal clock {code!r}.")
            target.legal_clock = clock
    if "calendar" in raw:
        calendar_id = raw["calendar"]
        target.calendar = None
        if calendar_id is not None:
            calendar = BusinessCalendar.objects.filter(pk=calendar_id).first()
            if calendar is None:
                errors.add(f"{where}.calendar", f"No business calendar {calendar_id}.")
            else:
                try:
                    calendar.clean()  # an unknown zone or no working hours would make every due time wrong
                except DjangoValidationError as exc:
                    for problem in exc.messages:
                        errors.add(f"{where}.calendar", f"Calendar {calendar.name!r}: {problem}")
            target.calendar = calendar
    for key in ("warn_pct", "pause_when_waiting", "stop_condition", "on_warning", "on_breach"):
        if key in raw:
            setattr(target, key, raw[key])
    if "start_from" in raw:
        if raw["start_from"] not in SLAStartFrom.values:
            errors.add(f"{where}.start_from", f"Use one of: {', '.join(SLAStartFrom.values)}.")
        else:
            target.start_from = raw["start_from"]
    if target.duration is None and target.legal_clock_id is None and f"{where}.legal_clock" not in errors.errors:
        errors.add(f"{where}.duration", "Give a duration or a legal clock.")
    else:
        for field, problems in sla_target_problems(target).items():
            for problem in problems:
                errors.add(f"{where}.{field}", problem)
    return target


def _apply(policy: SLAPolicy, data: dict[str, Any], *, creating: bool) -> tuple[list[SLATarget], list[SLATarget], list | None]:
    errors = _Errors()
    if "name" in data or creating:
        name = str(data.get("name") or "").strip()
        if not name:
            errors.add("name", "Give the policy a name.")
        elif SLAPolicy.objects.filter(name=name).exclude(pk=policy.pk).exists():
            errors.add("name", f"A policy named {name!r} already exists.")
        policy.name = name
    for key in ("description", "active", "priority"):
        if key in data:
            setattr(policy, key, data[key])
    if "channels" in data:
        policy.channels = _choices(data["channels"], list(Channel.values), "channels", errors)
    if "severities" in data:
        policy.severities = _choices(data["severities"], list(Severity.values), "severities", errors)
    if "regions" in data:
        policy.regions = _choices(data["regions"], list(Region.values), "regions", errors)
    if "flags" in data:
        policy.flags = _choices(data["flags"], list(POLICY_FLAGS), "flags", errors)
    categories = None
    if "harm_categories" in data:
        slugs = data["harm_categories"] or []
        categories = list(HarmCategory.objects.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {c.slug for c in categories})
        if missing:
            errors.add("harm_categories", f"Unknown harm categories: {', '.join(missing)}.")
    existing = {t.pk: t for t in policy.targets.all()} if policy.pk else {}
    keep: list[SLATarget] = []
    drop: list[SLATarget] = []
    if "targets" in data or creating:
        raw_targets = data.get("targets") or []
        if not raw_targets:
            errors.add("targets", "A policy needs at least one target.")
        keep = [_target(policy if policy.pk else None, i, raw, existing, errors) for i, raw in enumerate(raw_targets)]
        kept_ids = {t.pk for t in keep if t.pk}
        drop = [t for pk, t in existing.items() if pk not in kept_ids]
    errors.raise_if_any()
    return keep, drop, categories


def _snapshot(policy: SLAPolicy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "active": policy.active,
        "priority": policy.priority,
        "version": policy.version,
        "channels": list(policy.channels),
        "severities": list(policy.severities),
        "regions": list(policy.regions),
        "flags": list(policy.flags),
        "targets": [
            {"id": t.pk, "metric": t.metric, "duration": str(t.duration), "legal_clock": t.legal_clock_id} for t in policy.targets.all()
        ],
    }


def _recompute(*, actor: Any, policy: SLAPolicy) -> None:
    """Open clocks of the policy follow the change (sla_services says so on each timeline)."""
    from escalations import sla_services

    recompute = getattr(sla_services, "sla_policy_recompute", None)
    if recompute is not None:
        recompute(actor=actor, policy=policy)


@transaction.atomic
def sla_policy_create(*, actor: Any, data: dict[str, Any]) -> SLAPolicy:
    policy = SLAPolicy()
    targets, _drop, categories = _apply(policy, data, creating=True)
    policy.save()
    for target in targets:
        target.policy = policy
        target.save()
    if categories is not None:
        policy.harm_categories.set(categories)
    audit_record(actor=actor, action="sla_policy.create", obj=policy, after=_snapshot(policy))
    return policy


@transaction.atomic
def sla_policy_update(*, actor: Any, policy: SLAPolicy, data: dict[str, Any], version: int | None = None) -> SLAPolicy:
    policy = SLAPolicy.objects.select_for_update().filter(pk=policy.pk).first()  # type: ignore[assignment]
    if policy is None:
        raise NotFound("No such SLA policy.")
    if version is not None and version != policy.version:
        raise Conflict("Someone changed this policy meanwhile; reload it and apply your change again.", extra={"version": policy.version})
    before = _snapshot(policy)
    targets, drop, categories = _apply(policy, data, creating=False)
    for target in drop:
        target.delete()  # its clocks keep their own copy of duration and calendar
    for target in targets:
        target.policy = policy
        target.save()
    if categories is not None:
        policy.harm_categories.set(categories)
    policy.version = F("version") + 1
    policy.save()
    policy.refresh_from_db()
    audit_record(actor=actor, action="sla_policy.update", obj=policy, before=before, after=_snapshot(policy))
    _recompute(actor=actor, policy=policy)
    return policy


@transaction.atomic
def sla_policy_delete(*, actor: Any, policy: SLAPolicy) -> None:
    before = _snapshot(policy)
    audit_record(actor=actor, action="sla_policy.delete", obj=policy, before=before)
    policy.delete()
