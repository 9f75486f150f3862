"""Every write to post-mortems: one transaction each, audited, the workflow steps also on
the incident's timeline."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMessage
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from core.audit import audit_record
from core.errors import Conflict, Forbidden, ValidationError
from escalations.sla_services import sla_clocks_stop
from incidents.models import Incident, MitigationAction, MitigationKind, TimelineEvent, TimelineKind
from incidents.services import notification_create, timeline_record
from postmortems.models import (
    ActionItem,
    ActionItemPriority,
    ActionItemReminder,
    ActionItemStatus,
    ContributingFactor,
    PostMortem,
    PostMortemPolicy,
    PostMortemStatus,
    ReminderKind,
    ReviewComment,
    TimelineEntry,
)
from postmortems.taxonomy import TEXT_SECTIONS, FactorCategory, Section

logger = logging.getLogger(__name__)

User = get_user_model()

CHANGE_PERM = "postmortems.change_postmortem"
ADD_PERM = "postmortems.add_postmortem"
APPROVE_PERM = "postmortems.approve_postmortem"
COMMENT_PERM = "postmortems.add_reviewcomment"
ITEM_CHANGE_PERM = "postmortems.change_actionitem"

# Timeline kinds copied into the post-mortem besides the key moments: the lifecycle
# skeleton a reader needs to follow the response. Comments and routine edits stay out.
IMPORTED_KINDS = ("created", "status_changed", "reopened", "severity_changed", "acknowledged", "milestone", "merged", "key_moment")

MAX_SECTION_CHARS = 50_000
REMINDER_HOUR_UTC = 9


# --- policy -------------------------------------------------------------------------------


def policy_current() -> PostMortemPolicy:
    policy = PostMortemPolicy.objects.order_by("id").first()
    if policy is None:
        policy, _ = PostMortemPolicy.objects.get_or_create(name="Default")
    return policy


# --- creation -------------------------------------------------------------------------------


def _impact_snapshot(incident: Incident) -> dict[str, Any]:
    def seconds(start, end):
        return int((end - start).total_seconds()) if start and end else None

    mitigations = {
        row["kind"]: row["total"]
        for row in MitigationAction.objects.filter(incident=incident).values("kind").annotate(total=Sum("count")).order_by("kind")
    }
    removed = mitigations.get(MitigationKind.CONTENT_REMOVED)

    return {
        "severity": incident.severity,
        "reach_views": incident.reach_views,
        "duration_seconds": seconds(incident.created_at, incident.resolved_at),
        "time_to_detect_seconds": seconds(incident.first_signal_at, incident.created_at),
        "time_to_mitigate_seconds": seconds(incident.created_at, incident.mitigated_at),
        "first_signal_at": incident.first_signal_at.isoformat() if incident.first_signal_at else None,
        "created_at": incident.created_at.isoformat() if incident.created_at else None,
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "region": incident.region,
        "countries": list(incident.countries or []),
        "languages": list(incident.languages or []),
        "surfaces": list(getattr(incident, "surfaces", []) or []),
        "content_removed": removed,
        "mitigations": mitigations,
    }


def _fmt_duration(seconds: int | None) -> str:
    if seconds is None:
        return "not recorded"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min"


def _impact_text(data: dict[str, Any]) -> str:
    where = ", ".join(data["countries"]) or data["region"] or "not recorded"
    return "\n".join(
        [
            f"- Reach: {data['reach_views']:,} views",
            f"- Duration (declared → resolved): {_fmt_duration(data['duration_seconds'])}",
            f"- Regions / countries: {data['region']} / {where}",
            f"- Languages: {', '.join(data['languages']) or 'not recorded'}",
            f"- Content removed: {data['content_removed']:,} items"
            if data["content_removed"] is not None
            else "- Content removed: not recorded",
        ]
    )


def _detection_text(data: dict[str, Any]) -> str:
    return f"Time to detect (first signal → declared): {_fmt_duration(data['time_to_detect_seconds'])}.\n\nHow was it detected?"


def _timeline_step(*, incident: Incident, actor: Any, summary: str, data: dict[str, Any]) -> None:
    timeline_record(
        incident=incident, actor=actor if getattr(actor, "is_authenticated", False) else None, kind="postmortem", summary=summary, data=data
    )


def _create(*, incident: Incident, actor: Any, owner: Any, auto: bool) -> tuple[PostMortem, bool]:
    policy = policy_current()
    base = (incident.resolved_at or timezone.now()).date()
    impact = _impact_snapshot(incident)
    # A savepoint: when the unique constraint on incident wins a race, the caller's
    # transaction stays usable and get_or_create returns the existing row.
    with transaction.atomic():
        postmortem, created = PostMortem.objects.get_or_create(
            incident=incident,
            defaults={
                "title": f"Post-mortem: {incident.title}"[:300],
                "owner": owner,
                "due_on": base + dt.timedelta(days=policy.due_days),
                "auto_created": auto,
                "impact_data": impact,
                "impact": _impact_text(impact),
                "detection": _detection_text(impact),
            },
        )
    if not created:
        return postmortem, False
    _import_timeline(postmortem)
    audit_record(
        actor=actor,
        action="postmortem.create",
        obj=postmortem,
        after={"incident": incident.pk, "owner": owner.pk if owner else None, "due_on": postmortem.due_on, "auto": auto},
    )
    if owner is not None and owner != actor:
        what = "an incident" if incident.compartment_id else incident.reference
        notification_create(
            user=owner,
            incident=incident,
            kind="postmortem_assigned",
            text=f"You own the post-mortem for {what}, due {postmortem.due_on.isoformat() if postmortem.due_on else 'soon'}.",
            url=f"/postmortems/{postmortem.pk}/",
        )
    _timeline_step(
        incident=incident,
        actor=actor,
        summary="Post-mortem started" + (" (required by policy)" if auto else ""),
        data={"postmortem_id": postmortem.pk, "due_on": postmortem.due_on.isoformat() if postmortem.due_on else None},
    )
    return postmortem, True


@transaction.atomic
def postmortem_ensure_for_incident(*, incident_id: int, actor: Any = None) -> PostMortem | None:
    """Called when an incident resolves: creates the required post-mortem once. A repeated
    or retried resolve finds the existing one."""
    incident = Incident.objects.select_related("commander").get(pk=incident_id)
    if incident.severity > policy_current().max_severity:
        return None
    postmortem, _ = _create(incident=incident, actor=actor, owner=incident.commander, auto=True)
    return postmortem


@transaction.atomic
def postmortem_start(*, actor: Any, incident: Incident, owner: Any = None) -> PostMortem:
    """A manager starts a post-mortem by hand (for an incident the policy does not require)."""
    if not actor.has_perm(ADD_PERM):
        raise Forbidden("Your role does not allow starting a post-mortem.")
    incident = Incident.objects.select_for_update(of=("self",)).select_related("commander").get(pk=incident.pk)
    existing = PostMortem.objects.filter(incident=incident).first()
    if existing is not None:
        raise Conflict("This incident already has a post-mortem.", extra={"postmortem_id": existing.pk})
    owner = _user_or_error(owner, field="owner", incident=incident) if owner not in (None, "") else (incident.commander or actor)
    postmortem, _ = _create(incident=incident, actor=actor, owner=owner, auto=False)
    return postmortem


# --- timeline -------------------------------------------------------------------------------


def _import_timeline(postmortem: PostMortem) -> int:
    events = TimelineEvent.objects.filter(incident_id=postmortem.incident_id).filter(Q(is_key_moment=True) | Q(kind__in=IMPORTED_KINDS))
    labels = dict(TimelineKind.choices)
    rows = [
        TimelineEntry(postmortem=postmortem, source_event_id=e.pk, at=e.at, text=e.summary or labels.get(e.kind, e.kind), kind=e.kind)
        for e in events.order_by("at", "id")
    ]
    TimelineEntry.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def postmortem_timeline_import(*, actor: Any, postmortem: PostMortem) -> int:
    """Copies incident timeline events not yet imported; earlier copies (and their edits) stay."""
    postmortem = _lock_editable(postmortem)
    before = TimelineEntry.objects.filter(postmortem=postmortem).count()
    _import_timeline(postmortem)
    added = TimelineEntry.objects.filter(postmortem=postmortem).count() - before
    audit_record(actor=actor, action="postmortem.timeline_import", obj=postmortem, after={"added": added})
    return added


@transaction.atomic
def timeline_entry_update(*, actor: Any, entry: TimelineEntry, text: str) -> TimelineEntry:
    _lock_editable(entry.postmortem)
    text = (text or "").strip()
    if not text:
        raise ValidationError.for_field("text", "A timeline entry needs text.")
    if len(text) > 5000:
        raise ValidationError.for_field("text", "Keep a timeline entry under 5,000 characters.")
    before = entry.text
    entry.text = text
    entry.save(update_fields=["text"])
    audit_record(actor=actor, action="postmortem.timeline_edit", obj=entry, before={"text": before}, after={"text": text})
    return entry


def postmortem_record_read(*, actor: Any, postmortem: PostMortem, how: str = "page") -> None:
    """Reads of a restricted incident's post-mortem are audited like reads of the incident."""
    if postmortem.incident.compartment_id is not None:
        audit_record(
            actor=actor, action=f"postmortem.read.{how}", obj=postmortem, after={"compartment": postmortem.incident.compartment_id}
        )


