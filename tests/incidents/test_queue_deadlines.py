"""The queue's deadline providers: a higher app's deadlines reach the rows without incidents
importing it, in one call per provider for the whole page."""

import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from incidents import queue_deadlines
from incidents.queue_deadlines import QueueDeadline, deadline_provider_register, deadlines_attach

pytestmark = pytest.mark.django_db


@pytest.fixture
def providers(monkeypatch):
    """Only the providers a test registers, whatever the installed apps registered at start-up."""
    monkeypatch.setattr(queue_deadlines, "_PROVIDERS", {})
    return queue_deadlines._PROVIDERS


def test_the_nearest_running_deadline_wins_over_a_nearer_paused_one_and_calls_are_batched(providers, make_incident):
    first, second, third = make_incident(title="one"), make_incident(title="two"), make_incident(title="three")
    now = timezone.now()
    calls = []

    def clocks(ids):
        calls.append(sorted(ids))
        return {
            first.pk: QueueDeadline(due_at=now + timedelta(hours=2), warn_at=now + timedelta(hours=1), state="running", label="Mitigation"),
            second.pk: QueueDeadline(due_at=now + timedelta(minutes=5), warn_at=None, state="paused", label="Acknowledge"),
        }

    def legal(ids):
        calls.append(sorted(ids))
        return {
            first.pk: QueueDeadline(due_at=now + timedelta(hours=1), warn_at=None, state="running", label="TCO removal"),
            second.pk: QueueDeadline(due_at=now + timedelta(hours=9), warn_at=None, state="running", label="Resolution"),
        }

    deadline_provider_register("clocks", clocks)
    deadline_provider_register("legal", legal)
    rows = [first, second, third]

    deadlines_attach(rows)

    assert calls == [sorted(r.pk for r in rows)] * 2
    assert first.queue_deadline.label == "TCO removal"
    assert second.queue_deadline.label == "Resolution"
    assert third.queue_deadline is None
    assert queue_deadlines.deadline_providers() == ["clocks", "legal"]


def test_no_provider_is_called_for_an_empty_page(providers):
    deadline_provider_register("boom", lambda ids: pytest.fail("called for no rows"))

    deadlines_attach([])


def test_queue_row_shows_a_provided_deadline_with_its_label_and_warning_instant(providers, client, manager, make_incident):
    incident = make_incident(title="Clocked incident")
    due = timezone.now() + timedelta(minutes=40)
    warn = due - timedelta(minutes=30)
    deadline_provider_register(
        "test", lambda ids: {incident.pk: QueueDeadline(due_at=due, warn_at=warn, state="running", label="Time to acknowledge")}
    )
    client.force_login(manager)

    for url in ("/", "/queue/rows/", f"/queue/{incident.pk}/row/"):
        html = client.get(url).content.decode()
        assert '<span class="visually-hidden">Time to acknowledge: </span><time class="countdown"' in html, url
        assert datetime.fromisoformat(re.search(r'data-warn="([^"]+)"', html).group(1)) == warn
        assert 'data-state="running"' in html
        assert 'title="Time to acknowledge: due ' in html


def test_a_media_inquiry_without_provided_deadline_keeps_its_reporter_deadline(providers, client, manager, make_incident):
    due = (timezone.now() + timedelta(hours=5)).replace(microsecond=0)
    make_incident(
        title="Press asks about the challenge",
        channel="media_inquiry",
        intake_details={"outlet": "Example Times", "reporter_deadline": due.isoformat()},
    )
    client.force_login(manager)

    html = client.get("/").content.decode()

    assert '<span class="visually-hidden">Reporter deadline: </span>' in html
    assert "data-warn=" not in html
