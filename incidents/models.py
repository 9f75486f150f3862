from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.models import Compartment, Region, Team


class Status(models.TextChoices):
    NEW = "new", "New"
    TRIAGED = "triaged", "Triaged"
    INVESTIGATING = "investigating", "Investigating"
    MITIGATING = "mitigating", "Mitigating"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    DECLINED = "declined", "Declined"
    MERGED = "merged", "Merged"


OPEN_STATUSES = (Status.NEW, Status.TRIAGED, Status.INVESTIGATING, Status.MITIGATING, Status.MONITORING)
TERMINAL_STATUSES = (Status.RESOLVED, Status.CLOSED, Status.DECLINED, Status.MERGED)


class Severity(models.IntegerChoices):
    SEV1 = 1, "SEV1"
    SEV2 = 2, "SEV2"
    SEV3 = 3, "SEV3"
    SEV4 = 4, "SEV4"


class Channel(models.TextChoices):
    INTERNAL_DETECTION = "internal_detection", "Internal detection"
    USER_REPORT_SPIKE = "user_report_spike", "User-report spike"
    MEDIA_INQUIRY = "media_inquiry", "Media inquiry"
    REGULATOR_ORDER = "regulator_order", "Government / regulator report or order"
    TRUSTED_FLAGGER = "trusted_flagger", "Community partner / trusted flagger"
    LAW_ENFORCEMENT = "law_enforcement", "Law enforcement"
    EMPLOYEE_ESCALATION = "employee_escalation", "Employee escalation"
    OTHER = "other", "Other"


class Surface(models.TextChoices):
    VIDEO = "video", "Video"
    LIVE = "live", "Live"
    COMMENTS = "comments", "Comments"
    DMS = "dms", "Direct messages"
    SEARCH = "search", "Search"
    ADS = "ads", "Ads"


class ParticipantRole(models.TextChoices):
    COMMANDER = "commander", "Commander"
    DEPUTY = "deputy", "Deputy"
    SCRIBE = "scribe", "Scribe"
    RESPONDER = "responder", "Responder"
    REVIEWER = "reviewer", "Reviewer"
    LIAISON = "liaison", "Liaison"
    OBSERVER = "observer", "Observer"


class CommentVisibility(models.TextChoices):
    INTERNAL = "internal", "Internal"
    SHAREABLE = "shareable", "Shareable"


class HarmCategory(models.Model):
    """The harm taxonomy, editable by admins. ``dsa_category`` maps onto the EU DSA
    transparency-database list named by ``dsa_taxonomy_version`` (its effective date),
    so a change of that list is a data change, not a code change."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    dsa_category = models.CharField(max_length=80)
    dsa_taxonomy_version = models.CharField(max_length=20, default="2025-07-01")
    harm_level = models.PositiveSmallIntegerField(
        default=3, help_text="Inherent harm of the category for the severity matrix: 1 (gravest) … 4 (least)."
    )
    active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "harm categories"

    def __str__(self) -> str:
        return self.name


class ReferenceSequence(models.Model):
    """Per-year counter behind INC-YYYY-NNNNN, advanced with one atomic upsert."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class IncidentQuerySet(models.QuerySet):
    def visible_to(self, user) -> IncidentQuerySet:
        from incidents.permissions import visible_filter

        return visible_filter(self, user)

    def open(self) -> IncidentQuerySet:
        return self.filter(status__in=OPEN_STATUSES)


