"""The floor of B1: the same 50 rows straight from psycopg2 as JSON, no framework.

gunicorn bench.raw_wsgi:app   (BENCH_DSN names the database)
"""

import json
import os

import psycopg2

SQL = (
    "SELECT id, reference, title, summary, channel, severity, status, region, created_at, updated_at "
    "FROM incidents_incident ORDER BY created_at DESC, id DESC LIMIT 50"
)
_conn = None


def _rows():
    global _conn
    if _conn is None or _conn.closed:
        _conn = psycopg2.connect(os.environ["BENCH_DSN"])
        _conn.autocommit = True
    with _conn.cursor() as cursor:
        cursor.execute(SQL)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def app(environ, start_response):
    body = json.dumps({"results": _rows()}, default=str).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
