"""Writes for working on an incident together. Each function is one transaction that
records its audit entry (and, for incident events, a timeline entry) alongside the change.

Callers have already established that the actor may see the incident
(selectors.incident_get_visible); these functions check what the actor may *do*."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.core.validators import URLValidator
from django.db import transaction

from accounts.models import Team, User
from core.audit import audit_record
from core.errors import Conflict, Forbidden, ValidationError
from core.time import db_now
from incidents import selectors_collab
from incidents.models import Incident
from incidents.models_collab import (
    OUTBOUND_AUDIENCES,
    Evidence,
    EvidenceKind,
    EvidenceView,
    IncidentSubscription,
    LegalBasis,
    MitigationAction,
    MitigationKind,
    StakeholderUpdate,
    Task,
    TaskStatus,
    UpdateAudience,
    UpdateStatus,
    WellbeingSettings,
)
from incidents.permissions import can_view
from incidents.services import incident_record_milestone, notification_create, render_markdown, timeline_record

logger = logging.getLogger(__name__)

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
CAPTURED_MAX_CHARS = 20_000
APPROVER_TEAM_FUNCTIONS = ("legal", "comms")

# What may be uploaded, recognised by the file's first bytes (never by its name alone).
# SVG and HTML are absent on purpose: both can carry script.
_SIGNATURES: list[tuple[str, bytes, int]] = [
    ("image/png", b"\x89PNG\r\n\x1a\n", 0),
    ("image/jpeg", b"\xff\xd8\xff", 0),
    ("image/gif", b"GIF87a", 0),
    ("image/gif", b"GIF89a", 0),
    ("application/pdf", b"%PDF-", 0),
    ("video/mp4", b"ftyp", 4),
]
_EXTENSIONS = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "pdf": "application/pdf",
    "mp4": "video/mp4",
    "m4v": "video/mp4",
    "mov": "video/mp4",
    "txt": "text/plain",
    "csv": "text/plain",
    "log": "text/plain",
    "eml": "text/plain",
}
ALLOWED_CONTENT_TYPES = sorted({t for t, _, _ in _SIGNATURES} | {"image/webp", "text/plain"})


# --- shared helpers -------------------------------------------------------------------


def _now(at: datetime | None) -> datetime:
    return at or db_now()


def _require(actor: User, perm: str, what: str) -> None:
    if not actor.has_perm(perm):
        raise Forbidden(f"Your role does not allow you to {what}.")


def _check_version(obj: Any, version: int | None) -> None:
    if version is not None and int(version) != obj.version:
        raise Conflict(
            "Someone else changed this in the meantime; reload and try again.",
            extra={"current_version": obj.version},
        )


def _incident_url(incident: Incident) -> str:
    return f"/incidents/{incident.pk}/"


def sniff_content_type(head: bytes) -> str | None:
    for content_type, signature, offset in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sample is still text.
            if exc.start < len(head) - 3:
                return None
        return "text/plain"
    return None


# --- tasks ------------------------------------------------------------------------------


def _validate_assignee(incident: Incident, assignee: User | None, assignee_team: Team | None) -> None:
    if assignee is not None and assignee_team is not None:
        raise ValidationError.for_field("assignee", "Assign the task to a person or to a team, not both.")
    if assignee is not None and not can_view(assignee, incident):
        # Assigning would tell someone about an incident they may not see.
        raise ValidationError.for_field("assignee", f"{assignee} cannot see this incident; invite them first.")


def _task_snapshot(task: Task) -> dict[str, Any]:
    return {
        "title": task.title,
        "status": task.status,
        "assignee": task.assignee_id,
        "assignee_team": task.assignee_team_id,
        "due_at": task.due_at.isoformat() if task.due_at else None,
    }


def _notify_assignee(*, task: Task, actor: User) -> None:
    if task.assignee is not None and task.assignee != actor:
        notification_create(
            user=task.assignee,
            incident=task.incident,
            kind="task_assigned",
            text=f"{actor} assigned you a task on {task.incident.reference}: {task.title}"[:500],
            url=_incident_url(task.incident),
        )


@transaction.atomic
def task_create(
    *,
    actor: User,
    incident: Incident,
    title: str,
    detail: str = "",
    assignee: User | None = None,
    assignee_team: Team | None = None,
    due_at: datetime | None = None,
    at: datetime | None = None,
) -> Task:
    _require(actor, "incidents.add_task", "add tasks")
    title = (title or "").strip()
    if not title:
        raise ValidationError.for_field("title", "Give the task a title.")
    _validate_assignee(incident, assignee, assignee_team)
    now = _now(at)
    task = Task.objects.create(
        incident=incident,
        title=title[:300],
        detail=detail or "",
        assignee=assignee,
        assignee_team=assignee_team,
        due_at=due_at,
        created_by=actor,
        created_at=now,
    )
    who = assignee or assignee_team
    timeline_record(
        incident=incident,
        kind="task",
        actor=actor,
        summary=f"Task added: {task.title}" + (f" (assigned to {who})" if who else ""),
        data={"task_id": task.pk, "action": "created", **_task_snapshot(task)},
        at=now,
    )
    audit_record(actor=actor, action="task.create", obj=task, after=_task_snapshot(task))
    _notify_assignee(task=task, actor=actor)
    return task


_UNSET: Any = object()


@transaction.atomic
def task_update(
    *,
    actor: User,
    task: Task,
    version: int | None = None,
    title: str = _UNSET,
    detail: str = _UNSET,
    assignee: User | None = _UNSET,
    assignee_team: Team | None = _UNSET,
    due_at: datetime | None = _UNSET,
    status: str = _UNSET,
    at: datetime | None = None,
) -> Task:
    _require(actor, "incidents.change_task", "change tasks")
    task = Task.objects.select_for_update().select_related("incident").get(pk=task.pk)
    _check_version(task, version)
    before = _task_snapshot(task)
    previous_assignee = task.assignee_id
    if title is not _UNSET:
        title = (title or "").strip()
        if not title:
            raise ValidationError.for_field("title", "Give the task a title.")
        task.title = title[:300]
    detail_changed = detail is not _UNSET and (detail or "") != task.detail
    if detail_changed:
        task.detail = detail or ""
    if assignee is not _UNSET:
        task.assignee = assignee
        if assignee is not None and assignee_team is _UNSET:
            task.assignee_team = None
    if assignee_team is not _UNSET:
        task.assignee_team = assignee_team
        if assignee_team is not None and assignee is _UNSET:
            task.assignee = None
    if due_at is not _UNSET:
        task.due_at = due_at
    if status is not _UNSET:
        if status not in TaskStatus.values:
            raise ValidationError.for_field("status", f"Status must be one of: {', '.join(TaskStatus.values)}.")
        task.status = status
    _validate_assignee(task.incident, task.assignee, task.assignee_team)
    now = _now(at)
    if task.is_closed and task.completed_at is None:
        task.completed_at = now
    elif not task.is_closed:
        task.completed_at = None
    after = _task_snapshot(task)
    if after == before and not detail_changed:
        return task
    task.version += 1
    task.save()
    changed = sorted(k for k in after if after[k] != before[k]) + (["detail"] if detail_changed else [])
    if after["status"] != before["status"]:
        summary = f"Task {task.get_status_display().lower()}: {task.title}"
    else:
        summary = f"Task updated: {task.title}" + (f" ({', '.join(changed)})" if changed else "")
    timeline_record(
        incident=task.incident,
        kind="task",
        actor=actor,
        summary=summary,
        data={"task_id": task.pk, "action": "updated", "before": before, "after": after},
        at=now,
    )
    audit_record(actor=actor, action="task.update", obj=task, before=before, after=after)
    if task.assignee_id != previous_assignee:
        _notify_assignee(task=task, actor=actor)
    return task


def task_complete(*, actor: User, task: Task, version: int | None = None, at: datetime | None = None) -> Task:
    return task_update(actor=actor, task=task, version=version, status=TaskStatus.DONE, at=at)


# --- mitigation actions -------------------------------------------------------------------


def _clean_countries(countries: Any) -> list[str]:
    if countries in (None, ""):
        return []
    if isinstance(countries, str):
        countries = [c for c in re.split(r"[\s,]+", countries) if c]
    if not isinstance(countries, list | tuple):
        raise ValidationError.for_field("countries", "Give countries as a list of ISO 3166-1 alpha-2 codes.")
    cleaned = []
    for code in countries:
        code = str(code).strip().upper()
        if not COUNTRY_RE.match(code):
            raise ValidationError.for_field("countries", f"'{code}' is not an ISO 3166-1 alpha-2 country code (e.g. DE, IN).")
        if code not in cleaned:
            cleaned.append(code)
    return cleaned


@transaction.atomic
def mitigation_record(
    *,
    actor: User,
    incident: Incident,
    kind: str,
    count: int = 0,
    countries: Any = None,
    detail: str = "",
    at: datetime | None = None,
    now: datetime | None = None,
) -> MitigationAction:
    """Record a mitigation; the first one of an incident sets its mitigated time."""
    _require(actor, "incidents.add_mitigationaction", "record mitigation actions")
    if kind not in MitigationKind.values:
        raise ValidationError.for_field("kind", f"Kind must be one of: {', '.join(MitigationKind.values)}.")
    try:
        count = int(count)
    except (TypeError, ValueError):
        raise ValidationError.for_field("count", "Count must be a whole number.") from None
    if count < 0 or count > 2_000_000_000:
        raise ValidationError.for_field("count", "Count must be between 0 and 2,000,000,000.")
    cleaned_countries = _clean_countries(countries)
    if kind == MitigationKind.GEO_RESTRICTED and not cleaned_countries:
        raise ValidationError.for_field("countries", "Name the countries where the content was restricted.")
    now = _now(now)
    at = at or now
    if at > now + timedelta(minutes=2):
        raise ValidationError.for_field("at", "A mitigation cannot take effect in the future.")
    # Lock the incident so two first mitigations cannot both claim the milestone.
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    action = MitigationAction.objects.create(
        incident=incident,
        kind=kind,
        count=count,
        countries=cleaned_countries,
        detail=detail or "",
        at=at,
        actor=actor,
        created_at=now,
    )
    label = (
        f"{action.get_kind_display()}"
        + (f" ×{count}" if count else "")
        + (f" in {', '.join(cleaned_countries)}" if cleaned_countries else "")
    )
    snapshot = {"kind": kind, "count": count, "countries": cleaned_countries, "at": at.isoformat()}
    timeline_record(
        incident=incident,
        kind="mitigation",
        actor=actor,
        summary=f"Mitigation: {label}",
        data={"mitigation_id": action.pk, **snapshot},
        at=at,
    )
    audit_record(actor=actor, action="mitigation.record", obj=action, after=snapshot)
    # Once per response cycle: the milestone service ignores repeats.
    incident_record_milestone(
        actor=actor, incident=incident, milestone="mitigated", data={"at": at.isoformat(), "mitigation_id": action.pk}
    )
    return action


# --- subscriptions and stakeholder updates --------------------------------------------------


@transaction.atomic
def subscription_set(*, actor: User, incident: Incident, subscribed: bool) -> bool:
    if subscribed:
        _, created = IncidentSubscription.objects.get_or_create(incident=incident, user=actor)
        if created:
            audit_record(actor=actor, action="incident.subscribe", obj=incident)
    else:
        deleted, _ = IncidentSubscription.objects.filter(incident=incident, user=actor).delete()
        if deleted:
            audit_record(actor=actor, action="incident.unsubscribe", obj=incident)
    return subscribed


def can_approve_outbound(user: User) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_perm("incidents.approve_outbound"):
        return True
    return user.teams.filter(function__in=APPROVER_TEAM_FUNCTIONS).exists()


def approved_text_hash(update: StakeholderUpdate) -> str:
    canonical = json.dumps(
        {"audience": update.audience, "recipient": update.recipient, "subject": update.subject, "body": update.body},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _render(body: str) -> str:
    return render_markdown(body)


def _update_snapshot(update: StakeholderUpdate) -> dict[str, Any]:
    return {
        "audience": update.audience,
        "status": update.status,
        "recipient": update.recipient,
        "subject": update.subject,
        "body_sha256": hashlib.sha256(update.body.encode("utf-8")).hexdigest(),
    }


def _notify_subscribers(*, update: StakeholderUpdate, actor: User) -> int:
    incident = update.incident
    subscribers = list(User.objects.filter(incident_subscriptions__incident=incident, is_active=True).exclude(pk=actor.pk).order_by("pk"))
    recipients = [u for u in subscribers if can_view(u, incident)]
    text = f"Status update on {incident.reference}" + (f": {update.subject}" if update.subject else "")
    for user in recipients:
        notification_create(user=user, incident=incident, kind="status_update", text=text[:500], url=_incident_url(incident))
    emails = [u.email for u in recipients if u.email]
    if emails:
        link = f"{settings.FIREBREAK_BASE_URL}{_incident_url(incident)}"
        if incident.is_restricted:
            # Mail leaves the access controls behind: a restricted incident's mail says only where to look.
            subject = f"[Firebreak] New status update on {incident.reference}"
            message = f"There is a new status update on {incident.reference}. Open Firebreak to read it:\n{link}\n"
        else:
            subject = f"[Firebreak] {incident.reference} {update.subject or incident.title}"[:200]
            message = f"{update.body}\n\n— {actor}\n{link}\n"
        transaction.on_commit(lambda: _send_update_mail(subject, message, emails), robust=True)
    return len(recipients)


def _send_update_mail(subject: str, message: str, emails: list[str]) -> None:
    for address in emails:
        try:
            send_mail(subject, message, settings.DEFAULT_FROM_EMAIL, [address])
        except Exception:  # one bad mailbox must not stop the others
            logger.exception("status update mail to %s failed", address)


def _notify_approvers(*, update: StakeholderUpdate, actor: User) -> None:
    """Legal and Comms hear of a draft waiting for them (only those who can see the incident)."""
    approvers = User.objects.filter(is_active=True, teams__function__in=APPROVER_TEAM_FUNCTIONS).exclude(pk=actor.pk).distinct()
    text = f"{update.get_audience_display()} response on {update.incident.reference} awaits approval"
    for user in approvers.order_by("pk"):
        notification_create(user=user, incident=update.incident, kind="outbound_draft", text=text, url=_incident_url(update.incident))


@transaction.atomic
def stakeholder_update_create(
    *,
    actor: User,
    incident: Incident,
    audience: str,
    body: str,
    recipient: str = "",
    subject: str = "",
    at: datetime | None = None,
) -> StakeholderUpdate:
    """An internal update is posted to subscribers at once; an outbound one starts as a draft."""
    _require(actor, "incidents.add_stakeholderupdate", "write stakeholder updates")
    if audience not in UpdateAudience.values:
        raise ValidationError.for_field("audience", f"Audience must be one of: {', '.join(UpdateAudience.values)}.")
    body = (body or "").strip()
    if not body:
        raise ValidationError.for_field("body", "Write the update.")
    recipient = (recipient or "").strip()[:300]
    if audience in OUTBOUND_AUDIENCES and not recipient:
        raise ValidationError.for_field("recipient", "Name who receives this response (authority, partner or outlet).")
    now = _now(at)
    internal = audience == UpdateAudience.INTERNAL
    update = StakeholderUpdate.objects.create(
        incident=incident,
        audience=audience,
        recipient=recipient,
        subject=(subject or "").strip()[:300],
        body=body,
        body_html=_render(body),
        status=UpdateStatus.SENT if internal else UpdateStatus.DRAFT,
        author=actor,
        created_at=now,
        sent_by=actor if internal else None,
        sent_at=now if internal else None,
    )
    if internal:
        notified = _notify_subscribers(update=update, actor=actor)
        summary = "Status update posted" + (f": {update.subject}" if update.subject else "")
        data = {"update_uid": str(update.uid), "action": "posted", "notified": notified}
    else:
        summary = f"{update.get_audience_display()} response drafted for {recipient}"
        data = {"update_uid": str(update.uid), "action": "drafted", "audience": audience}
        _notify_approvers(update=update, actor=actor)
    timeline_record(incident=incident, kind="stakeholder_update", actor=actor, summary=summary[:1000], data=data, at=now)
    audit_record(actor=actor, action="stakeholder_update.create", obj=update, after=_update_snapshot(update))
    return update


@transaction.atomic
def stakeholder_update_edit(
    *,
    actor: User,
    update: StakeholderUpdate,
    version: int | None = None,
    body: str | None = None,
    recipient: str | None = None,
    subject: str | None = None,
    at: datetime | None = None,
) -> StakeholderUpdate:
    """Edit an outbound draft. Editing an approved response withdraws the approval."""
    _require(actor, "incidents.change_stakeholderupdate", "edit stakeholder updates")
    update = StakeholderUpdate.objects.select_for_update().select_related("incident").get(pk=update.pk)
    _check_version(update, version)
    if not update.is_outbound:
        raise Conflict("Internal status updates are posted as written; post a new update instead.")
    if update.status == UpdateStatus.SENT:
        raise Conflict("This response was already sent; draft a follow-up instead.", extra={"status": update.status})
    before = _update_snapshot(update)
    if body is not None:
        body = body.strip()
        if not body:
            raise ValidationError.for_field("body", "Write the response.")
        update.body = body
        update.body_html = _render(body)
    if recipient is not None:
        recipient = recipient.strip()[:300]
        if not recipient:
            raise ValidationError.for_field("recipient", "Name who receives this response.")
        update.recipient = recipient
    if subject is not None:
        update.subject = subject.strip()[:300]
    if approved_text_hash(update) == (update.approved_hash or None) or _update_snapshot(update) == before:
        return update
    withdrawn = update.status == UpdateStatus.APPROVED
    if withdrawn:
        update.status = UpdateStatus.DRAFT
        update.approved_by = None
        update.approved_at = None
        update.approved_hash = ""
    update.version += 1
    update.save()
    now = _now(at)
    summary = f"{update.get_audience_display()} response edited" + (" — approval withdrawn, back to draft" if withdrawn else "")
    timeline_record(
        incident=update.incident,
        kind="stakeholder_update",
        actor=actor,
        summary=summary,
        data={"update_uid": str(update.uid), "action": "edited", "approval_withdrawn": withdrawn},
        at=now,
    )
    audit_record(actor=actor, action="stakeholder_update.edit", obj=update, before=before, after=_update_snapshot(update))
    return update


@transaction.atomic
def stakeholder_update_approve(
    *, actor: User, update: StakeholderUpdate, version: int | None = None, at: datetime | None = None
) -> StakeholderUpdate:
    if not can_approve_outbound(actor):
        raise Forbidden("Only Legal or Comms (or someone with the approve-outbound permission) can approve outbound responses.")
    update = StakeholderUpdate.objects.select_for_update().select_related("incident").get(pk=update.pk)
    _check_version(update, version)
    if not update.is_outbound:
        raise Conflict("Internal status updates need no approval.")
    if update.author_id == actor.pk:
        raise Forbidden("You wrote this response; someone else must approve it.")
    if update.status != UpdateStatus.DRAFT:
        raise Conflict(f"This response is already {update.get_status_display().lower()}.", extra={"status": update.status})
    now = _now(at)
    update.status = UpdateStatus.APPROVED
    update.approved_by = actor
    update.approved_at = now
    update.approved_hash = approved_text_hash(update)
    update.version += 1
    update.save()
    timeline_record(
        incident=update.incident,
        kind="stakeholder_update",
        actor=actor,
        summary=f"{update.get_audience_display()} response to {update.recipient} approved",
        data={"update_uid": str(update.uid), "action": "approved", "text_sha256": update.approved_hash},
        at=now,
    )
    audit_record(
        actor=actor,
        action="stakeholder_update.approve",
        obj=update,
        after={"status": update.status, "approved_hash": update.approved_hash, "approved_at": now},
    )
    if update.author is not None:
        notification_create(
            user=update.author,
            incident=update.incident,
            kind="outbound_approved",
            text=f"{actor} approved your {update.get_audience_display().lower()} response on {update.incident.reference}",
            url=_incident_url(update.incident),
        )
    return update


@transaction.atomic
def stakeholder_update_send(
    *, actor: User, update: StakeholderUpdate, reference: str = "", version: int | None = None, at: datetime | None = None
) -> StakeholderUpdate:
    """Mark an approved outbound response as sent (it leaves through the team's own channel)."""
    _require(actor, "incidents.change_stakeholderupdate", "mark responses as sent")
    update = StakeholderUpdate.objects.select_for_update().select_related("incident").get(pk=update.pk)
    _check_version(update, version)
    if not update.is_outbound:
        raise Conflict("Internal status updates are posted when written.")
    if update.status == UpdateStatus.SENT:
        raise Conflict("This response was already marked as sent.", extra={"status": update.status})
    if update.status != UpdateStatus.APPROVED:
        raise Conflict(
            "This response has not been approved yet; Legal or Comms must approve it before it is sent.", extra={"status": update.status}
        )
    if approved_text_hash(update) != update.approved_hash:
        raise Conflict("The text differs from what was approved; it needs a new approval.", extra={"status": update.status})
    now = _now(at)
    update.status = UpdateStatus.SENT
    update.sent_by = actor
    update.sent_at = now
    update.sent_reference = (reference or "").strip()[:200]
    update.version += 1
    update.save()
    timeline_record(
        incident=update.incident,
        kind="stakeholder_update",
        actor=actor,
        summary=f"{update.get_audience_display()} response sent to {update.recipient}",
        data={"update_uid": str(update.uid), "action": "sent", "text_sha256": update.approved_hash, "reference": update.sent_reference},
        at=now,
    )
    audit_record(actor=actor, action="stakeholder_update.send", obj=update, after={"status": update.status, "sent_at": now})
    if update.audience == UpdateAudience.REGULATOR:
        incident_record_milestone(
            actor=actor, incident=update.incident, milestone="answer_sent", data={"at": now.isoformat(), "update_uid": str(update.uid)}
        )
    return update


# --- evidence -------------------------------------------------------------------------------


def is_csea(incident: Incident) -> bool:
    return incident.harm_category.slug == "csea" or (incident.compartment is not None and incident.compartment.slug == "csea")


CSEA_REFUSAL = (
    "Files cannot be uploaded for CSEA incidents: apparent child sexual abuse material is never stored in Firebreak. "
    "Record the hash and the platform reference only."
)


def preservation_end(*, incident: Incident, legal_basis: str, at: datetime) -> datetime | None:
    if legal_basis == LegalBasis.TCO:
        return at + relativedelta(months=6)  # TCO Regulation Art. 6
    if legal_basis == LegalBasis.NCMEC:
        return at + relativedelta(years=1)  # 18 U.S.C. 2258A(h) as amended by the REPORT Act
    return None


def evidence_max_bytes() -> int:
    return int(getattr(settings, "EVIDENCE_MAX_BYTES", 25 * 1024 * 1024))


def _check_upload(upload: UploadedFile) -> tuple[str, str, int]:
    """Size and type limits; returns (content type, sha256, size)."""
    limit = evidence_max_bytes()
    if upload.size is not None and upload.size > limit:
        raise ValidationError.for_field("file", f"The file is {upload.size:,} bytes; the limit is {limit:,} bytes.")
    upload.seek(0)
    head = upload.read(512)
    if not head:
        raise ValidationError.for_field("file", "The file is empty.")
    content_type = sniff_content_type(head)
    if content_type is None:
        raise ValidationError.for_field(
            "file", "This kind of file is not accepted. Allowed: PNG, JPEG, GIF, WebP, PDF, MP4 video and plain text."
        )
    name = upload.name or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension and _EXTENSIONS.get(extension, content_type) != content_type:
        raise ValidationError.for_field(
            "file", f"The file's name says .{extension} but its content is {content_type}; rename or re-export it."
        )
    if content_type == "text/plain":
        # Text has no signature: only named text types count, and markup (HTML, SVG, XML) never does.
        if extension and extension not in _EXTENSIONS:
            raise ValidationError.for_field("file", f".{extension} files are not accepted; plain text must be .txt, .csv, .log or .eml.")
        if head.lstrip()[:1] == b"<":
            raise ValidationError.for_field("file", "Markup (HTML, SVG, XML) is not accepted; save the page as PDF or a screenshot.")
    digest = hashlib.sha256()
    upload.seek(0)
    size = 0
    for chunk in upload.chunks():
        size += len(chunk)
        if size > limit:
            raise ValidationError.for_field("file", f"The file is larger than the limit of {limit:,} bytes.")
        digest.update(chunk)
    upload.seek(0)
    return content_type, digest.hexdigest(), size


def _clean_evidence_input(
    *, incident: Incident, kind: str, url: str, platform_id: str, sha256: str, captured: Any, upload: UploadedFile | None
) -> tuple[str, str, str, dict]:
    if kind not in EvidenceKind.values:
        raise ValidationError.for_field("kind", f"Kind must be one of: {', '.join(EvidenceKind.values)}.")
    if upload is not None and is_csea(incident):
        raise ValidationError.for_field("file", CSEA_REFUSAL)
    if kind == EvidenceKind.FILE and is_csea(incident):
        raise ValidationError.for_field("kind", CSEA_REFUSAL)
    url = (url or "").strip()
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except DjangoValidationError:
            raise ValidationError.for_field("url", "Enter a full http(s) address.") from None
    platform_id = (platform_id or "").strip()[:200]
    sha256 = (sha256 or "").strip().lower()
    if sha256 and not SHA256_RE.match(sha256):
        raise ValidationError.for_field("sha256", "A SHA-256 is 64 hexadecimal characters.")
    if captured in (None, ""):
        captured = {}
    if isinstance(captured, str):
        try:
            captured = json.loads(captured)
        except ValueError:
            raise ValidationError.for_field("captured", "Captured metadata must be a JSON object.") from None
    if not isinstance(captured, dict):
        raise ValidationError.for_field("captured", "Captured metadata must be a JSON object.")
    if len(json.dumps(captured)) > CAPTURED_MAX_CHARS:
        raise ValidationError.for_field("captured", f"Captured metadata is limited to {CAPTURED_MAX_CHARS:,} characters.")
    if kind == EvidenceKind.FILE and upload is None:
        raise ValidationError.for_field("file", "Choose a file to upload.")
    if kind != EvidenceKind.FILE and upload is not None:
        raise ValidationError.for_field("file", "Only evidence of kind 'file' carries a file.")
    if kind == EvidenceKind.HASH_ONLY and not sha256:
        raise ValidationError.for_field("sha256", "Hash-only evidence needs its SHA-256.")
    if kind in (EvidenceKind.HASH_ONLY, EvidenceKind.CONTENT_ITEM) and not (url or platform_id):
        raise ValidationError.for_field("platform_id", "Give the platform reference: the content's URL or its platform id.")
    return url, platform_id, sha256, captured


@transaction.atomic
def evidence_add(
    *,
    actor: User,
    incident: Incident,
    kind: str,
    title: str = "",
    url: str = "",
    platform_id: str = "",
    sha256: str = "",
    captured: Any = None,
    upload: UploadedFile | None = None,
    graphic: bool = False,
    legal_basis: str = LegalBasis.NONE,
    at: datetime | None = None,
) -> Evidence:
    _require(actor, "incidents.add_evidence", "add evidence")
    url, platform_id, sha256, captured = _clean_evidence_input(
        incident=incident, kind=kind, url=url, platform_id=platform_id, sha256=sha256, captured=captured, upload=upload
    )
    legal_basis = legal_basis or LegalBasis.NONE
    if legal_basis not in LegalBasis.values:
        raise ValidationError.for_field("legal_basis", f"Legal basis must be one of: {', '.join(LegalBasis.values)}.")
    now = _now(at)
    evidence = Evidence(
        incident=incident,
        kind=kind,
        title=(title or "").strip()[:300],
        url=url,
        platform_id=platform_id,
        sha256=sha256,
        captured=captured,
        graphic=bool(graphic),
        legal_basis=legal_basis,
        preservation_until=preservation_end(incident=incident, legal_basis=legal_basis, at=now),
        created_by=actor,
        created_at=now,
    )
    if upload is not None:
        content_type, digest, size = _check_upload(upload)
        if sha256 and sha256 != digest:
            raise ValidationError.for_field("sha256", "The SHA-256 given does not match the uploaded file.")
        evidence.sha256 = digest
        evidence.content_type = content_type
        evidence.size = size
        evidence.file_name = (upload.name or "").rsplit("/", 1)[-1][:255]
        evidence.file.save("upload", upload, save=False)
    try:
        return _evidence_record(actor=actor, incident=incident, evidence=evidence, now=now)
    except BaseException:
        # The file was written before the row; a row that never exists must not leave it behind.
        if evidence.file and evidence.file.name:
            evidence.file.storage.delete(evidence.file.name)
        raise


def _evidence_record(*, actor: User, incident: Incident, evidence: Evidence, now: datetime) -> Evidence:
    evidence.save()
    snapshot = {
        "uid": str(evidence.uid),
        "kind": evidence.kind,
        "sha256": evidence.sha256,
        "platform_id": evidence.platform_id,
        "url": evidence.url,
        "graphic": evidence.graphic,
        "legal_basis": evidence.legal_basis,
        "preservation_until": evidence.preservation_until,
        "content_type": evidence.content_type,
        "size": evidence.size,
    }
    timeline_record(
        incident=incident,
        kind="evidence",
        actor=actor,
        summary=f"Evidence added: {evidence.get_kind_display()}"
        + (f" — {evidence.title}" if evidence.title else "")
        + (" (graphic)" if evidence.graphic else ""),
        data={"evidence_uid": str(evidence.uid), "action": "added", "sha256": evidence.sha256, "kind": evidence.kind},
        at=now,
    )
    audit_record(actor=actor, action="evidence.add", obj=evidence, after=snapshot, legal_hold=incident.legal_hold)
    return evidence


@transaction.atomic
def evidence_delete(*, actor: User, evidence: Evidence, at: datetime | None = None) -> Evidence:
    _require(actor, "incidents.delete_evidence", "delete evidence")
    evidence = Evidence.objects.select_for_update().select_related("incident").get(pk=evidence.pk)
    if evidence.deleted_at is not None:
        return evidence
    now = _now(at)
    if evidence.incident.legal_hold:
        raise Conflict(
            "The incident is under legal hold: its evidence cannot be deleted until the hold is lifted.", extra={"legal_hold": True}
        )
    if evidence.preservation_until and evidence.preservation_until > now:
        until = evidence.preservation_until
        raise Conflict(
            f"This evidence must be preserved until {until:%Y-%m-%d %H:%M} UTC ({evidence.get_legal_basis_display()}); "
            "it cannot be deleted before then.",
            extra={"preservation_until": until.isoformat()},
        )
    stored = evidence.file.name if evidence.file else ""
    evidence.deleted_at = now
    evidence.deleted_by = actor
    evidence.save(update_fields=["deleted_at", "deleted_by"])
    timeline_record(
        incident=evidence.incident,
        kind="evidence",
        actor=actor,
        summary=f"Evidence deleted: {evidence.get_kind_display()}" + (f" — {evidence.title}" if evidence.title else ""),
        data={"evidence_uid": str(evidence.uid), "action": "deleted", "sha256": evidence.sha256},
        at=now,
    )
    audit_record(actor=actor, action="evidence.delete", obj=evidence, before={"sha256": evidence.sha256, "file": stored})
    if stored:
        storage = evidence.file.storage
        transaction.on_commit(lambda: storage.delete(stored), robust=True)
    return evidence


class BreakRequired(Conflict):
    title = "Take a break"


@transaction.atomic
def evidence_reveal(*, actor: User, evidence: Evidence, confirm_break: bool = False, at: datetime | None = None) -> EvidenceView:
    """Log a reveal of graphic evidence. Once the day's reveals reach the cap, the reviewer
    must confirm the take-a-break prompt first; after a confirmed break the prompt returns
    when another `daily_cap` reveals have been made."""
    if not evidence.graphic:
        raise ValidationError.for_field("evidence", "This item is not marked graphic; it is shown without a reveal.")
    if evidence.deleted_at is not None:
        raise Conflict("This evidence was deleted.")
    now = _now(at)
    exposure = selectors_collab.exposure_for_user(user=actor, now=now)
    cap = exposure["daily_cap"]
    today = exposure["today"]
    break_due = today >= cap and selectors_collab.reveals_since_last_break(user=actor, now=now) >= cap
    if break_due and not confirm_break:
        raise BreakRequired(
            f"You have revealed {today} graphic items today (the daily limit is {cap}). Take a break before the next one.",
            extra={"break_required": True, "reveals_today": today, "daily_cap": cap},
        )
    view = EvidenceView.objects.create(evidence=evidence, incident_id=evidence.incident_id, user=actor, at=now, after_break=break_due)
    audit_record(
        actor=actor,
        action="evidence.reveal",
        obj=evidence,
        after={"at": now, "after_break": break_due, "reveals_today": today + 1},
    )
    return view


@transaction.atomic
def wellbeing_settings_update(*, actor: User, daily_cap: Any) -> WellbeingSettings:
    _require(actor, "incidents.change_wellbeingsettings", "change the wellbeing settings")
    try:
        cap = int(daily_cap)
    except (TypeError, ValueError):
        raise ValidationError.for_field("daily_cap", "The daily cap must be a whole number.") from None
    if not 1 <= cap <= 10_000:
        raise ValidationError.for_field("daily_cap", "The daily cap must be between 1 and 10,000.")
    row = WellbeingSettings.objects.select_for_update().order_by("pk").first()
    before = {"daily_cap": row.daily_cap if row else None}
    if row is None:
        row = WellbeingSettings(daily_cap=cap, updated_by=actor)
    row.daily_cap = cap
    row.updated_by = actor
    row.save()
    audit_record(actor=actor, action="wellbeing.settings", obj=row, before=before, after={"daily_cap": cap})
    return row
