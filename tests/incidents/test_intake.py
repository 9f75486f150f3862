import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import Conflict
from incidents.models import Incident, IntakeRequest
from incidents.services import intake_submit
from tests.incidents.conftest import incident_data


def regulator_order(**overrides):
    fields = {
        "title": "TCO removal order: livestream of an attack re-uploaded",
        "channel": "regulator_order",
        "harm_category": "violent-extremism",
        "intake_details": {
            "authority": "Bundeskriminalamt",
            "legal_instrument": "Regulation (EU) 2021/784 Art. 3",
            "order_reference": "BKA-1142",
        },
        "received_at": (timezone.now() - timedelta(minutes=5)).replace(microsecond=0).isoformat(),
    }
    return incident_data(**{**fields, **overrides})


@pytest.mark.django_db
def test_same_key_same_body_returns_the_same_incident(api, manager):
    client = api(manager)
    body = regulator_order()
    first = client.post("/api/v1/intake/", body, format="json", HTTP_IDEMPOTENCY_KEY="order-1142")
    again = client.post("/api/v1/intake/", body, format="json", HTTP_IDEMPOTENCY_KEY="order-1142")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["created"] is True and again.json()["created"] is False
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_same_key_with_a_different_body_is_a_conflict(api, manager):
    client = api(manager)
    assert client.post("/api/v1/intake/", regulator_order(), format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    response = client.post("/api/v1/intake/", regulator_order(summary="something else"), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["errors"]
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_a_partner_key_with_only_the_intake_scope_can_file_but_not_read(api, make_user):
    from accounts.services import api_token_create

    partner = make_user("partner-ngo")
    _, token = api_token_create(actor=partner, user=partner, name="intake", scopes=["intake"])
    client = api(token=token)
    response = client.post(
        "/api/v1/intake/", incident_data(channel="trusted_flagger", title="Scam network impersonating a bank"), format="json"
    )
    assert response.status_code == 201
    assert client.get("/api/v1/incidents/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_create_one_incident(make_user, django_db_blocker):
    manager = make_user("manager", role="incident_manager")
    body = regulator_order()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def submit():
        try:
            barrier.wait(timeout=5)
            results.append(intake_submit(actor=manager, data=body, idempotency_key="same-order"))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len({incident.pk for incident, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, True]
    assert Incident.objects.count() == 1
    assert IntakeRequest.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (lambda: regulator_order(intake_details={"legal_instrument": "TCO Art. 3"}), "authority"),
        (lambda: regulator_order(intake_details={"authority": "eSafety Commissioner"}), "legal_instrument"),
        (lambda: {**regulator_order(), "received_at": None}, "received_at"),
        (lambda: regulator_order() | {"received_at": (timezone.now() + timedelta(hours=3)).isoformat()}, "received_at"),
        (lambda: incident_data(channel="media_inquiry", intake_details={"reporter_deadline": "2026-03-01T17:00:00Z"}), "outlet"),
        (lambda: incident_data(channel="media_inquiry", intake_details={"outlet": "The Daily Example"}), "reporter_deadline"),
        (lambda: incident_data(title=""), "title"),
        (lambda: incident_data(harm_category="no-such-thing"), "harm_category"),
        (lambda: incident_data(channel="carrier-pigeon"), "channel"),
        (lambda: incident_data(countries=["Germany"]), "countries"),
    ],
)
@pytest.mark.parametrize("url", ["/api/v1/intake/", "/api/v1/incidents/"])
def test_missing_or_bad_fields_get_a_400_naming_the_field(api, manager, body, field, url):
    data = body()
    if data.get("received_at") is None:
        data.pop("received_at", None)
    response = api(manager).post(url, data, format="json")
    assert response.status_code == 400, response.json()
    assert field in {name.split(".")[0] for name in response.json()["errors"]}, response.json()
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_a_media_inquiry_with_outlet_and_deadline_is_accepted(api, manager):
    response = api(manager).post(
        "/api/v1/incidents/",
        incident_data(
            channel="media_inquiry",
            title="Media inquiry about a self-harm hashtag",
            harm_category="self-harm",
            intake_details={"outlet": "The Daily Example", "reporter_deadline": "2026-03-01T17:00:00Z"},
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["media_interest"] is True
    assert response.json()["intake_details"]["outlet"] == "The Daily Example"


@pytest.mark.django_db
def test_intake_is_throttled_per_key(api, manager, settings):
    from django.core.cache import cache

    cache.clear()
    from incidents.api.views import IntakeThrottle

    IntakeThrottle.THROTTLE_RATES = {**IntakeThrottle.THROTTLE_RATES, "intake": "2/min"}
    try:
        client = api(manager)
        codes = [client.post("/api/v1/intake/", incident_data(title=f"Spike {i}"), format="json").status_code for i in range(3)]
    finally:
        IntakeThrottle.THROTTLE_RATES = {
            **IntakeThrottle.THROTTLE_RATES,
            "intake": settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["intake"],
        }
        cache.clear()
    assert codes == [201, 201, 429]


@pytest.mark.django_db
def test_intake_service_refuses_a_reused_key_with_a_different_body(manager):
    intake_submit(actor=manager, data=incident_data(), idempotency_key="abc")
    with pytest.raises(Conflict):
        intake_submit(actor=manager, data=incident_data(title="Other"), idempotency_key="abc")
