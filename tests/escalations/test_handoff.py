"""Shift handoff notices: one per incoming person per shift change, listing what they
inherit without leaking restricted incidents."""

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection

from accounts.models import Clearance
from core.errors import Forbidden, ValidationError
from core.models import AuditEvent
from escalations import engine
from escalations.handoff import handoff_notes_add, handoff_notices_due
from escalations.models import HandoffNote, OutgoingMessage
from incidents.models import Notification, Status
from tests.accounts.factories import CompartmentFactory, TeamFactory
from tests.escalations.factories_schedules import make_schedule, rotation
from tests.incidents.factories import IncidentFactory

pytestmark = pytest.mark.django_db

# Daily shifts handed over at 09:00 UTC: alice from 5 January, bob from the 6th, alice the 7th.
HANDOFF = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def team():
    return TeamFactory(slug="rapid", name="Rapid Response")


@pytest.fixture
def alice(make_user):
    return make_user("alice", role="responder")


@pytest.fixture
def bob(make_user):
    return make_user("bob", role="responder")


@pytest.fixture
def schedule(team, alice, bob):
    return make_schedule(
        name="Primary on call",
        time_zone="UTC",
        team=team,
        rotations=[rotation([alice, bob], handoff=time(9), start=date(2026, 1, 5))],
        now=HANDOFF - timedelta(days=2),
    )


def _notices(user=None):
    qs = OutgoingMessage.objects.filter(kind="handoff").order_by("id")
    return qs.filter(recipient=user) if user is not None else qs


def test_one_notice_per_shift_change_however_often_it_runs(schedule, alice, bob):
    assert handoff_notices_due(HANDOFF - timedelta(seconds=1)) == 0
    assert handoff_notices_due(HANDOFF) == 1
    assert handoff_notices_due(HANDOFF + timedelta(minutes=1)) == 0
    assert handoff_notices_due(HANDOFF + timedelta(minutes=4, seconds=59)) == 0
    notice = _notices().get()
    assert notice.recipient == bob
    assert notice.idempotency_key == f"handoff:{schedule.pk}:{bob.pk}:{HANDOFF.isoformat()}"
    assert (notice.channel, notice.target, notice.state) == ("email", bob.email, "pending")
    assert Notification.objects.filter(user=bob, kind="handoff").count() == 1
    assert not Notification.objects.filter(user=alice, kind="handoff").exists()

    # The next day alice takes over; a run that missed the change by over five minutes sends nothing.
    assert handoff_notices_due(HANDOFF + timedelta(days=1, minutes=6)) == 0
    assert handoff_notices_due(HANDOFF + timedelta(days=1, minutes=2)) == 1
    assert _notices(alice).count() == 1


def test_a_late_run_within_five_minutes_still_sends(schedule, bob):
    assert handoff_notices_due(HANDOFF + timedelta(minutes=4)) == 1
    assert _notices(bob).count() == 1


def test_the_notice_lists_inherited_incidents_and_the_outgoing_note(schedule, team, alice, bob, mailoutbox):
    IncidentFactory(team=team, title="Challenge video spreading", severity=2, reference="INC-2026-00001")
    IncidentFactory(team=team, title="Already resolved", status=Status.RESOLVED, reference="INC-2026-00002")
    IncidentFactory(team=TeamFactory(slug="other"), title="Another team's", reference="INC-2026-00003")
    handoff_notes_add(actor=alice, schedule=schedule, body="  Watch the challenge video; legal is looped in.  ")

    handoff_notices_due(HANDOFF)
    engine.deliver_due(HANDOFF)

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [bob.email]
    assert "1 open incident" in mail.subject
    assert "taking over from alice" in mail.body
    assert "SEV2 INC-2026-00001: Challenge video spreading" in mail.body
    assert "INC-2026-00002" not in mail.body and "INC-2026-00003" not in mail.body
    assert "alice: Watch the challenge video; legal is looped in." in mail.body
    assert _notices(bob).get().state == "sent"
    assert HandoffNote.objects.get().consumed_at == HANDOFF

    # A consumed note is not handed over again at the next change.
    handoff_notices_due(HANDOFF + timedelta(days=1))
    assert "legal is looped in" not in "\n".join(_notices(alice).get().payload["lines"])


