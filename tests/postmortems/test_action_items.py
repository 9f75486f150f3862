import datetime as dt

import pytest
from django.core import mail

from core.errors import Conflict, ValidationError
from incidents.models import Notification
from postmortems import services
from postmortems.models import ActionItem, ActionItemReminder
from tests.postmortems.factories import action_item, fill_and_submit

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def test_item_without_owner_is_refused_and_nothing_saved(manager, postmortem):
    with pytest.raises(ValidationError) as exc:
        services.action_item_create(actor=manager, postmortem=postmortem, data={"title": "x", "owner": None, "due_on": TODAY}, today=TODAY)
    assert "owner" in exc.value.errors
    assert not ActionItem.objects.exists() and not ActionItemReminder.objects.exists()


def test_item_with_a_past_due_date_is_refused(manager, postmortem):
    with pytest.raises(ValidationError) as exc:
        action_item(postmortem, manager, manager, days=-1, today=TODAY)
    assert "due_on" in exc.value.errors


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://tracker.example/1", "tracker.example/1", "https://"])
def test_tracker_url_must_be_http(manager, postmortem, url):
    with pytest.raises(ValidationError) as exc:
        action_item(postmortem, manager, manager, today=TODAY, tracker_url=url)
    assert "tracker_url" in exc.value.errors
    assert not ActionItem.objects.exists()


def test_owner_must_be_able_to_see_a_restricted_incident(manager, responder, csea_postmortem):
    with pytest.raises(ValidationError) as exc:
        action_item(csea_postmortem, manager, responder, today=TODAY)
    assert "owner" in exc.value.errors


def test_item_status_can_change_after_publication_but_not_its_definition(manager, lead, postmortem):
    item = action_item(postmortem, manager, manager, today=TODAY, tracker_url="https://tracker.example/T-1")
    postmortem = fill_and_submit(postmortem, manager)
    services.postmortem_transition(actor=lead, postmortem=postmortem, action="approve")
    services.postmortem_transition(actor=lead, postmortem=postmortem, action="publish")

    item = services.action_item_update(actor=manager, item=item, data={"status": "done"}, today=TODAY)
    assert item.status == "done" and item.completed_at is not None
    with pytest.raises(Conflict):
        services.action_item_update(actor=manager, item=item, data={"title": "Something else"}, today=TODAY)


def test_reminders_fire_once_each_before_due_and_overdue_then_weekly(manager, postmortem):
    item = action_item(postmortem, manager, manager, days=5, today=TODAY)
    due = item.due_on

    assert services.reminders_deliver_due(now=at(due - dt.timedelta(days=4))) == 0

    with_mail = at(due - dt.timedelta(days=2))
    assert services.reminders_deliver_due(now=with_mail) == 1
    assert services.reminders_deliver_due(now=with_mail) == 0  # a second tick at the same instant sends nothing more
    notes = Notification.objects.filter(user=manager, kind="action_item_before_due")
    assert notes.count() == 1
    assert "Alert on hashtag velocity" in notes.get().text

    overdue = at(due + dt.timedelta(days=1))
    assert services.reminders_deliver_due(now=overdue) == 1
    assert services.reminders_deliver_due(now=overdue + dt.timedelta(hours=1)) == 0
    assert services.reminders_deliver_due(now=overdue + dt.timedelta(days=7)) == 1
    assert Notification.objects.filter(user=manager, kind="action_item_overdue").count() == 2


def test_reminder_email_is_sent_after_commit_with_an_idempotency_key(manager, postmortem, django_capture_on_commit_callbacks):
    item = action_item(postmortem, manager, manager, days=1, today=TODAY)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reminders_deliver_due(now=at(item.due_on)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reminders_deliver_due(now=at(item.due_on)) == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [manager.email]
    assert message.extra_headers["X-Firebreak-Idempotency-Key"].startswith(f"pm-reminder:{item.pk}:before_due:")


def test_done_items_get_no_reminders(manager, postmortem):
    item = action_item(postmortem, manager, manager, days=3, today=TODAY)
    services.action_item_update(actor=manager, item=item, data={"status": "done"}, today=TODAY)
    assert services.reminders_deliver_due(now=at(item.due_on + dt.timedelta(days=30))) == 0
    assert not Notification.objects.filter(kind__startswith="action_item").exists()


def test_moving_the_due_date_replaces_the_pending_reminders(manager, postmortem):
    item = action_item(postmortem, manager, manager, days=3, today=TODAY)
    services.action_item_update(actor=manager, item=item, data={"due_on": TODAY + dt.timedelta(days=20)}, today=TODAY)
    assert services.reminders_deliver_due(now=at(TODAY + dt.timedelta(days=5))) == 0
    assert services.reminders_deliver_due(now=at(TODAY + dt.timedelta(days=18))) == 1


def test_restricted_reminders_carry_no_detail(manager, csea_postmortem, django_capture_on_commit_callbacks):
    item = action_item(csea_postmortem, manager, manager, days=1, today=TODAY, title="Hash-match the CSEA link network")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reminders_deliver_due(now=at(item.due_on)) == 1
    note = Notification.objects.get(user=manager)
    message = mail.outbox[0]
    for text in (note.text, message.subject, message.body):
        assert "CSEA" not in text and "Hash-match" not in text and csea_postmortem.incident.reference not in text


def test_owner_who_lost_clearance_gets_no_reminder(manager, csea_postmortem):
    from accounts.models import Clearance

    item = action_item(csea_postmortem, manager, manager, days=1, today=TODAY)
    Clearance.objects.filter(user=manager).update(revoked_at=at(TODAY))
    assert services.reminders_deliver_due(now=at(item.due_on)) == 0
    assert not Notification.objects.exists()
    assert ActionItemReminder.objects.filter(skip_reason="owner cannot see the incident").exists()


def test_the_periodic_task_calls_the_claim_with_the_database_clock(manager, postmortem):
    from postmortems.tasks import postmortem_reminders_tick

    item = action_item(postmortem, manager, manager, days=0)
    ActionItemReminder.objects.filter(item=item).update(due_at=at(TODAY - dt.timedelta(days=400)))
    assert postmortem_reminders_tick.apply().get() == 2
