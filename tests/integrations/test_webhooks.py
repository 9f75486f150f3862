"""Alertmanager and PagerDuty Events v2 webhooks, driven with the tools' documented payloads."""

import copy
import json
import threading

import pytest
from django.db import connection

from accounts.services import api_token_create
from incidents.models import Incident, Status, TimelineEvent
from integrations.models import AlertLink, AlertSource, AlertState
from tests.integrations.conftest import fixture_json

AM = "/api/v1/integrations/alertmanager/"
PD = "/api/v1/integrations/pagerduty/enqueue/"


def pd_body(name, key):
    body = fixture_json(f"pagerduty-events-v2/{name}.json")
    body["routing_key"] = key
    return body


@pytest.mark.django_db
def test_alertmanager_firing_opens_one_incident_mapped_from_labels(api, intake_key):
    _, key = intake_key
    response = api(token=key).post(AM, fixture_json("alertmanager/firing.json"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] is True and body["incident"]["reference"].startswith("INC-")
    incident = Incident.objects.get(pk=body["incident"]["id"])
    assert incident.title == "User reports for #blackoutchallenge up 14x in TR in 30 minutes"
    assert incident.severity == 1  # severity=critical
    assert incident.harm_category.slug == "dangerous-challenges"
    assert incident.region == "emea" and incident.countries == ["TR"] and incident.surfaces == ["video"]
    assert incident.hashtags and "blackoutchallenge" in incident.hashtags[0].lower()
    assert incident.first_signal_at.isoformat().startswith("2026-11-20T21:14")
    assert "runbooks/report-spike" in incident.summary
    assert AlertLink.objects.filter(incident=incident).count() == 2  # the group and its one alert


@pytest.mark.django_db
def test_alertmanager_replay_and_resolve_never_duplicate(api, intake_key):
    _, key = intake_key
    client = api(token=key)
    first = client.post(AM, fixture_json("alertmanager/firing.json"), format="json").json()
    again = client.post(AM, fixture_json("alertmanager/firing.json"), format="json")
    assert again.status_code == 200
    assert again.json()["replayed"] is True and again.json()["incident"]["reference"] == first["incident"]["reference"]
    resolved = client.post(AM, fixture_json("alertmanager/resolved.json"), format="json")
    assert resolved.status_code == 200 and resolved.json()["created"] is False
    assert Incident.objects.count() == 1
    incident = Incident.objects.get()
    entries = list(TimelineEvent.objects.filter(incident=incident, kind="alert").values_list("summary", flat=True))
    assert len(entries) == 1 and "resolved at the source" in entries[0] and "every alert" in entries[0]
    # The lifecycle is a person's call: a resolved alert does not move the incident.
    assert incident.status == Status.NEW
    assert set(AlertLink.objects.values_list("state", flat=True)) == {AlertState.RESOLVED}
    # A second resolved notification changes nothing.
    client.post(AM, fixture_json("alertmanager/resolved.json"), format="json")
    assert TimelineEvent.objects.filter(incident=incident, kind="alert").count() == 1
    # Firing again is recorded on the same incident.
    refire = fixture_json("alertmanager/firing.json")
    refire["alerts"][0]["startsAt"] = "2026-11-21T05:00:00.000Z"
    assert client.post(AM, refire, format="json").json()["incident"]["id"] == incident.pk
    assert Incident.objects.count() == 1
    assert TimelineEvent.objects.filter(incident=incident, kind="alert").count() == 2


@pytest.mark.django_db
def test_alertmanager_new_alert_in_the_group_joins_the_incident(api, intake_key):
    _, key = intake_key
    client = api(token=key)
    client.post(AM, fixture_json("alertmanager/firing.json"), format="json")
    grown = fixture_json("alertmanager/firing.json")
    second = copy.deepcopy(grown["alerts"][0])
    second["labels"]["country"] = "DE"
    second["fingerprint"] = "0a1b2c3d4e5f6071"
    grown["alerts"].append(second)
    response = client.post(AM, grown, format="json")
    assert response.status_code == 200 and response.json()["created"] is False
    assert "newly in the group" in TimelineEvent.objects.get(kind="alert").summary
    assert Incident.objects.count() == 1
    assert AlertLink.objects.filter(dedup_key="alert:0a1b2c3d4e5f6071").get().incident_id == Incident.objects.get().pk


@pytest.mark.django_db
def test_alertmanager_missing_labels_is_a_problem_naming_the_field(api, intake_key):
    _, key = intake_key
    response = api(token=key).post(AM, fixture_json("alertmanager/missing-labels.json"), format="json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert "alerts[0].labels" in response.json()["errors"]
    assert Incident.objects.count() == 0 and AlertLink.objects.count() == 0 and AlertSource.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda b: b.update(version="3"), "version"),
        (lambda b: b.update(status="pending"), "status"),
        (lambda b: b.pop("groupKey"), "groupKey"),
        (lambda b: b.update(alerts=[]), "alerts"),
        (lambda b: b.update(alerts=["x"]), "alerts[0]"),
        (lambda b: b["alerts"][0]["labels"].pop("alertname"), "alerts[0].labels.alertname"),
        (lambda b: b["alerts"][0]["labels"].update(severity=5), "alerts[0].labels.severity"),
        (lambda b: b["alerts"][0]["annotations"].update(summary=["list"]), "alerts[0].annotations.summary"),
        (lambda b: b["alerts"][0].update(fingerprint=7), "alerts[0].fingerprint"),
    ],
)
def test_alertmanager_bad_shapes_answer_400(api, intake_key, mutate, field):
    _, key = intake_key
    body = fixture_json("alertmanager/firing.json")
    mutate(body)
    response = api(token=key).post(AM, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_alertmanager_not_json_or_too_big_answers_400(api, intake_key):
    _, key = intake_key
    client = api(token=key)
    assert client.post(AM, "not json", content_type="application/json").status_code == 400
    assert client.post(AM, [1, 2], format="json").status_code == 400
    big = fixture_json("alertmanager/firing.json")
    big["alerts"][0]["annotations"]["description"] = "x" * 4000
    big["alerts"] = [dict(big["alerts"][0], fingerprint=f"{i:016x}") for i in range(400)]
    response = client.post(AM, big, format="json")
    assert response.status_code == 400 and "body" in response.json()["errors"]
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_webhooks_need_an_intake_key(api, make_user, manager):
    assert api().post(AM, fixture_json("alertmanager/firing.json"), format="json").status_code == 401
    reader = make_user("reader", role="viewer")
    _, read_key = api_token_create(actor=reader, user=reader, name="read", scopes=["read"])
    assert api(token=read_key).post(AM, fixture_json("alertmanager/firing.json"), format="json").status_code == 403
    assert api(manager).post(AM, fixture_json("alertmanager/firing.json"), format="json").status_code == 403
    assert api().post(PD, pd_body("trigger", "fbk_nope_nope"), format="json").status_code == 401
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_pagerduty_trigger_acknowledge_resolve_with_the_routing_key(api, intake_key):
    sender, key = intake_key
    client = api()  # no header: the routing_key is the intake key
    trigger = client.post(PD, pd_body("trigger", key), format="json")
    assert trigger.status_code == 202, trigger.content
    body = trigger.json()
    assert body["status"] == "success" and body["created"] is True
    assert body["dedup_key"] == "livestream-violence-2026-11-21-0042"
    incident = Incident.objects.get(pk=body["incident"]["id"])
    assert incident.severity == 1 and incident.harm_category.slug == "violent-extremism"
    assert incident.surfaces == ["live"] and incident.countries == ["DE"]
    assert "ls_88121" in incident.summary and "console.example.org" in incident.summary

    replay = client.post(PD, pd_body("trigger", key), format="json")
    assert replay.status_code == 202 and replay.json()["replayed"] is True
    assert replay.json()["incident"]["reference"] == incident.reference

    ack = client.post(PD, pd_body("acknowledge", key), format="json")
    assert ack.status_code == 202 and ack.json()["replayed"] is False
    incident.refresh_from_db()
    assert incident.acknowledged_at is not None
    assert client.post(PD, pd_body("acknowledge", key), format="json").json()["replayed"] is True

    resolve = client.post(PD, pd_body("resolve", key), format="json")
    assert resolve.status_code == 202
    assert client.post(PD, pd_body("resolve", key), format="json").json()["replayed"] is True
    assert Incident.objects.count() == 1
    kinds = list(TimelineEvent.objects.filter(incident=incident).order_by("at", "id").values_list("kind", flat=True))
    assert kinds.count("alert") == 2 and "acknowledged" in kinds
    assert AlertLink.objects.get().state == AlertState.RESOLVED
    assert AlertSource.objects.get().events_received == 3


@pytest.mark.django_db
def test_pagerduty_with_bearer_and_errors(api, intake_key):
    _, key = intake_key
    client = api(token=key)
    unknown = client.post(PD, pd_body("resolve", "placeholder"), format="json")
    assert unknown.status_code == 404 and "dedup_key" in unknown.json()["errors"]
    bad = pd_body("trigger", "placeholder")
    bad["payload"]["severity"] = "disaster"
    assert "payload.severity" in client.post(PD, bad, format="json").json()["errors"]
    bad = pd_body("trigger", "placeholder")
    del bad["payload"]["summary"]
    assert "payload.summary" in client.post(PD, bad, format="json").json()["errors"]
    bad = pd_body("trigger", "placeholder")
    bad["event_action"] = "explode"
    assert "event_action" in client.post(PD, bad, format="json").json()["errors"]
    no_key = pd_body("acknowledge", "placeholder")
    del no_key["dedup_key"]
    assert "dedup_key" in client.post(PD, no_key, format="json").json()["errors"]
    assert Incident.objects.count() == 0
    # Without a dedup_key the same trigger twice still opens one incident.
    keyless = pd_body("trigger", "placeholder")
    del keyless["dedup_key"]
    a = client.post(PD, keyless, format="json").json()
    b = client.post(PD, keyless, format="json").json()
    assert a["incident"]["id"] == b["incident"]["id"] and len(a["dedup_key"]) == 64


@pytest.mark.django_db
def test_dedup_keys_belong_to_their_intake_key(api, intake_key, make_user):
    _, key = intake_key
    other = make_user("other-monitoring")
    _, other_key = api_token_create(actor=other, user=other, name="other", scopes=["intake"])
    a = api().post(PD, pd_body("trigger", key), format="json").json()
    b = api().post(PD, pd_body("trigger", other_key), format="json").json()
    assert a["incident"]["id"] != b["incident"]["id"]
    assert api().post(PD, pd_body("resolve", other_key), format="json").status_code == 202
    assert AlertLink.objects.get(incident_id=a["incident"]["id"]).state == AlertState.TRIGGERED


@pytest.mark.django_db
def test_queries_for_a_replay_are_fixed(api, intake_key, django_assert_max_num_queries):
    _, key = intake_key
    client = api(token=key)
    client.post(PD, pd_body("trigger", key), format="json")
    with django_assert_max_num_queries(12):
        assert client.post(PD, pd_body("trigger", key), format="json").json()["replayed"] is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_triggers_open_one_incident(intake_key):
    from accounts.models import ApiToken
    from integrations.services import pagerduty_enqueue

    sender, key = intake_key
    token = ApiToken.objects.get(user=sender)
    results, errors = [], []

    def send():
        try:
            results.append(pagerduty_enqueue(actor=sender, token=token, payload=pd_body("trigger", key)))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.incident.pk for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_nul_characters_are_refused_before_anything_is_written(api, intake_key):
    _, key = intake_key
    body = fixture_json("alertmanager/firing.json")
    body["commonAnnotations"]["summary"] = "x\x00y"
    response = api(token=key).post(AM, body, format="json")
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert AlertLink.objects.count() == 0 and Incident.objects.count() == 0


@pytest.mark.django_db
def test_alerts_of_a_merged_duplicate_go_to_the_surviving_incident(api, intake_key, manager):
    from incidents.services import incident_create, incident_merge
    from tests.incidents.conftest import incident_data

    _, key = intake_key
    first = api().post(PD, pd_body("trigger", key), format="json").json()
    survivor = incident_create(actor=manager, data=incident_data(title="Live violence cluster"))
    incident_merge(actor=manager, duplicate=Incident.objects.get(pk=first["incident"]["id"]), into=survivor, reason="Same event")
    ack = api().post(PD, pd_body("acknowledge", key), format="json").json()
    assert ack["incident"]["id"] == survivor.pk
    survivor.refresh_from_db()
    assert survivor.acknowledged_at is not None


@pytest.mark.django_db
def test_hostile_strings_never_cause_a_500(api, intake_key):
    from tests.integrations.conftest import FIXTURES

    _, key = intake_key
    client = api(token=key)
    hostile = [h for h in json.loads((FIXTURES / "hostile-inputs.json").read_text()) if isinstance(h, str)]
    for i, text in enumerate(hostile):
        am = fixture_json("alertmanager/firing.json")
        am["groupKey"] = f"{{}}:{{n={i}}}"
        am["commonAnnotations"]["summary"] = text
        am["alerts"][0]["labels"]["hashtag"] = text[:200]
        am["alerts"][0]["labels"]["region"] = text[:50]
        pd = pd_body("trigger", key)
        pd["dedup_key"] = f"hostile-{i}"
        pd["payload"]["summary"] = text[:1024] or "x"
        pd["payload"]["group"] = text[:255] or "x"
        pd["payload"]["custom_details"] = {"country": text[:10], "note": text[:5000]}
        for url, body in ((AM, am), (PD, pd)):
            response = client.post(url, body, format="json")
            assert response.status_code in (200, 201, 202, 400), (text[:40], response.status_code, response.content[:300])
    for incident in Incident.objects.all():
        assert "\x00" not in incident.title and "\x00" not in incident.summary


@pytest.mark.django_db
def test_form_encoded_bodies_are_refused_cleanly(api, intake_key):
    _, key = intake_key
    for url in (AM, PD):
        response = api(token=key).post(url, {"routing_key": key, "event_action": "trigger"}, format="multipart")
        assert response.status_code in (400, 415), (url, response.status_code)
    assert api().post(PD, {"routing_key": key}, format="multipart").status_code == 401
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_a_large_group_costs_the_same_queries_as_a_small_one(api, intake_key):
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    _, key = intake_key
    client = api(token=key)

    def post(n, group):
        body = fixture_json("alertmanager/firing.json")
        body["groupKey"] = group
        body["alerts"] = [dict(body["alerts"][0], fingerprint=f"{group}-{i:04d}") for i in range(n)]
        with CaptureQueriesContext(conn) as ctx:
            assert client.post(AM, body, format="json").status_code == 201
        return len(ctx.captured_queries)

    post(1, "warm-up")  # the token's first use of the minute writes last_used_at
    assert post(200, "big") == post(1, "small")
    assert AlertLink.objects.filter(dedup_key__startswith="alert:big-").count() == 200


@pytest.mark.django_db
def test_webhooks_are_rate_limited_per_intake_key(api, intake_key, monkeypatch):
    from django.core.cache import cache

    from integrations.api.views import WebhookThrottle

    _, key = intake_key
    cache.clear()
    monkeypatch.setattr(WebhookThrottle, "rate", "2/min")
    try:
        codes = [api(token=key).post(PD, pd_body("trigger", key), format="json").status_code for _ in range(3)]
    finally:
        cache.clear()
    assert codes == [202, 202, 429]
