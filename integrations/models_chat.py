"""Outbound chat: incident announcements posted to Slack-compatible or Microsoft Teams
incoming webhooks, through the escalations outbox (retried, every attempt recorded)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from accounts.models import Region
from incidents.models import HarmCategory, Severity


class ChatFormat(models.TextChoices):
    SLACK = "slack", "Slack-compatible (also Mattermost, Rocket.Chat)"
    TEAMS = "teams", "Microsoft Teams (Adaptive Card)"


class ChatEvent(models.TextChoices):
    DECLARED = "declared", "Incident declared"
    SEVERITY = "severity", "Severity changed"
    STATUS = "status", "Status changed (incl. resolved and reopened)"


class ChatWebhook(models.Model):
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, help_text="The channel's incoming-webhook URL")
    format = models.CharField(max_length=10, choices=ChatFormat.choices, default=ChatFormat.SLACK)
    active = models.BooleanField(default=True)
    max_severity = models.PositiveSmallIntegerField(
        choices=Severity.choices, default=Severity.SEV2, help_text="Announce incidents of this severity or higher (SEV1 is highest)"
    )
    events = ArrayField(
        models.CharField(max_length=20, choices=ChatEvent.choices), default=list, blank=True, help_text="Empty: every event"
    )
    harm_categories = models.ManyToManyField(HarmCategory, blank=True, help_text="Empty: every category")
    regions = ArrayField(models.CharField(max_length=10, choices=Region.choices), default=list, blank=True, help_text="Empty: every region")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
