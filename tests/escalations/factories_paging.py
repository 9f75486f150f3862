"""Builders for paging tests: policies go through the service, so they are valid."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from escalations.models import ContactMethod, NotificationRule
from escalations.services import escalations_start, policy_create
from tests.incidents.factories import IncidentFactory


def make_policy(name="Responders", steps=None, repeat=0, rules=None, actor=None):
    """steps: [(wait_minutes, [("user", id) | ("schedule", id) | ...]), ...]"""
    return policy_create(
        actor=actor,
        name=name,
        repeat=repeat,
        steps=[{"wait_minutes": wait, "targets": [{"kind": k, "id": i} for k, i in targets]} for wait, targets in steps],
        rules=rules if rules is not None else [{"max_severity": 4}],
    )


def start_incident(*, at: datetime, **fields):
    """A bare incident row and its escalations, as the declare subscriber would start them."""
    incident = IncidentFactory(created_at=at, **fields)
    escalations = escalations_start(incident_id=incident.pk, at=at, reason="test")
    return incident, escalations


def webhook_for(user, url, *, secret="s3cret", fmt="slack", delay=0):
    method = ContactMethod.objects.create(user=user, kind="webhook", target=url, secret=secret, webhook_format=fmt, verified=True)
    NotificationRule.objects.create(user=user, contact_method=method, delay_minutes=delay)
    return method


def email_for(user, address=None, *, delay=0):
    method = ContactMethod.objects.create(user=user, kind="email", target=address or user.email, verified=True)
    NotificationRule.objects.create(user=user, contact_method=method, delay_minutes=delay)
    return method


class Receiver:
    """A webhook endpoint on 127.0.0.1 answering from a script: 200, 500 or "hang"."""

    def __init__(self, script=("200",), hang_seconds=1.0):
        self.script = list(script)
        self.hang_seconds = hang_seconds
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                action = receiver.script.pop(0) if len(receiver.script) > 1 else receiver.script[0]
                if action == "hang":
                    time.sleep(receiver.hang_seconds)
                    return
                self.send_response(int(action))
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.block_on_close = False  # a hanging request must not hold up the test's teardown
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
