"""Delivery through real local receivers: an SMTP server (aiosmtpd) and an HTTP server thread."""

import hashlib
import hmac
import json
import socket
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from accounts.models import Compartment
from escalations import engine
from escalations.models import DeliveryAttempt, OutgoingMessage
from tests.escalations.factories_paging import Receiver, email_for, make_policy, start_incident, webhook_for

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield inbox
    finally:
        controller.stop()


def _webhook_messages():
    return OutgoingMessage.objects.filter(channel="webhook")


def test_email_goes_through_a_real_smtp_server_with_the_idempotency_header(make_user, smtp_server):
    alice = make_user("alice", role="responder")
    make_policy(steps=[(5, [("user", alice.pk)])])
    incident, _ = start_incident(at=T0, title="Challenge videos spreading")
    engine.tick(T0)

    result = engine.deliver_due(T0)

    assert result.sent == 2
    [received] = smtp_server.messages
    key = OutgoingMessage.objects.get(channel="email").idempotency_key
    assert received["X-Firebreak-Idempotency-Key"] == key
    assert received["To"] == alice.email
    body = received.get_payload(decode=True).decode()
    assert "Challenge videos spreading" in body
    assert "/escalations/ack/" in body


def test_a_webhook_is_signed_and_carries_its_idempotency_key(make_user):
    alice = make_user("alice", role="responder")
    with Receiver() as receiver:
        webhook_for(alice, receiver.url, secret="endpoint-secret")
        make_policy(steps=[(5, [("user", alice.pk)])])
        start_incident(at=T0)
        engine.tick(T0)

        engine.deliver_due(T0)

    [request] = receiver.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["idempotency-key"] == _webhook_messages().get().idempotency_key
    stamp, signature = (part.split("=", 1)[1] for part in headers["x-firebreak-signature"].split(","))
    expected = hmac.new(b"endpoint-secret", f"{stamp}.".encode() + request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    body = json.loads(request["body"])
    assert "needs you" in body["text"] and body["blocks"][0]["type"] == "section"


def test_a_failing_webhook_is_retried_with_backoff_and_every_attempt_recorded(make_user):
    alice = make_user("alice", role="responder")
    with Receiver(script=("500", "200")) as receiver:
        webhook_for(alice, receiver.url)
        make_policy(steps=[(5, [("user", alice.pk)])])
        start_incident(at=T0)
        engine.tick(T0)

        first = engine.deliver_due(T0)
        message = _webhook_messages().get()
        assert first.retried == 1 and message.state == "pending"
        assert message.next_attempt_at == T0 + timedelta(seconds=engine.backoff_seconds(1))
        assert engine.deliver_due(T0 + timedelta(seconds=10)).claimed == 0
        second = engine.deliver_due(message.next_attempt_at)

    message.refresh_from_db()
    assert second.sent == 1 and message.state == "sent" and message.attempts == 2
    attempts = list(DeliveryAttempt.objects.filter(message=message).order_by("number"))
    assert [(a.number, a.ok, a.status_code) for a in attempts] == [(1, False, 500), (2, True, 200)]
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["headers"]["Idempotency-Key"] == receiver.requests[1]["headers"]["Idempotency-Key"]


def test_a_hanging_webhook_times_out_and_the_timeout_is_recorded(make_user, settings):
    settings.FIREBREAK_WEBHOOK_TIMEOUT = 0.3
    alice = make_user("alice", role="responder")
    with Receiver(script=("hang",)) as receiver:
        webhook_for(alice, receiver.url)
        make_policy(steps=[(5, [("user", alice.pk)])])
        start_incident(at=T0)
        engine.tick(T0)

        result = engine.deliver_due(T0)

    assert result.retried == 1
    attempt = DeliveryAttempt.objects.get(message__channel="webhook")
    assert not attempt.ok and "Timed out" in attempt.error


def test_a_webhook_gives_up_after_the_last_attempt(make_user):
    alice = make_user("alice", role="responder")
    with Receiver(script=("503",)) as receiver:
        webhook_for(alice, receiver.url)
        make_policy(steps=[(5, [("user", alice.pk)])])
        start_incident(at=T0)
        engine.tick(T0)
        now = T0
        for _ in range(engine.MAX_ATTEMPTS):
            engine.deliver_due(now)
            now = _webhook_messages().get().next_attempt_at

    message = _webhook_messages().get()
    assert message.state == "failed" and message.attempts == engine.MAX_ATTEMPTS
    assert DeliveryAttempt.objects.filter(message=message).count() == engine.MAX_ATTEMPTS


def test_a_restricted_incident_carries_no_detail_outside_the_app(make_user, smtp_server):
    alice = make_user("alice", role="responder")
    csea = Compartment.objects.get_or_create(slug="csea", defaults={"name": "Child safety (CSEA)"})[0]
    with Receiver() as receiver:
        webhook_for(alice, receiver.url, fmt="generic")
        email_for(alice)
        make_policy(steps=[(5, [("user", alice.pk)])])
        incident, _ = start_incident(at=T0, title="Secret operation Nightjar", summary="Victim names here", compartment=csea, severity=1)
        engine.tick(T0)

        engine.deliver_due(T0)

    email_text = smtp_server.messages[0]["Subject"] + smtp_server.messages[0].get_payload(decode=True).decode()
    webhook_text = receiver.requests[0]["body"].decode()
    for text in (email_text, webhook_text):
        assert f"SEV1 incident {incident.reference} needs you" in text
        assert "Nightjar" not in text and "Victim" not in text
        assert incident.harm_category.name not in text
    assert "/escalations/ack/" in webhook_text


def test_sms_is_behind_the_same_interface_and_fails_as_not_configured(make_user):
    from escalations.models import ContactMethod, NotificationRule

    alice = make_user("alice", role="responder")
    method = ContactMethod.objects.create(user=alice, kind="sms", target="+353000000", verified=True)
    NotificationRule.objects.create(user=alice, contact_method=method)
    make_policy(steps=[(5, [("user", alice.pk)])])
    start_incident(at=T0)
    engine.tick(T0)

    engine.deliver_due(T0)

    message = OutgoingMessage.objects.get(channel="sms")
    assert message.state == "failed" and "not configured" in message.last_error


def test_a_delayed_notification_rule_waits_and_is_dropped_after_an_ack(make_user):
    from escalations.models import Page
    from escalations.services import page_acknowledge

    alice = make_user("alice", role="responder")
    with Receiver() as receiver:
        webhook_for(alice, receiver.url, delay=5)
        make_policy(steps=[(30, [("user", alice.pk)])])
        start_incident(at=T0)
        engine.tick(T0)
        engine.deliver_due(T0)
        page_acknowledge(actor=alice, page=Page.objects.get(channel="in_app"))

        engine.deliver_due(T0 + timedelta(minutes=6))

    assert receiver.requests == []
    assert _webhook_messages().get().state == "cancelled"
