"""Every write of the integrations app: monitoring webhooks mapped onto incidents, and
inbound mail turned into intakes, threaded replies or quarantine entries.

Each entry point is one transaction. Deduplication rows (AlertLink, InboundMessage) are
claimed with INSERT … ON CONFLICT DO NOTHING before anything else is written, so a
replayed webhook or a message polled twice waits on the unique index and then finds the
first one's result instead of creating a second incident."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import IO, Any

import nh3
from django.core.files.base import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from accounts.models import ApiToken, Region
from core.audit import audit_record
from core.errors import ApplicationError, Conflict, Forbidden, NotFound, ValidationError
from core.time import db_now
from incidents.models import Channel, HarmCategory, Incident, Status, Surface
from incidents.services import comment_create, incident_acknowledge, intake_submit, timeline_record
from incidents.services_collab import evidence_add
from integrations.mail import ImapReader, MailboxUnavailable, maildir_fetch, maildir_keys
from integrations.models import (
    AlertLink,
    AlertSource,
    AlertSourceKind,
    AlertState,
    InboundMessage,
    Mailbox,
    MailboxKind,
    MessageState,
)

TITLE_MAX = 300
SUMMARY_MAX = 20_000
ALERT_TIMELINE_KIND = "alert"
MAIL_TIMELINE_KIND = "email"

# Monitoring severities → SEV1 (highest) … SEV4. PagerDuty's four are exact; Alertmanager
# has no standard, so the common label values are mapped and anything else is proposed.
SEVERITY_MAP = {
    "critical": 1,
    "sev1": 1,
    "p1": 1,
    "page": 1,
    "error": 2,
    "high": 2,
    "major": 2,
    "sev2": 2,
    "p2": 2,
    "warning": 3,
    "warn": 3,
    "medium": 3,
    "minor": 3,
    "sev3": 3,
    "p3": 3,
    "info": 4,
    "low": 4,
    "sev4": 4,
    "p4": 4,
}
PAGERDUTY_SEVERITIES = ("critical", "error", "warning", "info")
PAGERDUTY_ACTIONS = ("trigger", "acknowledge", "resolve")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
REFERENCE_RE = re.compile(r"\bINC-(\d{4})-(\d{5,7})\b")
MESSAGE_ID_RE = re.compile(r"<[^<>\s]{1,990}>")


def _sha256(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _clean_text(value: Any, limit: int) -> str:
    """Plain text without NUL and other C0 controls (tabs and newlines kept)."""
    text = "" if value is None else str(value)
    text = "".join(ch for ch in text if ch in "\n\t" or (ord(ch) >= 32 and ord(ch) != 127))
    return text.strip()[:limit]


# --- monitoring webhooks ------------------------------------------------------------------


@dataclass
class AlertOutcome:
    incident: Incident | None
    created: bool
    replayed: bool
    dedup_key: str
    message: str
    changes: list[str] = field(default_factory=list)


def _source(kind: str, token: ApiToken) -> AlertSource:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO integrations_alertsource (kind, token_id, name, created_at, events_received) "
            "VALUES (%s, %s, %s, now(), 0) ON CONFLICT (kind, token_id) DO NOTHING",
            [kind, token.pk, token.name[:200]],
        )
    return AlertSource.objects.select_for_update().get(kind=kind, token=token)


def _claim_link(source: AlertSource, key: str, label: str) -> tuple[AlertLink, bool]:
    """The link row for a dedup key, locked; created True when this call inserted it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO integrations_alertlink (source_id, dedup_key, label, state, created_at, last_event_at, "
            "last_payload_sha256, events) VALUES (%s, %s, %s, %s, now(), now(), '', 0) "
            "ON CONFLICT (source_id, dedup_key) DO NOTHING RETURNING id",
            [source.pk, key, label[:500], AlertState.TRIGGERED],
        )
        row = cursor.fetchone()
    link = AlertLink.objects.select_for_update(of=("self",)).select_related("incident").get(source=source, dedup_key=key)
    return link, row is not None


def _claim_links(source: AlertSource, fingerprints: list[str]) -> dict[str, tuple[AlertLink, bool]]:
    """_claim_link for many alert fingerprints in two statements, locked in key order."""
    keys = ["alert:" + fp for fp in fingerprints]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO integrations_alertlink (source_id, dedup_key, label, state, created_at, last_event_at, "
            "last_payload_sha256, events) SELECT %s, k, left(l, 500), %s, now(), now(), '', 0 "
            "FROM unnest(%s::text[], %s::text[]) AS t(k, l) ORDER BY k "
            "ON CONFLICT (source_id, dedup_key) DO NOTHING RETURNING dedup_key",
            [source.pk, AlertState.TRIGGERED, keys, fingerprints],
        )
        created = {row[0] for row in cursor.fetchall()}
    rows = AlertLink.objects.select_for_update(of=("self",)).select_related("incident").filter(source=source, dedup_key__in=keys)
    by_key = {link.dedup_key: link for link in rows.order_by("dedup_key")}
    return {fp: (by_key["alert:" + fp], "alert:" + fp in created) for fp in fingerprints}