@transaction.atomic
def timeline_entry_add(*, actor: Any, postmortem: PostMortem, at: Any, text: str) -> TimelineEntry:
    """A moment the incident timeline missed (e.g. when a partner first noticed)."""
    locked = _lock_editable(postmortem)
    text = (text or "").strip()
    if not text:
        raise ValidationError.for_field("text", "A timeline entry needs text.")
    if len(text) > 5000:
        raise ValidationError.for_field("text", "Keep a timeline entry under 5,000 characters.")
    if not isinstance(at, dt.datetime) or timezone.is_naive(at):
        raise ValidationError.for_field("at", "Give the time of the entry.")
    if at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError.for_field("at", "A timeline entry cannot be in the future.")
    entry = TimelineEntry.objects.create(postmortem=locked, at=at, text=text, kind="manual")
    audit_record(actor=actor, action="postmortem.timeline_add", obj=locked, after={"entry": entry.pk, "at": at, "text": text})
    return entry


# --- sections -------------------------------------------------------------------------------


def _lock_editable(postmortem: PostMortem) -> PostMortem:
    locked = PostMortem.objects.select_for_update().get(pk=postmortem.pk)
    if not locked.is_editable:
        raise Conflict(
            f"This post-mortem is {locked.get_status_display().lower()} and read-only; a lead can reopen it.",
            extra={"status": locked.status},
        )
    return locked


