"""Escalation policies, escalations, pages and the outbox.

Postgres is the source of truth: an active escalation is a row with
``next_fire_at``; every message to send is an ``OutgoingMessage`` row with an
``idempotency_key``. The engine (escalations.engine) claims due rows with
``SELECT … FOR UPDATE SKIP LOCKED``; Celery only calls it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import TimeStampedModel


class EscalationPolicy(TimeStampedModel):
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="escalation_policies")
    repeat = models.PositiveSmallIntegerField(default=0, help_text="How many more times the whole list of steps runs without an ack.")
    version = models.PositiveIntegerField(default=1)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"
        constraints = [models.UniqueConstraint(fields=["name"], name="uniq_escalation_policy_name")]

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    wait_minutes = models.PositiveIntegerField(default=5, help_text="Minutes to wait for an acknowledgement before the next step.")

    class Meta:
        ordering = ["policy", "order"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "order"], name="uniq_escalation_step_order"),
            models.CheckConstraint(condition=Q(wait_minutes__gt=0), name="escalation_step_wait_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.policy} step {self.order}"


class TargetKind(models.TextChoices):
    USER = "user", "A person"
    SCHEDULE = "schedule", "Whoever is on call on a schedule"
    TEAM_MEMBERS = "team_members", "Every member of a team"
    TEAM_ONCALL = "team_oncall", "Whoever is on call for a team"


class StepTarget(models.Model):
    step = models.ForeignKey(EscalationStep, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(max_length=20, choices=TargetKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    schedule = models.ForeignKey("escalations.Schedule", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["step", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="user", user__isnull=False, schedule__isnull=True, team__isnull=True)
                    | Q(kind="schedule", user__isnull=True, schedule__isnull=False, team__isnull=True)
                    | Q(kind__in=["team_members", "team_oncall"], user__isnull=True, schedule__isnull=True, team__isnull=False)
                ),
                name="step_target_matches_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.user_id or self.schedule_id or self.team_id}"

    def as_snapshot(self) -> dict:
        return {"kind": self.kind, "id": self.user_id or self.schedule_id or self.team_id}


class PolicyRule(TimeStampedModel):
    """Chooses policies for an incident. Every matching rule's policy runs: Legal
    and Comms are paged by their own policies next to the responders'."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="rules")
    max_severity = models.PositiveSmallIntegerField(default=4, help_text="Matches incidents of this severity or higher (1 = SEV1).")
    harm_category = models.ForeignKey("incidents.HarmCategory", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    region = models.CharField(max_length=10, blank=True)
    channel = models.CharField(max_length=30, blank=True)
    priority = models.PositiveSmallIntegerField(default=100)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "id"]
        constraints = [models.CheckConstraint(condition=Q(max_severity__gte=1, max_severity__lte=4), name="policy_rule_severity_range")]

    def __str__(self) -> str:
        return f"SEV≤{self.max_severity} → {self.policy}"


class EscalationState(models.TextChoices):
    ACTIVE = "active", "Active"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    EXHAUSTED = "exhausted", "Exhausted"


