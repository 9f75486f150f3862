"""Contact methods and notification rules: added, verified with a code that really
travels through the outbox, used by the engine only once verified, and refused clearly
when wrong. Another person's methods and rules are 404 on the page and the API."""

import json
import re
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.cache import cache

from core.models import AuditEvent
from escalations import engine
from escalations.models import ContactMethod, NotificationRule, OutgoingMessage, Page
from tests.escalations.factories_paging import Receiver, make_policy, start_incident

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CODE = re.compile(r"verification code is (\d{6})")


def _deliver():
    return engine.deliver_due(datetime.now(UTC))


def _code_from_mail(address: str) -> str:
    sent = [m for m in mail.outbox if m.to == [address]]
    assert sent, f"no mail to {address}"
    return CODE.search(sent[-1].body).group(1)


def test_an_email_method_is_verified_with_the_code_it_received(client, responder):
    client.force_login(responder)
    response = client.post("/notifications/settings/methods/", {"kind": "email", "target": "pager@example.org"})
    assert response.status_code == 302
    method = ContactMethod.objects.get(user=responder)
    assert not method.verified
    _deliver()
    code = _code_from_mail("pager@example.org")
    message = OutgoingMessage.objects.get(contact_method=method, kind="verify")
    assert message.state == "sent" and message.channel == "email"

    response = client.post(f"/notifications/settings/methods/{method.pk}/verify/", {"code": code})
    assert response.status_code == 302
    method.refresh_from_db()
    assert method.verified
    assert AuditEvent.objects.filter(action="contact_method.verify", object_id=str(method.pk)).exists()
    page = client.get("/notifications/settings/").content.decode()
    assert "pager@example.org" in page and "verified" in page


def test_a_webhook_method_gets_a_signing_key_and_its_code_by_signed_post(api, responder):
    with Receiver() as receiver:
        created = api(responder).post(
            "/api/v1/contact-methods/", {"kind": "webhook", "target": receiver.url, "webhook_format": "generic"}, format="json"
        )
        assert created.status_code == 201, created.content
        assert len(created.json()["secret"]) == 64 and created.json()["verified"] is False
        _deliver()
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["headers"]["X-Firebreak-Signature"].startswith("t=")
    code = CODE.search(json.loads(request["body"])["text"]).group(1)

    verified = api(responder).post(f"/api/v1/contact-methods/{created.json()['id']}/verify/", {"code": code}, format="json")
    assert verified.status_code == 200 and verified.json()["verified"] is True


def test_wrong_codes_are_refused_and_the_fifth_locks_the_code(api, responder):
    created = api(responder).post("/api/v1/contact-methods/", {"kind": "email", "target": "me@example.org"}, format="json").json()
    url = f"/api/v1/contact-methods/{created['id']}/verify/"
    for _ in range(5):
        wrong = api(responder).post(url, {"code": "000000"}, format="json")
        assert wrong.status_code == 400 and "code" in wrong.json()["errors"]
    _deliver()
    right = _code_from_mail("me@example.org")
    locked = api(responder).post(url, {"code": right}, format="json")
    assert locked.status_code == 400 and "Too many" in locked.json()["errors"]["code"][0]
    assert not ContactMethod.objects.get(pk=created["id"]).verified

    assert api(responder).post(f"/api/v1/contact-methods/{created['id']}/send-code/").status_code == 202
    _deliver()
    assert api(responder).post(url, {"code": _code_from_mail("me@example.org")}, format="json").status_code == 200


