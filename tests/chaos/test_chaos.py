"""The engine under failure, with real processes against a private Postgres and Redis.

For every scenario: no page lost, at most one duplicate per crash inside the claim
window (counted at the receiver by idempotency key), no page after an acknowledgement,
and the auditor's report of what it repaired."""

from __future__ import annotations

import pytest

from tests.escalations.factories_paging import Receiver

pytestmark = [pytest.mark.chaos, pytest.mark.worker]


def _people(chaos, *receivers, steps=None):
    prefix = chaos.name.split("_")[0]
    users = [{"username": f"{prefix}-manager", "role": "incident_manager"}]
    names = []
    for i, receiver in enumerate(receivers):
        names.append(f"{prefix}-responder{i}")
        users.append({"username": names[-1], "role": "responder", "webhook": receiver.url})
    chaos.control("setup", {"users": users, "policy": {"steps": steps or [[1, names], [1, names]]}})
    return names


def _declare(chaos, *titles) -> list[int]:
    return chaos.control("declare", {"actor": chaos.name.split("_")[0] + "-manager", "titles": list(titles)})["incidents"]


def _webhooks_sent(chaos, incidents) -> int:
    return chaos.value(
        "SELECT count(*) FROM escalations_outgoingmessage WHERE incident_id = ANY(%s) AND channel = 'webhook' AND state = 'sent'",
        (incidents,),
    )


def _pages(chaos, incident) -> int:
    return chaos.value("SELECT count(*) FROM escalations_page WHERE incident_id = %s", (incident,))


def _ack_then_no_more_pages(chaos, incident, username) -> None:
    """Acknowledge, bring the next step due, let the engine tick: nothing more is paged."""
    chaos.control("ack", {"incident": incident, "username": username})
    before = _pages(chaos, incident)
    chaos.sql("UPDATE escalations_escalation SET next_fire_at = now() - interval '1 second' WHERE incident_id = %s", (incident,))
    chaos.ticks_pass(2)
    assert _pages(chaos, incident) == before
    chaos.summary["pages_after_ack"] = _pages(chaos, incident) - before


def test_r1_worker_killed_mid_delivery(chaos):
    with Receiver(script=("hang", "200"), hang_seconds=15) as slow, Receiver() as fast:
        chaos.procs.worker()  # the processes boot while the people are set up
        chaos.procs.beat()
        names = _people(chaos, slow, fast)
        [incident] = _declare(chaos, "Crash mid-delivery")
        # The fast receiver's outcome is on record while the slow one still hangs.
        chaos.wait(lambda: len(slow.requests) == 1 and _webhooks_sent(chaos, [incident]) == 1, "one page sent, one in flight")
        chaos.procs.kill("worker")
        claimed = chaos.sql("SELECT id FROM escalations_outgoingmessage WHERE state = 'claimed'")
        assert len(claimed) == 1
        # Move past the claim window (a minute) instead of waiting it out: the auditor then
        # hands the message back to the queue.
        chaos.sql("UPDATE escalations_outgoingmessage SET claim_deadline = now() - interval '1 second' WHERE state = 'claimed'")
        report = chaos.audit()
        assert report["released_messages"] >= 1

        chaos.procs.worker("worker2")
        chaos.wait(lambda: not chaos.lost([incident]), "every message of the first step delivered")
        keys = chaos.record([slow, fast], [incident])
        _ack_then_no_more_pages(chaos, incident, names[1])

    assert len(keys) == 2
    assert sum(keys.values()) - len(keys) <= 1  # at most the one in-flight message, once
    assert keys[max(keys, key=keys.get)] <= 2
    assert _webhooks_sent(chaos, [incident]) == 2


def _settled(chaos, incidents, expected_webhooks) -> bool:
    return _webhooks_sent(chaos, incidents) == expected_webhooks and not chaos.lost(incidents)


