"""Every write to an incident. Each service is one transaction that locks the row it
changes, records the audit entry and the timeline event, and publishes the domain
event (delivered to subscribers on commit, or inside the transaction for those that
asked)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

import markdown as md
import nh3
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.postgres.search import TrigramSimilarity
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Compartment, Region, Team
from accounts.selectors import user_cleared_compartment_ids
from core import events
from core.audit import audit_record
from core.errors import Conflict, Forbidden, NotFound, ValidationError
from core.time import db_now
from incidents import lifecycle
from incidents.events import (
    IncidentAcknowledged,
    IncidentDeclared,
    IncidentFlagsChanged,
    IncidentMilestoneReached,
    IncidentSeverityChanged,
    IncidentStatusChanged,
    IncidentUpdated,
)
from incidents.models import (
    Channel,
    Comment,
    CommentVisibility,
    HarmCategory,
    Incident,
    IncidentCycle,
    IncidentUserObjectPermission,
    IntakeRequest,
    Notification,
    Participant,
    ParticipantRole,
    ReachSnapshot,
    Severity,
    Status,
    Surface,
    TimelineEvent,
    TimelineKind,
)
from incidents.permissions import can_view, is_manager_or_commander
from incidents.selectors import incident_list_visible
from incidents.severity import severity_propose

User = get_user_model()

TITLE_MAX = 300
SUMMARY_MAX = 20_000
REASON_MAX = 2_000
COMMENT_MAX = 50_000
LIST_MAX = 500
CLOCK_SKEW = timedelta(minutes=2)
DUPLICATE_WINDOW = timedelta(days=14)
DUPLICATE_TITLE_SIMILARITY = 0.5
SIMPLE_FLAGS = ("minors_involved", "imminent_risk", "media_interest", "regulatory")
ROUTING_FIELDS = ("harm_category", "region", "channel", "compartment")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
MENTION_RE = re.compile(r"(?<![\w@/])@([A-Za-z0-9_.+-]{1,150})")

# Per-channel intake details that must be present: field → what to say when missing.
CHANNEL_REQUIRED: dict[str, dict[str, str]] = {
    Channel.REGULATOR_ORDER: {
        "authority": "Name the authority that issued the order or report.",
        "legal_instrument": "Name the legal instrument (e.g. TCO Regulation Art. 3, Online Safety Act s. 109).",
        "received_at": "Give the time the order reached us; legal clocks run from it.",
    },
    Channel.MEDIA_INQUIRY: {
        "outlet": "Name the outlet the inquiry comes from.",
        "reporter_deadline": "Give the reporter's deadline.",
    },
}
INTAKE_DETAIL_KEYS = (
    "authority",
    "legal_instrument",
    "order_reference",
    "outlet",
    "reporter",
    "reporter_deadline",
    "partner",
    "case_reference",
    "agency",
    "notes",
)
INTAKE_DETAIL_DATETIMES = ("reporter_deadline",)

COMMENT_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
}
COMMENT_ATTRIBUTES = {"a": {"href", "title"}}
COMMENT_URL_SCHEMES = {"http", "https", "mailto"}


# --- small helpers -------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _lock(incident: Incident) -> Incident:
    try:
        return Incident.objects.select_for_update().get(pk=incident.pk)
    except Incident.DoesNotExist:
        raise NotFound("No such incident.") from None


def _actor_id(actor: Any) -> int | None:
    return actor.pk if getattr(actor, "is_authenticated", False) else None


def incident_state(incident: Incident) -> dict[str, Any]:
    """The current state a stale writer needs to redo their change (in a 409's ``current``)."""
    return _jsonable(
        {
            "id": incident.pk,
            "reference": incident.reference,
            "version": incident.version,
            "title": incident.title,
            "summary": incident.summary,
            "status": incident.status,
            "severity": incident.severity,
            "channel": incident.channel,
            "harm_category": incident.harm_category_id,
            "region": incident.region,
            "commander": incident.commander_id,
            "flags": incident.flags,
            "updated_at": incident.updated_at,
        }
    )


def _check_version(incident: Incident, version: Any) -> None:
    if version is None or version == "":
        return
    try:
        expected = int(version)
    except (TypeError, ValueError):
        raise ValidationError.for_field("version", "The version must be a whole number.") from None
    if expected != incident.version:
        raise Conflict(
            f"{incident.reference} changed since you loaded it (you had version {expected}, it is now {incident.version}). "
            "Reload, check the changes, and try again.",
            extra={"current": incident_state(incident)},
        )


def _save(incident: Incident, fields: list[str] | set[str]) -> None:
    incident.version += 1
    incident.save(update_fields=sorted(set(fields) | {"version", "updated_at"}))


def _touch(incident: Incident) -> None:
    """Mark activity (for pollers) without a version bump: a comment or a new participant
    must not make someone's pending edit of the incident's fields stale."""
    Incident.objects.filter(pk=incident.pk).update(updated_at=timezone.now())


def _text(data: dict, key: str, *, max_length: int, required: bool = False, label: str | None = None) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError.for_field(key, f"{label or key.replace('_', ' ').capitalize()} must be text.")
    value = value.strip()
    if "\x00" in value:
        raise ValidationError.for_field(key, "Text may not contain NUL characters.")
    if required and not value:
        raise ValidationError.for_field(key, f"{label or key.replace('_', ' ').capitalize()} is required.")
    if len(value) > max_length:
        raise ValidationError.for_field(key, f"{label or key.replace('_', ' ').capitalize()} is longer than {max_length} characters.")
    return value


def _reason(reason: Any, *, field: str = "reason", required: bool = True, what: str = "this change") -> str:
    return _text({field: reason}, field, max_length=REASON_MAX, required=required, label=f"A reason for {what}")


def _datetime(data: dict, key: str, *, now: datetime, allow_future: bool = True) -> datetime | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError.for_field(key, "Give a date and time such as 2026-03-01T14:30:00Z.")
        value = parsed
    if not isinstance(value, datetime):
        raise ValidationError.for_field(key, "Give a date and time such as 2026-03-01T14:30:00Z.")
    if value.tzinfo is None:
        raise ValidationError.for_field(key, "Include the time zone (e.g. Z or +01:00).")
    if not allow_future and value > now + CLOCK_SKEW:
        raise ValidationError.for_field(key, "This time is in the future.")
    return value


def _str_list(data: dict, key: str, *, item_max: int = 140) -> list[str]:
    value = data.get(key)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, list | tuple):
        raise ValidationError.for_field(key, "Give a list.")
    if len(value) > LIST_MAX:
        raise ValidationError.for_field(key, f"At most {LIST_MAX} entries.")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ValidationError.for_field(key, "Every entry must be text.")
        item = item.strip()
        if "\x00" in item:
            raise ValidationError.for_field(key, "Text may not contain NUL characters.")
        if len(item) > item_max:
            raise ValidationError.for_field(key, f"Entries are at most {item_max} characters.")
        if item and item not in out:
            out.append(item)
    return out


