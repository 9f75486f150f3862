"""The quarantine pages in Chromium: no console or CSP errors, headers shown as text."""

import mailbox as stdlib_mailbox

import pytest

from incidents.models import HarmCategory
from integrations.models import InboundMessage, Mailbox
from integrations.services import mail_poll_all
from tests.integrations.conftest import fixture_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_reviews_and_releases_a_quarantined_message(page, login, make_user, tmp_path, screenshot):
    from playwright.sync_api import expect

    manager = make_user("qmanager", role="incident_manager")
    path = tmp_path / "Maildir"
    box = stdlib_mailbox.Maildir(str(path), create=True)
    Mailbox.objects.create(
        name="press",
        kind="maildir",
        maildir_path=str(path),
        channel="media_inquiry",
        default_harm_category=HarmCategory.objects.get(slug="dangerous-challenges"),
        allowed_sender_domains=["example.org"],
        intake_user=manager,
    )
    box.add(fixture_bytes("email/media-inquiry.eml").replace(b"To: ", b"X-Injected: <img src=x onerror=alert(1)>\nTo: "))
    box.add(fixture_bytes("email/malformed.eml"))
    mail_poll_all()

    login(page, "qmanager")
    page.goto("/integrations/quarantine/")
    expect(page.get_by_role("table", name="Quarantined messages")).to_contain_text("not an allowed sender domain")
    screenshot(page, "integrations-quarantine")
    page.get_by_role("link", name="Press inquiry").click()
    expect(page.get_by_role("table", name="Headers")).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator("img[onerror]").count() == 0
    screenshot(page, "integrations-quarantine-detail")
    page.get_by_role("button", name="Release into intake").click()
    expect(page.locator("body")).to_contain_text("Released into intake")
    assert InboundMessage.objects.get(message_id="<inquiry-4471@newsroom.example.com>").incident is not None