def test_r2_redis_flushed_and_restarted_with_work_pending(chaos):
    with Receiver() as receiver:
        names = _people(chaos, receiver)
        chaos.procs.beat()  # no worker yet: ticks pile up in the broker
        incidents = _declare(chaos, "Flushed broker A", "Flushed broker B")
        chaos.wait(lambda: chaos.redis.client().llen("engine") > 0, "engine ticks waiting in Redis")
        chaos.redis.client().flushall()
        chaos.redis.restart()
        chaos.procs.worker()
        chaos.wait(lambda: _settled(chaos, incidents, 2), "both incidents paged after the flush and the restart")
        keys = chaos.record([receiver], incidents)
        _ack_then_no_more_pages(chaos, incidents[0], names[0])
        assert chaos.procs.alive("beat") and chaos.procs.alive("worker")
    chaos.audit()

    assert len(keys) == 2 and set(keys.values()) == {1}


def test_r3_postgres_restarted_while_the_engine_runs(chaos):
    with Receiver() as first, Receiver() as second:
        chaos.procs.worker()
        chaos.procs.beat()
        names = _people(chaos, first, second)
        chaos.ticks_pass(1)
        incidents = _declare(chaos, "Restart A", "Restart B", "Restart C")
        chaos.pg.restart()
        # A message whose outcome could not be recorded during the restart stays claimed
        # until its claim window (a minute) runs out: move past the window of claims taken
        # more than ten seconds ago (a live send here takes milliseconds) instead of waiting.
        stale = (
            "UPDATE escalations_outgoingmessage SET claim_deadline = now() - interval '1 second' "
            "WHERE incident_id = ANY(%s) AND state = 'claimed' AND claim_deadline <= now() + interval '50 seconds' RETURNING id"
        )
        expired = set()
        chaos.wait(
            lambda: expired.update(r[0] for r in chaos.sql(stale, (incidents,))) or _settled(chaos, incidents, 6),
            "every page of the three incidents after the restart",
        )
        chaos.summary["claims_expired"] = len(expired)
        keys = chaos.record([first, second], incidents)
        _ack_then_no_more_pages(chaos, incidents[0], names[0])
        breaches = _sla_breaches_after_restart(chaos, incidents[1:])
        assert chaos.procs.alive("beat") and chaos.procs.alive("worker")
    chaos.audit()

    assert len(keys) == 6
    assert breaches["events"] == breaches["clocks"] and breaches["duplicate_events"] == 0
    assert breaches["notifications"] == breaches["clocks"] * breaches["people"]
    # A restart is a crash for every send in flight: each of those may go out once more
    # (same idempotency key); nothing else repeats.
    assert max(keys.values()) <= 2
    assert sum(keys.values()) - len(keys) <= chaos.summary["claims_expired"]


def _sla_breaches_after_restart(chaos, incidents) -> dict:
    """The SLA clocks the declarations started (the shipped policies): restart Postgres
    again, bring the clocks' deadlines to the present and let the engine fire them."""
    clocks = [
        row[0] for row in chaos.sql("SELECT id FROM escalations_slaclock WHERE incident_id = ANY(%s) AND state = 'running'", (incidents,))
    ]
    assert clocks, "the shipped SLA policies start clocks at declaration"
    chaos.sql(
        "UPDATE escalations_slaclock SET warn_at = NULL, due_at = now() + interval '2 seconds', next_check_at = now() + interval '2 seconds' "
        "WHERE id = ANY(%s)",
        (clocks,),
    )
    chaos.pg.restart()
    chaos.wait(
        lambda: (
            chaos.value("SELECT count(*) FROM escalations_slaclock WHERE id = ANY(%s) AND state = 'breached'", (clocks,)) == len(clocks)
        ),
        "the SLA breaches",
    )
    chaos.ticks_pass(2)
    result = {
        "clocks": len(clocks),
        "events": chaos.value("SELECT count(*) FROM escalations_slaclockevent WHERE clock_id = ANY(%s) AND kind = 'breach'", (clocks,)),
        "duplicate_events": chaos.value(
            "SELECT count(*) FROM (SELECT clock_id, kind FROM escalations_slaclockevent WHERE clock_id = ANY(%s) GROUP BY 1, 2 HAVING count(*) > 1) d",
            (clocks,),
        ),
        "notifications": chaos.value(
            "SELECT count(*) FROM incidents_notification WHERE incident_id = ANY(%s) AND kind = 'sla_breach'", (incidents,)
        ),
        "people": chaos.value(
            "SELECT count(DISTINCT user_id) FROM incidents_notification WHERE incident_id = ANY(%s) AND kind = 'sla_breach'", (incidents,)
        ),
    }
    chaos.summary["sla"] = result
    return result