def _severity_of(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return SEVERITY_MAP.get(str(value).strip().lower())


def _harm_category_of(value: Any) -> str:
    slug = str(value or "").strip().lower().replace("_", "-")
    if slug and HarmCategory.objects.filter(slug=slug, active=True).exists():
        return slug
    return "other"


def _countries_of(value: Any) -> list[str]:
    if not isinstance(value, str):
        return []
    return [c for c in (p.strip().upper() for p in value.split(",")) if COUNTRY_RE.match(c)][:50]


def _surfaces_of(value: Any) -> list[str]:
    if not isinstance(value, str):
        return []
    return [s for s in (p.strip().lower() for p in value.split(",")) if s in Surface.values]


def _past_time(value: Any, now: datetime) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if re.search(r"[+-]\d{4}$", text):  # PagerDuty examples write +0000
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = parse_datetime(text)
    except ValueError:
        return None
    if parsed is None or parsed.year < 2000 or parsed > now:
        return None
    return parsed.isoformat()


def _require_dict(value: Any, name: str, *, required: bool = True) -> dict:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ValidationError.for_field(name, f"'{name}' must be an object.")
    return value


def _require_str(value: Any, name: str, *, max_length: int, required: bool = True) -> str:
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.for_field(name, f"'{name}' is required as a non-empty string.")
    if len(value) > max_length:
        raise ValidationError.for_field(name, f"'{name}' is longer than {max_length} characters.")
    if "\x00" in value:
        raise ValidationError.for_field(name, f"'{name}' contains a NUL character.")
    return value.strip()


def _string_map(value: Any, name: str, *, required: bool) -> dict[str, str]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or (required and not value):
        raise ValidationError.for_field(name, f"'{name}' is required: an object of label names to string values.")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str) or len(key) > 200 or len(item) > 5000 or "\x00" in key or "\x00" in item:
            raise ValidationError.for_field(f"{name}.{key}"[:200], "Label and annotation values are strings of at most 5000 characters.")
        out[key] = item
    return out


def _alertmanager_parse(payload: Any) -> dict[str, Any]:
    body = _require_dict(payload, "body")
    version = body.get("version")
    if version != "4":
        raise ValidationError.for_field("version", 'Only Alertmanager webhook payload version "4" is understood.')
    status = body.get("status")
    if status not in ("firing", "resolved"):
        raise ValidationError.for_field("status", "'status' must be 'firing' or 'resolved'.")
    group_key = _require_str(body.get("groupKey"), "groupKey", max_length=10_000)
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise ValidationError.for_field("alerts", "'alerts' must be a non-empty list.")
    if len(alerts) > 1000:
        raise ValidationError.for_field("alerts", "At most 1000 alerts per notification.")
    common_labels = _string_map(body.get("commonLabels"), "commonLabels", required=False)
    common_annotations = _string_map(body.get("commonAnnotations"), "commonAnnotations", required=False)
    parsed = []
    for i, alert in enumerate(alerts):
        alert = _require_dict(alert, f"alerts[{i}]")
        labels = _string_map(alert.get("labels"), f"alerts[{i}].labels", required=True)
        if not labels.get("alertname"):
            raise ValidationError.for_field(f"alerts[{i}].labels.alertname", "Every alert needs an 'alertname' label.")
        alert_status = alert.get("status", status)
        if alert_status not in ("firing", "resolved"):
            raise ValidationError.for_field(f"alerts[{i}].status", "An alert's status is 'firing' or 'resolved'.")
        fingerprint = alert.get("fingerprint")
        if fingerprint in (None, ""):
            fingerprint = _sha256(labels)[:16]
        fingerprint = _require_str(fingerprint, f"alerts[{i}].fingerprint", max_length=200)
        parsed.append(
            {
                "status": alert_status,
                "labels": labels,
                "annotations": _string_map(alert.get("annotations"), f"alerts[{i}].annotations", required=False),
                "fingerprint": fingerprint,
                "startsAt": alert.get("startsAt"),
                "generatorURL": alert.get("generatorURL") if isinstance(alert.get("generatorURL"), str) else "",
            }
        )
    return {
        "status": status,
        "group_key": group_key,
        "receiver": body.get("receiver") if isinstance(body.get("receiver"), str) else "",
        "external_url": body.get("externalURL") if isinstance(body.get("externalURL"), str) else "",
        "common_labels": common_labels,
        "common_annotations": common_annotations,
        "alerts": parsed,
    }