def test_restricted_incidents_carry_no_detail_and_stay_hidden_from_the_uncleared(schedule, team, alice, bob, mailoutbox):
    csea = CompartmentFactory()
    IncidentFactory(team=team, title="Secret CSEA case", severity=1, reference="INC-2026-00009", compartment=csea)
    Clearance.objects.create(user=bob, compartment=csea)

    handoff_notices_due(HANDOFF)
    handoff_notices_due(HANDOFF + timedelta(days=1))
    engine.deliver_due(HANDOFF + timedelta(days=1))

    bodies = {m.to[0]: m.body for m in mailoutbox}
    assert "SEV1 INC-2026-00009 (restricted)" in bodies[bob.email]
    assert "Secret CSEA case" not in bodies[bob.email]
    assert "INC-2026-00009" not in bodies[alice.email]
    assert "No open incidents" in bodies[alice.email]
    assert not any("Secret" in n.text for n in Notification.objects.all())


def test_a_repeated_run_at_the_same_instant_sends_once(schedule, bob):
    assert handoff_notices_due(HANDOFF) + handoff_notices_due(HANDOFF) == 1
    assert OutgoingMessage.objects.filter(idempotency_key__startswith="handoff:").count() == 1


def test_a_person_without_email_gets_the_in_app_notice_only(schedule, bob):
    bob.email = ""
    bob.save(update_fields=["email"])
    assert handoff_notices_due(HANDOFF) == 1
    assert _notices(bob).get().state == "cancelled"
    assert Notification.objects.filter(user=bob, kind="handoff").count() == 1


def test_a_note_is_validated_and_audited(schedule, alice, make_user):
    with pytest.raises(ValidationError) as exc:
        handoff_notes_add(actor=alice, schedule=schedule, body="   ")
    assert "body" in exc.value.errors
    with pytest.raises(ValidationError):
        handoff_notes_add(actor=alice, schedule=schedule, body="x" * 2001)
    with pytest.raises(ValidationError):
        handoff_notes_add(actor=alice, schedule=schedule, body=None)
    with pytest.raises(Forbidden):
        handoff_notes_add(actor=make_user("nobody"), schedule=schedule, body="hi")
    assert not HandoffNote.objects.exists()

    note = handoff_notes_add(actor=alice, schedule=schedule, body="All quiet.")
    assert (note.author, note.body, note.consumed_at) == (alice, "All quiet.", None)
    assert AuditEvent.objects.filter(action="handoff_note.create", object_id=str(note.pk), actor=alice).exists()


def test_the_schedule_page_takes_a_handoff_note(client, schedule, alice):
    client.force_login(alice)
    page = client.get(f"/schedules/{schedule.pk}/").content.decode()
    assert "Leave a handoff note" in page

    response = client.post(f"/schedules/{schedule.pk}/handoff-notes/", {"body": "Bot wave is slowing <b>down</b>."})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Bot wave is slowing &lt;b&gt;down&lt;/b&gt;." in page
    assert HandoffNote.objects.get().author == alice


def test_a_blank_note_is_a_form_error_and_strangers_are_refused(client, schedule, alice, make_user):
    client.force_login(alice)
    response = client.post(f"/schedules/{schedule.pk}/handoff-notes/", {"body": "   "})
    assert response.status_code == 400
    assert 'id="handoff-note-form"' in response.content.decode()
    assert "This field is required." in response.content.decode()
    assert client.post("/schedules/424242/handoff-notes/", {"body": "hi"}).status_code == 404

    client.force_login(make_user("nobody"))
    assert client.post(f"/schedules/{schedule.pk}/handoff-notes/", {"body": "hi"}).status_code == 403
    assert not HandoffNote.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_runs_racing_send_one_notice_and_hand_each_note_over_once(schedule, alice, bob):
    handoff_notes_add(actor=alice, schedule=schedule, body="Check the queue backlog.")
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def run():
        try:
            barrier.wait(timeout=5)
            sent.append(handoff_notices_due(HANDOFF))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(sent) == [0, 1]
    notice = _notices(bob).get()
    assert "- alice: Check the queue backlog." in notice.payload["lines"]
    assert Notification.objects.filter(user=bob, kind="handoff").count() == 1
    assert HandoffNote.objects.get().consumed_at == HANDOFF