def normalise_hashtags(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        tag = value.lstrip("#").strip().lower()
        if tag and tag not in out:
            out.append(tag)
    return out


def _countries(data: dict) -> list[str]:
    values = [v.upper() for v in _str_list(data, "countries", item_max=2)]
    bad = [v for v in values if not COUNTRY_RE.match(v)]
    if bad:
        raise ValidationError.for_field("countries", f"Use ISO 3166-1 two-letter codes; not valid: {', '.join(bad[:5])}.")
    return values


def _languages(data: dict, key: str = "languages") -> list[str]:
    values = _str_list(data, key, item_max=16)
    bad = [v for v in values if not LANGUAGE_RE.match(v)]
    if bad:
        raise ValidationError.for_field(key, f"Use language codes such as en, de or pt-BR; not valid: {', '.join(bad[:5])}.")
    return values


def _language(value: Any, field: str) -> str:
    value = _text({field: value}, field, max_length=16)
    if value and not LANGUAGE_RE.match(value):
        raise ValidationError.for_field(field, "Use a language code such as en, de or pt-BR.")
    return value


def _surfaces(data: dict) -> list[str]:
    values = [v.lower() for v in _str_list(data, "surfaces", item_max=16)]
    bad = [v for v in values if v not in Surface.values]
    if bad:
        raise ValidationError.for_field("surfaces", f"Choose from {', '.join(Surface.values)}; not valid: {', '.join(bad[:5])}.")
    return values


def _items(data: dict, key: str) -> list[dict[str, str]]:
    """Content items / accounts as [{"url": …} or {"id": …}, …]; plain strings are accepted."""
    value = data.get(key)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,]+", value) if v]
    if not isinstance(value, list | tuple):
        raise ValidationError.for_field(key, "Give a list of URLs or IDs.")
    if len(value) > LIST_MAX:
        raise ValidationError.for_field(key, f"At most {LIST_MAX} entries.")
    out: list[dict[str, str]] = []
    for item in value:
        if isinstance(item, str):
            item = item.strip()
            entry = {"url": item} if item.lower().startswith(("http://", "https://")) else {"id": item}
        elif isinstance(item, dict):
            entry = {}
            for k in ("url", "id", "kind", "note", "handle"):
                v = item.get(k)
                if v is None or v == "":
                    continue
                if not isinstance(v, str | int) or isinstance(v, bool):
                    raise ValidationError.for_field(key, f"'{k}' must be text.")
                entry[k] = str(v).strip()
            if not (entry.get("url") or entry.get("id") or entry.get("handle")):
                raise ValidationError.for_field(key, "Each entry needs a url, an id or a handle.")
        else:
            raise ValidationError.for_field(key, "Give a list of URLs or IDs.")
        if any(len(v) > 2000 or "\x00" in v for v in entry.values()):
            raise ValidationError.for_field(key, "Entries are at most 2000 characters of text.")
        if entry.get("url", "").lower().startswith(("javascript:", "data:", "vbscript:")):
            raise ValidationError.for_field(key, "Only http and https links are accepted.")
        if entry not in out:
            out.append(entry)
    return out


def _int(data: dict, key: str, *, minimum: int = 0, maximum: int = 2**63 - 1) -> int:
    value = data.get(key, 0)
    if value in (None, ""):
        return 0
    if isinstance(value, bool):
        raise ValidationError.for_field(key, "Give a whole number.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError.for_field(key, "Give a whole number.") from None
    if not (minimum <= number <= maximum):
        raise ValidationError.for_field(key, f"Give a number between {minimum} and {maximum}.")
    return number


def _bool(data: dict, key: str) -> bool:
    value = data.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("", "0", "false", "no", "off"):
        return False
    if isinstance(value, int):
        return bool(value)
    raise ValidationError.for_field(key, "Give true or false.")


def _choice(data: dict, key: str, choices: list, *, required: bool = False, default: Any = None) -> Any:
    value = data.get(key)
    if value in (None, ""):
        if required:
            raise ValidationError.for_field(key, f"Choose one of: {', '.join(str(c) for c in choices)}.")
        return default
    if value not in choices:
        raise ValidationError.for_field(key, f"'{str(value)[:50]}' is not valid; choose one of: {', '.join(str(c) for c in choices)}.")
    return value


def _severity(value: Any, field: str = "severity") -> int:
    if isinstance(value, str):
        value = value.strip().upper().removeprefix("SEV")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError.for_field(field, "Severity is 1 (SEV1, highest) to 4 (SEV4).") from None
    if number not in Severity.values:
        raise ValidationError.for_field(field, "Severity is 1 (SEV1, highest) to 4 (SEV4).")
    return number


def _harm_category(value: Any, *, required: bool = True) -> HarmCategory | None:
    if value in (None, ""):
        if required:
            raise ValidationError.for_field("harm_category", "Choose a harm category.")
        return None
    if isinstance(value, HarmCategory):
        category: HarmCategory | None = value
    elif isinstance(value, int) and not isinstance(value, bool):
        category = HarmCategory.objects.filter(pk=value).first()
    elif isinstance(value, str):
        v = value.strip()
        category = HarmCategory.objects.filter(pk=int(v)).first() if v.isdigit() else HarmCategory.objects.filter(slug=v).first()
    else:
        category = None
    if category is None or not category.active:
        raise ValidationError.for_field("harm_category", "Choose one of the active harm categories.")
    return category


def _compartment(value: Any, actor: Any) -> Compartment | None:
    if value in (None, ""):
        return None
    if isinstance(value, Compartment):
        compartment: Compartment | None = value
    elif isinstance(value, int) and not isinstance(value, bool):
        compartment = Compartment.objects.filter(pk=value).first()
    elif isinstance(value, str):
        v = value.strip()
        compartment = Compartment.objects.filter(pk=int(v)).first() if v.isdigit() else Compartment.objects.filter(slug=v).first()
    else:
        compartment = None
    # Naming a compartment one is not cleared for would lock the author out; the answer is
    # the same for a compartment that does not exist, so nothing is learned about others.
    if compartment is None or compartment.pk not in user_cleared_compartment_ids(user=actor, at=timezone.now()):
        raise ValidationError.for_field("compartment", "Choose a compartment you are cleared for.")
    return compartment


def _user(value: Any, field: str) -> Any:
    if value in (None, ""):
        return None
    user: Any
    if isinstance(value, User):
        user = value
    else:
        try:
            user = User.objects.filter(pk=int(value), is_active=True).first()
        except (TypeError, ValueError):
            user = User.objects.filter(username=str(value), is_active=True).first()
    if user is None or not user.is_active:
        raise ValidationError.for_field(field, "No such active user.")
    return user


def _team(value: Any, field: str = "team") -> Team | None:
    if value in (None, ""):
        return None
    if isinstance(value, Team):
        return value
    try:
        team = Team.objects.filter(pk=int(value)).first()
    except (TypeError, ValueError):
        team = Team.objects.filter(slug=str(value)).first()
    if team is None:
        raise ValidationError.for_field(field, "No such team.")
    return team


def _intake_details(data: dict, channel: str, *, now: datetime) -> dict[str, Any]:
    raw = data.get("intake_details") or {}
    if not isinstance(raw, dict):
        raise ValidationError.for_field("intake_details", "Give the channel details as an object.")
    merged = {**raw, **{k: data[k] for k in INTAKE_DETAIL_KEYS if data.get(k) not in (None, "")}}
    details: dict[str, Any] = {}
    for key, value in merged.items():
        if not isinstance(key, str) or len(key) > 60:
            raise ValidationError.for_field("intake_details", "Detail names are short text.")
        if value is None or value == "":
            continue
        if key in INTAKE_DETAIL_DATETIMES:
            details[key] = _datetime({key: value}, key, now=now).isoformat()  # type: ignore[union-attr]
        elif isinstance(value, str | int | float | bool):
            text = str(value) if not isinstance(value, bool) else value
            if isinstance(text, str) and (len(text) > 2000 or "\x00" in text):
                raise ValidationError.for_field(key, "At most 2000 characters of text.")
            details[key] = text if isinstance(text, bool) else text.strip()
        else:
            raise ValidationError.for_field(key, "Give plain text.")
    for field, message in CHANNEL_REQUIRED.get(channel, {}).items():
        if field == "received_at":
            continue
        if not details.get(field):
            raise ValidationError.for_field(field, message)
    return details


def allocate_reference(year: int) -> str:
    """Next INC-YYYY-NNNNN; one upsert, so concurrent creators never share a number."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO incidents_referencesequence (year, last) VALUES (%s, 1) "
            "ON CONFLICT (year) DO UPDATE SET last = incidents_referencesequence.last + 1 RETURNING last",
            [year],
        )
        number = cursor.fetchone()[0]
    return f"INC-{year}-{number:05d}"


def search_vector_refresh(incident_id: int) -> None:
    search_vector_refresh_many([incident_id])


def search_vector_refresh_many(incident_ids: list[int]) -> None:
    """Weights: title and hashtags/keywords A, summary B, comments C."""
    if not incident_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE incidents_incident i SET search_vector =
                setweight(to_tsvector('english', coalesce(i.title, '')), 'A') ||
                setweight(to_tsvector('english', array_to_string(i.hashtags, ' ') || ' ' || array_to_string(i.keywords, ' ')), 'A') ||
                setweight(to_tsvector('english', left(coalesce(i.summary, ''), 200000)), 'B') ||
                setweight(to_tsvector('english', left(coalesce(
                    (SELECT string_agg(c.body, ' ' ORDER BY c.id) FROM incidents_comment c WHERE c.incident_id = i.id), ''
                ), 400000)), 'C')
            WHERE i.id = ANY(%s)
            """,
            [list(incident_ids)],
        )