EDITABLE_FIELDS = (*TEXT_SECTIONS, "title", "owner", "due_on")


@transaction.atomic
def postmortem_update(*, actor: Any, postmortem: PostMortem, version: int | None, data: dict[str, Any]) -> PostMortem:
    """Saves sections; `version` must match the one the writer loaded, or the save is refused (409)."""
    if not actor.has_perm(CHANGE_PERM) and postmortem.owner_id != actor.pk:
        raise Forbidden("Only the owner or an incident manager can edit this post-mortem.")
    locked = _lock_editable(postmortem)
    if version is None:
        raise ValidationError.for_field("version", "Send the version you loaded, so a concurrent edit is not overwritten.")
    if int(version) != locked.version:
        raise Conflict(
            "Someone else saved this post-mortem since you loaded it. Reload to see their changes.",
            extra={"current_version": locked.version},
        )
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError.for_field(name, f"'{name}' cannot be edited here.")
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field, value in data.items():
        if field in TEXT_SECTIONS:
            value = value or ""
            if not isinstance(value, str):
                raise ValidationError.for_field(field, "Must be text.")
            if len(value) > MAX_SECTION_CHARS:
                raise ValidationError.for_field(field, f"Keep this section under {MAX_SECTION_CHARS:,} characters.")
        elif field == "title":
            value = (value or "").strip()
            if not value:
                raise ValidationError.for_field("title", "A post-mortem needs a title.")
            if len(value) > 300:
                raise ValidationError.for_field("title", "Keep the title under 300 characters.")
        elif field == "owner":
            value = _user_or_error(value, field="owner", incident=locked.incident)
        elif field == "due_on":
            value = _date_or_error(value, field="due_on")
        current = getattr(locked, field)
        if current != value:
            before[field] = current.pk if field == "owner" and current else current
            after[field] = value.pk if field == "owner" and value else value
            setattr(locked, field, value)
    if after:
        locked.version += 1
        locked.save()
        audit_record(actor=actor, action="postmortem.update", obj=locked, before=before, after=after)
    return locked


