import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from incidents.models import Notification
from postmortems import services
from postmortems.models import ActionItemReminder
from tests.postmortems.factories import action_item

TODAY = dt.date(2026, 11, 23)


@pytest.mark.django_db(transaction=True)
def test_a_row_held_by_another_tick_is_skipped_not_sent_twice(manager, make_resolved):
    postmortem = make_resolved().postmortem
    item = action_item(postmortem, manager, manager, days=1, today=TODAY)
    later = dt.datetime.combine(item.due_on + dt.timedelta(days=2), dt.time(12), tzinfo=dt.UTC)
    held = ActionItemReminder.objects.get(item=item, kind="before_due")
    locked, release, done = threading.Event(), threading.Event(), threading.Event()

    def other_tick():
        try:
            with transaction.atomic():
                ActionItemReminder.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=other_tick)
    thread.start()
    assert locked.wait(timeout=10)
    try:
        assert services.reminders_deliver_due(now=later) == 1  # the overdue one; the held row is skipped
    finally:
        release.set()
        thread.join(timeout=10)
    assert done.is_set()
    assert services.reminders_deliver_due(now=later) == 1  # the released row, once
    assert services.reminders_deliver_due(now=later) == 0
    assert Notification.objects.filter(user=manager, kind__startswith="action_item_").count() == 2