def _current_cycle(incident: Incident) -> IncidentCycle:
    cycle, _ = IncidentCycle.objects.select_for_update().get_or_create(
        incident=incident, number=incident.cycle, defaults={"started_at": incident.created_at}
    )
    return cycle


_CYCLE_FIELDS = {
    "acknowledged": "acknowledged_at",
    "triaged": "triaged_at",
    "mitigated": "mitigated_at",
    "resolved": "resolved_at",
    "closed": "closed_at",
}


def _set_milestone(incident: Incident, cycle: IncidentCycle, milestone: str, at: datetime, changed: set[str]) -> bool:
    """Set a milestone once per cycle. The incident's own field keeps the first cycle's time
    and is never overwritten. Returns whether this cycle reached it just now."""
    field = _CYCLE_FIELDS.get(milestone)
    if field is None:
        if milestone in cycle.milestones:
            return False
        cycle.milestones = {**cycle.milestones, milestone: at.isoformat()}
        cycle.save(update_fields=["milestones"])
        return True
    if getattr(cycle, field) is not None:
        return False
    setattr(cycle, field, at)
    cycle.save(update_fields=[field])
    if getattr(incident, field) is None:
        setattr(incident, field, at)
        changed.add(field)
    return True


# --- the timeline -------------------------------------------------------------------


def timeline_record(
    *, incident: Incident, kind: str, actor: Any = None, summary: str = "", data: dict | None = None, at: datetime | None = None
) -> TimelineEvent:
    """Append to an incident's timeline (other apps record pages, acks and SLA events here).
    Call it inside the transaction of the change it records."""
    if not kind or len(kind) > 40:
        raise ValidationError.for_field("kind", "A timeline kind is 1 to 40 characters.")
    return TimelineEvent.objects.create(
        incident=incident,
        at=at or db_now(),
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        summary=(summary or "")[:1000],
        data=_jsonable(data or {}),
        cycle=incident.cycle,
        is_key_moment=kind == TimelineKind.KEY_MOMENT,
    )


@transaction.atomic
def timeline_add_key_moment(*, actor: Any, incident: Incident, summary: str, at: Any) -> TimelineEvent:
    incident = _lock(incident)
    now = db_now()
    summary = _text({"summary": summary}, "summary", max_length=1000, required=True)
    when = _datetime({"at": at}, "at", now=now, allow_future=False) if at not in (None, "") else now
    event = timeline_record(incident=incident, kind=TimelineKind.KEY_MOMENT, actor=actor, summary=summary, at=when)
    audit_record(actor=actor, action="incident.key_moment", obj=incident, after={"summary": summary, "at": when})
    return event


# --- notifications ------------------------------------------------------------------


def notification_create(*, user: Any, incident: Incident | None, kind: str, text: str, url: str = "") -> Notification | None:
    """An in-app notification; silently none for a user who cannot see the incident."""
    if user is None or not getattr(user, "is_active", False):
        return None
    if incident is not None and not can_view(user, incident):
        return None
    return Notification.objects.create(user=user, incident=incident, kind=kind[:40], text=text[:500], url=url[:500])


@transaction.atomic
def notification_mark_read(*, user: Any, ids: list[int] | None = None) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=db_now())


def _incident_url(incident: Incident) -> str:
    return f"/incidents/{incident.pk}/"


# --- create and intake ------------------------------------------------------------


