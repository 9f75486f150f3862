"""/readyz must say 503 when the database or the broker cannot be reached, so a load
balancer stops sending traffic to this instance. The shared services stay up: the test
points this process at a port where nothing listens."""

import socket
from contextlib import contextmanager

import pytest
from django.db import connection

from config.celery import app as celery_app


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _database_unreachable():
    connection.close()
    saved = {key: connection.settings_dict[key] for key in ("HOST", "PORT")}
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.fixture
def unreachable_database(django_db_blocker):
    with django_db_blocker.unblock(), _database_unreachable():
        yield


@pytest.fixture
def unreachable_broker():
    saved = celery_app.conf.broker_url
    celery_app.conf.broker_url = f"redis://127.0.0.1:{_closed_port()}/0"
    try:
        yield
    finally:
        celery_app.conf.broker_url = saved


def test_readyz_is_503_json_when_the_database_is_unreachable(client, unreachable_database):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert body["checks"]["broker"]["ok"] is True
    assert "engine" not in body


@pytest.mark.django_db
def test_readyz_is_503_json_when_the_broker_is_unreachable(client, unreachable_broker):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"]


def test_readyz_is_200_again_once_the_database_answers(client, django_db_blocker):
    with django_db_blocker.unblock():
        with _database_unreachable():
            assert client.get("/readyz").status_code == 503
        response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["database"]["ok"] is True


def test_healthz_stays_200_while_the_database_is_unreachable(client, unreachable_database):
    assert client.get("/healthz").status_code == 200
