"""Every write to escalation policies, escalations and pages goes through here."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Team, User
from core.audit import audit_record
from core.errors import Conflict, ValidationError
from core.time import db_now
from escalations.models import (
    Escalation,
    EscalationPolicy,
    EscalationState,
    EscalationStep,
    MessageState,
    OutgoingMessage,
    Page,
    PageState,
    PolicyRule,
    Schedule,
    StepTarget,
    TargetKind,
)
from incidents.models import TERMINAL_STATUSES, HarmCategory, Incident

ACK_SALT = "escalations.page-ack"
ACK_MAX_AGE = timedelta(hours=24)
MAX_STEPS = 20
MAX_TARGETS_PER_STEP = 50
MAX_WAIT_MINUTES = 24 * 60
MAX_REPEAT = 10


# --- the incidents app's public services ------------------------------------------


def _timeline(*, incident: Incident, summary: str, data: dict, actor: Any = None, at: datetime | None = None) -> None:
    from incidents import services as incident_services

    incident_services.timeline_record(incident=incident, kind="page", actor=actor, summary=summary, data=data, at=at)


def notify_in_app(*, user_id: int, incident_id: int | None, kind: str, text: str, url: str) -> None:
    from incidents import services as incident_services

    user = User.objects.get(pk=user_id)
    incident = Incident.objects.get(pk=incident_id) if incident_id else None
    incident_services.notification_create(user=user, incident=incident, kind=kind, text=text, url=url)


# --- signed acknowledgement links ------------------------------------------------


def page_ack_token(page: Page) -> str:
    return signing.dumps({"p": page.pk, "u": page.recipient_id}, salt=ACK_SALT, compress=True)


def page_ack_url(page: Page | None) -> str:
    if page is None:
        return ""
    path = reverse("paging:page-ack-link", kwargs={"token": page_ack_token(page)})
    return settings.FIREBREAK_BASE_URL.rstrip("/") + path


def page_from_ack_token(token: str) -> Page:
    """The page a link points at. Forged, altered and expired links raise ValidationError."""
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=ACK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ValidationError("This acknowledgement link has expired. Open Firebreak to acknowledge the page.") from exc
    except signing.BadSignature as exc:
        raise ValidationError("This acknowledgement link is not valid.") from exc
    try:
        return Page.objects.select_related("incident", "recipient", "acknowledged_by", "escalation").get(
            pk=data["p"], recipient_id=data["u"]
        )
    except (Page.DoesNotExist, KeyError, TypeError) as exc:
        raise ValidationError("This acknowledgement link is not valid.") from exc


# --- policies -----------------------------------------------------------------------


def _validate_steps(steps: Any) -> list[dict]:
    if not isinstance(steps, list) or not steps:
        raise ValidationError.for_field("steps", "A policy needs at least one step.")
    if len(steps) > MAX_STEPS:
        raise ValidationError.for_field("steps", f"A policy has at most {MAX_STEPS} steps.")
    clean: list[dict] = []
    user_ids: set[int] = set()
    schedule_ids: set[int] = set()
    team_ids: set[int] = set()
    for index, step in enumerate(steps):
        where = f"steps[{index}]"
        if not isinstance(step, dict):
            raise ValidationError.for_field(where, "Each step is an object with wait_minutes and targets.")
        wait = step.get("wait_minutes")
        if isinstance(wait, bool) or not isinstance(wait, int) or wait <= 0:
            raise ValidationError.for_field(f"{where}.wait_minutes", "Wait must be a whole number of minutes greater than 0.")
        if wait > MAX_WAIT_MINUTES:
            raise ValidationError.for_field(f"{where}.wait_minutes", f"Wait is at most {MAX_WAIT_MINUTES} minutes.")
        targets = step.get("targets")
        if not isinstance(targets, list) or not targets:
            raise ValidationError.for_field(f"{where}.targets", "Each step needs at least one target.")
        if len(targets) > MAX_TARGETS_PER_STEP:
            raise ValidationError.for_field(f"{where}.targets", f"A step has at most {MAX_TARGETS_PER_STEP} targets.")
        clean_targets = []
        for t_index, target in enumerate(targets):
            t_where = f"{where}.targets[{t_index}]"
            if not isinstance(target, dict) or target.get("kind") not in TargetKind.values:
                raise ValidationError.for_field(t_where, f"kind must be one of {', '.join(TargetKind.values)}.")
            ref = target.get("id")
            if isinstance(ref, bool) or not isinstance(ref, int) or ref <= 0:
                raise ValidationError.for_field(f"{t_where}.id", "id must be a positive integer.")
            kind = target["kind"]
            {"user": user_ids, "schedule": schedule_ids}.get(kind, team_ids).add(ref)
            clean_targets.append({"kind": kind, "id": ref, "field": t_where})
        clean.append({"wait_minutes": wait, "targets": clean_targets})
    active_users = set(User.objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True))
    schedules = set(Schedule.objects.filter(pk__in=schedule_ids).values_list("pk", flat=True))
    teams = set(Team.objects.filter(pk__in=team_ids).values_list("pk", flat=True))
    for step in clean:
        for target in step["targets"]:
            kind, ref, t_where = target["kind"], target["id"], target.pop("field")
            if kind == TargetKind.USER and ref not in active_users:
                raise ValidationError.for_field(
                    f"{t_where}.id", f"User {ref} does not exist or is inactive; pick someone who can be paged."
                )
            if kind == TargetKind.SCHEDULE and ref not in schedules:
                raise ValidationError.for_field(f"{t_where}.id", f"Schedule {ref} does not exist.")
            if kind in (TargetKind.TEAM_MEMBERS, TargetKind.TEAM_ONCALL) and ref not in teams:
                raise ValidationError.for_field(f"{t_where}.id", f"Team {ref} does not exist.")
    return clean


def _validate_rules(rules: Any) -> list[dict]:
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise ValidationError.for_field("rules", "rules is a list.")
    clean = []
    slugs = {r.get("harm_category") for r in rules if isinstance(r, dict) and r.get("harm_category")}
    categories = {c.slug: c for c in HarmCategory.objects.filter(slug__in=[s for s in slugs if isinstance(s, str)])}
    for index, rule in enumerate(rules):
        where = f"rules[{index}]"
        if not isinstance(rule, dict):
            raise ValidationError.for_field(where, "Each rule is an object.")
        sev = rule.get("max_severity", 4)
        if isinstance(sev, bool) or not isinstance(sev, int) or not 1 <= sev <= 4:
            raise ValidationError.for_field(f"{where}.max_severity", "max_severity is 1 (SEV1) to 4 (SEV4).")
        slug = rule.get("harm_category") or None
        if slug is not None and slug not in categories:
            raise ValidationError.for_field(f"{where}.harm_category", f"Unknown harm category {slug!r}.")
        region = rule.get("region") or ""
        channel = rule.get("channel") or ""
        if not isinstance(region, str) or len(region) > 10:
            raise ValidationError.for_field(f"{where}.region", "region is a region code.")
        if not isinstance(channel, str) or len(channel) > 30:
            raise ValidationError.for_field(f"{where}.channel", "channel is an intake channel code.")
        priority = rule.get("priority", 100)
        if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 32767:
            raise ValidationError.for_field(f"{where}.priority", "priority is a number from 0 to 32767.")
        clean.append(
            {
                "max_severity": sev,
                "harm_category": categories.get(slug) if slug else None,
                "region": region,
                "channel": channel,
                "priority": priority,
            }
        )
    return clean


def _validate_header(name: Any, repeat: Any) -> tuple[str, int]:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError.for_field("name", "A policy needs a name.")
    if len(name) > 100:
        raise ValidationError.for_field("name", "A name is at most 100 characters.")
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 0 <= repeat <= MAX_REPEAT:
        raise ValidationError.for_field("repeat", f"repeat is a whole number from 0 to {MAX_REPEAT}.")
    return name.strip(), repeat


def _write_steps(policy: EscalationPolicy, steps: list[dict], rules: list[dict] | None) -> None:
    policy.steps.all().delete()
    for order, step in enumerate(steps):
        row = EscalationStep.objects.create(policy=policy, order=order, wait_minutes=step["wait_minutes"])
        StepTarget.objects.bulk_create(
            [
                StepTarget(
                    step=row,
                    kind=t["kind"],
                    user_id=t["id"] if t["kind"] == TargetKind.USER else None,
                    schedule_id=t["id"] if t["kind"] == TargetKind.SCHEDULE else None,
                    team_id=t["id"] if t["kind"] in (TargetKind.TEAM_MEMBERS, TargetKind.TEAM_ONCALL) else None,
                )
                for t in step["targets"]
            ]
        )
    if rules is not None:
        policy.rules.all().delete()
        PolicyRule.objects.bulk_create([PolicyRule(policy=policy, **rule) for rule in rules])


def policy_snapshot(policy: EscalationPolicy) -> dict:
    steps = policy.steps.prefetch_related("targets").order_by("order")
    return {
        "id": policy.pk,
        "name": policy.name,
        "version": policy.version,
        "repeat": policy.repeat,
        "steps": [{"wait_minutes": s.wait_minutes, "targets": [t.as_snapshot() for t in s.targets.all()]} for s in steps],
    }


@transaction.atomic
def policy_create(
    *,
    actor: Any,
    name: Any,
    steps: Any,
    repeat: Any = 0,
    description: str = "",
    team: Team | None = None,
    rules: Any = None,
) -> EscalationPolicy:
    name, repeat = _validate_header(name, repeat)
    clean_steps = _validate_steps(steps)
    clean_rules = _validate_rules(rules)
    if EscalationPolicy.objects.filter(name=name).exists():
        raise ValidationError.for_field("name", f"A policy named {name!r} already exists.")
    policy = EscalationPolicy.objects.create(name=name, repeat=repeat, description=description or "", team=team)
    _write_steps(policy, clean_steps, clean_rules)
    audit_record(actor=actor, action="escalation_policy.create", obj=policy, after=policy_snapshot(policy))
    return policy


@transaction.atomic
def policy_update(*, actor: Any, policy: EscalationPolicy, **changes: Any) -> EscalationPolicy:
    """Running escalations keep the snapshot they started with; the version says which."""
    policy = EscalationPolicy.objects.select_for_update().get(pk=policy.pk)
    before = policy_snapshot(policy)
    name, repeat = _validate_header(changes.get("name", policy.name), changes.get("repeat", policy.repeat))
    if EscalationPolicy.objects.filter(name=name).exclude(pk=policy.pk).exists():
        raise ValidationError.for_field("name", f"A policy named {name!r} already exists.")
    clean_steps = _validate_steps(changes["steps"]) if "steps" in changes else None
    clean_rules = _validate_rules(changes["rules"]) if "rules" in changes else None
    policy.name, policy.repeat = name, repeat
    if "description" in changes:
        policy.description = changes["description"] or ""
    if "active" in changes:
        policy.active = bool(changes["active"])
    if "team" in changes:
        policy.team = changes["team"]
    policy.version += 1
    policy.save()
    if clean_steps is not None:
        _write_steps(policy, clean_steps, clean_rules)
    elif clean_rules is not None:
        policy.rules.all().delete()
        PolicyRule.objects.bulk_create([PolicyRule(policy=policy, **rule) for rule in clean_rules])
    audit_record(actor=actor, action="escalation_policy.update", obj=policy, before=before, after=policy_snapshot(policy))
    return policy


@transaction.atomic
def policy_delete(*, actor: Any, policy: EscalationPolicy) -> None:
    before = policy_snapshot(policy)
    audit_record(actor=actor, action="escalation_policy.delete", obj=policy, before=before)
    policy.delete()


# --- escalations ------------------------------------------------------------------------


def policies_matching(incident: Incident) -> list[EscalationPolicy]:
    rules = (
        PolicyRule.objects.filter(active=True, policy__active=True, max_severity__gte=incident.severity)
        .filter(Q(harm_category__isnull=True) | Q(harm_category_id=incident.harm_category_id))
        .filter(Q(region="") | Q(region=incident.region))
        .filter(Q(channel="") | Q(channel=incident.channel))
        .select_related("policy")
        .order_by("priority", "id")
    )
    seen: dict[int, EscalationPolicy] = {}
    for rule in rules:
        seen.setdefault(rule.policy_id, rule.policy)
    return list(seen.values())


@transaction.atomic
def escalations_start(*, incident_id: int, at: datetime, reason: str) -> list[Escalation]:
    """Start every matching policy not yet running in this incident cycle. Runs inside the
    caller's transaction (an in-transaction subscriber), so the rows exist atomically with
    the incident change; the first step fires at the next tick."""
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    if incident.status in TERMINAL_STATUSES:
        return []
    started = set(Escalation.objects.filter(incident=incident, cycle=incident.cycle).values_list("policy_id", flat=True))
    created = []
    for policy in policies_matching(incident):
        if policy.pk in started:
            continue
        snapshot = policy_snapshot(policy)
        if not snapshot["steps"]:
            continue
        escalation = Escalation.objects.create(
            incident=incident,
            policy=policy,
            policy_snapshot=snapshot,
            policy_version=policy.version,
            cycle=incident.cycle,
            next_fire_at=at,
            started_at=at,
        )
        _timeline(
            incident=incident,
            summary=f'Escalation "{policy.name}" started ({reason})',
            data={"escalation_id": escalation.pk, "policy_id": policy.pk, "policy_version": policy.version},
            at=at,
        )
        created.append(escalation)
    return created


def _cancel_pending_messages(escalation_ids: list[int]) -> None:
    OutgoingMessage.objects.filter(escalation_id__in=escalation_ids, kind="page", state=MessageState.PENDING).update(
        state=MessageState.CANCELLED
    )
    Page.objects.filter(escalation_id__in=escalation_ids, state=PageState.PENDING).update(state=PageState.CANCELLED)


@transaction.atomic
def escalations_stop(*, incident_id: int, at: datetime, state: str, reason: str, actor: Any = None, only_paging: User | None = None) -> int:
    """Stop the incident's active escalations (all, or those that paged ``only_paging``)."""
    qs = Escalation.objects.select_for_update().filter(incident_id=incident_id, state=EscalationState.ACTIVE)
    if only_paging is not None:
        qs = qs.filter(pk__in=Page.objects.filter(incident_id=incident_id, recipient=only_paging).values("escalation_id"))
    escalations = list(qs.select_related("incident").select_for_update(of=("self",)))
    if not escalations:
        return 0
    ids = [e.pk for e in escalations]
    Escalation.objects.filter(pk__in=ids).update(
        state=state,
        next_fire_at=None,
        ended_at=at,
        acknowledged_by=actor if state == EscalationState.ACKNOWLEDGED else None,
    )
    _cancel_pending_messages(ids)
    for escalation in escalations:
        _timeline(
            incident=escalation.incident,
            summary=f'Escalation "{escalation.policy_snapshot.get("name", "")}" stopped: {reason}',
            data={"escalation_id": escalation.pk, "state": state},
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            at=at,
        )
    return len(ids)