def _alertmanager_incident_data(parsed: dict[str, Any], now: datetime) -> dict[str, Any]:
    first = next((a for a in parsed["alerts"] if a["status"] == "firing"), parsed["alerts"][0])
    labels = {**first["labels"], **parsed["common_labels"]}
    annotations = {**first["annotations"], **parsed["common_annotations"]}
    title = annotations.get("summary") or labels["alertname"]
    lines = [annotations.get("description", "")]
    lines.append("Labels: " + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())))
    if annotations.get("runbook_url"):
        lines.append(f"Runbook: {annotations['runbook_url']}")
    if first["generatorURL"]:
        lines.append(f"Source: {first['generatorURL']}")
    data: dict[str, Any] = {
        "title": _clean_text(title, TITLE_MAX) or "Alert",
        "summary": _clean_text("\n\n".join(x for x in lines if x), SUMMARY_MAX),
        "channel": labels["channel"] if labels.get("channel") in Channel.values else Channel.INTERNAL_DETECTION,
        "harm_category": _harm_category_of(labels.get("harm_category")),
        "countries": _countries_of(labels.get("country") or labels.get("countries")),
        "surfaces": _surfaces_of(labels.get("surface") or labels.get("surfaces")),
        "intake_details": {
            "source": "Prometheus Alertmanager",
            "alertname": labels["alertname"][:2000],
            "group_key": parsed["group_key"][:2000],
        },
    }
    severity = _severity_of(labels.get("severity"))
    if severity:
        data["severity"] = severity
    region = (labels.get("region") or "").strip().lower()
    if region in Region.values:
        data["region"] = region
    if labels.get("hashtag"):
        data["hashtags"] = [labels["hashtag"][:140]]
    started = _past_time(first.get("startsAt"), now)
    if started:
        data["first_signal_at"] = started
    return data


def _link_event(link: AlertLink, incident: Incident | None, state: str, payload_hash: str, now: datetime) -> None:
    link.incident = incident
    link.state = state
    link.last_payload_sha256 = payload_hash
    link.last_event_at = now
    link.events += 1
    link.save(update_fields=["incident", "state", "last_payload_sha256", "last_event_at", "events"])


def _source_seen(source: AlertSource, now: datetime) -> None:
    AlertSource.objects.filter(pk=source.pk).update(last_event_at=now, events_received=source.events_received + 1)


def _create_incident(*, actor: Any, data: dict[str, Any]) -> Incident:
    incident, _ = intake_submit(actor=actor, data=data, idempotency_key=None)
    return incident


def _surviving(incident: Incident | None) -> Incident | None:
    """A duplicate merged into another incident hands its alerts on to the survivor."""
    for _ in range(10):
        if incident is None or incident.status != Status.MERGED or incident.merged_into_id is None:
            return incident
        incident = Incident.objects.get(pk=incident.merged_into_id)
    return incident


@transaction.atomic
def alertmanager_receive(*, actor: Any, token: ApiToken, payload: Any) -> AlertOutcome:
    """One Alertmanager notification. The group (groupKey) opens at most one incident;
    each alert's fingerprint is linked to it, so alerts seen again, resolved or firing
    anew are recorded on that incident's timeline."""
    parsed = _alertmanager_parse(payload)
    now = db_now()
    payload_hash = _sha256(payload)
    source = _source(AlertSourceKind.ALERTMANAGER, token)
    group_key = "group:" + hashlib.sha256(parsed["group_key"].encode()).hexdigest()
    group, _ = _claim_link(source, group_key, parsed["group_key"])
    if group.last_payload_sha256 == payload_hash:
        return AlertOutcome(_surviving(group.incident), False, True, group_key, "Already received; nothing changed.")

    fingerprints = {a["fingerprint"]: a for a in parsed["alerts"]}
    links = _claim_links(source, sorted(fingerprints))
    incident = _surviving(group.incident or next((link.incident for link, _ in links.values() if link.incident is not None), None))
    created = False
    firing = [fp for fp, a in fingerprints.items() if a["status"] == "firing"]
    if incident is None and firing:
        incident = _create_incident(actor=actor, data=_alertmanager_incident_data(parsed, now))
        created = True

    newly_firing, resolved = [], []
    for fp, (link, link_created) in links.items():
        alert = fingerprints[fp]
        if alert["status"] == "firing" and (link_created or link.state == AlertState.RESOLVED or link.incident is None):
            newly_firing.append(alert)
        if alert["status"] == "resolved" and link.state != AlertState.RESOLVED:
            resolved.append(alert)
        state = (
            AlertState.RESOLVED
            if alert["status"] == "resolved"
            else (link.state if not link_created and link.state != AlertState.RESOLVED else AlertState.TRIGGERED)
        )
        link.incident, link.state, link.last_payload_sha256 = incident, state, _sha256(alert)
        link.last_event_at, link.events = now, link.events + 1
    AlertLink.objects.bulk_update(
        [link for link, _ in links.values()], ["incident", "state", "last_payload_sha256", "last_event_at", "events"], batch_size=500
    )

    changes: list[str] = []
    if incident is not None and not created and newly_firing:
        names = ", ".join(sorted({a["labels"]["alertname"] for a in newly_firing}))
        summary = f"Alertmanager: {len(newly_firing)} alert(s) firing again or newly in the group ({names})"
        timeline_record(
            incident=incident,
            kind=ALERT_TIMELINE_KIND,
            actor=actor,
            summary=summary,
            data={"source": "alertmanager", "fingerprints": [a["fingerprint"] for a in newly_firing]},
            at=now,
        )
        changes.append("firing")
    if incident is not None and resolved:
        names = ", ".join(sorted({a["labels"]["alertname"] for a in resolved}))
        all_resolved = (
            not AlertLink.objects.filter(source=source, incident=incident, dedup_key__startswith="alert:")
            .exclude(state=AlertState.RESOLVED)
            .exists()
        )
        summary = f"Alertmanager: {len(resolved)} alert(s) resolved at the source ({names})"
        if all_resolved:
            summary += "; every alert of the group is now resolved"
        timeline_record(
            incident=incident,
            kind=ALERT_TIMELINE_KIND,
            actor=actor,
            summary=summary,
            data={"source": "alertmanager", "fingerprints": [a["fingerprint"] for a in resolved], "all_resolved": all_resolved},
            at=now,
        )
        changes.append("resolved")
    group_state = AlertState.RESOLVED if parsed["status"] == "resolved" else AlertState.TRIGGERED
    _link_event(group, incident, group_state, payload_hash, now)
    _source_seen(source, now)
    audit_record(
        actor=actor,
        action="integrations.alertmanager",
        obj=group,
        after={"incident": incident.pk if incident else None, "created": created, "status": parsed["status"], "alerts": len(fingerprints)},
    )
    if incident is None:
        return AlertOutcome(None, False, False, group_key, "Resolved alerts for a group with no incident; nothing opened.")
    message = "Incident opened." if created else ("Recorded on the incident." if changes else "Already linked; nothing new.")
    return AlertOutcome(incident, created, False, group_key, message, changes)