class Incident(models.Model):
    reference = models.CharField(max_length=20, unique=True, editable=False)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    channel = models.CharField(max_length=30, choices=Channel.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.SEV3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    harm_category = models.ForeignKey(HarmCategory, on_delete=models.PROTECT, related_name="incidents")
    region = models.CharField(max_length=10, choices=Region.choices, default=Region.GLOBAL)
    countries = ArrayField(models.CharField(max_length=2), default=list, blank=True, help_text="ISO 3166-1 alpha-2")
    languages = ArrayField(models.CharField(max_length=16), default=list, blank=True, help_text="BCP 47 codes")
    surfaces = ArrayField(models.CharField(max_length=16, choices=Surface.choices), default=list, blank=True)
    content_items = models.JSONField(default=list, blank=True)
    accounts = models.JSONField(default=list, blank=True)
    hashtags = ArrayField(models.CharField(max_length=140), default=list, blank=True)
    keywords = ArrayField(models.CharField(max_length=140), default=list, blank=True)
    reach_views = models.BigIntegerField(default=0)

    minors_involved = models.BooleanField(default=False)
    imminent_risk = models.BooleanField(default=False)
    media_interest = models.BooleanField(default=False)
    regulatory = models.BooleanField(default=False)
    waiting_on_external = models.BooleanField(default=False)
    waiting_reason = models.CharField(max_length=500, blank=True)

    compartment = models.ForeignKey(Compartment, null=True, blank=True, on_delete=models.PROTECT, related_name="incidents")
    legal_hold = models.BooleanField(default=False)
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="commanded_incidents"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_incidents")
    teams_engaged = models.ManyToManyField(Team, blank=True, related_name="engaged_incidents")
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="Participant",
        through_fields=("incident", "user"),
        related_name="participating_incidents",
        blank=True,
    )
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    related = models.ManyToManyField("self", blank=True, symmetrical=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_duplicates")
    intake_details = models.JSONField(default=dict, blank=True)

    version = models.PositiveIntegerField(default=1)
    cycle = models.PositiveIntegerField(default=1)
    search_vector = SearchVectorField(null=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    # Milestone times: each set once by the service that causes it (see IncidentCycle for later cycles).
    first_signal_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    resolution_summary = models.TextField(blank=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("transition_incident", "Can move an incident through its lifecycle"),
            ("grant_incident", "Can grant a named user access to an incident"),
            ("break_glass_incident", "Can open a restricted incident with a recorded reason"),
            ("export_incident", "Can export incident data"),
        ]
        indexes = [
            models.Index(
                fields=["status", "severity", "created_at"],
                name="incident_open_queue",
                condition=models.Q(status__in=["new", "triaged", "investigating", "mitigating", "monitoring"]),
            ),
            models.Index(fields=["commander"], name="incident_commander"),
            models.Index(fields=["compartment"], name="incident_compartment"),
            models.Index(fields=["harm_category"], name="incident_harm_category"),
            models.Index(fields=["region"], name="incident_region"),
            models.Index(fields=["channel"], name="incident_channel"),
            models.Index(fields=["created_at"], name="incident_created_at"),
            GinIndex(fields=["search_vector"], name="incident_search"),
            GinIndex(fields=["title"], name="incident_title_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["hashtags"], name="incident_hashtags"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_restricted(self) -> bool:
        return self.compartment_id is not None

    @property
    def flags(self) -> dict:
        return {
            "minors_involved": self.minors_involved,
            "imminent_risk": self.imminent_risk,
            "media_interest": self.media_interest,
            "regulatory": self.regulatory,
            "waiting_on_external": self.waiting_on_external,
            "waiting_reason": self.waiting_reason,
        }


class IncidentCycle(models.Model):
    """One row per response cycle: cycle 1 at creation, one more per reopen. The incident's
    own milestone fields keep the first cycle's times; each cycle keeps its own here."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="cycles")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    reopened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reopen_reason = models.TextField(blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    milestones = models.JSONField(default=dict, blank=True, help_text="Other milestones of this cycle: name → ISO time")

    class Meta:
        ordering = ["incident", "number"]
        constraints = [models.UniqueConstraint(fields=["incident", "number"], name="uniq_incident_cycle")]

    def __str__(self) -> str:
        return f"{self.incident_id} cycle {self.number}"


class ReachSnapshot(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="reach_snapshots")
    at = models.DateTimeField()
    views = models.BigIntegerField()

    class Meta:
        ordering = ["incident", "at"]
        indexes = [models.Index(fields=["incident", "at"], name="reach_incident_at")]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.at}: {self.views}"


class Participant(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="participant_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="incident_participations")
    role = models.CharField(max_length=20, choices=ParticipantRole.choices, default=ParticipantRole.RESPONDER)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [models.UniqueConstraint(fields=["incident", "user"], name="uniq_incident_participant")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) on {self.incident_id}"


class TimelineKind(models.TextChoices):
    CREATED = "created", "Declared"
    STATUS_CHANGED = "status_changed", "Status changed"
    REOPENED = "reopened", "Reopened"
    SEVERITY_CHANGED = "severity_changed", "Severity changed"
    UPDATED = "updated", "Updated"
    FLAGS_CHANGED = "flags_changed", "Flags changed"
    COMMANDER_ASSIGNED = "commander_assigned", "Commander assigned"
    PARTICIPANT_ADDED = "participant_added", "Participant added"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    MILESTONE = "milestone", "Milestone"
    COMMENT = "comment", "Comment"
    KEY_MOMENT = "key_moment", "Key moment"
    MERGED = "merged", "Merged"
    ACCESS_GRANTED = "access_granted", "Access granted"
    ACCESS_REVOKED = "access_revoked", "Access revoked"
    BREAK_GLASS = "break_glass", "Break-glass access"
    # Recorded by other apps through timeline_record: free-form kinds are allowed too.
    PAGE = "page", "Page"
    SLA = "sla", "SLA"
    TASK = "task", "Task"
    STAKEHOLDER_UPDATE = "stakeholder_update", "Stakeholder update"


class TimelineEvent(models.Model):
    """Append-only (a Postgres trigger refuses UPDATE and DELETE); ordered by (at, id)."""

    incident = models.ForeignKey(Incident, on_delete=models.DO_NOTHING, related_name="timeline")
    at = models.DateTimeField()
    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+")
    summary = models.CharField(max_length=1000, blank=True)
    data = models.JSONField(default=dict, blank=True)
    cycle = models.PositiveIntegerField(default=1)
    is_key_moment = models.BooleanField(default=False)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "at", "id"], name="timeline_incident_at")]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.at:%Y-%m-%d %H:%M} {self.kind}"


class Comment(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="incident_comments")
    body = models.TextField(help_text="Markdown as written")
    body_html = models.TextField(help_text="Sanitised HTML rendered from body")
    visibility = models.CharField(max_length=10, choices=CommentVisibility.choices, default=CommentVisibility.INTERNAL)
    original_language = models.CharField(max_length=16, blank=True)
    translation = models.TextField(blank=True)
    translation_html = models.TextField(blank=True)
    translation_language = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["incident", "created_at"], name="comment_incident_created")]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.incident_id}"


class Notification(models.Model):
    """The in-app bell. Never created for a user who cannot see the incident."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "created_at"], name="notification_user_unread", condition=models.Q(read_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.text}"


class IntakeRequest(models.Model):
    """An idempotency key claimed before the incident is created, so two concurrent
    requests with one key produce one incident."""

    key = models.CharField(max_length=200)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["actor", "key"], name="uniq_intake_key")]

    def __str__(self) -> str:
        return f"{self.actor_id}:{self.key}"


class IncidentUserObjectPermission(UserObjectPermissionBase):
    """A direct per-incident grant; break-glass grants carry an expiry."""

    content_object = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="user_grants")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta(UserObjectPermissionBase.Meta):
        abstract = False


class IncidentGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="group_grants")

    class Meta(GroupObjectPermissionBase.Meta):
        abstract = False


from incidents.models_collab import *  # noqa
from incidents.models_saved_views import SavedView  # noqa: E402,F401 - the queue's saved views