@transaction.atomic
def page_acknowledge(*, actor: User, page: Page, via: str = "app") -> Page:
    """Acknowledge a page: stops its escalation and acknowledges the incident, in one
    transaction. The escalation row is locked first, so an ack racing a new step or a
    resolve ends in one consistent outcome."""
    # Lock order everywhere: incident, then escalation, then page (the engine key-shares
    # the incident right after claiming, and skips incidents a writer holds).
    Incident.objects.select_for_update().filter(pk=page.incident_id).first()
    escalation = Escalation.objects.select_for_update().get(pk=page.escalation_id)
    page = Page.objects.select_for_update(of=("self",)).select_related("incident", "acknowledged_by").get(pk=page.pk)
    if page.state == PageState.ACKNOWLEDGED:
        who = page.acknowledged_by.get_username() if page.acknowledged_by else "someone"
        raise Conflict(
            f"Already acknowledged by {who} at {timezone.localtime(page.acknowledged_at):%Y-%m-%d %H:%M %Z}.",
            extra={"acknowledged_by": who, "acknowledged_at": page.acknowledged_at.isoformat() if page.acknowledged_at else None},
        )
    if escalation.state == EscalationState.RESOLVED or page.incident.status in TERMINAL_STATUSES:
        raise Conflict("The incident is already resolved; nothing to acknowledge.")
    # The transaction's clock, as incident_acknowledge below uses: the page's and the
    # incident's acknowledgement land on the timeline in the order they were written.
    now = db_now()
    if escalation.state == EscalationState.ACKNOWLEDGED:
        who = escalation.acknowledged_by.get_username() if escalation.acknowledged_by else "someone"
        when = timezone.localtime(escalation.ended_at) if escalation.ended_at else now
        raise Conflict(f"Already acknowledged by {who} at {when:%Y-%m-%d %H:%M %Z}.", extra={"acknowledged_by": who})
    Page.objects.filter(
        escalation=escalation,
        cycle=page.cycle,
        recipient=page.recipient_id,
        state__in=[PageState.PENDING, PageState.SENT, PageState.FAILED],
    ).update(state=PageState.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=actor)
    Escalation.objects.filter(pk=escalation.pk).update(
        state=EscalationState.ACKNOWLEDGED, next_fire_at=None, ended_at=now, acknowledged_by=actor
    )
    _cancel_pending_messages([escalation.pk])
    _timeline(
        incident=page.incident,
        summary=f'{actor.get_username()} acknowledged the page ({via}); escalation "{escalation.policy_snapshot.get("name", "")}" stopped',
        data={"escalation_id": escalation.pk, "page_id": page.pk, "via": via},
        actor=actor,
        at=now,
    )
    audit_record(actor=actor, action="page.acknowledge", obj=page, after={"via": via, "escalation_id": escalation.pk})
    from incidents import services as incident_services

    incident_services.incident_acknowledge(actor=actor, incident=page.incident)
    page.refresh_from_db()
    return page


# --- the watchdog -------------------------------------------------------------------------


@transaction.atomic
def engine_alert_admins(*, now: datetime, subject: str, text: str, key: str) -> int:
    """Queue one email per admin through the outbox; ``key`` makes a repeated alert a no-op."""
    admins = User.objects.filter(is_active=True).filter(Q(is_superuser=True) | Q(groups__name="admin")).exclude(email="").distinct()
    created = 0
    for admin in admins:
        _, made = OutgoingMessage.objects.get_or_create(
            idempotency_key=f"alert:{key}:{admin.pk}",
            defaults={
                "recipient": admin,
                "kind": "alert",
                "channel": "email",
                "target": admin.email,
                "payload": {"subject": subject, "text": text},
                "created_at": now,
                "next_attempt_at": now,
            },
        )
        created += made
    return created