def _pagerduty_parse(payload: Any) -> dict[str, Any]:
    body = _require_dict(payload, "body")
    routing_key = _require_str(body.get("routing_key"), "routing_key", max_length=200)
    action = body.get("event_action")
    if action not in PAGERDUTY_ACTIONS:
        raise ValidationError.for_field("event_action", f"'event_action' must be one of: {', '.join(PAGERDUTY_ACTIONS)}.")
    dedup_key = _require_str(body.get("dedup_key"), "dedup_key", max_length=255, required=action != "trigger")
    out: dict[str, Any] = {"routing_key": routing_key, "action": action, "dedup_key": dedup_key}
    if action == "trigger":
        inner = _require_dict(body.get("payload"), "payload")
        out["summary"] = _require_str(inner.get("summary"), "payload.summary", max_length=1024)
        out["source"] = _require_str(inner.get("source"), "payload.source", max_length=255)
        severity = inner.get("severity")
        if severity not in PAGERDUTY_SEVERITIES:
            raise ValidationError.for_field("payload.severity", f"'payload.severity' must be one of: {', '.join(PAGERDUTY_SEVERITIES)}.")
        out["severity"] = severity
        for key in ("component", "group", "class", "timestamp"):
            out[key] = _require_str(inner.get(key), f"payload.{key}", max_length=255, required=False)
        details = inner.get("custom_details")
        if details is not None and len(json.dumps(details, default=str)) > 16_000:
            raise ValidationError.for_field("payload.custom_details", "'payload.custom_details' is limited to 16,000 characters.")
        out["custom_details"] = details
        raw_links = body.get("links")
        links: list[Any] = raw_links if isinstance(raw_links, list) else []
        out["links"] = [str(link.get("href"))[:2000] for link in links[:20] if isinstance(link, dict) and isinstance(link.get("href"), str)]
        if not dedup_key:
            # PagerDuty makes a key up when none is sent; ours is the content's hash, so the
            # same trigger sent twice still opens one incident.
            out["dedup_key"] = _sha256({k: body.get(k) for k in ("payload", "links", "images", "client")})
    return out


def _pagerduty_incident_data(parsed: dict[str, Any], now: datetime) -> dict[str, Any]:
    details = parsed["custom_details"]
    lines = [f"Source: {parsed['source']}"]
    lines += [f"{key.capitalize()}: {parsed[key]}" for key in ("component", "group", "class") if parsed[key]]
    if details not in (None, "", {}):
        lines.append("Details: " + (json.dumps(details, ensure_ascii=False, sort_keys=True) if not isinstance(details, str) else details))
    lines += [f"Link: {href}" for href in parsed["links"]]
    data: dict[str, Any] = {
        "title": _clean_text(parsed["summary"], TITLE_MAX) or "Alert",
        "summary": _clean_text("\n".join(lines), SUMMARY_MAX),
        "channel": Channel.INTERNAL_DETECTION,
        "severity": SEVERITY_MAP[parsed["severity"]],
        "harm_category": _harm_category_of(parsed["group"]),
        "surfaces": _surfaces_of(parsed["component"]),
        "intake_details": {"source": f"PagerDuty Events v2: {parsed['source']}"[:2000], "dedup_key": parsed["dedup_key"][:2000]},
    }
    if isinstance(details, dict):
        data["countries"] = _countries_of(details.get("country") if isinstance(details.get("country"), str) else "")
    started = _past_time(parsed["timestamp"], now)
    if started:
        data["first_signal_at"] = started
    return data


