"""On-call schedules: layers (rotations) of ordered members, overrides, and the
materialised spans that routing, the page, the API and the iCal feed read."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from accounts.models import validate_time_zone
from core.models import TimeStampedModel


class Schedule(TimeStampedModel):
    name = models.CharField(max_length=100)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="schedules")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    description = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    # The window [spans_start, spans_end) that OnCallSpan currently covers; reads
    # outside it are computed from the rotations instead.
    spans_start = models.DateTimeField(null=True, blank=True)
    spans_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["name"], name="uniq_schedule_name")]

    def __str__(self) -> str:
        return self.name


class ShiftUnit(models.TextChoices):
    HOURS = "hours", "hours"
    DAYS = "days", "days"
    WEEKS = "weeks", "weeks"


class Rotation(TimeStampedModel):
    """A layer. Higher `layer` numbers win where they have someone on call.

    Shifts are laid out in the schedule's wall clock: shift k starts at
    `start_date + handoff_time + k * shift_length` local time, so a daily 09:00
    handoff stays at 09:00 across DST. `restrictions` is a list of
    ``{"weekdays": [0..6], "start": "HH:MM", "end": "HH:MM"}`` windows in the
    same wall clock (Monday is 0; end <= start runs past midnight; start == end
    is the whole day); when present, shifts are clipped to them."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="rotations")
    name = models.CharField(max_length=100)
    layer = models.PositiveSmallIntegerField()
    shift_unit = models.CharField(max_length=10, choices=ShiftUnit.choices, default=ShiftUnit.DAYS)
    shift_length = models.PositiveIntegerField(default=1)
    handoff_time = models.TimeField()
    start_date = models.DateField()
    restrictions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["schedule", "-layer"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "layer"], name="uniq_rotation_layer"),
            models.CheckConstraint(condition=Q(shift_length__gt=0), name="rotation_shift_length_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} / {self.name}"


class RotationMember(models.Model):
    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rotation_memberships")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["rotation", "position"]
        constraints = [models.UniqueConstraint(fields=["rotation", "position"], name="uniq_rotation_position")]

    def __str__(self) -> str:
        return f"{self.user} #{self.position} in {self.rotation}"


class Override(TimeStampedModel):
    """A person covers [start, end) on a schedule, winning over every layer.
    Overrides of one schedule never overlap (checked by the service under a lock)."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="schedule_overrides")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["schedule", "start"]
        indexes = [models.Index(fields=["schedule", "end"], name="override_sched_end")]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="override_end_after_start")]

    def __str__(self) -> str:
        return f"{self.user} covers {self.schedule} {self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M}"


class SpanSource(models.TextChoices):
    ROTATION = "rotation", "rotation"
    OVERRIDE = "override", "override"


class OnCallSpan(models.Model):
    """Who is on call on a schedule over [start, end): the resolved, final
    schedule (layers and overrides applied), rebuilt by schedule_rebuild_spans."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="spans")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oncall_spans")
    start = models.DateTimeField()
    end = models.DateTimeField()
    layer = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=SpanSource.choices)

    class Meta:
        ordering = ["schedule", "start"]
        indexes = [
            models.Index(fields=["schedule", "end", "start"], name="oncallspan_sched_end"),
            models.Index(fields=["user", "end", "start"], name="oncallspan_user_end"),
        ]
        constraints = [models.CheckConstraint(condition=Q(end__gt=F("start")), name="oncallspan_end_after_start")]

    def __str__(self) -> str:
        return f"{self.user} on {self.schedule} {self.start}–{self.end}"


class ICalFeedToken(models.Model):
    """A secret in a calendar feed URL. With a schedule it opens that schedule's
    feed; without one it opens the owner's own shifts. Only a digest is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ical_tokens")
    schedule = models.ForeignKey(Schedule, null=True, blank=True, on_delete=models.CASCADE, related_name="ical_tokens")
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        target = self.schedule or "own shifts"
        return f"iCal {self.prefix}… for {target}"
