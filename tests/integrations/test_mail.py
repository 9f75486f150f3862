"""Inbound mail through real Maildir folders: the project's .eml fixtures and messages made
with the standard library's email package."""

import base64
import hashlib
import json
import mailbox as stdlib_mailbox
import os
from email.message import EmailMessage

import pytest
from django.core.management import call_command

from incidents.models import Comment, HarmCategory, Incident, TimelineEvent
from incidents.models_collab import Evidence
from integrations.models import InboundMessage, Mailbox, MessageState
from integrations.services import mail_poll_all, mailbox_poll
from tests.integrations.conftest import FIXTURES, fixture_bytes


@pytest.fixture
def maildir(tmp_path):
    path = tmp_path / "Maildir"
    box = stdlib_mailbox.Maildir(str(path), create=True)
    box.path = str(path)
    return box


@pytest.fixture
def make_mailbox(manager):
    def make(path, **overrides):
        fields = {
            "name": "press",
            "kind": "maildir",
            "maildir_path": str(path),
            "channel": "media_inquiry",
            "default_harm_category": HarmCategory.objects.get(slug="dangerous-challenges"),
            "allowed_sender_domains": ["example.com", "example.eu"],
            "intake_user": manager,
        }
        fields.update(overrides)
        return Mailbox.objects.create(**fields)

    return make


def add(box, raw: bytes) -> str:
    return box.add(raw)


def made_message(subject="Question about a video", sender="desk@newsroom.example.com", body="Plain text.", **headers):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "press-escalations@platform.example.org"
    msg["Subject"] = subject
    msg["Date"] = "Sat, 21 Nov 2026 10:00:00 +0000"
    msg["Message-ID"] = headers.pop("message_id", f"<{hashlib.md5(subject.encode()).hexdigest()}@newsroom.example.com>")  # noqa: S324
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


@pytest.mark.django_db
def test_media_inquiry_becomes_an_incident_with_the_original_as_evidence(maildir, make_mailbox):
    box = make_mailbox(maildir.path)
    raw = fixture_bytes("email/media-inquiry.eml")
    add(maildir, raw)
    [result] = mail_poll_all()
    assert (result.seen, result.accepted, result.error) == (1, 1, "")
    message = InboundMessage.objects.get()
    assert message.state == MessageState.ACCEPTED and message.message_id == "<inquiry-4471@newsroom.example.com>"
    incident = message.incident
    assert incident.channel == "media_inquiry" and incident.media_interest
    assert incident.title.startswith("Press inquiry: teenage users") and "—" in incident.title
    assert "blackout challenge" in incident.summary and "Ayşe Demir" in incident.summary
    assert incident.intake_details["outlet"] == "newsroom.example.com"
    assert "a.demir@newsroom.example.com" in incident.intake_details["reporter"]
    assert incident.received_at.isoformat().startswith("2026-11-21T09:05")
    [eml] = Evidence.objects.filter(incident=incident)
    assert eml.sha256 == hashlib.sha256(raw).hexdigest() == message.sha256
    assert eml.file.read() == raw
    assert message.raw.read() == raw
    assert TimelineEvent.objects.filter(incident=incident, kind="email").exists()
    box.refresh_from_db()
    assert box.last_polled_at is not None and box.last_error == ""

    # Polling again reads nothing; the same message in another file is a duplicate.
    assert mail_poll_all()[0].seen == 0
    add(maildir, raw)
    again = mail_poll_all()[0]
    assert (again.seen, again.duplicates) == (1, 1)
    assert Incident.objects.count() == 1 and InboundMessage.objects.count() == 1


@pytest.mark.django_db
def test_a_reply_threads_onto_the_incident_as_a_comment(maildir, make_mailbox):
    make_mailbox(maildir.path)
    add(maildir, fixture_bytes("email/media-inquiry.eml"))
    mail_poll_all()
    add(maildir, fixture_bytes("email/media-inquiry-reply.eml"))
    result = mail_poll_all()[0]
    assert result.threaded == 1 and Incident.objects.count() == 1
    reply = InboundMessage.objects.get(message_id="<inquiry-4471-2@newsroom.example.com>")
    incident = Incident.objects.get()
    assert reply.state == MessageState.THREADED and reply.incident == incident
    comment = Comment.objects.get(incident=incident)
    assert "blocked in search" in comment.body
    assert Evidence.objects.filter(incident=incident).count() == 2