@transaction.atomic
def pagerduty_enqueue(*, actor: Any, token: ApiToken, payload: Any) -> AlertOutcome:
    """One PagerDuty Events API v2 event: trigger opens (or finds) the incident for its
    dedup_key, acknowledge acknowledges it, resolve records the resolution at the source."""
    parsed = _pagerduty_parse(payload)
    now = db_now()
    payload_hash = _sha256(payload)
    source = _source(AlertSourceKind.PAGERDUTY, token)
    key = parsed["dedup_key"]
    action = parsed["action"]
    if action != "trigger":
        link = AlertLink.objects.select_for_update(of=("self",)).select_related("incident").filter(source=source, dedup_key=key).first()
        if link is None or link.incident is None:
            raise NotFound(
                f"No alert with this dedup_key was triggered here; {action} needs a trigger first.",
                errors={"dedup_key": ["Unknown dedup_key for this intake key."]},
            )
        incident = _surviving(link.incident)
        assert incident is not None
        target = AlertState.ACKNOWLEDGED if action == "acknowledge" else AlertState.RESOLVED
        if link.state == target or (target == AlertState.ACKNOWLEDGED and link.state == AlertState.RESOLVED):
            return AlertOutcome(incident, False, True, key, "Already received; nothing changed.")
        if action == "acknowledge":
            incident_acknowledge(actor=actor, incident=incident)
            timeline_record(
                incident=incident,
                kind=ALERT_TIMELINE_KIND,
                actor=actor,
                summary="PagerDuty: alert acknowledged at the source",
                data={"source": "pagerduty", "dedup_key": key},
                at=now,
            )
        else:
            timeline_record(
                incident=incident,
                kind=ALERT_TIMELINE_KIND,
                actor=actor,
                summary="PagerDuty: alert resolved at the source",
                data={"source": "pagerduty", "dedup_key": key},
                at=now,
            )
        _link_event(link, incident, target, payload_hash, now)
        _source_seen(source, now)
        audit_record(actor=actor, action=f"integrations.pagerduty.{action}", obj=link, after={"incident": incident.pk})
        return AlertOutcome(incident, False, False, key, f"Alert {target}.", [action])

    link, _ = _claim_link(source, key, key)
    link.incident = _surviving(link.incident)
    if link.incident is not None:
        if link.last_payload_sha256 == payload_hash or link.state != AlertState.RESOLVED:
            return AlertOutcome(link.incident, False, True, key, "An incident is already open for this dedup_key.")
        timeline_record(
            incident=link.incident,
            kind=ALERT_TIMELINE_KIND,
            actor=actor,
            summary="PagerDuty: alert triggered again after it resolved",
            data={"source": "pagerduty", "dedup_key": key},
            at=now,
        )
        _link_event(link, link.incident, AlertState.TRIGGERED, payload_hash, now)
        _source_seen(source, now)
        audit_record(
            actor=actor, action="integrations.pagerduty.trigger", obj=link, after={"incident": link.incident.pk, "retrigger": True}
        )
        return AlertOutcome(link.incident, False, False, key, "Alert triggered again.", ["trigger"])
    incident = _create_incident(actor=actor, data=_pagerduty_incident_data(parsed, now))
    _link_event(link, incident, AlertState.TRIGGERED, payload_hash, now)
    _source_seen(source, now)
    audit_record(actor=actor, action="integrations.pagerduty.trigger", obj=link, after={"incident": incident.pk, "created": True})
    return AlertOutcome(incident, True, False, key, "Incident opened.", ["trigger"])


# --- inbound mail ---------------------------------------------------------------------------

QUARANTINE_PERM = "integrations.review_quarantine"
AUTH_FAIL_RE = re.compile(r"\bdmarc\s*=\s*fail\b", re.IGNORECASE)
FATAL_DEFECTS = (
    "StartBoundaryNotFoundDefect",
    "CloseBoundaryNotFoundDefect",
    "FirstHeaderLineIsContinuationDefect",
    "MisplacedEnvelopeHeaderDefect",
    "MultipartInvariantViolationDefect",
    "NoBoundaryInMultipartDefect",
    "InvalidMultipartContentTransferEncodingDefect",
    "MissingHeaderBodySeparatorDefect",
    "InvalidBase64CharactersDefect",
    "InvalidBase64PaddingDefect",
    "InvalidBase64LengthDefect",
    "HeaderMissingRequiredValue",
    "InvalidHeaderDefect",
    "NonASCIILocalPartDefect",
)


@dataclass
class PollResult:
    mailbox: str
    seen: int = 0
    accepted: int = 0
    threaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    error: str = ""


def _header(msg: Any, name: str, limit: int = 1000) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a header the parser cannot decode is read raw below
        value = None
        for key, raw in getattr(msg, "_headers", []):
            if key.lower() == name.lower():
                value = raw
                break
    return _clean_text(str(value) if value is not None else "", limit).replace("\n", " ")


def _headers_list(msg: Any) -> list[list[str]]:
    out = []
    for key, value in getattr(msg, "_headers", [])[:200]:
        out.append([_clean_text(key, 200), _clean_text(str(value), 2000)])
    return out


def _message_ids(value: str) -> list[str]:
    return MESSAGE_ID_RE.findall(value or "")[:50]


def _date(value: str, now: datetime) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return min(parsed, now)