def _user_or_error(value: Any, *, field: str, incident: Incident) -> Any:
    if value in (None, ""):
        raise ValidationError.for_field(field, "Choose an owner.")
    if isinstance(value, User):
        user = value
    else:
        try:
            user = User.objects.get(pk=int(value), is_active=True)
        except (TypeError, ValueError, User.DoesNotExist):
            raise ValidationError.for_field(field, "No such active user.") from None
    if not Incident.objects.visible_to(user).filter(pk=incident.pk).exists():
        raise ValidationError.for_field(field, "This person cannot see the incident, so they cannot own work on it.")
    return user


def _date_or_error(value: Any, *, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise ValidationError.for_field(field, "Enter a date as YYYY-MM-DD.") from None


# --- contributing factors -----------------------------------------------------------------------


@transaction.atomic
def factor_add(*, actor: Any, postmortem: PostMortem, category: str, description: str = "") -> ContributingFactor:
    locked = _lock_editable(postmortem)
    if category not in FactorCategory.values:
        raise ValidationError.for_field("category", f"Choose a category from the taxonomy: {', '.join(FactorCategory.values)}.")
    description = (description or "").strip()
    if len(description) > 5000:
        raise ValidationError.for_field("description", "Keep the description under 5,000 characters.")
    factor = ContributingFactor.objects.create(postmortem=locked, category=category, description=description)
    audit_record(actor=actor, action="postmortem.factor_add", obj=locked, after={"factor": factor.pk, "category": category})
    return factor


@transaction.atomic
def factor_remove(*, actor: Any, factor: ContributingFactor) -> None:
    locked = _lock_editable(factor.postmortem)
    audit_record(actor=actor, action="postmortem.factor_remove", obj=locked, before={"factor": factor.pk, "category": factor.category})
    factor.delete()


# --- review comments -----------------------------------------------------------------------------


@transaction.atomic
def comment_add(*, actor: Any, postmortem: PostMortem, section: str, body: str) -> ReviewComment:
    if not actor.has_perm(COMMENT_PERM):
        raise Forbidden("Your role does not allow review comments.")
    locked = PostMortem.objects.select_for_update().get(pk=postmortem.pk)
    if locked.status == PostMortemStatus.PUBLISHED:
        raise Conflict("This post-mortem is published; comments are closed.")
    if section not in Section.values:
        raise ValidationError.for_field("section", "Choose the section the comment is about.")
    body = (body or "").strip()
    if not body:
        raise ValidationError.for_field("body", "Write a comment.")
    if len(body) > 10_000:
        raise ValidationError.for_field("body", "Keep a comment under 10,000 characters.")
    comment = ReviewComment.objects.create(postmortem=locked, section=section, author=actor, body=body)
    audit_record(actor=actor, action="postmortem.comment", obj=locked, after={"comment": comment.pk, "section": section})
    return comment


# --- workflow ------------------------------------------------------------------------------------

TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "submit": ((PostMortemStatus.DRAFT,), PostMortemStatus.IN_REVIEW),
    "request_changes": ((PostMortemStatus.IN_REVIEW,), PostMortemStatus.DRAFT),
    "approve": ((PostMortemStatus.IN_REVIEW,), PostMortemStatus.APPROVED),
    "publish": ((PostMortemStatus.APPROVED,), PostMortemStatus.PUBLISHED),
    "reopen": ((PostMortemStatus.PUBLISHED, PostMortemStatus.APPROVED), PostMortemStatus.DRAFT),
}
LEAD_ACTIONS = ("request_changes", "approve", "publish", "reopen")
STEP_LABELS = {
    "submit": "Post-mortem submitted for review",
    "request_changes": "Post-mortem sent back to draft",
    "approve": "Post-mortem approved",
    "publish": "Post-mortem published",
    "reopen": "Post-mortem reopened",
}