@transaction.atomic
def incident_create(*, actor: Any, data: dict) -> Incident:
    if not isinstance(data, dict):
        raise ValidationError("Send the incident as an object of fields.")
    now = db_now()
    title = _text(data, "title", max_length=TITLE_MAX, required=True)
    summary = _text(data, "summary", max_length=SUMMARY_MAX)
    channel = _choice(data, "channel", Channel.values, required=True)
    category = _harm_category(data.get("harm_category"))
    region = _choice(data, "region", Region.values, default=Region.GLOBAL)
    flags = {k: _bool(data, k) for k in SIMPLE_FLAGS}
    reach_views = _int(data, "reach_views")
    received_at = _datetime(data, "received_at", now=now, allow_future=False)
    if channel == Channel.REGULATOR_ORDER and received_at is None:
        raise ValidationError.for_field("received_at", CHANNEL_REQUIRED[Channel.REGULATOR_ORDER]["received_at"])
    first_signal_at = _datetime(data, "first_signal_at", now=now, allow_future=False)
    details = _intake_details(data, channel, now=now)
    if channel == Channel.REGULATOR_ORDER:
        flags["regulatory"] = True
    if channel == Channel.MEDIA_INQUIRY:
        flags["media_interest"] = True
    if data.get("severity") not in (None, ""):
        severity = _severity(data["severity"])
        proposal_reasons: list[str] = []
    else:
        severity, proposal_reasons = severity_propose(data_or_incident={**flags, "harm_category": category, "reach_views": reach_views})
    commander = _user(data.get("commander"), "commander")
    compartment = _compartment(data.get("compartment"), actor)

    incident = Incident(
        reference=allocate_reference(now.year),
        title=title,
        summary=summary,
        channel=channel,
        severity=severity,
        status=Status.NEW,
        harm_category=category,
        region=region,
        countries=_countries(data),
        languages=_languages(data),
        surfaces=_surfaces(data),
        content_items=_items(data, "content_items"),
        accounts=_items(data, "accounts"),
        hashtags=normalise_hashtags(_str_list(data, "hashtags")),
        keywords=_str_list(data, "keywords"),
        reach_views=reach_views,
        compartment=compartment,
        legal_hold=_bool(data, "legal_hold"),
        team=_team(data.get("team")),
        intake_details=details,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        received_at=received_at,
        first_signal_at=first_signal_at or received_at or now,
        created_at=now,
        **flags,
    )
    if first_signal_at and received_at and first_signal_at > received_at:
        raise ValidationError.for_field("first_signal_at", "The first signal cannot come after the report was received.")
    incident.save()
    IncidentCycle.objects.create(incident=incident, number=1, started_at=now)
    if reach_views:
        ReachSnapshot.objects.create(incident=incident, at=now, views=reach_views)
    if commander is not None:
        if not can_view(commander, incident):
            raise ValidationError.for_field("commander", "This person cannot see this incident (role or compartment clearance).")
        incident.commander = commander
        incident.save(update_fields=["commander"])
        Participant.objects.create(incident=incident, user=commander, role=ParticipantRole.COMMANDER, added_by=incident.created_by)
    search_vector_refresh(incident.pk)
    timeline_record(
        incident=incident,
        kind=TimelineKind.CREATED,
        actor=actor,
        summary=f"Declared via {incident.get_channel_display()} as SEV{severity}",
        data={"channel": channel, "severity": severity, "proposal": proposal_reasons},
        at=now,
    )
    audit_record(actor=actor, action="incident.create", obj=incident, after=incident_state(incident))
    events.publish(IncidentDeclared(incident_id=incident.pk, severity=severity, actor_id=_actor_id(actor), at=now))
    return incident


def _request_hash(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def intake_submit(*, actor: Any, data: dict, idempotency_key: str | None = None) -> tuple[Incident, bool]:
    """Create an incident from intake. With an idempotency key, repeating the same request
    returns the first incident (created False); the key is claimed by inserting its row
    first, so a concurrent duplicate waits on the unique index and then finds it."""
    if idempotency_key in (None, ""):
        return incident_create(actor=actor, data=data), True
    key = str(idempotency_key).strip()
    if not key or len(key) > 200 or not key.isprintable():
        raise ValidationError.for_field("Idempotency-Key", "An idempotency key is 1 to 200 printable characters.")
    request_hash = _request_hash(data)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO incidents_intakerequest (key, actor_id, request_hash, created_at) VALUES (%s, %s, %s, now()) "
            "ON CONFLICT (actor_id, key) DO NOTHING RETURNING id",
            [key, actor.pk, request_hash],
        )
        row = cursor.fetchone()
    if row is None:
        existing = IntakeRequest.objects.select_related("incident").get(actor=actor, key=key)
        if existing.request_hash != request_hash:
            raise Conflict(
                "This Idempotency-Key was already used with a different request. Use a new key for a new report.",
                errors={"Idempotency-Key": ["Already used with a different request body."]},
            )
        if existing.incident is None:
            raise Conflict("The incident first created with this Idempotency-Key no longer exists.")
        return existing.incident, False
    incident = incident_create(actor=actor, data=data)
    IntakeRequest.objects.filter(pk=row[0]).update(incident=incident)
    return incident, True


def incident_find_duplicates(*, data: dict, user: Any) -> list[tuple[Incident, str]]:
    """Recent incidents (14 days) the user can see that look like the same thing: the same
    content URL/ID, a shared hashtag, or a title with trigram similarity of at least 0.5."""
    if not isinstance(data, dict):
        return []
    title = data.get("title") if isinstance(data.get("title"), str) else ""
    title = (title or "").strip()[:TITLE_MAX]
    try:
        items = _items(data, "content_items")
        hashtags = normalise_hashtags(_str_list(data, "hashtags"))
    except ValidationError:
        items, hashtags = [], []
    cond = Q()
    for item in items:
        for k in ("url", "id"):
            if item.get(k):
                cond |= Q(content_items__contains=[{k: item[k]}])
    if hashtags:
        cond |= Q(hashtags__overlap=hashtags)
    qs = incident_list_visible(user=user).filter(created_at__gte=db_now() - DUPLICATE_WINDOW).exclude(status=Status.MERGED)
    exclude_id = data.get("exclude_id")
    if isinstance(exclude_id, int):
        qs = qs.exclude(pk=exclude_id)
    if title:
        qs = qs.annotate(title_similarity=TrigramSimilarity("title", title))
        cond |= Q(title_similarity__gte=DUPLICATE_TITLE_SIMILARITY)
    if not cond:
        return []
    results: list[tuple[Incident, str]] = []
    item_keys = {(k, v) for item in items for k, v in item.items() if k in ("url", "id")}
    for incident in qs.filter(cond)[:20]:
        reasons = []
        shared_items = [v for item in incident.content_items for k, v in item.items() if (k, v) in item_keys]
        if shared_items:
            reasons.append(f"same content item {shared_items[0]}")
        shared_tags = [t for t in incident.hashtags if t in hashtags]
        if shared_tags:
            reasons.append(f"shared hashtag #{shared_tags[0]}")
        similarity = getattr(incident, "title_similarity", 0) or 0
        if similarity >= DUPLICATE_TITLE_SIMILARITY:
            reasons.append(f"similar title ({similarity:.0%})")
        results.append((incident, "; ".join(reasons)))
    return results


# --- lifecycle ------------------------------------------------------------------------


def _acknowledge(incident: Incident, cycle: IncidentCycle, actor: Any, now: datetime, changed: set[str]) -> bool:
    if not _set_milestone(incident, cycle, "acknowledged", now, changed):
        return False
    timeline_record(incident=incident, kind=TimelineKind.ACKNOWLEDGED, actor=actor, summary="Acknowledged", at=now)
    events.publish(IncidentAcknowledged(incident_id=incident.pk, actor_id=_actor_id(actor), at=now))
    return True


