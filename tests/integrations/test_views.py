"""The integrations overview and the mail quarantine pages."""

import mailbox as stdlib_mailbox

import pytest

from core.models import AuditEvent
from incidents.models import HarmCategory, Incident
from integrations.models import InboundMessage, Mailbox, MessageState
from integrations.services import mail_poll_all
from tests.integrations.conftest import fixture_bytes
from tests.integrations.test_webhooks import AM, fixture_json


@pytest.fixture
def quarantined(tmp_path, manager):
    path = tmp_path / "Maildir"
    box = stdlib_mailbox.Maildir(str(path), create=True)
    Mailbox.objects.create(
        name="press",
        kind="maildir",
        maildir_path=str(path),
        channel="media_inquiry",
        default_harm_category=HarmCategory.objects.get(slug="dangerous-challenges"),
        allowed_sender_domains=["example.org"],  # the fixture's newsroom.example.com is not allowed
        intake_user=manager,
    )
    raw = fixture_bytes("email/media-inquiry.eml").replace(b"Subject: Press", b"X-Note: <script>alert(1)</script>\nSubject: Press")
    box.add(raw)
    box.add(fixture_bytes("email/malformed.eml"))
    mail_poll_all()
    assert InboundMessage.objects.filter(state=MessageState.QUARANTINED).count() == 2
    return InboundMessage.objects.get(message_id="<inquiry-4471@newsroom.example.com>")


@pytest.mark.django_db
def test_managers_see_the_quarantine_and_headers_safely(client, manager, quarantined):
    client.force_login(manager)
    page = client.get("/integrations/quarantine/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Press inquiry" in body and "not an allowed sender domain" in body and "Malformed MIME" in body
    detail = client.get(f"/integrations/quarantine/{quarantined.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail and "<script>alert(1)" not in detail


@pytest.mark.django_db
def test_others_get_404_and_cannot_decide(client, reviewer, quarantined):
    client.force_login(reviewer)
    assert client.get("/integrations/quarantine/").status_code == 404
    assert client.get(f"/integrations/quarantine/{quarantined.pk}/").status_code == 404
    assert client.post(f"/integrations/quarantine/{quarantined.pk}/release/").status_code == 404
    assert client.get("/integrations/").status_code == 403
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_release_opens_the_incident_and_is_audited(client, manager, quarantined):
    client.force_login(manager)
    response = client.post(f"/integrations/quarantine/{quarantined.pk}/release/")
    assert response.status_code == 302
    quarantined.refresh_from_db()
    assert quarantined.state == MessageState.ACCEPTED and quarantined.decided_by == manager
    assert quarantined.incident.channel == "media_inquiry"
    # Scoped to this message: the audit log is append-only, so browser tests' rows outlive their flush.
    assert AuditEvent.objects.filter(action="integrations.mail.release", object_id=str(quarantined.pk)).count() == 1
    # A second release is a clear conflict, not a second incident.
    assert client.post(f"/integrations/quarantine/{quarantined.pk}/release/").status_code == 409
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_discard_keeps_the_record(client, manager, quarantined):
    client.force_login(manager)
    assert client.post(f"/integrations/quarantine/{quarantined.pk}/discard/", {"reason": "spam"}).status_code == 302
    quarantined.refresh_from_db()
    assert quarantined.state == MessageState.REJECTED and "spam" in quarantined.reason
    assert AuditEvent.objects.filter(action="integrations.mail.discard", object_id=str(quarantined.pk)).count() == 1
    assert "Press inquiry" in client.get("/integrations/quarantine/?state=").content.decode()
    assert "Press inquiry" not in client.get("/integrations/quarantine/").content.decode()


@pytest.mark.django_db
def test_overview_lists_mailboxes_and_webhook_senders(client, admin_user, quarantined, api, intake_key, settings):
    settings.FIREBREAK_ADMIN_OTP_REQUIRED = False
    _, key = intake_key
    api(token=key).post(AM, fixture_json("alertmanager/firing.json"), format="json")
    client.force_login(admin_user)
    body = client.get("/integrations/").content.decode()
    assert "press" in body and "Prometheus Alertmanager" in body and "prometheus" in body


@pytest.mark.django_db
def test_quarantine_list_costs_a_fixed_number_of_queries(client, manager, quarantined, django_assert_max_num_queries):
    client.force_login(manager)
    client.get("/integrations/quarantine/")
    with django_assert_max_num_queries(12):
        assert client.get("/integrations/quarantine/").status_code == 200
