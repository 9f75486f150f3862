"""Outbound chat announcements: queued in the incident's transaction, delivered by the
escalations engine to a real local HTTP receiver in Slack or Teams shape, text escaped,
restricted incidents without detail, retried on failure, never twice."""

import json
from datetime import UTC, datetime

import pytest

from accounts.models import Compartment
from escalations import engine
from escalations.models import DeliveryAttempt, OutgoingMessage
from incidents import services as incident_services
from incidents.models import HarmCategory
from integrations.chat import chat_announce
from integrations.models import ChatWebhook
from tests.escalations.factories_paging import Receiver

pytestmark = pytest.mark.django_db

HOSTILE_TITLE = "Challenge <!channel> <http://evil.example|click here> [docs](http://evil.example) **loud**"


def _declare(actor, **fields):
    data = {
        "title": HOSTILE_TITLE,
        "channel": "internal_detection",
        "harm_category": "dangerous-challenges",
        "severity": 1,
        "region": "emea",
    }
    data.update(fields)
    return incident_services.incident_create(actor=actor, data=data)


def _hook(url, **fields):
    return ChatWebhook.objects.create(name="#rapid-response", url=url, **fields)


def _deliver():
    return engine.deliver_due(datetime.now(UTC))


def _bodies(receiver):
    return [json.loads(r["body"]) for r in receiver.requests]


def test_a_declared_incident_is_announced_to_slack_with_its_text_escaped(manager):
    with Receiver() as receiver:
        _hook(receiver.url)
        incident = _declare(manager)
        assert OutgoingMessage.objects.filter(kind="chat", incident=incident).count() == 1
        _deliver()
    [body] = _bodies(receiver)
    text = body["blocks"][0]["text"]["text"]
    assert incident.reference in text and "declared" in text and "Region: emea" in text
    assert "<!channel>" not in text and "<http://evil.example" not in text
    assert "&lt;!channel&gt;" in text
    assert receiver.requests[0]["headers"]["Idempotency-Key"].startswith("chat:")
    assert body["blocks"][1]["elements"][0]["url"].endswith(f"/incidents/{incident.pk}/")


def test_teams_gets_an_adaptive_card_with_markdown_neutralised(manager):
    with Receiver() as receiver:
        _hook(receiver.url, format="teams")
        incident = _declare(manager)
        _deliver()
    [body] = _bodies(receiver)
    assert body["type"] == "message"
    card = body["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    title = card["content"]["body"][0]["text"]
    assert incident.reference in title
    assert "\\[docs\\]" in title and "\\*\\*loud\\*\\*" in title and "[docs](" not in title
    assert card["content"]["actions"][0]["url"].endswith(f"/incidents/{incident.pk}/")


def test_a_restricted_incident_is_announced_without_detail(manager):
    compartment = Compartment.objects.create(slug="csea", name="CSEA")
    with Receiver() as receiver:
        _hook(receiver.url)
        incident = _declare(manager)
        incident.compartment = compartment  # restricted after the message was queued
        incident.save(update_fields=["compartment"])
        _deliver()
    [body] = _bodies(receiver)
    raw = json.dumps(body)
    assert incident.reference in raw and "restricted" in raw
    for secret in ("Challenge", "evil.example", "Region", "Dangerous"):
        assert secret not in raw


def test_filters_on_severity_region_category_and_event(manager):
    other = HarmCategory.objects.exclude(slug="dangerous-challenges").first()
    _hook("http://127.0.0.1:9/a", max_severity=1)
    _hook("http://127.0.0.1:9/b", regions=["apac"])
    hook_c = _hook("http://127.0.0.1:9/c")
    hook_c.harm_categories.add(other)
    _hook("http://127.0.0.1:9/d", events=["status"])
    _hook("http://127.0.0.1:9/e", active=False)

    _declare(manager, severity=2)

    assert not OutgoingMessage.objects.filter(kind="chat").exists()


def test_severity_and_status_changes_are_announced(manager):
    incident = _declare(manager, severity=3)
    with Receiver() as receiver:
        _hook(receiver.url, max_severity=4)
        incident = incident_services.incident_set_severity(actor=manager, incident=incident, severity=1, reason="Spreading fast")
        incident_services.incident_transition(actor=manager, incident=incident, to="triaged", reason="")
        _deliver()
    texts = sorted(b["text"] for b in _bodies(receiver))
    assert any("severity changed SEV3 → SEV1" in t for t in texts)
    assert any("is now triaged" in t for t in texts)


def test_a_failing_channel_is_retried_and_every_attempt_recorded(manager):
    with Receiver(script=("500", "200")) as receiver:
        _hook(receiver.url)
        _declare(manager)
        first = _deliver()
        message = OutgoingMessage.objects.get(kind="chat")
        assert first.claimed == 1 and message.state == "pending" and message.attempts == 1
        engine.deliver_due(message.next_attempt_at)
    message.refresh_from_db()
    assert message.state == "sent"
    assert DeliveryAttempt.objects.filter(message=message).count() == 2
    assert len(receiver.requests) == 2
    assert len({r["headers"]["Idempotency-Key"] for r in receiver.requests}) == 1


def test_the_same_event_twice_queues_one_message(manager):
    _hook("http://127.0.0.1:9/hook")
    incident = _declare(manager)
    at = datetime.now(UTC)
    assert chat_announce(incident_id=incident.pk, event="status", at=at, before="new", after="triaged") == 1
    assert chat_announce(incident_id=incident.pk, event="status", at=at, before="new", after="triaged") == 0
    assert OutgoingMessage.objects.filter(kind="chat", payload__event="status").count() == 1
