"""Delivery channels behind one interface: ``send(envelope) -> Outcome``.

An ``Envelope`` is built from an outgoing message in the caller's thread (it
reads the database); ``send`` for email and webhooks touches only the network,
so the engine can run sends in parallel threads. A page for a restricted
incident (compartment set) carries no restricted detail outside the app: only
the severity, the reference and the links.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMessage

from escalations.models import EscalationState, OutgoingMessage, PageState

WEBHOOK_TIMEOUT_SECONDS = 10
IDEMPOTENCY_EMAIL_HEADER = "X-Firebreak-Idempotency-Key"
IDEMPOTENCY_WEBHOOK_HEADER = "Idempotency-Key"
SIGNATURE_HEADER = "X-Firebreak-Signature"


@dataclass
class Envelope:
    channel: str
    target: str
    idempotency_key: str
    kind: str
    subject: str
    text: str
    lines: list[str] = field(default_factory=list)
    ack_url: str = ""
    incident_url: str = ""
    incident: dict[str, Any] = field(default_factory=dict)
    restricted: bool = False
    secret: str = ""
    webhook_format: str = "slack"
    recipient_id: int | None = None
    incident_id: int | None = None


@dataclass
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""
    permanent: bool = False
    elapsed: float = 0.0


class ChannelNotConfigured(Exception):
    pass


class DeliveryChannel(Protocol):
    name: str

    def send(self, envelope: Envelope) -> Outcome: ...


def _absolute(path: str) -> str:
    return settings.FIREBREAK_BASE_URL.rstrip("/") + path


def still_wanted(message: OutgoingMessage) -> bool:
    """A page nobody needs any more (acknowledged, escalation stopped) is not sent."""
    if message.kind != "page":
        return True
    if message.page is not None and message.page.state in (PageState.ACKNOWLEDGED, PageState.CANCELLED):
        return False
    return not (message.escalation is not None and message.escalation.state != EscalationState.ACTIVE)


def envelope_for(message: OutgoingMessage) -> Envelope:
    from escalations.services import page_ack_url

    incident = message.incident
    payload = message.payload or {}
    restricted = bool(incident and incident.compartment_id)
    sev = f"SEV{incident.severity}" if incident else "SEV?"
    reference = incident.reference if incident else ""
    incident_url = _absolute(f"/incidents/{incident.pk}/") if incident else ""
    ack_url = page_ack_url(message.page) if message.page_id else ""
    if message.kind == "gap":
        subject = f"{sev} incident {reference}: nobody was on call for escalation step {payload.get('step')}"
        text = f"{subject}. The escalation moved to the next step. Check the on-call schedule."
        lines = [text]
    elif message.kind == "handoff":
        subject = payload.get("subject", "Firebreak: you are now on call")
        lines = [str(line) for line in payload.get("lines", [])] or [subject]
        text = lines[0]
    elif message.kind == "chat":
        subject, lines = chat_lines(incident, payload, restricted)
        text = lines[0]
    elif message.kind in ("alert", "verify"):
        subject = payload.get("subject", "Firebreak alert")
        text = payload.get("text", subject)
        lines = [text]
    elif restricted or incident is None:
        subject = f"{sev} incident {reference} needs you"
        text = subject
        lines = [subject]
    else:
        subject = f"[{sev}] {reference}: {incident.title}"
        text = f"{sev} incident {reference} needs you: {incident.title}"
        lines = [
            text,
            f"Category: {incident.harm_category.name}" if incident.harm_category_id else "",
            f"Region: {incident.region}",
            f"Escalation: {payload.get('policy', '')}, step {payload.get('step', '')}",
        ]
        lines = [line for line in lines if line]
    contact = message.contact_method
    public_incident = {"id": incident.pk, "reference": reference, "severity": incident.severity} if incident else {}
    if incident and not restricted:
        public_incident["title"] = incident.title
        public_incident["status"] = incident.status
    return Envelope(
        channel=message.channel,
        target=message.target,
        idempotency_key=message.idempotency_key,
        kind=message.kind,
        subject=subject,
        text=text,
        lines=lines,
        ack_url=ack_url,
        incident_url=incident_url,
        incident=public_incident,
        restricted=restricted,
        secret=contact.secret if contact else "",
        webhook_format=(contact.webhook_format or "slack") if contact else str(payload.get("format") or "slack"),
        recipient_id=message.recipient_id,
        incident_id=message.incident_id,
    )


def chat_lines(incident, payload: dict[str, Any], restricted: bool) -> tuple[str, list[str]]:
    """A chat announcement, from the incident as it is now: a restricted incident is named
    by severity and reference only."""
    if incident is None:
        return "Firebreak", ["An incident changed."]
    sev, reference, event = f"SEV{incident.severity}", incident.reference, payload.get("event")
    if event == "declared":
        what = "declared"
    elif event == "severity":
        what = f"severity changed SEV{payload.get('before')} → SEV{payload.get('after')}"
    elif event == "status":
        what = f"is now {str(payload.get('after', '')).replace('_', ' ')}"
    else:
        what = "changed"
    if restricted:
        return f"{sev} incident {reference} {what}", [f"{sev} incident {reference} {what} (restricted: details in Firebreak)"]
    subject = f"[{sev}] {reference} {what}: {incident.title}"
    lines = [
        subject,
        f"Category: {incident.harm_category.name}" if incident.harm_category_id else "",
        f"Region: {incident.region}",
        f"Status: {incident.get_status_display()}",
    ]
    return subject, [line for line in lines if line]


def slack_escape(text: str) -> str:
    """Slack's mrkdwn treats <…> as links and mentions (<!channel>): escape as Slack asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_TEAMS_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\*_[]`~<>"})


