"""Working on an incident together: tasks, mitigation actions, stakeholder updates,
evidence and the reviewer-wellbeing log of graphic-evidence reveals."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from accounts.models import Team
from incidents.models import Incident

__all__ = [
    "Evidence",
    "EvidenceKind",
    "EvidenceView",
    "IncidentSubscription",
    "LegalBasis",
    "MitigationAction",
    "MitigationKind",
    "StakeholderUpdate",
    "Task",
    "TaskStatus",
    "UpdateAudience",
    "UpdateStatus",
    "WellbeingSettings",
]


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Task(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="incident_tasks")
    assignee_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="incident_tasks")
    due_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["incident", "created_at"], name="task_incident_created"),
            models.Index(fields=["assignee", "status"], name="task_assignee_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(assignee__isnull=True) | models.Q(assignee_team__isnull=True),
                name="task_one_assignee",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_closed(self) -> bool:
        return self.status in (TaskStatus.DONE, TaskStatus.CANCELLED)


class MitigationKind(models.TextChoices):
    CONTENT_REMOVED = "content_removed", "Content removed"
    GEO_RESTRICTED = "geo_restricted", "Geo-restricted"
    HASHTAG_INTERVENTION = "hashtag_intervention", "Hashtag intervention"
    SEARCH_INTERVENTION = "search_intervention", "Search intervention"
    ACCOUNT_ACTION = "account_action", "Account action"
    OTHER = "other", "Other"


class MitigationAction(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="mitigations")
    kind = models.CharField(max_length=30, choices=MitigationKind.choices)
    count = models.PositiveIntegerField(default=0, help_text="Items, accounts or terms acted on")
    countries = ArrayField(models.CharField(max_length=2), default=list, blank=True, help_text="ISO 3166-1 alpha-2")
    detail = models.TextField(blank=True)
    at = models.DateTimeField(help_text="When the action took effect")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "at"], name="mitigation_incident_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ×{self.count}"


class IncidentSubscription(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="subscriptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="incident_subscriptions")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "user"], name="uniq_incident_subscription")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.incident_id}"


class UpdateAudience(models.TextChoices):
    INTERNAL = "internal", "Internal (subscribers)"
    REGULATOR = "regulator", "Regulator"
    PARTNER = "partner", "Partner"
    PRESS = "press", "Press"


OUTBOUND_AUDIENCES = (UpdateAudience.REGULATOR, UpdateAudience.PARTNER, UpdateAudience.PRESS)


class UpdateStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    SENT = "sent", "Sent"


class StakeholderUpdate(models.Model):
    """An internal status update (posted at once) or an outbound response, which goes
    draft → approved (by someone other than the author) → sent. The approval pins the
    SHA-256 of the approved text, so what was sent can be shown to be what was approved."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="stakeholder_updates")
    audience = models.CharField(max_length=20, choices=UpdateAudience.choices)
    recipient = models.CharField(max_length=300, blank=True, help_text="Who receives an outbound response")
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(help_text="Markdown as written")
    body_html = models.TextField(blank=True, help_text="Sanitised HTML rendered from body")
    status = models.CharField(max_length=10, choices=UpdateStatus.choices, default=UpdateStatus.DRAFT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="authored_updates")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_hash = models.CharField(max_length=64, blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_reference = models.CharField(max_length=200, blank=True, help_text="e.g. the regulator's case or letter number")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["incident", "created_at"], name="update_incident_created")]
        permissions = [("approve_outbound", "Can approve an outbound response (regulator, partner, press)")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(approved_by__isnull=True) | ~models.Q(approved_by=models.F("author")),
                name="update_approver_not_author",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_audience_display()} update {self.uid}"

    @property
    def is_outbound(self) -> bool:
        return self.audience in OUTBOUND_AUDIENCES


class EvidenceKind(models.TextChoices):
    CONTENT_ITEM = "content_item", "Content item"
    FILE = "file", "File"
    HASH_ONLY = "hash_only", "Hash and platform reference only"


class LegalBasis(models.TextChoices):
    NONE = "none", "None"
    TCO = "tco", "EU TCO removal order (keep 6 months)"
    NCMEC = "ncmec", "NCMEC CyberTipline report (keep 1 year)"


def evidence_upload_to(instance: Evidence, filename: str) -> str:
    # The stored name never carries the uploader's file name: no path tricks, no leaks.
    return f"evidence/{instance.incident_id}/{instance.uid.hex}"


class EvidenceQuerySet(models.QuerySet):
    def live(self) -> EvidenceQuerySet:
        return self.filter(deleted_at__isnull=True)


class Evidence(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=20, choices=EvidenceKind.choices)
    title = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    platform_id = models.CharField(max_length=200, blank=True, help_text="The platform's own id of the content item or account")
    sha256 = models.CharField(max_length=64, blank=True)
    captured = models.JSONField(default=dict, blank=True, help_text="Metadata captured with the item (author, views, timestamps …)")
    file = models.FileField(upload_to=evidence_upload_to, blank=True, max_length=300)
    file_name = models.CharField(max_length=255, blank=True, help_text="The uploader's file name, shown only")
    content_type = models.CharField(max_length=100, blank=True, help_text="Sniffed from the file's first bytes")
    size = models.PositiveBigIntegerField(default=0)
    graphic = models.BooleanField(default=False)
    legal_basis = models.CharField(max_length=10, choices=LegalBasis.choices, default=LegalBasis.NONE)
    preservation_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "evidence"
        indexes = [
            models.Index(fields=["incident", "created_at"], name="evidence_incident_created", condition=models.Q(deleted_at__isnull=True)),
            models.Index(fields=["sha256"], name="evidence_sha256"),
        ]

    def __str__(self) -> str:
        return self.title or self.platform_id or self.url or str(self.uid)

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")


class EvidenceView(models.Model):
    """One reveal of graphic evidence. Kept when the evidence is deleted: exposure counts
    are about the reviewer, not the item."""

    evidence = models.ForeignKey(Evidence, null=True, on_delete=models.SET_NULL, related_name="views")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="evidence_views")
    at = models.DateTimeField()
    after_break = models.BooleanField(default=False, help_text="The reviewer confirmed the take-a-break prompt first")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["user", "at"], name="evidenceview_user_at"),
            models.Index(fields=["evidence", "user", "at"], name="evidenceview_item_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} saw {self.evidence_id} at {self.at:%Y-%m-%d %H:%M}"


class WellbeingSettings(models.Model):
    """Admin-set limits for exposure to graphic evidence; one row (see wellbeing_settings_get)."""

    daily_cap = models.PositiveIntegerField(default=50, help_text="Reveals per day before Firebreak asks for a break")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "wellbeing settings"
        verbose_name_plural = "wellbeing settings"
        permissions = [("view_team_exposure", "Can see team exposure counts (not content)")]

    def __str__(self) -> str:
        return f"Daily cap {self.daily_cap}"
