"""Intake from machines: mailboxes polled for media inquiries and regulator letters, and
monitoring webhooks (Prometheus Alertmanager, PagerDuty Events API v2) linked to incidents."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from incidents.models import Channel, HarmCategory, Incident, Severity

MAIL_CHANNELS = (Channel.MEDIA_INQUIRY, Channel.REGULATOR_ORDER)
DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024


class MailboxKind(models.TextChoices):
    IMAP = "imap", "IMAP"
    MAILDIR = "maildir", "Maildir"


class Mailbox(models.Model):
    """A mailbox read by the poller. The IMAP password is never stored: `password_env`
    names the environment variable that holds it."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=MailboxKind.choices)
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(default=993)
    use_ssl = models.BooleanField(default=True)
    username = models.CharField(max_length=255, blank=True)
    password_env = models.CharField(max_length=100, blank=True, help_text="Name of the environment variable holding the password")
    maildir_path = models.CharField(max_length=500, blank=True)
    folder = models.CharField(max_length=200, default="INBOX")
    channel = models.CharField(max_length=30, choices=[(c.value, c.label) for c in MAIL_CHANNELS])
    default_severity = models.PositiveSmallIntegerField(choices=Severity.choices, null=True, blank=True)
    default_harm_category = models.ForeignKey(HarmCategory, on_delete=models.PROTECT, related_name="+")
    intake_details = models.JSONField(
        default=dict, blank=True, help_text="Channel details every intake from here carries, e.g. legal_instrument for a regulator inbox"
    )
    response_hours = models.PositiveIntegerField(default=24, help_text="Assumed reporter deadline after receipt (media inquiries)")
    allowed_sender_domains = ArrayField(
        models.CharField(max_length=255), default=list, blank=True, help_text="Senders from other domains go to quarantine"
    )
    max_message_bytes = models.PositiveBigIntegerField(default=DEFAULT_MAX_MESSAGE_BYTES)
    intake_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", help_text="The account intakes from this mailbox are filed as"
    )
    active = models.BooleanField(default=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "mailboxes"
        permissions = [("review_quarantine", "Can review quarantined inbound mail (release or discard)")]
        constraints = [
            models.CheckConstraint(condition=models.Q(channel__in=[c.value for c in MAIL_CHANNELS]), name="mailbox_channel_mail"),
            models.CheckConstraint(condition=models.Q(max_message_bytes__gt=0), name="mailbox_max_size_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class MessageState(models.TextChoices):
    ACCEPTED = "accepted", "Accepted (new incident)"
    THREADED = "threaded", "Threaded onto an incident"
    QUARANTINED = "quarantined", "Quarantined"
    REJECTED = "rejected", "Rejected (discarded from quarantine)"


def inbound_raw_upload_to(instance: InboundMessage, filename: str) -> str:
    return f"inbound-mail/{instance.mailbox_id}/{instance.sha256 or 'unhashed'}.eml"


class InboundMessage(models.Model):
    """One message seen in a mailbox; (mailbox, message_id) is unique, so a message is taken
    in once however often it is polled. The original is kept in `raw`."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="messages")
    message_id = models.CharField(max_length=998)
    source_key = models.CharField(max_length=300, blank=True, help_text="Maildir key or IMAP UIDVALIDITY/UID")
    from_address = models.CharField(max_length=320, blank=True)
    from_header = models.CharField(max_length=1000, blank=True)
    subject = models.CharField(max_length=1000, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    headers = models.JSONField(default=list, blank=True, help_text="[name, value] pairs as received, shown escaped")
    received_at = models.DateTimeField(null=True, blank=True, help_text="The Date header, when plausible")
    fetched_at = models.DateTimeField(default=timezone.now)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    raw = models.FileField(upload_to=inbound_raw_upload_to, blank=True, max_length=300)
    state = models.CharField(max_length=12, choices=MessageState.choices)
    reason = models.TextField(blank=True)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-fetched_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["mailbox", "message_id"], name="uniq_inbound_message_id")]
        indexes = [
            models.Index(fields=["state", "fetched_at"], name="inbound_state_fetched"),
            models.Index(fields=["mailbox", "source_key"], name="inbound_mailbox_source"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.state})"


class AlertSourceKind(models.TextChoices):
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
    PAGERDUTY = "pagerduty", "PagerDuty Events API v2"


class AlertSource(models.Model):
    """A sender of monitoring webhooks: one per (kind, intake key). Deduplication keys are
    scoped to it, as PagerDuty scopes dedup_key to a routing key."""

    kind = models.CharField(max_length=20, choices=AlertSourceKind.choices)
    token = models.ForeignKey("accounts.ApiToken", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_event_at = models.DateTimeField(null=True, blank=True)
    events_received = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["kind", "id"]
        constraints = [models.UniqueConstraint(fields=["kind", "token"], name="uniq_alert_source")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name or self.token_id}"


class AlertState(models.TextChoices):
    TRIGGERED = "triggered", "Triggered / firing"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class AlertLink(models.Model):
    """A deduplication key of a source (PagerDuty dedup_key, Alertmanager groupKey or alert
    fingerprint) and the incident it opened. The row is claimed before the incident is
    created, so two deliveries of the same alert never make two incidents."""

    source = models.ForeignKey(AlertSource, on_delete=models.CASCADE, related_name="links")
    dedup_key = models.CharField(max_length=300)
    label = models.CharField(max_length=500, blank=True, help_text="The key as sent, shortened")
    incident = models.ForeignKey(Incident, null=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=15, choices=AlertState.choices, default=AlertState.TRIGGERED)
    created_at = models.DateTimeField(default=timezone.now)
    last_event_at = models.DateTimeField(default=timezone.now)
    last_payload_sha256 = models.CharField(max_length=64, blank=True)
    events = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-last_event_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "dedup_key"], name="uniq_alert_link")]
        indexes = [models.Index(fields=["incident"], name="alertlink_incident")]

    def __str__(self) -> str:
        return f"{self.dedup_key} → {self.incident_id}"


# Outbound chat lives in its own module; imported here so Django registers its models.
from integrations.models_chat import ChatEvent, ChatFormat, ChatWebhook  # noqa: E402, F401