def teams_escape(text: str) -> str:
    """Adaptive Card text blocks render a Markdown subset; nothing a person typed may
    become a link or formatting."""
    return text.translate(_TEAMS_MARKDOWN)


class EmailChannel:
    name = "email"

    def send(self, envelope: Envelope) -> Outcome:
        body = "\n".join(envelope.lines)
        if envelope.ack_url:
            body += f"\n\nAcknowledge: {envelope.ack_url}"
        if envelope.incident_url:
            body += f"\nOpen in Firebreak: {envelope.incident_url}"
        email = EmailMessage(
            subject=envelope.subject,
            body=body + "\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[envelope.target],
            headers={IDEMPOTENCY_EMAIL_HEADER: envelope.idempotency_key},
        )
        email.send(fail_silently=False)
        return Outcome(ok=True)


def webhook_body(envelope: Envelope) -> dict[str, Any]:
    if envelope.webhook_format == "generic":
        return {
            "event": envelope.kind,
            "idempotency_key": envelope.idempotency_key,
            "text": envelope.text,
            "incident": envelope.incident,
            "ack_url": envelope.ack_url,
            "incident_url": envelope.incident_url,
        }
    if envelope.webhook_format == "teams":
        return teams_card(envelope)
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": slack_escape("\n".join(envelope.lines))}}]
    buttons = []
    if envelope.ack_url:
        buttons.append({"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"}, "url": envelope.ack_url})
    if envelope.incident_url:
        buttons.append({"type": "button", "text": {"type": "plain_text", "text": "Open incident"}, "url": envelope.incident_url})
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return {"text": envelope.text, "blocks": blocks}


def teams_card(envelope: Envelope) -> dict[str, Any]:
    """A Microsoft Teams incoming-webhook (Workflows) message carrying one Adaptive Card."""
    body: list[dict[str, Any]] = [{"type": "TextBlock", "text": teams_escape(envelope.subject), "weight": "Bolder", "wrap": True}]
    body += [{"type": "TextBlock", "text": teams_escape(line), "wrap": True, "spacing": "Small"} for line in envelope.lines[1:]]
    actions = []
    if envelope.ack_url:
        actions.append({"type": "Action.OpenUrl", "title": "Acknowledge", "url": envelope.ack_url})
    if envelope.incident_url:
        actions.append({"type": "Action.OpenUrl", "title": "Open incident", "url": envelope.incident_url})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": actions,
    }
    return {
        "type": "message",
        "summary": envelope.text[:200],
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}],
    }


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookChannel:
    name = "webhook"

    def send(self, envelope: Envelope) -> Outcome:
        body = json.dumps(webhook_body(envelope), separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Firebreak-Pager/1",
            IDEMPOTENCY_WEBHOOK_HEADER: envelope.idempotency_key,
        }
        if envelope.secret:
            headers[SIGNATURE_HEADER] = webhook_signature(envelope.secret, int(time.time()), body)
        if not envelope.target.startswith(("http://", "https://")):
            return Outcome(ok=False, error=f"Not an http(s) URL: {envelope.target!r}", permanent=True)
        request = urllib.request.Request(envelope.target, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked above
        timeout = getattr(settings, "FIREBREAK_WEBHOOK_TIMEOUT", WEBHOOK_TIMEOUT_SECONDS)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return Outcome(ok=200 <= response.status < 300, status_code=response.status)
        except urllib.error.HTTPError as exc:
            return Outcome(ok=False, status_code=exc.code, error=f"HTTP {exc.code}", permanent=400 <= exc.code < 500 and exc.code != 429)
        except TimeoutError:
            return Outcome(ok=False, error=f"Timed out after {timeout} s")
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError | socket.timeout):
                return Outcome(ok=False, error=f"Timed out after {timeout} s")
            return Outcome(ok=False, error=f"Connection failed: {reason}")


class InAppChannel:
    name = "in_app"

    def send(self, envelope: Envelope) -> Outcome:
        from escalations.services import notify_in_app

        notify_in_app(
            user_id=int(envelope.target),
            incident_id=envelope.incident_id,
            kind="page" if envelope.kind == "page" else f"page_{envelope.kind}",
            text=envelope.text,
            url="/notifications/",
        )
        return Outcome(ok=True)


class SmsChannel:
    name = "sms"

    def send(self, envelope: Envelope) -> Outcome:
        raise ChannelNotConfigured("SMS / voice delivery is not configured on this installation.")


CHANNELS: dict[str, DeliveryChannel] = {c.name: c for c in (EmailChannel(), WebhookChannel(), InAppChannel(), SmsChannel())}


def send(envelope: Envelope) -> Outcome:
    """Never raises: every failure becomes an Outcome the engine records."""
    channel = CHANNELS.get(envelope.channel)
    started = time.monotonic()
    if channel is None:
        return Outcome(ok=False, error=f"Unknown channel {envelope.channel!r}", permanent=True)
    try:
        outcome = channel.send(envelope)
    except ChannelNotConfigured as exc:
        outcome = Outcome(ok=False, error=str(exc), permanent=True)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
        outcome = Outcome(ok=False, error=f"{exc.__class__.__name__}: {exc}")
    outcome.elapsed = time.monotonic() - started
    return outcome