def test_r4_two_beats_send_nothing_twice(chaos):
    with Receiver() as first, Receiver() as second:
        chaos.procs.worker()
        chaos.procs.beat("beat-a")
        chaos.procs.beat("beat-b")
        _people(chaos, first, second)
        incidents = _declare(chaos, "Doubled beat A", "Doubled beat B")
        chaos.wait(lambda: _settled(chaos, incidents, 4), "every page delivered")
        chaos.ticks_pass(3)
        keys = chaos.record([first, second], incidents)
    chaos.audit()

    assert len(keys) == 4 and set(keys.values()) == {1}
    assert not chaos.sql(
        "SELECT escalation_id, cycle, repeat, step, recipient_id, channel FROM escalations_page WHERE incident_id = ANY(%s) "
        "GROUP BY 1, 2, 3, 4, 5, 6 HAVING count(*) > 1",
        (incidents,),
    )


RAN = "SELECT 1 FROM core_engineheartbeat WHERE name = %s AND EXTRACT(EPOCH FROM beat_at) >= %s"


def test_r5_a_task_delivered_again_after_it_succeeded(chaos):
    from celery import Celery
    from kombu import Connection

    # An explicit connection: Celery prefers a CELERY_BROKER_URL in the environment (the
    # shared broker of this test run) to the broker given to the app.
    broker = Connection(chaos.redis.url)
    publisher = Celery("chaos-publisher", broker=chaos.redis.url)

    def publish_twice(task: str, queue: str, heartbeat: str) -> None:
        for _ in range(2):
            sent_at = chaos.db_now()
            # The same task id and body each time: a redelivered message, not a new task.
            publisher.send_task(task, queue=queue, task_id=f"chaos-r5-{task}", connection=broker)
            chaos.wait(lambda since=sent_at: chaos.sql(RAN, (heartbeat, since)), f"{task} to run")

    with Receiver() as receiver:
        chaos.procs.worker()  # no beat: only the messages published here run
        [owner] = _people(chaos, receiver)
        incidents = _declare(chaos, "Redelivered task")
        chaos.wait_consuming()
        publish_twice("escalations.engine_tick", "engine", "escalations")
        publish_twice("escalations.deliver_due", "delivery", "escalations-delivery")
        chaos.wait(lambda: _settled(chaos, incidents, 1), "the page delivered")
        publish_twice("escalations.deliver_due", "delivery", "escalations-delivery")
        keys = chaos.record([receiver], incidents)

        # Post-mortem reminders: bring them due, then run their tick twice with one message.
        chaos.control("action_items", {"actor": "r5-manager", "owner": owner, "items": 2})
        reminders = chaos.sql(
            "UPDATE postmortems_actionitemreminder SET due_at = now() - interval '1 second' WHERE kind = 'before_due' RETURNING id"
        )
        for _ in range(2):
            publisher.send_task(
                "postmortems.reminders_tick", task_id="chaos-r5-reminders", connection=broker
            )  # the default queue, as beat sends it
        chaos.wait(
            lambda: chaos.value("SELECT count(*) FROM postmortems_actionitemreminder WHERE sent_at IS NOT NULL") == len(reminders),
            "both reminders sent",
        )
        publisher.close()
        broker.release()
    chaos.audit()
    notified = chaos.value(
        "SELECT count(*) FROM incidents_notification n JOIN accounts_user u ON u.id = n.user_id WHERE u.username = %s AND n.kind LIKE 'action_item_%%'",
        (owner,),
    )
    chaos.summary.update(reminders=len(reminders), reminder_notifications=notified)
    assert len(reminders) == 2 and notified == 2

    assert len(keys) == 1 and set(keys.values()) == {1}
    assert chaos.value("SELECT count(*) FROM escalations_page WHERE incident_id = %s", (incidents[0],)) == 2  # in-app and webhook


