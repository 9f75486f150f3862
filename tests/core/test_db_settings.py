import pytest
from django.db import connection


@pytest.mark.django_db
def test_app_connections_run_without_jit_compilation():
    # JIT planning cost hundreds of milliseconds on the incident search list.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