def test_an_expired_code_says_to_ask_for_a_new_one(api, responder):
    created = api(responder).post("/api/v1/contact-methods/", {"kind": "email", "target": "me@example.org"}, format="json").json()
    cache.delete(f"contact-verify:{created['id']}")
    response = api(responder).post(f"/api/v1/contact-methods/{created['id']}/verify/", {"code": "123456"}, format="json")
    assert response.status_code == 400 and "expired" in response.json()["errors"]["code"][0]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "email", "target": "not-an-address"}, "target"),
        ({"kind": "webhook", "target": "ftp://hooks.example.org/x"}, "target"),
        ({"kind": "webhook", "target": "javascript:alert(1)"}, "target"),
        ({"kind": "in_app", "target": ""}, "kind"),
        ({"kind": "sms", "target": "+353861234567"}, "kind"),
        ({"kind": "pigeon", "target": "x"}, "kind"),
        ({"kind": "email", "target": "a@example.org" + "x" * 600}, "target"),
    ],
)
def test_bad_methods_are_refused_naming_the_field_and_nothing_is_written(api, responder, data, field):
    response = api(responder).post("/api/v1/contact-methods/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not ContactMethod.objects.filter(user=responder).exists()
    assert not OutgoingMessage.objects.filter(kind="verify").exists()


def test_the_page_shows_form_errors_in_place_with_the_values_kept(client, responder):
    client.force_login(responder)
    response = client.post("/notifications/settings/methods/", {"kind": "email", "target": "nope"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "is not an email address" in body and 'value="nope"' in body and 'aria-invalid="true"' in body


def test_a_duplicate_method_is_refused(api, responder):
    assert api(responder).post("/api/v1/contact-methods/", {"kind": "email", "target": "a@example.org"}, format="json").status_code == 201
    again = api(responder).post("/api/v1/contact-methods/", {"kind": "email", "target": "A@example.org"}, format="json")
    assert again.status_code == 400 and "already" in again.json()["errors"]["target"][0]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"delay_minutes": -1}, "delay_minutes"),
        ({"delay_minutes": 100000}, "delay_minutes"),
        ({"delay_minutes": "soon"}, "delay_minutes"),
        ({"urgency": "panic"}, "urgency"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(api, responder, data, field):
    method = ContactMethod.objects.create(user=responder, kind="email", target="a@example.org", verified=True)
    response = api(responder).post("/api/v1/notification-rules/", {"contact_method": method.pk, **data}, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not NotificationRule.objects.exists()


def test_the_page_refuses_a_rule_with_a_non_numeric_delay(client, responder):
    method = ContactMethod.objects.create(user=responder, kind="email", target="a@example.org", verified=True)
    client.force_login(responder)
    response = client.post("/notifications/settings/rules/", {"contact_method": method.pk, "delay_minutes": "ten", "urgency": "any"})
    assert response.status_code == 400 and "whole number of minutes" in response.content.decode()
    assert not NotificationRule.objects.exists()


def test_another_persons_methods_and_rules_are_404_everywhere(api, client, responder, make_user):
    other = make_user("other")
    method = ContactMethod.objects.create(user=other, kind="email", target="other@example.org")
    rule = NotificationRule.objects.create(user=other, contact_method=method, delay_minutes=0)
    as_me = api(responder)
    assert as_me.get(f"/api/v1/contact-methods/{method.pk}/").status_code == 404
    assert as_me.delete(f"/api/v1/contact-methods/{method.pk}/").status_code == 404
    assert as_me.post(f"/api/v1/contact-methods/{method.pk}/verify/", {"code": "1"}, format="json").status_code == 404
    assert as_me.post(f"/api/v1/contact-methods/{method.pk}/send-code/").status_code == 404
    assert as_me.post("/api/v1/notification-rules/", {"contact_method": method.pk}, format="json").status_code == 404
    assert as_me.delete(f"/api/v1/notification-rules/{rule.pk}/").status_code == 404
    assert as_me.get("/api/v1/contact-methods/").json() == []
    client.force_login(responder)
    for path in (
        f"/notifications/settings/methods/{method.pk}/verify/",
        f"/notifications/settings/methods/{method.pk}/remove/",
        f"/notifications/settings/rules/{rule.pk}/remove/",
    ):
        assert client.post(path, {"code": "1"}).status_code == 404
    assert ContactMethod.objects.filter(pk=method.pk).exists() and NotificationRule.objects.filter(pk=rule.pk).exists()
    assert "other@example.org" not in client.get("/notifications/settings/").content.decode()


def test_the_engine_uses_a_rule_only_once_its_method_is_verified(api, responder):
    with Receiver() as receiver:
        created = api(responder).post("/api/v1/contact-methods/", {"kind": "webhook", "target": receiver.url}, format="json").json()
        rule = api(responder).post("/api/v1/notification-rules/", {"contact_method": created["id"], "delay_minutes": 0}, format="json")
        assert rule.status_code == 201
        make_policy(steps=[(5, [("user", responder.pk)])])

        start_incident(at=T0)
        engine.tick(T0)
        assert not Page.objects.filter(recipient=responder, channel="webhook").exists()

        _deliver()
        code = CODE.search(json.loads(receiver.requests[-1]["body"])["text"]).group(1)
        api(responder).post(f"/api/v1/contact-methods/{created['id']}/verify/", {"code": code}, format="json")
        start_incident(at=T0)
        engine.tick(T0)
    assert Page.objects.filter(recipient=responder, channel="webhook").count() == 1


def test_removing_a_method_removes_its_rules_and_is_audited(api, responder):
    method = ContactMethod.objects.create(user=responder, kind="email", target="a@example.org", verified=True)
    NotificationRule.objects.create(user=responder, contact_method=method, delay_minutes=5)
    assert api(responder).delete(f"/api/v1/contact-methods/{method.pk}/").status_code == 204
    assert not NotificationRule.objects.filter(user=responder).exists()
    assert AuditEvent.objects.filter(action="contact_method.delete").exists()


def test_the_settings_page_lists_rules_in_plain_words(client, responder):
    method = ContactMethod.objects.create(user=responder, kind="email", target="a@example.org", verified=True)
    NotificationRule.objects.create(user=responder, contact_method=method, delay_minutes=0)
    NotificationRule.objects.create(user=responder, contact_method=method, delay_minutes=5, urgency="high")
    client.force_login(responder)
    body = client.get("/notifications/settings/").content.decode()
    assert "immediately" in body and "after 5 min unacknowledged" in body and "High urgency" in body