def _defects(msg: Any) -> list[str]:
    names = []
    for part in msg.walk():
        names += [type(d).__name__ for d in getattr(part, "defects", [])]
    return names


def _sender(msg: Any) -> tuple[str, str]:
    """(display name, address) of the one From address; ('', '') when there is not exactly one."""
    try:
        pairs = getaddresses([str(v) for v in (msg.get_all("From") or [])])
    except Exception:  # noqa: BLE001
        return "", ""
    pairs = [(n, a) for n, a in pairs if a]
    if len(pairs) != 1 or "@" not in pairs[0][1]:
        return "", ""
    return _clean_text(pairs[0][0], 200), _clean_text(pairs[0][1], 320).lower()


def _domain_allowed(address: str, allowed: list[str]) -> bool:
    domain = address.rsplit("@", 1)[-1].lower()
    if not allowed:
        return True
    return any(domain == d.lower().strip() or domain.endswith("." + d.lower().strip()) for d in allowed if d.strip())


def _body_text(msg: EmailMessage) -> str:
    """The text part, or the HTML part reduced to text by nh3 (its markup never survives)."""
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else str(payload)
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = html.unescape(
            nh3.clean(content, tags=set(), strip_comments=True, clean_content_tags={"script", "style", "head", "title"})
        )
        content = re.sub(r"\n\s*\n\s*\n+", "\n\n", content)
    return _clean_text(content, SUMMARY_MAX)


def _attachments(msg: EmailMessage) -> list[tuple[str, bytes]]:
    out = []
    for i, part in enumerate(msg.iter_attachments()):
        name = _clean_text(part.get_filename() or f"attachment-{i + 1}", 200).replace("/", "_").replace("\\", "_")
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = part.as_bytes()
        out.append((name or f"attachment-{i + 1}", data))
    return out


def _evidence(*, actor: Any, incident: Incident, name: str, data: bytes, message_id: str, title: str) -> None:
    """The file as evidence; when the evidence rules refuse it (type, size, CSEA), its hash
    and name are recorded instead, so nothing goes unrecorded."""
    digest = hashlib.sha256(data).hexdigest()
    captured = {"message_id": message_id, "file_name": name, "size": len(data)}
    try:
        with transaction.atomic():
            evidence_add(actor=actor, incident=incident, kind="file", title=title, upload=SimpleUploadedFile(name, data), captured=captured)
            return
    except ApplicationError as exc:
        captured["not_stored_because"] = exc.message
    evidence_add(
        actor=actor,
        incident=incident,
        kind="hash_only",
        title=title,
        sha256=digest,
        platform_id=f"email {message_id} {name}"[:200],
        captured=captured,
    )


def _thread_target(mailbox: Mailbox, subject: str, in_reply_to: str, references: str) -> Incident | None:
    visible = Incident.objects.visible_to(mailbox.intake_user)
    match = REFERENCE_RE.search(subject)
    if match:
        incident = visible.filter(reference=match.group(0)).first()
        if incident is not None:
            return incident
    ids = _message_ids(in_reply_to) + _message_ids(references)
    if ids:
        earlier = (
            InboundMessage.objects.filter(mailbox=mailbox, message_id__in=ids, incident__isnull=False)
            .order_by("-fetched_at")
            .values_list("incident_id", flat=True)
            .first()
        )
        if earlier:
            return visible.filter(pk=earlier).first()
    return None


def _intake_data(mailbox: Mailbox, inbound: InboundMessage, text: str, name: str, now: datetime) -> dict[str, Any]:
    received = inbound.received_at or now
    domain = inbound.from_address.rsplit("@", 1)[-1]
    details: dict[str, Any] = {k: v for k, v in (mailbox.intake_details or {}).items() if isinstance(v, str | int | float | bool)}
    details["email_from"] = inbound.from_address
    details["message_id"] = inbound.message_id[:2000]
    if mailbox.channel == Channel.MEDIA_INQUIRY:
        details.setdefault("outlet", domain)
        details.setdefault("reporter", f"{name} <{inbound.from_address}>" if name else inbound.from_address)
        details.setdefault("reporter_deadline", (received + timedelta(hours=mailbox.response_hours)).isoformat())
    else:
        details.setdefault("authority", name or domain)
        details.setdefault("legal_instrument", "Not stated by the mailbox: see the original message")
    data: dict[str, Any] = {
        "title": _clean_text(inbound.subject, TITLE_MAX) or f"Email from {inbound.from_address}",
        "summary": text,
        "channel": mailbox.channel,
        "harm_category": mailbox.default_harm_category.slug,
        "received_at": received.isoformat(),
        "intake_details": details,
    }
    if mailbox.default_severity:
        data["severity"] = mailbox.default_severity
    return data


