from datetime import datetime

from django.db import connection


def db_now() -> datetime:
    """The database clock: every process agrees on it, unlike each host's clock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]
