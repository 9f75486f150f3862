import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from core.audit import audit_record
from core.models import AuditEvent


@pytest.mark.django_db
def test_audit_rows_can_be_added_but_never_changed_or_removed(manager):
    event = audit_record(actor=manager, action="test.write", object_type="thing", object_id=1, before={"a": 1}, after={"a": 2})
    assert AuditEvent.objects.filter(pk=event.pk, action="test.write", actor_label="manager").exists()

    for sql in (
        "UPDATE core_auditevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM core_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE core_auditevent")

    assert AuditEvent.objects.get(pk=event.pk).action == "test.write"


@pytest.mark.django_db
def test_audit_table_is_partitioned_by_month():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'core_auditevent'::regclass")
        partitions = cursor.fetchone()[0]
    assert partitions >= 4  # the default partition plus the months around now