class Escalation(models.Model):
    """One per (incident, policy, incident cycle). ``step_index`` is the step that
    fires at ``next_fire_at``; past the last step it means "wait, then exhausted"."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="escalations")
    policy = models.ForeignKey(EscalationPolicy, null=True, on_delete=models.SET_NULL, related_name="escalations")
    policy_snapshot = models.JSONField()
    policy_version = models.PositiveIntegerField()
    cycle = models.PositiveIntegerField(default=1)
    step_index = models.PositiveSmallIntegerField(default=0)
    repeat_count = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=20, choices=EscalationState.choices, default=EscalationState.ACTIVE)
    next_fire_at = models.DateTimeField(null=True, blank=True)
    claim_deadline = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    last_fired_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["next_fire_at"], name="escalation_due", condition=Q(state="active")),
            models.Index(fields=["incident", "state"], name="escalation_incident_state"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["incident", "policy", "cycle"], name="uniq_escalation_incident_policy_cycle"),
        ]

    def __str__(self) -> str:
        return f"Escalation {self.pk} ({self.state})"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
    IN_APP = "in_app", "In-app"
    SMS = "sms", "SMS / voice"


class PageState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CANCELLED = "cancelled", "Cancelled"


class Page(models.Model):
    """A page to one person on one channel for one firing of a step. ``repeat``
    is part of the key so a repeated policy never collides with its first run."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="pages")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="pages")
    cycle = models.PositiveIntegerField()
    repeat = models.PositiveSmallIntegerField(default=0)
    step = models.PositiveSmallIntegerField()
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pages")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    state = models.CharField(max_length=20, choices=PageState.choices, default=PageState.PENDING)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["escalation", "cycle", "repeat", "step", "recipient", "channel"], name="uniq_page"),
        ]
        indexes = [
            models.Index(fields=["recipient", "created_at"], name="page_recipient_created"),
            models.Index(fields=["incident", "state"], name="page_incident_state"),
        ]

    def __str__(self) -> str:
        return f"Page {self.pk} → {self.recipient_id} ({self.channel})"


class MessageState(models.TextChoices):
    PENDING = "pending", "Pending"
    CLAIMED = "claimed", "Claimed"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class OutgoingMessage(models.Model):
    """The outbox. A message is claimed (state claimed, ``claim_deadline`` set) and
    committed before it is sent; if no outcome arrives by the deadline it is claimed
    again with the same idempotency key, so a crash repeats at most this message."""

    idempotency_key = models.CharField(max_length=200, unique=True)
    page = models.ForeignKey(Page, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    escalation = models.ForeignKey(Escalation, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    incident = models.ForeignKey("incidents.Incident", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    contact_method = models.ForeignKey("ContactMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20, default="page", help_text="page, gap, alert")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    target = models.CharField(max_length=500)
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=20, choices=MessageState.choices, default=MessageState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    claim_deadline = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="outgoing_due", condition=Q(state="pending")),
            models.Index(fields=["claim_deadline"], name="outgoing_claimed", condition=Q(state="claimed")),
            models.Index(fields=["page"], name="outgoing_page"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.target} ({self.state})"


class DeliveryAttempt(models.Model):
    message = models.ForeignKey(OutgoingMessage, on_delete=models.CASCADE, related_name="delivery_attempts")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["message", "number", "id"]

    def __str__(self) -> str:
        return f"{self.message_id} #{self.number} {'ok' if self.ok else 'failed'}"


class ContactKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
    IN_APP = "in_app", "In-app"
    SMS = "sms", "SMS / voice"


class WebhookFormat(models.TextChoices):
    SLACK = "slack", "Slack-compatible"
    GENERIC = "generic", "Generic JSON"


class ContactMethod(TimeStampedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods")
    kind = models.CharField(max_length=10, choices=ContactKind.choices)
    target = models.CharField(max_length=500, blank=True, help_text="Address, URL or number; empty for in-app.")
    webhook_format = models.CharField(max_length=10, choices=WebhookFormat.choices, default=WebhookFormat.SLACK, blank=True)
    secret = models.CharField(max_length=128, blank=True, help_text="HMAC key for webhook signatures.")
    verified = models.BooleanField(default=False)

    class Meta:
        ordering = ["user", "kind", "id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.target}"


class Urgency(models.TextChoices):
    ANY = "any", "Any page"
    HIGH = "high", "High urgency (SEV1–2)"
    LOW = "low", "Low urgency (SEV3–4)"


class NotificationRule(models.Model):
    """ "Immediately in-app + email, after 5 minutes the webhook": one rule per line."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_rules")
    contact_method = models.ForeignKey(ContactMethod, on_delete=models.CASCADE, related_name="rules")
    delay_minutes = models.PositiveIntegerField(default=0)
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.ANY)

    class Meta:
        ordering = ["user", "delay_minutes", "id"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.contact_method_id} after {self.delay_minutes} min"
