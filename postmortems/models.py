from __future__ import annotations

from django.conf import settings
from django.db import models

from core.models import TimeStampedModel
from postmortems.taxonomy import FactorCategory, Section


class PostMortemPolicy(models.Model):
    """Which incidents require a post-mortem and how long the owner has. Admin-editable data;
    the row with the lowest id is the one in force (one is created by the migration)."""

    name = models.CharField(max_length=100, default="Default")
    max_severity = models.PositiveSmallIntegerField(
        default=2, help_text="Incidents of this severity or higher (1 = SEV1) require a post-mortem."
    )
    due_days = models.PositiveSmallIntegerField(default=14)
    forbid_self_approval = models.BooleanField(default=True, help_text="The owner may not approve their own post-mortem.")
    reminder_days_before = models.PositiveSmallIntegerField(default=2)
    overdue_repeat_days = models.PositiveSmallIntegerField(default=7)

    class Meta:
        verbose_name_plural = "post-mortem policies"
        constraints = [
            models.CheckConstraint(condition=models.Q(max_severity__gte=1, max_severity__lte=4), name="pm_policy_severity_range"),
            models.CheckConstraint(condition=models.Q(due_days__gte=1), name="pm_policy_due_days_positive"),
            models.CheckConstraint(condition=models.Q(overdue_repeat_days__gte=1), name="pm_policy_repeat_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name}: SEV1–SEV{self.max_severity}, due in {self.due_days} days"


class PostMortemStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    PUBLISHED = "published", "Published"


class PostMortem(TimeStampedModel):
    incident = models.OneToOneField("incidents.Incident", on_delete=models.PROTECT, related_name="postmortem")
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=20, choices=PostMortemStatus.choices, default=PostMortemStatus.DRAFT)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_postmortems")
    due_on = models.DateField(null=True, blank=True)
    auto_created = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)

    summary = models.TextField(blank=True)
    impact = models.TextField(blank=True)
    detection = models.TextField(blank=True)
    response = models.TextField(blank=True)
    went_well = models.TextField(blank=True)
    went_poorly = models.TextField(blank=True)
    lessons = models.TextField(blank=True)
    # Figures copied from the incident when the post-mortem starts, so the review reads
    # what was known then even if the incident is edited afterwards.
    impact_data = models.JSONField(default=dict, blank=True)

    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("approve_postmortem", "Can approve and publish post-mortems")]
        indexes = [models.Index(fields=["status", "due_on"], name="pm_status_due")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_editable(self) -> bool:
        return self.status in (PostMortemStatus.DRAFT, PostMortemStatus.IN_REVIEW)


class TimelineEntry(models.Model):
    """An editable copy of an incident timeline event; `source_event` links back to the original."""

    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="timeline_entries")
    source_event = models.ForeignKey("incidents.TimelineEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    text = models.TextField()
    kind = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["postmortem", "source_event"], name="pm_timeline_once_per_event")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.text[:40]}"


class ContributingFactor(models.Model):
    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="factors")
    category = models.CharField(max_length=30, choices=FactorCategory.choices)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(category__in=FactorCategory.values), name="pm_factor_category_in_taxonomy"),
        ]

    def __str__(self) -> str:
        return self.get_category_display()


class ActionItemPriority(models.TextChoices):
    P1 = "P1", "P1"
    P2 = "P2", "P2"
    P3 = "P3", "P3"


class ActionItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    WONT_DO = "wont_do", "Won't do"


OPEN_ITEM_STATUSES = (ActionItemStatus.OPEN, ActionItemStatus.IN_PROGRESS)


class ActionItem(TimeStampedModel):
    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="postmortem_action_items")
    due_on = models.DateField()
    priority = models.CharField(max_length=2, choices=ActionItemPriority.choices, default=ActionItemPriority.P2)
    status = models.CharField(max_length=20, choices=ActionItemStatus.choices, default=ActionItemStatus.OPEN)
    tracker_url = models.URLField(max_length=500, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["status", "due_on"], name="pm_item_status_due")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ITEM_STATUSES


class ReviewComment(models.Model):
    """A reviewer's comment anchored to one section of the post-mortem."""

    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="comments")
    section = models.CharField(max_length=20, choices=Section.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.author} on {self.section}"


class ReminderKind(models.TextChoices):
    BEFORE_DUE = "before_due", "Due soon"
    OVERDUE = "overdue", "Overdue"


class ActionItemReminder(models.Model):
    """A reminder is a row with a due time, claimed by the periodic task with SKIP LOCKED.
    The unique key (item, kind, due date, sequence) makes each reminder happen once, even
    when the due date is moved away and back."""

    item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=ReminderKind.choices)
    item_due_on = models.DateField()
    sequence = models.PositiveSmallIntegerField(default=0, help_text="0 for the first overdue reminder, then one per repeat.")
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "kind", "item_due_on", "sequence"], name="pm_reminder_once"),
        ]
        indexes = [
            models.Index(fields=["due_at"], name="pm_reminder_pending", condition=models.Q(sent_at__isnull=True, skipped_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.sequence} for item {self.item_id} at {self.due_at}"

    @property
    def idempotency_key(self) -> str:
        return f"pm-reminder:{self.item_id}:{self.kind}:{self.item_due_on.isoformat()}:{self.sequence}"
