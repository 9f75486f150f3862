"""The analysts' reporting views: read-only role, restricted rows only for the cleared role."""

import pytest
from django.db import DatabaseError, connection, transaction

from tests.dashboards.factories import at, incident, restricted_compartment

pytestmark = pytest.mark.django_db


def _as_role(role, sql, params=()):
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"SET LOCAL ROLE {role}")
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


@pytest.fixture
def rows():
    incident(created_at=at(10), reference="INC-2026-00001")
    incident(created_at=at(10), reference="INC-2026-00002", compartment=restricted_compartment())


def test_reporting_role_reads_views_without_restricted_rows(rows):
    refs = _as_role("firebreak_reporting", "SELECT reference FROM reporting.incidents ORDER BY reference")
    assert refs == [("INC-2026-00001",)]
    for view in ("timeline", "sla_clocks", "pages", "postmortems"):
        assert _as_role("firebreak_reporting", f"SELECT COUNT(*) FROM reporting.{view}") is not None  # noqa: S608


def test_cleared_role_sees_restricted_rows_with_their_compartment(rows):
    got = _as_role("firebreak_reporting_cleared", "SELECT reference, compartment FROM reporting_cleared.incidents ORDER BY reference")
    assert got == [("INC-2026-00001", None), ("INC-2026-00002", "csea")]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO reporting.incidents (reference) VALUES ('X')",
        "UPDATE reporting.incidents SET title = 'x'",
        "DELETE FROM reporting.timeline",
        "SELECT COUNT(*) FROM incidents_incident",
        "SELECT COUNT(*) FROM reporting_cleared.incidents",
    ],
)
def test_reporting_role_cannot_write_or_reach_base_tables(rows, sql):
    with pytest.raises(DatabaseError, match="permission denied|not automatically updatable"):
        _as_role("firebreak_reporting", sql)


def test_reporting_roles_hold_select_only():
    with connection.cursor() as cur:
        for role in ("firebreak_reporting", "firebreak_reporting_cleared"):
            for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE"):
                cur.execute("SELECT has_table_privilege(%s, 'reporting.incidents', %s)", [role, privilege])
                assert cur.fetchone()[0] is False, (role, privilege)
            cur.execute("SELECT has_table_privilege(%s, 'reporting.incidents', 'SELECT')", [role])
            assert cur.fetchone()[0] is True
        cur.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'firebreak_reporting'")
        assert cur.fetchone()[0] is False
