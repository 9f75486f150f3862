"""Builders for paging tests: policies go through the service, so they are valid."""

from __future__ import annotations

from datetime import datetime

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
