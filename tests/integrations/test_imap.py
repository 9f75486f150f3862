"""The IMAP path against a real IMAP server (pymap, in memory), fed with APPEND."""

import imaplib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from incidents.models import HarmCategory, Incident
from incidents.models_collab import Evidence
from integrations.models import InboundMessage, Mailbox, MessageState
from integrations.services import mailbox_poll
from tests.integrations.conftest import fixture_bytes

PYMAP = shutil.which("pymap") or str(Path(sys.executable).with_name("pymap"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def imap_server():
    assert os.path.exists(PYMAP), "pymap comes with requirements-dev.txt; run make venv"
    port = _free_port()
    proc = subprocess.Popen(
        [PYMAP, "--host", "127.0.0.1", "--port", str(port), "dict", "--demo-user", "press", "--demo-password", "s3cret"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("pymap did not start")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def append(port: int, raw: bytes) -> None:
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login("press", "s3cret")
    typ, _ = client.append("INBOX", None, None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert typ == "OK"
    client.logout()


@pytest.mark.django_db
def test_imap_mailbox_is_read_without_marking_anything(imap_server, manager, monkeypatch):
    monkeypatch.setenv("FIREBREAK_TEST_IMAP_PASSWORD", "s3cret")
    box = Mailbox.objects.create(
        name="press-imap",
        kind="imap",
        host="127.0.0.1",
        port=imap_server,
        use_ssl=False,
        username="press",
        password_env="FIREBREAK_TEST_IMAP_PASSWORD",
        channel="media_inquiry",
        default_harm_category=HarmCategory.objects.get(slug="dangerous-challenges"),
        allowed_sender_domains=["example.com"],
        max_message_bytes=4000,
        intake_user=manager,
    )
    append(imap_server, fixture_bytes("email/media-inquiry.eml"))
    append(imap_server, fixture_bytes("email/media-inquiry-reply.eml"))
    big = fixture_bytes("email/media-inquiry.eml").replace(b"inquiry-4471@", b"inquiry-big@") + b"x" * 5000 + b"\n"
    append(imap_server, big)

    result = mailbox_poll(mailbox=box)
    assert (result.error, result.seen, result.accepted, result.threaded, result.quarantined) == ("", 3, 1, 1, 1)
    incident = Incident.objects.get()
    assert incident.channel == "media_inquiry"
    assert Evidence.objects.filter(incident=incident).count() == 2
    oversized = InboundMessage.objects.get(state=MessageState.QUARANTINED)
    assert oversized.reason.startswith("Oversized") and "stays in the mailbox" in oversized.reason
    assert oversized.subject.startswith("Press inquiry") and not oversized.raw
    assert all(m.source_key.count("/") == 1 for m in InboundMessage.objects.all())

    again = mailbox_poll(mailbox=box)
    assert (again.seen, again.error) == (0, "")
    # BODY.PEEK: the messages are still unseen on the server.
    client = imaplib.IMAP4("127.0.0.1", imap_server)
    client.login("press", "s3cret")
    client.select("INBOX", readonly=True)
    assert len(client.search(None, "UNSEEN")[1][0].split()) == 3
    client.logout()


@pytest.mark.django_db
def test_a_refused_login_is_reported_on_the_mailbox(imap_server, manager):
    box = Mailbox.objects.create(
        name="bad-login",
        kind="imap",
        host="127.0.0.1",
        port=imap_server,
        use_ssl=False,
        username="press",
        password_env="FIREBREAK_TEST_IMAP_MISSING",
        channel="media_inquiry",
        default_harm_category=HarmCategory.objects.get(slug="other"),
        intake_user=manager,
    )
    result = mailbox_poll(mailbox=box)
    assert result.error.startswith("IMAP 127.0.0.1")
    box.refresh_from_db()
    assert box.last_error and box.last_polled_at