def transitions_available(*, user: Any, postmortem: PostMortem) -> list[str]:
    out = []
    for action, (sources, _) in TRANSITIONS.items():
        if postmortem.status not in sources:
            continue
        if action in LEAD_ACTIONS and not user.has_perm(APPROVE_PERM):
            continue
        if action == "submit" and not (user.has_perm(CHANGE_PERM) or postmortem.owner_id == user.pk):
            continue
        if action == "approve" and postmortem.owner_id == user.pk and policy_current().forbid_self_approval:
            continue
        out.append(action)
    return out


@transaction.atomic
def postmortem_transition(*, actor: Any, postmortem: PostMortem, action: str, reason: str = "") -> PostMortem:
    if action not in TRANSITIONS:
        raise ValidationError.for_field("action", f"Unknown action; use one of: {', '.join(TRANSITIONS)}.")
    if action in LEAD_ACTIONS and not actor.has_perm(APPROVE_PERM):
        raise Forbidden("Only a lead can do this.")
    locked = PostMortem.objects.select_for_update(of=("self",)).select_related("incident").get(pk=postmortem.pk)
    if action == "submit" and not (actor.has_perm(CHANGE_PERM) or locked.owner_id == actor.pk):
        raise Forbidden("Only the owner or an incident manager can submit this post-mortem.")
    sources, target = TRANSITIONS[action]
    if locked.status not in sources:
        raise Conflict(
            f"Cannot {action.replace('_', ' ')} a post-mortem that is {locked.get_status_display().lower()}.",
            extra={"status": locked.status},
        )
    reason = (reason or "").strip()
    if len(reason) > 2000:
        raise ValidationError.for_field("reason", "Keep the reason under 2,000 characters.")
    if action == "submit" and not locked.summary.strip():
        raise ValidationError.for_field("summary", "Write the summary before submitting for review.")
    if action == "approve" and locked.owner_id == actor.pk and policy_current().forbid_self_approval:
        raise Conflict("You own this post-mortem; another lead must approve it.")
    if action in ("reopen", "request_changes") and not reason:
        raise ValidationError.for_field("reason", "Say why, so the owner knows what to change.")
    now = timezone.now()
    before = locked.status
    locked.status = target
    if action == "submit":
        locked.submitted_at = now
    elif action == "approve":
        locked.approved_at, locked.approved_by = now, actor
    elif action == "publish":
        locked.published_at, locked.published_by = now, actor
        # Publishing completes the post-mortem: its SLA clock (started when the incident
        # resolved) stops here, met or breached by its due time.
        sla_clocks_stop(incident_id=locked.incident_id, at=now, reason="post-mortem published", metrics={"postmortem"}, actor_id=actor.pk)
    elif action == "reopen":
        locked.approved_at = locked.approved_by = locked.published_at = locked.published_by = None
    locked.version += 1
    locked.save()
    audit_record(
        actor=actor,
        action=f"postmortem.{action}",
        obj=locked,
        before={"status": before},
        after={"status": target, **({"reason": reason} if reason else {})},
    )
    _timeline_step(
        incident=locked.incident,
        actor=actor,
        summary=STEP_LABELS[action],
        data={"postmortem_id": locked.pk, "from": before, "to": target, **({"reason": reason} if reason else {})},
    )
    return locked


# --- action items --------------------------------------------------------------------------------

_http_url = URLValidator(schemes=["http", "https"])


def _tracker_url_or_error(value: Any) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > 500:
        raise ValidationError.for_field("tracker_url", "Keep the link under 500 characters.")
    try:
        _http_url(value)
    except DjangoValidationError:
        raise ValidationError.for_field("tracker_url", "Enter a link starting with http:// or https://.") from None
    return value