def _take_in(*, mailbox: Mailbox, inbound: InboundMessage, msg: EmailMessage, raw: bytes, now: datetime) -> None:
    """Open an incident or thread onto one; the .eml and each attachment become evidence."""
    actor = mailbox.intake_user
    name, _ = _sender(msg)
    text = _body_text(msg)
    target = _thread_target(mailbox, inbound.subject, inbound.in_reply_to, inbound.references)
    if target is not None:
        body = f"Email from {name or inbound.from_address} <{inbound.from_address}> — {inbound.subject}\n\n{text}"
        comment_create(actor=actor, incident=target, body=_clean_text(body, 50_000) or "(empty message)")
        incident, state = target, MessageState.THREADED
    else:
        incident, _ = intake_submit(actor=actor, data=_intake_data(mailbox, inbound, text, name, now))
        state = MessageState.ACCEPTED
    _evidence(
        actor=actor,
        incident=incident,
        name="message.eml",
        data=raw,
        message_id=inbound.message_id,
        title=f"Original email: {inbound.subject}"[:300],
    )
    for file_name, data in _attachments(msg):
        _evidence(
            actor=actor,
            incident=incident,
            name=file_name,
            data=data,
            message_id=inbound.message_id,
            title=f"Email attachment: {file_name}"[:300],
        )
    timeline_record(
        incident=incident,
        kind=MAIL_TIMELINE_KIND,
        actor=actor,
        summary=f"Email {'threaded' if state == MessageState.THREADED else 'received'} from {inbound.from_address}"[:1000],
        data={"message_id": inbound.message_id, "sha256": inbound.sha256, "mailbox": mailbox.name},
        at=now,
    )
    inbound.incident = incident
    inbound.state = state


def _quarantine_reason(mailbox: Mailbox, inbound: InboundMessage, msg: Any, oversized: bool) -> str:
    if oversized:
        return f"Oversized: {inbound.size:,} bytes, the limit is {mailbox.max_message_bytes:,}."
    if msg is None:
        return "Malformed: the message could not be parsed."
    defects = sorted({d for d in _defects(msg) if d in FATAL_DEFECTS})
    if defects:
        return f"Malformed MIME: {', '.join(defects)}."
    if not inbound.from_address:
        return "Unauthorised sender: no single valid From address."
    if not _domain_allowed(inbound.from_address, mailbox.allowed_sender_domains):
        return f"Unauthorised sender: {inbound.from_address.rsplit('@', 1)[-1]} is not an allowed sender domain."
    auth = " ".join(str(v) for v in (msg.get_all("Authentication-Results") or []))
    if AUTH_FAIL_RE.search(auth):
        return "Forged sender: Authentication-Results reports dmarc=fail."
    return ""