@pytest.mark.django_db
def test_a_reference_in_the_subject_threads_too(maildir, make_mailbox, manager):
    make_mailbox(maildir.path)
    add(maildir, fixture_bytes("email/media-inquiry.eml"))
    mail_poll_all()
    incident = Incident.objects.get()
    add(maildir, made_message(subject=f"Re: [{incident.reference}] any update?", body="Any news?").as_bytes())
    assert mail_poll_all()[0].threaded == 1
    assert Comment.objects.get(incident=incident).body.endswith("Any news?")


@pytest.mark.django_db
def test_regulator_order_keeps_the_attachment_with_its_hash(maildir, make_mailbox):
    make_mailbox(
        maildir.path,
        name="orders",
        channel="regulator_order",
        default_harm_category=HarmCategory.objects.get(slug="violent-extremism"),
        default_severity=1,
        intake_details={"legal_instrument": "Regulation (EU) 2021/784 Art. 3"},
    )
    add(maildir, fixture_bytes("email/regulator-removal-order.eml"))
    assert mail_poll_all()[0].accepted == 1
    incident = Incident.objects.get()
    assert incident.channel == "regulator_order" and incident.regulatory and incident.severity == 1
    assert incident.intake_details["authority"] == "Referral Unit"
    assert incident.received_at.isoformat().startswith("2026-11-21T14:17")
    attachment = Evidence.objects.get(incident=incident, file_name="RO-2026-0193.txt")
    assert "video.example.org/v/731044" in attachment.file.read().decode()
    assert attachment.sha256 == hashlib.sha256(attachment.file.open("rb").read()).hexdigest()


@pytest.mark.django_db
def test_malformed_and_unauthorised_mail_is_quarantined_not_dropped(maildir, make_mailbox):
    make_mailbox(maildir.path)
    add(maildir, fixture_bytes("email/malformed.eml"))
    add(maildir, made_message(subject="From elsewhere", sender="someone@elsewhere.example.net").as_bytes())
    add(
        maildir,
        made_message(
            subject="Spoofed",
            Authentication_Results="mx.platform.example.org; spf=fail smtp.mailfrom=example.com; dmarc=fail header.from=example.com",
        ).as_bytes(),
    )
    add(maildir, made_message(subject="Fine").as_bytes())
    result = mail_poll_all()[0]
    assert (result.seen, result.quarantined, result.accepted) == (4, 3, 1)
    reasons = dict(InboundMessage.objects.filter(state=MessageState.QUARANTINED).values_list("subject", "reason"))
    assert any(r.startswith("Malformed") for r in reasons.values())
    assert "not an allowed sender domain" in reasons["From elsewhere"]
    assert "dmarc=fail" in reasons["Spoofed"]
    assert Incident.objects.count() == 1
    assert all(m.raw for m in InboundMessage.objects.all())