def _item_fields(data: dict[str, Any], *, incident: Incident, today: dt.date, creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "title" in data or creating:
        title = (data.get("title") or "").strip()
        if not title:
            raise ValidationError.for_field("title", "Say what needs to be done.")
        if len(title) > 300:
            raise ValidationError.for_field("title", "Keep the title under 300 characters.")
        out["title"] = title
    if "owner" in data or creating:
        out["owner"] = _user_or_error(data.get("owner"), field="owner", incident=incident)
    if "due_on" in data or creating:
        if data.get("due_on") in (None, ""):
            raise ValidationError.for_field("due_on", "Set a due date.")
        due = _date_or_error(data["due_on"], field="due_on")
        if due < today:
            raise ValidationError.for_field("due_on", "The due date is in the past; choose today or later.")
        out["due_on"] = due
    if "priority" in data or creating:
        priority = data.get("priority") or ActionItemPriority.P2
        if priority not in ActionItemPriority.values:
            raise ValidationError.for_field("priority", "Priority is P1, P2 or P3.")
        out["priority"] = priority
    if "status" in data:
        if data["status"] not in ActionItemStatus.values:
            raise ValidationError.for_field("status", f"Status is one of: {', '.join(ActionItemStatus.values)}.")
        out["status"] = data["status"]
    if "tracker_url" in data:
        out["tracker_url"] = _tracker_url_or_error(data["tracker_url"])
    unknown = set(data) - {"title", "owner", "due_on", "priority", "status", "tracker_url"}
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError.for_field(name, f"'{name}' is not a field of an action item.")
    return out


@transaction.atomic
def action_item_create(*, actor: Any, postmortem: PostMortem, data: dict[str, Any], today: dt.date | None = None) -> ActionItem:
    if not actor.has_perm("postmortems.add_actionitem"):
        raise Forbidden("Your role does not allow adding action items.")
    locked = _lock_editable(postmortem)
    today = today or timezone.localdate()
    fields = _item_fields(data, incident=locked.incident, today=today, creating=True)
    item = ActionItem.objects.create(postmortem=locked, **fields)
    _reminders_schedule(item)
    audit_record(actor=actor, action="postmortem.action_item_create", obj=item, after=_item_audit(item))
    return item


def _item_audit(item: ActionItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "owner": item.owner_id,
        "due_on": item.due_on,
        "priority": item.priority,
        "status": item.status,
        "tracker_url": item.tracker_url,
    }


@transaction.atomic
def action_item_update(*, actor: Any, item: ActionItem, data: dict[str, Any], today: dt.date | None = None) -> ActionItem:
    """Action items are follow-up work: their status and link can change after the
    post-mortem is published; what they are (title, owner, due date) cannot."""
    item = ActionItem.objects.select_for_update(of=("self",)).select_related("postmortem__incident").get(pk=item.pk)
    if not (actor.has_perm(ITEM_CHANGE_PERM) or item.owner_id == actor.pk):
        raise Forbidden("Only the item's owner or an incident manager can change it.")
    today = today or timezone.localdate()
    definition = {"title", "owner", "due_on", "priority"} & set(data)
    if definition and not item.postmortem.is_editable:
        raise Conflict("The post-mortem is read-only: only status and link of its action items can change.")
    if "due_on" in data and data["due_on"] not in (None, "") and _date_or_error(data["due_on"], field="due_on") == item.due_on:
        data = {k: v for k, v in data.items() if k != "due_on"}  # an unchanged past due date is not a new past date
    fields = _item_fields(data, incident=item.postmortem.incident, today=today, creating=False)
    before = _item_audit(item)
    for key, value in fields.items():
        setattr(item, key, value)
    if "status" in fields:
        item.completed_at = timezone.now() if fields["status"] == ActionItemStatus.DONE else None
    item.save()
    _reminders_schedule(item)
    audit_record(actor=actor, action="postmortem.action_item_update", obj=item, before=before, after=_item_audit(item))
    return item


# --- reminders -----------------------------------------------------------------------------------


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(REMINDER_HOUR_UTC), tzinfo=dt.UTC)