def test_r6_receivers_that_hang_or_fail(chaos):
    chaos.configure(FIREBREAK_WEBHOOK_TIMEOUT=2)
    with Receiver(script=("500", "200")) as failing, Receiver(script=("hang", "200"), hang_seconds=6) as hanging, Receiver() as good:
        chaos.procs.worker()
        chaos.procs.beat()
        _people(chaos, failing, hanging, good)
        incidents = _declare(chaos, "Bad receivers")
        webhooks = "SELECT m.target, m.state, m.attempts, m.next_attempt_at > now() + interval '20 seconds' FROM escalations_outgoingmessage m WHERE m.incident_id = %s AND m.channel = 'webhook' ORDER BY m.target"
        chaos.wait(lambda: _webhooks_sent(chaos, incidents) == 1, "the good receiver's page")
        chaos.wait(
            lambda: (
                sum(
                    1
                    for _, state, attempts, later in chaos.sql(webhooks, (incidents[0],))
                    if state == "pending" and attempts == 1 and later
                )
                == 2
            ),
            "both bad receivers' first attempts recorded and their retries pushed back",
        )
        attempts = chaos.sql(
            "SELECT a.ok, a.status_code, a.error FROM escalations_deliveryattempt a JOIN escalations_outgoingmessage m ON m.id = a.message_id "
            "WHERE m.incident_id = %s AND NOT a.ok",
            (incidents[0],),
        )
        assert len(attempts) == 2 and {a[1] for a in attempts} == {500, None}
        chaos.ticks_pass(2)  # the engine keeps ticking meanwhile
        # Bring the backed-off retries forward instead of waiting out the backoff.
        chaos.sql(
            "UPDATE escalations_outgoingmessage SET next_attempt_at = now() WHERE incident_id = %s AND state = 'pending'", (incidents[0],)
        )
        chaos.wait(lambda: _settled(chaos, incidents, 3), "the retries delivered")
        keys = chaos.record([failing, hanging, good], incidents)
        assert chaos.procs.alive("worker") and chaos.procs.alive("beat")
    chaos.audit()

    assert len(keys) == 3
    assert sorted(keys.values()) == [1, 2, 2]  # a failed or timed-out attempt is retried under the same key


def test_r7_web_answers_503_while_the_database_is_gone(chaos):
    import requests

    chaos.control("setup", {"users": [{"username": "r7-responder", "role": "responder", "password": "correct-horse-battery-staple"}]})
    port = __import__("tests.chaos.procs", fromlist=["free_port"]).free_port()
    chaos.procs.start("web", ["manage.py", "runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"], module="python")
    base = f"http://127.0.0.1:{port}"
    web = requests.Session()

    def get(path, client=web):
        try:
            return client.get(base + path, timeout=10, allow_redirects=False)
        except requests.ConnectionError:
            return None

    def probe(path):
        return get(path, client=requests)  # an orchestrator's probe: no cookies

    chaos.wait(lambda: get("/healthz"), "the web process to answer")
    web.get(base + "/accounts/login/", timeout=10)
    login = web.post(
        base + "/accounts/login/",
        data={"username": "r7-responder", "password": "correct-horse-battery-staple", "csrfmiddlewaretoken": web.cookies["csrftoken"]},
        headers={"Referer": base + "/accounts/login/"},
        timeout=10,
        allow_redirects=False,
    )
    assert login.status_code == 302
    assert get("/").status_code == 200
    assert probe("/readyz").status_code == 200

    chaos.pg.stop()
    try:
        assert probe("/healthz").status_code == 200
        ready = probe("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"]["ok"] is False
        page = get("/")
        assert page.status_code == 503, page.text[:500]
        assert "temporarily unavailable" in page.text and "Traceback" not in page.text
        assert page.headers["Retry-After"]
        api = get("/api/v1/incidents/")  # the session's API call
        assert api.status_code == 503 and api.headers["Content-Type"] == "application/problem+json"
    finally:
        chaos.pg.start()
    chaos.wait(lambda: probe("/readyz").status_code == 200, "readiness back after the database returns")
    assert get("/").status_code == 200
    chaos.summary.update(down_readyz=ready.status_code, down_page=page.status_code, down_api=api.status_code)