@transaction.atomic
def incident_transition(
    *, actor: Any, incident: Incident, to: str, reason: str = "", resolution_summary: str = "", version: Any = None
) -> Incident:
    incident = _lock(incident)
    _check_version(incident, version)
    before = incident.status
    to = str(to or "").strip().lower()
    lifecycle.check(before, to)
    reopen = lifecycle.is_reopen(before, to)
    reason = _reason(reason, required=reopen or to == Status.DECLINED, what="reopening" if reopen else f"moving to {to}")
    resolution = _text({"resolution_summary": resolution_summary}, "resolution_summary", max_length=SUMMARY_MAX)
    if to == Status.RESOLVED and not resolution:
        raise ValidationError.for_field("resolution_summary", "Say how the incident was resolved before resolving it.")
    now = db_now()
    changed: set[str] = {"status"}
    if reopen:
        incident.cycle += 1
        changed.add("cycle")
        IncidentCycle.objects.create(
            incident=incident, number=incident.cycle, started_at=now, reopened_by=_user_or_none(actor), reopen_reason=reason
        )
    cycle = _current_cycle(incident)
    incident.status = to
    if to == Status.RESOLVED:
        incident.resolution_summary = resolution
        changed.add("resolution_summary")

    reached: list[str] = []
    if not reopen and _actor_id(actor) is not None and to != Status.DECLINED:
        _acknowledge(incident, cycle, actor, now, changed)
    if to in lifecycle.IMPLIES_TRIAGE and _set_milestone(incident, cycle, "triaged", now, changed):
        reached.append("triaged")
    milestone = lifecycle.MILESTONE_ON_ENTER.get(to)
    if milestone and milestone not in reached and _set_milestone(incident, cycle, milestone, now, changed):
        reached.append(milestone)
    _save(incident, changed)

    summary = f"Reopened ({before} → {to})" if reopen else f"Status {before} → {to}"
    timeline_record(
        incident=incident,
        kind=TimelineKind.REOPENED if reopen else TimelineKind.STATUS_CHANGED,
        actor=actor,
        summary=summary + (f": {reason}" if reason else ""),
        data={"from": before, "to": to, "reason": reason, "cycle": incident.cycle, "resolution_summary": resolution or None},
        at=now,
    )
    for name in reached:
        timeline_record(
            incident=incident, kind=TimelineKind.MILESTONE, actor=actor, summary=f"Milestone: {name}", data={"milestone": name}, at=now
        )
    audit_record(
        actor=actor,
        action="incident.reopen" if reopen else "incident.transition",
        obj=incident,
        before={"status": before},
        after={"status": to, "reason": reason, "cycle": incident.cycle},
    )
    events.publish(
        IncidentStatusChanged(incident_id=incident.pk, before=before, after=to, actor_id=_actor_id(actor), at=now, reopened=reopen)
    )
    for name in reached:
        events.publish(IncidentMilestoneReached(incident_id=incident.pk, milestone=name, at=now, actor_id=_actor_id(actor)))
    return incident