@pytest.mark.django_db
def test_a_50_mb_attachment_is_quarantined_without_reading_it_into_memory_whole(maildir, make_mailbox):
    make_mailbox(maildir.path)
    # Streamed straight into the Maildir, as a mail server delivers it.
    path = os.path.join(maildir.path, "new", "1700000000.big.example")
    chunk = os.urandom(57 * 1024)
    with open(path, "wb") as out:
        out.write(
            b"From: desk@newsroom.example.com\r\nTo: press@platform.example.org\r\nSubject: Footage\r\n"
            b"Message-ID: <big-1@newsroom.example.com>\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n'
            b'--b\r\nContent-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="f.mp4"\r\n\r\n'
        )
        for _ in range(50 * 1024 * 1024 // len(chunk)):
            encoded = base64.encodebytes(chunk)
            out.write(encoded)
        out.write(b"--b--\r\n")
    size = os.path.getsize(path)
    result = mail_poll_all()[0]
    assert result.quarantined == 1
    message = InboundMessage.objects.get()
    assert message.state == MessageState.QUARANTINED and message.reason.startswith("Oversized")
    assert message.size == size > 50 * 1024 * 1024 and message.subject == "Footage"
    assert message.raw.size == size
    assert Incident.objects.count() == 0
    message.raw.delete(save=False)  # 67 MB: do not leave it in the test media folder


@pytest.mark.django_db
def test_html_only_mail_is_reduced_to_text(maildir, make_mailbox):
    make_mailbox(maildir.path)
    hostile = json.loads((FIXTURES / "hostile-inputs.json").read_text())
    msg = EmailMessage()
    msg["From"] = "Desk <desk@newsroom.example.com>"
    msg["Subject"] = hostile[0] + " \u202e" + hostile[1]
    msg["Message-ID"] = "<html-1@newsroom.example.com>"
    msg.set_content(
        "<html><body><p>Hello <b>team</b></p><script>alert(1)</script><img src=x onerror=alert(2)></body></html>", subtype="html"
    )
    add(maildir, msg.as_bytes())
    assert mail_poll_all()[0].accepted == 1
    incident = Incident.objects.get()
    assert "Hello team" in incident.summary
    assert "<script" not in incident.summary and "onerror" not in incident.summary and "alert(1)" not in incident.summary


@pytest.mark.django_db
def test_an_intake_failure_leaves_nothing_half_written(maildir, make_mailbox, make_user):
    viewer = make_user("mail-viewer", role="viewer")  # may not add evidence
    make_mailbox(maildir.path, intake_user=viewer)
    add(maildir, fixture_bytes("email/media-inquiry.eml"))
    assert mail_poll_all()[0].quarantined == 1
    message = InboundMessage.objects.get()
    assert message.reason.startswith("Intake refused it") and message.incident is None
    assert Incident.objects.count() == 0 and Evidence.objects.count() == 0


@pytest.mark.django_db
def test_a_missing_maildir_is_reported_on_the_mailbox(make_mailbox, tmp_path):
    box = make_mailbox(tmp_path / "nowhere")
    result = mailbox_poll(mailbox=box)
    assert "No Maildir" in result.error
    box.refresh_from_db()
    assert "No Maildir" in box.last_error


@pytest.mark.django_db
def test_mail_poll_command(maildir, make_mailbox, capsys):
    make_mailbox(maildir.path)
    add(maildir, fixture_bytes("email/media-inquiry.eml"))
    call_command("mail_poll")
    assert "press: 1 read, 1 new incidents" in capsys.readouterr().out


@pytest.mark.django_db
def test_poll_task_runs_the_poller(maildir, make_mailbox):
    from integrations.tasks import mail_poll

    make_mailbox(maildir.path)
    add(maildir, fixture_bytes("email/media-inquiry.eml"))
    assert mail_poll.apply().get() == 1
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_hostile_subjects_and_bodies_are_taken_in_or_quarantined_never_crash(maildir, make_mailbox):
    make_mailbox(maildir.path)
    hostile = [h for h in json.loads((FIXTURES / "hostile-inputs.json").read_text()) if isinstance(h, str)]
    for i, text in enumerate(hostile):
        msg = EmailMessage()
        msg["From"] = "desk@newsroom.example.com"
        msg["Subject"] = " ".join(text.split())[:900] or "x"
        msg["Message-ID"] = f"<hostile-{i}@newsroom.example.com>"
        msg.set_content(text.replace("\x00", "") or "x")
        add(maildir, msg.as_bytes())
    result = mail_poll_all()[0]
    assert result.error == "" and result.seen == len(hostile)
    assert result.accepted + result.quarantined == len(hostile)
    for incident in Incident.objects.all():
        assert "\x00" not in incident.title and "\x00" not in incident.summary


@pytest.mark.django_db(transaction=True)
def test_two_pollers_at_once_take_each_message_in_once(maildir, make_mailbox):
    import threading

    from django.db import connection

    make_mailbox(maildir.path)
    add(maildir, fixture_bytes("email/media-inquiry.eml"))
    add(maildir, fixture_bytes("email/regulator-removal-order.eml").replace(b"example.eu", b"example.com"))
    results, errors = [], []

    def poll():
        try:
            results.extend(mail_poll_all())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert InboundMessage.objects.count() == 2 and Incident.objects.count() == 2
    assert sum(r.accepted for r in results) == 2
