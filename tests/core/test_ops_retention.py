from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from core.audit import audit_record
from core.models import AuditEvent
from core.services import audit_apply_retention
from core.tasks import audit_apply_retention_task, audit_ensure_partitions_task

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OLD_MONTH = datetime(2024, 3, 1, tzinfo=UTC)  # ends ~630 days before NOW: past 400 days of retention
KEPT_MONTH = datetime(2025, 11, 1, tzinfo=UTC)  # ends ~360 days before NOW: still kept


def _partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'core_auditevent'::regclass"
        )
        return {row[0] for row in cursor.fetchall()}


def _make_month(month_start: datetime) -> str:
    name = f"core_auditevent_{month_start:%Y%m}"
    month_end = (month_start + timedelta(days=32)).replace(day=1)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {name} PARTITION OF core_auditevent FOR VALUES FROM (%s) TO (%s)", [month_start, month_end])
    return name


def _event(at: datetime, action: str, legal_hold: bool = False) -> AuditEvent:
    return AuditEvent.objects.create(
        at=at, actor_label="manager", action=action, object_type="incident", object_id="7", legal_hold=legal_hold
    )


@pytest.fixture
def old_and_recent_months(db, settings):
    settings.AUDIT_RETENTION_DAYS = 400
    old, kept = _make_month(OLD_MONTH), _make_month(KEPT_MONTH)
    rows = {
        "old_plain": _event(OLD_MONTH + timedelta(days=3), "incident.transition"),
        "old_plain_2": _event(OLD_MONTH + timedelta(days=20), "incident.comment"),
        "old_held": _event(OLD_MONTH + timedelta(days=9), "evidence.view", legal_hold=True),
        "recent": _event(KEPT_MONTH + timedelta(days=2), "incident.create"),
    }
    return old, kept, rows


def test_retention_drops_expired_months_and_keeps_legal_hold_rows(old_and_recent_months):
    old, kept, rows = old_and_recent_months

    result = audit_apply_retention(now=NOW)

    assert result["partitions_dropped"] == [old]
    assert result["rows_dropped"] == 2
    assert result["rows_kept_for_legal_hold"] == 1
    assert old not in _partitions()
    assert kept in _partitions()
    assert not AuditEvent.objects.filter(pk__in=[rows["old_plain"].pk, rows["old_plain_2"].pk]).exists()
    held = AuditEvent.objects.get(pk=rows["old_held"].pk)
    assert (held.action, held.at, held.legal_hold) == ("evidence.view", rows["old_held"].at, True)
    assert AuditEvent.objects.filter(pk=rows["recent"].pk).exists()
    trail = AuditEvent.objects.get(action="audit.retention", object_id=old)
    assert trail.actor_label == "system"
    assert trail.after == {"rows_dropped": 2, "rows_kept_for_legal_hold": 1, "retention_days": 400}


def test_rows_kept_for_legal_hold_stay_append_only(old_and_recent_months):
    _old, _kept, rows = old_and_recent_months
    audit_apply_retention(now=NOW)

    for sql in ("UPDATE core_auditevent SET legal_hold = false WHERE id = %s", "DELETE FROM core_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [rows["old_held"].pk])
    assert AuditEvent.objects.get(pk=rows["old_held"].pk).legal_hold is True


def test_retention_run_twice_drops_nothing_more(old_and_recent_months):
    audit_apply_retention(now=NOW)
    before = AuditEvent.objects.count()

    result = audit_apply_retention(now=NOW)

    assert result["partitions_dropped"] == []
    assert result["rows_dropped"] == 0
    assert AuditEvent.objects.count() == before


def test_nothing_is_dropped_while_every_month_is_within_retention(old_and_recent_months, settings):
    settings.AUDIT_RETENTION_DAYS = 3650
    partitions = _partitions()

    assert audit_apply_retention(now=NOW)["partitions_dropped"] == []
    assert _partitions() == partitions


def test_retention_task_runs_the_service_against_the_database_clock(old_and_recent_months):
    old, _kept, _rows = old_and_recent_months

    result = audit_apply_retention_task.apply().get()

    assert old in result["partitions_dropped"]
    assert old not in _partitions()


@pytest.mark.django_db
def test_partitions_are_created_ahead_and_new_rows_land_in_their_month(manager):
    created = audit_ensure_partitions_task.apply(kwargs={"months_ahead": 14}).get()

    assert created >= 10
    assert audit_ensure_partitions_task.apply(kwargs={"months_ahead": 14}).get() == 0
    event = audit_record(actor=manager, action="test.write")
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM core_auditevent WHERE id = %s", [event.pk])
        assert cursor.fetchone()[0] == f"core_auditevent_{event.at:%Y%m}"


def test_retention_and_partitioning_run_daily_from_beat(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"core.audit_ensure_partitions", "core.audit_apply_retention"} <= tasks
