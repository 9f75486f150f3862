"""Writes that belong to the shared kernel: audit-log retention."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from core.audit import audit_record
from core.time import db_now

AUDIT_TABLE = "core_auditevent"
AUDIT_COLUMNS = "id, at, actor_id, actor_label, action, object_type, object_id, before, after, ip, request_id, legal_hold"

# Monthly partitions with their upper bound, read from the catalogue rather than from
# their names, so a partition created by hand is judged by what it really holds.
_EXPIRED_PARTITIONS_SQL = r"""
SELECT relname, upper_bound FROM (
    SELECT c.relname,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = %s::regclass
) p
WHERE upper_bound IS NOT NULL AND upper_bound <= %s
ORDER BY upper_bound
"""


def audit_apply_retention(*, now: datetime | None = None) -> dict[str, Any]:
    """Drop every monthly audit partition that ended more than AUDIT_RETENTION_DAYS ago.

    The append-only triggers refuse UPDATE, DELETE and TRUNCATE, so retention works on
    whole partitions: detach the month, copy its legal-hold rows back (they land in the
    default partition, where they stay), then drop the detached table. Each month is its
    own transaction, so a failure leaves every month either whole or gone.
    """
    now = now or db_now()
    cutoff = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRED_PARTITIONS_SQL, [AUDIT_TABLE, cutoff])
        expired = [name for name, _upper in cursor.fetchall()]
    dropped: list[str] = []
    rows_dropped = rows_kept = 0
    for name in expired:
        removed, kept = _audit_drop_partition(name)
        dropped.append(name)
        rows_dropped += removed
        rows_kept += kept
    return {
        "cutoff": cutoff.isoformat(),
        "partitions_dropped": dropped,
        "rows_dropped": rows_dropped,
        "rows_kept_for_legal_hold": rows_kept,
    }


@transaction.atomic
def _audit_drop_partition(name: str) -> tuple[int, int]:
    table = connection.ops.quote_name(name)
    parent = connection.ops.quote_name(AUDIT_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {parent} DETACH PARTITION {table}")
        cursor.execute(f"INSERT INTO {parent} ({AUDIT_COLUMNS}) SELECT {AUDIT_COLUMNS} FROM {table} WHERE legal_hold")  # noqa: S608 - identifiers from the catalogue, quoted
        kept = cursor.rowcount
        cursor.execute(f"SELECT count(*) FROM {table} WHERE NOT legal_hold")  # noqa: S608 - identifier from the catalogue, quoted
        removed = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {table}")
    audit_record(
        actor=None,
        action="audit.retention",
        object_type="audit_partition",
        object_id=name,
        after={"rows_dropped": removed, "rows_kept_for_legal_hold": kept, "retention_days": settings.AUDIT_RETENTION_DAYS},
    )
    return removed, kept