def _claim_message(mailbox: Mailbox, message_id: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO integrations_inboundmessage (mailbox_id, message_id, source_key, from_address, from_header, subject, "
            'in_reply_to, "references", headers, fetched_at, size, sha256, raw, state, reason) '
            "VALUES (%s, %s, '', '', '', '', '', '', '[]', now(), 0, '', '', %s, '') "
            "ON CONFLICT (mailbox_id, message_id) DO NOTHING RETURNING id",
            [mailbox.pk, message_id, MessageState.QUARANTINED],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def mail_ingest(*, mailbox: Mailbox, source_key: str, size: int, sha256: str, head: bytes, body: IO[bytes] | None) -> InboundMessage | None:
    """Take in one message; None when its Message-ID was taken in before. Any message that is
    not accepted or threaded is kept in quarantine with the reason."""
    now = db_now()
    try:
        headers = BytesHeaderParser(policy=policy.default).parsebytes(head)
    except Exception:  # noqa: BLE001 - a broken header block is still quarantined
        headers = None
    message_id = _message_ids(_header(headers, "Message-ID", 998))[:1] if headers is not None else []
    key = message_id[0] if message_id else f"<sha256.{sha256 or hashlib.sha256(head).hexdigest()}@firebreak.invalid>"
    oversized = size > mailbox.max_message_bytes
    stored: str | None = None
    try:
        with transaction.atomic():
            pk = _claim_message(mailbox, key)
            if pk is None:
                return None
            inbound = InboundMessage.objects.select_for_update().get(pk=pk)
            inbound.source_key = source_key[:300]
            inbound.size = size
            inbound.sha256 = sha256
            inbound.fetched_at = now
            if headers is not None:
                name, address = _sender(headers)
                inbound.from_address = address
                inbound.from_header = _header(headers, "From")
                inbound.subject = _header(headers, "Subject")
                inbound.in_reply_to = _header(headers, "In-Reply-To", 998)
                inbound.references = _header(headers, "References", 20_000)
                inbound.headers = _headers_list(headers)
                inbound.received_at = _date(_header(headers, "Date"), now)
            if body is not None:
                body.seek(0)
                inbound.raw.save("message.eml", File(body), save=False)
                stored = inbound.raw.name
            msg = None
            raw = b""
            if body is not None and not oversized:
                body.seek(0)
                raw = body.read()
                try:
                    msg = BytesParser(policy=policy.default).parsebytes(raw)
                except Exception:  # noqa: BLE001
                    msg = None
            reason = _quarantine_reason(mailbox, inbound, msg, oversized) if headers is not None else "Malformed: unreadable header block."
            if not reason and msg is not None:
                try:
                    with transaction.atomic():
                        _take_in(mailbox=mailbox, inbound=inbound, msg=msg, raw=raw, now=now)
                except ApplicationError as exc:
                    reason = f"Intake refused it: {exc.message}"
                    inbound.incident = None
            if reason:
                inbound.state = MessageState.QUARANTINED
                inbound.reason = reason
                if body is None:
                    inbound.reason += " Only the headers were read; the message stays in the mailbox."
            inbound.save()
            audit_record(
                actor=mailbox.intake_user,
                action=f"integrations.mail.{inbound.state}",
                obj=inbound,
                after={
                    "mailbox": mailbox.name,
                    "message_id": key,
                    "sha256": sha256,
                    "size": size,
                    "reason": inbound.reason,
                    "incident": inbound.incident_id,
                },
            )
            return inbound
    except BaseException:
        if stored:
            InboundMessage._meta.get_field("raw").storage.delete(stored)  # type: ignore[attr-defined]
        raise


def mailbox_poll(*, mailbox: Mailbox) -> PollResult:
    """Read every message of the mailbox not taken in before (by source key, then by
    Message-ID). Messages stay in the mailbox; each is its own transaction."""
    result = PollResult(mailbox=mailbox.name)
    reader: ImapReader | None = None
    try:
        if mailbox.kind == MailboxKind.MAILDIR:
            keys = maildir_keys(mailbox.maildir_path)
        else:
            password = os.environ.get(mailbox.password_env, "") if mailbox.password_env else ""
            reader = ImapReader(
                host=mailbox.host,
                port=mailbox.port,
                use_ssl=mailbox.use_ssl,
                username=mailbox.username,
                password=password,
                folder=mailbox.folder,
            )
            keys = reader.keys()
        known = set(InboundMessage.objects.filter(mailbox=mailbox, source_key__in=keys).values_list("source_key", flat=True))
        new_keys = [k for k in keys if k not in known]
        fetched = (
            maildir_fetch(mailbox.maildir_path, new_keys) if reader is None else reader.fetch(new_keys, max_bytes=mailbox.max_message_bytes)
        )
        for item in fetched:
            result.seen += 1
            try:
                inbound = mail_ingest(
                    mailbox=mailbox, source_key=item.source_key, size=item.size, sha256=item.sha256, head=item.head, body=item.body
                )
            finally:
                if item.body is not None:
                    item.body.close()
            if inbound is None:
                result.duplicates += 1
            else:
                setattr(result, inbound.state, getattr(result, inbound.state) + 1)
    except MailboxUnavailable as exc:
        result.error = str(exc)[:2000]
    finally:
        if reader is not None:
            reader.close()
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=db_now(), last_error=result.error)
    return result


def mail_poll_all(*, name: str | None = None) -> list[PollResult]:
    boxes = Mailbox.objects.filter(active=True).select_related("intake_user", "default_harm_category")
    if name:
        boxes = boxes.filter(name=name)
    return [mailbox_poll(mailbox=box) for box in boxes]


def _require_reviewer(actor: Any) -> None:
    if not actor.has_perm(QUARANTINE_PERM):
        raise Forbidden("Your role does not allow reviewing quarantined mail.")


@transaction.atomic
def inbound_release(*, actor: Any, message: InboundMessage) -> InboundMessage:
    """Take a quarantined message in after all: a new incident or a threaded reply."""
    _require_reviewer(actor)
    inbound = InboundMessage.objects.select_for_update(of=("self",)).select_related("mailbox").get(pk=message.pk)
    if inbound.state != MessageState.QUARANTINED:
        raise Conflict(f"This message is {inbound.get_state_display().lower()}, not in quarantine.")
    if not inbound.raw:
        raise ValidationError.for_field("raw", "Only the headers of this message were read; fetch it from the mailbox to take it in.")
    with inbound.raw.open("rb") as handle:
        raw = handle.read()
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    before = {"state": inbound.state, "reason": inbound.reason}
    now = db_now()
    _take_in(mailbox=inbound.mailbox, inbound=inbound, msg=msg, raw=raw, now=now)
    inbound.decided_by = actor
    inbound.decided_at = now
    inbound.save()
    audit_record(
        actor=actor,
        action="integrations.mail.release",
        obj=inbound,
        before=before,
        after={"state": inbound.state, "incident": inbound.incident_id},
    )
    return inbound


@transaction.atomic
def inbound_discard(*, actor: Any, message: InboundMessage, reason: str = "") -> InboundMessage:
    _require_reviewer(actor)
    inbound = InboundMessage.objects.select_for_update().get(pk=message.pk)
    if inbound.state != MessageState.QUARANTINED:
        raise Conflict(f"This message is {inbound.get_state_display().lower()}, not in quarantine.")
    before = {"state": inbound.state, "reason": inbound.reason}
    inbound.state = MessageState.REJECTED
    inbound.reason = (inbound.reason + (f" Discarded: {_clean_text(reason, 1000)}" if reason else " Discarded.")).strip()
    inbound.decided_by = actor
    inbound.decided_at = db_now()
    inbound.save()
    audit_record(
        actor=actor, action="integrations.mail.discard", obj=inbound, before=before, after={"state": inbound.state, "reason": reason}
    )
    return inbound