def _user_or_none(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


@transaction.atomic
def incident_merge(*, actor: Any, duplicate: Incident, into: Incident, reason: str) -> Incident:
    """Mark ``duplicate`` as merged into ``into``: its participants, teams and links move over."""
    if duplicate.pk == into.pk:
        raise ValidationError.for_field("into", "An incident cannot be merged into itself.")
    reason = _reason(reason, what="the merge")
    if not can_view(actor, into):
        raise NotFound("No such incident.")
    first, second = sorted([duplicate.pk, into.pk])
    locked = {i.pk: i for i in Incident.objects.select_for_update().filter(pk__in=[first, second]).order_by("pk")}
    if len(locked) != 2:
        raise NotFound("No such incident.")
    duplicate, into = locked[duplicate.pk], locked[into.pk]
    if duplicate.status not in lifecycle.MERGE_FROM:
        raise Conflict(
            f"{duplicate.reference} is {duplicate.status} and cannot be merged.",
            extra={"status": duplicate.status, "allowed": list(lifecycle.allowed_targets(duplicate.status))},
        )
    if into.status == Status.MERGED:
        raise Conflict(f"{into.reference} is itself merged into another incident; merge into that one instead.")
    if duplicate.compartment_id != into.compartment_id and duplicate.compartment_id is not None:
        raise ValidationError.for_field("into", "A restricted incident can only be merged into one in the same compartment.")
    now = db_now()
    existing = set(Participant.objects.filter(incident=into).values_list("user_id", flat=True))
    moved = []
    for link in Participant.objects.filter(incident=duplicate).select_related("user"):
        if link.user_id not in existing:
            Participant.objects.create(incident=into, user=link.user, role=link.role, added_by=_user_or_none(actor))
            moved.append(link.user.username)
    into.teams_engaged.add(*duplicate.teams_engaged.all())
    related = [r for r in duplicate.related.all() if r.pk != into.pk]
    into.related.add(duplicate, *related)
    into_changed: set[str] = set()
    for item in duplicate.content_items:
        if item not in into.content_items:
            into.content_items = [*into.content_items, item]
            into_changed.add("content_items")
    new_tags = [t for t in duplicate.hashtags if t not in into.hashtags]
    if new_tags:
        into.hashtags = [*into.hashtags, *new_tags]
        into_changed.add("hashtags")
    _save(into, into_changed)
    before = duplicate.status
    duplicate.status = Status.MERGED
    duplicate.merged_into = into
    _save(duplicate, {"status", "merged_into"})
    search_vector_refresh(into.pk)
    timeline_record(
        incident=duplicate,
        kind=TimelineKind.MERGED,
        actor=actor,
        summary=f"Merged into {into.reference}: {reason}",
        data={"into": into.pk, "reason": reason},
        at=now,
    )
    timeline_record(
        incident=into,
        kind=TimelineKind.MERGED,
        actor=actor,
        summary=f"{duplicate.reference} merged into this incident: {reason}",
        data={"duplicate": duplicate.pk, "reason": reason, "participants_moved": moved},
        at=now,
    )
    audit_record(
        actor=actor, action="incident.merge", obj=duplicate, before={"status": before}, after={"status": Status.MERGED, "into": into.pk}
    )
    events.publish(IncidentStatusChanged(incident_id=duplicate.pk, before=before, after=Status.MERGED, actor_id=_actor_id(actor), at=now))
    return duplicate


@transaction.atomic
def incident_set_severity(*, actor: Any, incident: Incident, severity: Any, reason: str, version: Any = None) -> Incident:
    incident = _lock(incident)
    _check_version(incident, version)
    new = _severity(severity)
    reason = _reason(reason, what="the severity change")
    before = incident.severity
    if new == before:
        return incident
    now = db_now()
    incident.severity = new
    _save(incident, {"severity"})
    timeline_record(
        incident=incident,
        kind=TimelineKind.SEVERITY_CHANGED,
        actor=actor,
        summary=f"Severity SEV{before} → SEV{new}: {reason}",
        data={"from": before, "to": new, "reason": reason},
        at=now,
    )
    audit_record(
        actor=actor, action="incident.severity", obj=incident, before={"severity": before}, after={"severity": new, "reason": reason}
    )
    events.publish(IncidentSeverityChanged(incident_id=incident.pk, before=before, after=new, actor_id=_actor_id(actor), at=now))
    return incident


EDITABLE_FIELDS = (
    "title",
    "summary",
    "channel",
    "harm_category",
    "region",
    "countries",
    "languages",
    "surfaces",
    "content_items",
    "accounts",
    "hashtags",
    "keywords",
    "compartment",
    "legal_hold",
    "team",
    "teams_engaged",
    "parent",
    "related",
    "intake_details",
    "first_signal_at",
    "received_at",
    *SIMPLE_FLAGS,
)


@transaction.atomic
def incident_update(*, actor: Any, incident: Incident, data: dict, version: Any) -> Incident:
    """Edit the descriptive fields. Status, severity, commander, access and milestone times
    have their own services; received_at and first_signal_at can only be filled in once."""
    if not isinstance(data, dict):
        raise ValidationError("Send the changes as an object of fields.")
    if version is None or version == "":
        raise ValidationError.for_field("version", "Send the version you loaded, so a concurrent change is not overwritten.")
    incident = _lock(incident)
    _check_version(incident, version)
    now = db_now()
    data = {k: v for k, v in data.items() if k in EDITABLE_FIELDS}
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    changed: set[str] = set()

    def put(field: str, value: Any) -> None:
        current = getattr(incident, field)
        if current != value:
            before[field] = current.pk if hasattr(current, "pk") else current
            after[field] = value.pk if hasattr(value, "pk") else value
            setattr(incident, field, value)
            changed.add(field)

    if "title" in data:
        put("title", _text(data, "title", max_length=TITLE_MAX, required=True))
    if "summary" in data:
        put("summary", _text(data, "summary", max_length=SUMMARY_MAX))
    if "channel" in data:
        put("channel", _choice(data, "channel", Channel.values, required=True))
    if "harm_category" in data:
        put("harm_category", _harm_category(data["harm_category"]))
    if "region" in data:
        put("region", _choice(data, "region", Region.values, required=True))
    if "countries" in data:
        put("countries", _countries(data))
    if "languages" in data:
        put("languages", _languages(data))
    if "surfaces" in data:
        put("surfaces", _surfaces(data))
    for key in ("content_items", "accounts"):
        if key in data:
            put(key, _items(data, key))
    if "hashtags" in data:
        put("hashtags", normalise_hashtags(_str_list(data, "hashtags")))
    if "keywords" in data:
        put("keywords", _str_list(data, "keywords"))
    if "compartment" in data:
        target = _compartment(data["compartment"], actor)
        # Someone let in by a per-incident grant must not be able to lift the restriction.
        lifting = target != incident.compartment and incident.compartment_id is not None
        if lifting and incident.compartment_id not in user_cleared_compartment_ids(user=actor, at=timezone.now()):
            raise Forbidden("Only people cleared for this incident's compartment can move it out of the compartment.")
        put("compartment", target)
    if "legal_hold" in data:
        put("legal_hold", _bool(data, "legal_hold"))
    if "team" in data:
        put("team", _team(data["team"]))
    if "parent" in data:
        parent = _related_incident(data["parent"], actor, "parent")
        if parent is not None and parent.pk == incident.pk:
            raise ValidationError.for_field("parent", "An incident cannot be its own parent.")
        put("parent", parent)
    if "intake_details" in data or any(k in data for k in INTAKE_DETAIL_KEYS):
        put(
            "intake_details",
            _intake_details(
                {**data, "intake_details": {**incident.intake_details, **(data.get("intake_details") or {})}}, incident.channel, now=now
            ),
        )
    for key in ("first_signal_at", "received_at"):
        if key in data and data[key] not in (None, ""):
            value = _datetime(data, key, now=now, allow_future=False)
            if getattr(incident, key) is not None and value != getattr(incident, key):
                raise ValidationError.for_field(key, "This time is already recorded and is not changed by an edit.")
            put(key, value)
    flags_before = incident.flags
    for key in SIMPLE_FLAGS:
        if key in data:
            put(key, _bool(data, key))
    if "teams_engaged" in data:
        raw = data["teams_engaged"] or []
        if not isinstance(raw, list | tuple):
            raise ValidationError.for_field("teams_engaged", "Give a list of teams.")
        teams = [_team(t, "teams_engaged") for t in raw]
        current = set(incident.teams_engaged.values_list("pk", flat=True))
        wanted = {t.pk for t in teams if t is not None}
        if current != wanted:
            incident.teams_engaged.set(list(wanted))
            before["teams_engaged"], after["teams_engaged"] = sorted(current), sorted(wanted)
            changed.add("teams_engaged")
    if "related" in data:
        raw = data["related"] or []
        if not isinstance(raw, list | tuple):
            raise ValidationError.for_field("related", "Give a list of incidents.")
        rel = [_related_incident(r, actor, "related") for r in raw]
        current = set(incident.related.values_list("pk", flat=True))
        wanted = {r.pk for r in rel if r is not None and r.pk != incident.pk}
        if current != wanted:
            # Links to incidents the editor cannot see are kept: they cannot know about them.
            hidden = current - set(Incident.objects.visible_to(actor).filter(pk__in=current).values_list("pk", flat=True))
            incident.related.set(list(wanted | hidden))
            before["related"], after["related"] = sorted(current), sorted(wanted | hidden)
            changed.add("related")
    if not changed:
        return incident
    m2m = {"teams_engaged", "related"}
    _save(incident, changed - m2m)
    if changed & {"title", "summary", "hashtags", "keywords"}:
        search_vector_refresh(incident.pk)
    timeline_record(
        incident=incident,
        kind=TimelineKind.UPDATED,
        actor=actor,
        summary="Updated " + ", ".join(sorted(changed)),
        data={"fields": sorted(changed)},
        at=now,
    )
    audit_record(actor=actor, action="incident.update", obj=incident, before=before, after=after)
    if changed & set(SIMPLE_FLAGS):
        events.publish(
            IncidentFlagsChanged(incident_id=incident.pk, before=flags_before, after=incident.flags, actor_id=_actor_id(actor), at=now)
        )
    routing = tuple(f for f in ROUTING_FIELDS if f in changed)
    if routing:
        events.publish(IncidentUpdated(incident_id=incident.pk, fields=routing, actor_id=_actor_id(actor), at=now))
    return incident


def _related_incident(value: Any, actor: Any, field: str) -> Incident | None:
    if value in (None, ""):
        return None
    pk = value.pk if isinstance(value, Incident) else value
    try:
        return Incident.objects.visible_to(actor).get(pk=int(pk))
    except (Incident.DoesNotExist, TypeError, ValueError):
        raise ValidationError.for_field(field, "No such incident.") from None


# --- people -----------------------------------------------------------------------------


@transaction.atomic
def incident_assign_commander(*, actor: Any, incident: Incident, user: Any, version: Any = None) -> Incident:
    incident = _lock(incident)
    _check_version(incident, version)
    user = _user(user, "commander")
    if user is None:
        raise ValidationError.for_field("commander", "Choose a commander.")
    if not can_view(user, incident):
        raise ValidationError.for_field(
            "commander", "This person cannot see this incident (role or compartment clearance); grant access first."
        )
    before = incident.commander_id
    if before == user.pk:
        return incident
    now = db_now()
    incident.commander = user
    _save(incident, {"commander"})
    Participant.objects.filter(incident=incident, role=ParticipantRole.COMMANDER).exclude(user=user).update(role=ParticipantRole.DEPUTY)
    Participant.objects.update_or_create(
        incident=incident, user=user, defaults={"role": ParticipantRole.COMMANDER, "added_by": _user_or_none(actor)}
    )
    timeline_record(
        incident=incident,
        kind=TimelineKind.COMMANDER_ASSIGNED,
        actor=actor,
        summary=f"Commander: {user.username}",
        data={"from": before, "to": user.pk},
        at=now,
    )
    audit_record(actor=actor, action="incident.commander", obj=incident, before={"commander": before}, after={"commander": user.pk})
    if user.pk != _actor_id(actor):
        notification_create(
            user=user, incident=incident, kind="commander", text=f"You are commander of {incident.reference}", url=_incident_url(incident)
        )
    events.publish(IncidentUpdated(incident_id=incident.pk, fields=("commander",), actor_id=_actor_id(actor), at=now))
    return incident


@transaction.atomic
def incident_add_participant(*, actor: Any, incident: Incident, user: Any, role: str = ParticipantRole.RESPONDER) -> Participant:
    incident = _lock(incident)
    user = _user(user, "user")
    if user is None:
        raise ValidationError.for_field("user", "Choose a person.")
    role = _choice({"role": role}, "role", ParticipantRole.values, default=ParticipantRole.RESPONDER)
    if role == ParticipantRole.COMMANDER:
        raise ValidationError.for_field("role", "Assign the commander with the commander action.")
    if not can_view(user, incident):
        raise ValidationError.for_field("user", "This person cannot see this incident (role or compartment clearance); grant access first.")
    link, created = Participant.objects.get_or_create(
        incident=incident, user=user, defaults={"role": role, "added_by": _user_or_none(actor)}
    )
    if not created and link.role == role:
        return link
    before_role = None if created else link.role
    if not created:
        link.role = role
        link.save(update_fields=["role"])
    now = db_now()
    _touch(incident)
    timeline_record(
        incident=incident,
        kind=TimelineKind.PARTICIPANT_ADDED,
        actor=actor,
        summary=f"{user.username} joined as {role}",
        data={"user": user.pk, "role": role},
        at=now,
    )
    audit_record(
        actor=actor, action="incident.participant", obj=incident, before={"role": before_role}, after={"user": user.pk, "role": role}
    )
    if user.pk != _actor_id(actor):
        notification_create(
            user=user,
            incident=incident,
            kind="participant",
            text=f"You were added to {incident.reference} as {role}",
            url=_incident_url(incident),
        )
    return link


@transaction.atomic
def incident_set_flags(*, actor: Any, incident: Incident, flags: dict, reason: str = "") -> Incident:
    if not isinstance(flags, dict):
        raise ValidationError.for_field("flags", "Give the flags as an object.")
    unknown = set(flags) - {*SIMPLE_FLAGS, "waiting_on_external", "waiting_reason"}
    if unknown:
        raise ValidationError.for_field("flags", f"Unknown flags: {', '.join(sorted(unknown))}.")
    incident = _lock(incident)
    before = incident.flags
    for key in SIMPLE_FLAGS:
        if key in flags:
            setattr(incident, key, _bool(flags, key))
    reason = _reason(reason or flags.get("waiting_reason") or "", required=False)
    if "waiting_on_external" in flags:
        waiting = _bool(flags, "waiting_on_external")
        if waiting and not reason:
            raise ValidationError.for_field("reason", "Say who or what the incident is waiting on.")
        incident.waiting_on_external = waiting
        incident.waiting_reason = reason[:500] if waiting else ""
    after = incident.flags
    if after == before:
        return incident
    now = db_now()
    _save(incident, {*SIMPLE_FLAGS, "waiting_on_external", "waiting_reason"})
    changes = {k: after[k] for k in after if after[k] != before[k]}
    timeline_record(
        incident=incident,
        kind=TimelineKind.FLAGS_CHANGED,
        actor=actor,
        summary="Flags: " + ", ".join(f"{k}={v}" for k, v in changes.items() if k != "waiting_reason") + (f" ({reason})" if reason else ""),
        data={"before": before, "after": after, "reason": reason},
        at=now,
    )
    audit_record(actor=actor, action="incident.flags", obj=incident, before=before, after={**after, "reason": reason})
    events.publish(IncidentFlagsChanged(incident_id=incident.pk, before=before, after=after, actor_id=_actor_id(actor), at=now))
    return incident


@transaction.atomic
def incident_acknowledge(*, actor: Any, incident: Incident) -> Incident:
    """The first acknowledgement of the current cycle; later ones change nothing."""
    incident = _lock(incident)
    cycle = _current_cycle(incident)
    changed: set[str] = set()
    now = db_now()
    if not _acknowledge(incident, cycle, actor, now, changed):
        return incident
    _save(incident, changed)
    audit_record(actor=actor, action="incident.acknowledge", obj=incident, after={"acknowledged_at": now, "cycle": incident.cycle})
    return incident


MILESTONES = ("first_response", "report_filed", "answer_sent", "mitigated", "content_removed", "authority_informed")


@transaction.atomic
def incident_record_milestone(*, actor: Any, incident: Incident, milestone: str, data: dict | None = None) -> bool:
    """Record a milestone once per cycle (first_response, report_filed with its reference
    number, answer_sent, mitigated …). Returns whether it was new."""
    if milestone not in MILESTONES:
        raise ValidationError.for_field("milestone", f"Choose one of: {', '.join(MILESTONES)}.")
    data = dict(data or {})
    if not all(isinstance(v, str | int | float | bool) or v is None for v in data.values()):
        raise ValidationError.for_field("data", "Milestone details are plain values.")
    if milestone == "report_filed":
        data["reference_number"] = _text(data, "reference_number", max_length=200, required=True, label="The report's reference number")
    incident = _lock(incident)
    cycle = _current_cycle(incident)
    now = db_now()
    at = _datetime(data, "at", now=now, allow_future=False) or now
    data.pop("at", None)
    changed: set[str] = set()
    if not _set_milestone(incident, cycle, milestone, at, changed):
        return False
    _save(incident, changed)
    timeline_record(
        incident=incident,
        kind=TimelineKind.MILESTONE,
        actor=actor,
        summary=f"Milestone: {milestone.replace('_', ' ')}",
        data={"milestone": milestone, **data},
        at=at,
    )
    audit_record(actor=actor, action="incident.milestone", obj=incident, after={"milestone": milestone, "at": at, **data})
    events.publish(
        IncidentMilestoneReached(incident_id=incident.pk, milestone=milestone, at=at, actor_id=_actor_id(actor), data=_jsonable(data))
    )
    return True


@transaction.atomic
def incident_record_reach(*, actor: Any, incident: Incident, views: Any, at: Any = None) -> ReachSnapshot:
    incident = _lock(incident)
    now = db_now()
    count = _int({"views": views}, "views")
    when = _datetime({"at": at}, "at", now=now, allow_future=False) or now
    snapshot = ReachSnapshot.objects.create(incident=incident, at=when, views=count)
    if count > incident.reach_views:
        incident.reach_views = count
        _save(incident, {"reach_views"})
    audit_record(actor=actor, action="incident.reach", obj=incident, after={"views": count, "at": when})
    return snapshot


# --- access -------------------------------------------------------------------------


def _view_permission() -> Permission:
    return Permission.objects.get(content_type__app_label="incidents", codename="view_incident")


@transaction.atomic
def incident_grant_access(*, actor: Any, incident: Incident, user: Any, reason: str = "") -> IncidentUserObjectPermission:
    """A commander (or an incident manager) lets a named person see this one incident."""
    incident = _lock(incident)
    if not is_manager_or_commander(actor, incident):
        raise Forbidden("Only the incident's commander or an incident manager can grant access.")
    user = _user(user, "user")
    if user is None:
        raise ValidationError.for_field("user", "Choose a person.")
    reason = _reason(reason, required=False)
    grant, created = IncidentUserObjectPermission.objects.get_or_create(
        user=user, permission=_view_permission(), content_object=incident, defaults={"granted_by": _user_or_none(actor), "reason": reason}
    )
    if not created:
        if grant.expires_at is None:
            return grant
        grant.expires_at = None
        grant.save(update_fields=["expires_at"])
    now = db_now()
    timeline_record(
        incident=incident,
        kind=TimelineKind.ACCESS_GRANTED,
        actor=actor,
        summary=f"Access granted to {user.username}",
        data={"user": user.pk},
        at=now,
    )
    audit_record(actor=actor, action="incident.grant", obj=incident, after={"user": user.pk, "reason": reason})
    notification_create(
        user=user,
        incident=incident,
        kind="access_granted",
        text=f"You were given access to {incident.reference}",
        url=_incident_url(incident),
    )
    return grant


@transaction.atomic
def incident_revoke_access(*, actor: Any, incident: Incident, user: Any) -> int:
    incident = _lock(incident)
    if not is_manager_or_commander(actor, incident):
        raise Forbidden("Only the incident's commander or an incident manager can revoke access.")
    user = _user(user, "user")
    deleted, _ = IncidentUserObjectPermission.objects.filter(user=user, content_object=incident).delete()
    if not deleted:
        return 0
    now = db_now()
    timeline_record(
        incident=incident,
        kind=TimelineKind.ACCESS_REVOKED,
        actor=actor,
        summary=f"Access revoked for {user.username}",
        data={"user": user.pk},
        at=now,
    )
    audit_record(actor=actor, action="incident.revoke", obj=incident, before={"user": user.pk})
    return deleted


@transaction.atomic
def incident_break_glass(*, actor: Any, incident: Incident, reason: str) -> IncidentUserObjectPermission:
    """An admin opens a restricted incident they are not cleared for: a time-limited grant,
    an audit entry, a timeline entry, and an alert to the compartment's owners."""
    if not (getattr(actor, "is_authenticated", False) and actor.has_perm("incidents.break_glass_incident")):
        raise Forbidden("Break-glass access is for admins.")
    reason = _text({"reason": reason}, "reason", max_length=REASON_MAX, required=True, label="A reason for break-glass access")
    if len(reason) < 10:
        raise ValidationError.for_field("reason", "Explain why you need break-glass access (at least 10 characters).")
    incident = _lock(incident)
    now = db_now()
    expires = now + timedelta(hours=getattr(settings, "INCIDENT_BREAK_GLASS_HOURS", 4))
    grant, _ = IncidentUserObjectPermission.objects.update_or_create(
        user=actor,
        permission=_view_permission(),
        content_object=incident,
        defaults={"granted_by": actor, "reason": f"break-glass: {reason}"[:500], "expires_at": expires},
    )
    timeline_record(
        incident=incident,
        kind=TimelineKind.BREAK_GLASS,
        actor=actor,
        summary=f"Break-glass access by {actor.username}: {reason}",
        data={"reason": reason, "expires_at": expires},
        at=now,
    )
    audit_record(
        actor=actor,
        action="incident.break_glass",
        obj=incident,
        after={"reason": reason, "expires_at": expires, "compartment": incident.compartment_id},
        legal_hold=incident.legal_hold,
    )
    if incident.compartment_id is not None:
        for owner in Compartment.objects.get(pk=incident.compartment_id).owners.all():
            if owner.pk != actor.pk:
                notification_create(
                    user=owner,
                    incident=incident,
                    kind="break_glass",
                    text=f"{actor.username} used break-glass access on {incident.reference}: {reason}",
                    url=_incident_url(incident),
                )
    return grant


# --- comments ---------------------------------------------------------------------------


def render_markdown(text: str) -> str:
    """Markdown → HTML through a tight nh3 allow-list (no scripts, handlers, styles or
    non-http links survive)."""
    html = md.markdown(text, extensions=["fenced_code", "tables", "sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=COMMENT_TAGS,
        attributes=COMMENT_ATTRIBUTES,
        url_schemes=COMMENT_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


@transaction.atomic
def comment_create(
    *,
    actor: Any,
    incident: Incident,
    body: str,
    visibility: str = CommentVisibility.INTERNAL,
    original_language: str = "",
    translation: str = "",
    translation_language: str = "",
) -> Comment:
    body = _text({"body": body}, "body", max_length=COMMENT_MAX, required=True, label="The comment")
    translation = _text({"translation": translation}, "translation", max_length=COMMENT_MAX)
    visibility = _choice({"visibility": visibility}, "visibility", CommentVisibility.values, default=CommentVisibility.INTERNAL)
    original_language = _language(original_language, "original_language")
    translation_language = _language(translation_language, "translation_language")
    if translation and not translation_language:
        raise ValidationError.for_field("translation_language", "Say which language the translation is in.")
    incident = _lock(incident)
    comment = Comment.objects.create(
        incident=incident,
        author=_user_or_none(actor),
        body=body,
        body_html=render_markdown(body),
        visibility=visibility,
        original_language=original_language,
        translation=translation,
        translation_html=render_markdown(translation) if translation else "",
        translation_language=translation_language,
    )
    _touch(incident)
    search_vector_refresh(incident.pk)
    now = db_now()
    timeline_record(
        incident=incident,
        kind=TimelineKind.COMMENT,
        actor=actor,
        summary=f"{getattr(actor, 'username', 'system')} commented ({visibility})",
        data={"comment": comment.pk, "visibility": visibility},
        at=now,
    )
    audit_record(
        actor=actor, action="comment.create", obj=comment, after={"incident": incident.pk, "visibility": visibility, "length": len(body)}
    )
    names = {m.rstrip(".") for m in MENTION_RE.findall(body)}
    if names:
        for user in User.objects.filter(username__in=list(names)[:50], is_active=True).exclude(pk=_actor_id(actor) or 0):
            notification_create(
                user=user,
                incident=incident,
                kind="mention",
                text=f"{getattr(actor, 'username', 'someone')} mentioned you on {incident.reference}",
                url=_incident_url(incident),
            )
    return comment