def _reminders_schedule(item: ActionItem) -> None:
    """Keeps the pending reminder rows in step with the item: rows for another due date or
    for a closed item are skipped; the rows for the current due date exist once."""
    now = timezone.now()
    pending = ActionItemReminder.objects.filter(item=item, sent_at__isnull=True, skipped_at__isnull=True)
    if not item.is_open:
        pending.update(skipped_at=now, skip_reason="item closed")
        return
    pending.exclude(item_due_on=item.due_on).update(skipped_at=now, skip_reason="due date changed")
    policy = policy_current()
    wanted = [
        (ReminderKind.BEFORE_DUE, 0, _at(item.due_on - dt.timedelta(days=policy.reminder_days_before))),
        (ReminderKind.OVERDUE, 0, _at(item.due_on + dt.timedelta(days=1))),
    ]
    for kind, sequence, due_at in wanted:
        row, created = ActionItemReminder.objects.get_or_create(
            item=item, kind=kind, item_due_on=item.due_on, sequence=sequence, defaults={"due_at": due_at}
        )
        if not created and row.sent_at is None and row.skipped_at is not None:
            row.skipped_at, row.skip_reason = None, ""
            row.save(update_fields=["skipped_at", "skip_reason"])


def _reminder_texts(reminder: ActionItemReminder, url: str) -> tuple[str, str, str]:
    item = reminder.item
    incident = item.postmortem.incident
    when = (
        "is due on " + item.due_on.isoformat()
        if reminder.kind == ReminderKind.BEFORE_DUE
        else "is overdue (was due " + item.due_on.isoformat() + ")"
    )
    if incident.compartment_id is not None:
        # Restricted incidents: nothing about the work or the incident leaves the app.
        text = f"An action item assigned to you {when}."
        subject = "[Firebreak] An action item needs your attention"
    else:
        text = f"Action item “{item.title}” ({incident.reference}) {when}."
        subject = f"[Firebreak] Action item {'overdue' if reminder.kind == ReminderKind.OVERDUE else 'due soon'}: {item.title}"[:200]
    body = f"{text}\n\nOpen it in Firebreak: {url}\n"
    return text[:500], subject, body


def reminders_deliver_due(*, now: dt.datetime, batch_size: int = 200) -> int:
    """Claims due reminder rows (SKIP LOCKED, so parallel ticks never take the same row),
    notifies in the app, queues the email after commit and marks each row sent in the same
    transaction. Returns how many were sent."""
    sent = 0
    with transaction.atomic():
        rows = list(
            ActionItemReminder.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(sent_at__isnull=True, skipped_at__isnull=True, due_at__lte=now)
            .select_related("item__owner", "item__postmortem__incident")
            .order_by("due_at", "id")[:batch_size]
        )
        policy = policy_current() if rows else None
        for reminder in rows:
            item = reminder.item
            incident = item.postmortem.incident
            if not item.is_open or item.due_on != reminder.item_due_on:
                reminder.skipped_at, reminder.skip_reason = now, "no longer due"
                reminder.save(update_fields=["skipped_at", "skip_reason"])
                continue
            owner = item.owner
            if not owner.is_active or not Incident.objects.visible_to(owner).filter(pk=incident.pk).exists():
                reminder.skipped_at, reminder.skip_reason = now, "owner cannot see the incident"
                reminder.save(update_fields=["skipped_at", "skip_reason"])
                continue
            url = f"{settings.FIREBREAK_BASE_URL}/postmortems/{item.postmortem_id}/#item-{item.pk}"
            text, subject, body = _reminder_texts(reminder, url)
            notification_create(user=owner, incident=incident, kind=f"action_item_{reminder.kind}", text=text, url=url)
            if owner.email:
                transaction.on_commit(_send_email(subject, body, owner.email, reminder.idempotency_key), robust=True)
            reminder.sent_at = now
            reminder.save(update_fields=["sent_at"])
            if reminder.kind == ReminderKind.OVERDUE and policy is not None:
                ActionItemReminder.objects.get_or_create(
                    item=item,
                    kind=ReminderKind.OVERDUE,
                    item_due_on=item.due_on,
                    sequence=reminder.sequence + 1,
                    defaults={"due_at": reminder.due_at + dt.timedelta(days=policy.overdue_repeat_days)},
                )
            sent += 1
    return sent


def _send_email(subject: str, body: str, to: str, key: str):
    def send() -> None:
        message = EmailMessage(subject=subject, body=body, to=[to], headers={"X-Firebreak-Idempotency-Key": key})
        message.send(fail_silently=False)

    return send
