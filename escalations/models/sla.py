"""SLA policies, business calendars, legal clocks and the per-incident clocks.

A clock is a row: ``due_at``/``warn_at`` are wall-clock instants computed in
business time (``escalations.sla_calendar``) and ``next_check_at`` is the next
instant the engine must look at it (the warning, then the breach). The engine
claims due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` exactly like pages.
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import TimeStampedModel

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def validate_time_zone(value: str) -> None:
    if not isinstance(value, str) or value not in _zones():
        raise DjangoValidationError(f"Unknown time zone {value!r}; use an IANA name such as Europe/Dublin.", code="time_zone")


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def working_hours_problems(value: object) -> list[str]:
    """Every problem with a working-hours mapping ({"0": [["09:00", "17:30"]], …}, Monday=0)."""
    problems: list[str] = []
    if not isinstance(value, dict):
        return ["must be an object mapping weekday (0=Monday … 6=Sunday) to a list of [start, end] pairs"]
    for key, spans in value.items():
        if str(key) not in {str(d) for d in range(7)}:
            problems.append(f"unknown weekday {key!r}; use 0 (Monday) to 6 (Sunday)")
            continue
        if not isinstance(spans, list):
            problems.append(f"day {key}: must be a list of [start, end] pairs")
            continue
        previous_end = ""
        for span in spans:
            if not (isinstance(span, list | tuple) and len(span) == 2 and all(isinstance(s, str) for s in span)):
                problems.append(f'day {key}: {span!r} is not a ["HH:MM", "HH:MM"] pair')
                continue
            start, end = span
            if not (_HHMM.match(start) and _HHMM.match(end)):
                problems.append(f'day {key}: {span!r} is not a ["HH:MM", "HH:MM"] pair')
            elif start >= end:
                problems.append(f"day {key}: {start}–{end} ends before it starts")
            elif previous_end and start < previous_end:
                problems.append(f"day {key}: spans overlap or are out of order")
            else:
                previous_end = end
    return problems


class BusinessCalendar(TimeStampedModel):
    name = models.CharField(max_length=100, unique=True)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="business_calendars")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    is_24x7 = models.BooleanField(default=False, help_text="Every hour counts; working hours and holidays are ignored.")
    working_hours = models.JSONField(
        default=dict, blank=True, help_text='Weekday (0=Monday) → list of ["HH:MM", "HH:MM"] spans in the calendar\'s zone.'
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        try:
            validate_time_zone(self.time_zone)
        except DjangoValidationError as exc:
            errors["time_zone"] = list(exc.messages)
        problems = working_hours_problems(self.working_hours)
        if problems:
            errors["working_hours"] = problems
        elif not self.is_24x7 and not any(self.working_hours.get(str(d)) for d in range(7)):
            errors["working_hours"] = ["A calendar that is not 24/7 needs working hours on at least one weekday."]
        if errors:
            raise DjangoValidationError(errors)


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="uniq_holiday_calendar_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class LegalClock(TimeStampedModel):
    """A deadline set by a law or regulator. The duration lives on versions (laws change)."""

    code = models.SlugField(max_length=64, unique=True)
    jurisdiction = models.CharField(max_length=100)
    instrument = models.CharField(max_length=300)
    trigger = models.CharField(max_length=300)
    citation = models.CharField(max_length=300)
    source_url = models.URLField(max_length=500)
    stop_condition = models.CharField(max_length=300, blank=True)
    internal_target = models.BooleanField(
        default=False,
        help_text='The law says "promptly" or "without undue delay": the duration is our own internal target, not the law.',
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["jurisdiction", "code"]

    def __str__(self) -> str:
        return f"{self.jurisdiction}: {self.instrument} ({self.code})"


class LegalClockVersion(models.Model):
    legal_clock = models.ForeignKey(LegalClock, on_delete=models.CASCADE, related_name="versions")
    effective_from = models.DateTimeField()
    effective_until = models.DateTimeField(null=True, blank=True)
    duration = models.DurationField()
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["legal_clock", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["legal_clock", "effective_from"], name="uniq_legal_clock_version_from"),
            models.CheckConstraint(condition=Q(duration__gt=timedelta(0)), name="legal_clock_version_duration_positive"),
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True) | Q(effective_until__gt=models.F("effective_from")),
                name="legal_clock_version_until_after_from",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.legal_clock.code} from {self.effective_from:%Y-%m-%d}: {self.duration}"

    def clean(self) -> None:
        if self.duration is not None and self.duration <= timedelta(0):
            raise DjangoValidationError({"duration": ["The duration must be positive."]})
        if self.effective_until and self.effective_from and self.effective_until <= self.effective_from:
            raise DjangoValidationError({"effective_until": ["Must be after effective_from."]})


class SLAPolicy(TimeStampedModel):
    """Matches incidents; the most specific active match wins (see sla_services.sla_policy_match)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    priority = models.IntegerField(default=0, help_text="Breaks ties between equally specific policies: higher wins.")
    channels = ArrayField(models.CharField(max_length=30), default=list, blank=True, help_text="Empty = any channel.")
    severities = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True, help_text="Empty = any severity.")
    regions = ArrayField(models.CharField(max_length=10), default=list, blank=True, help_text="Empty = any region.")
    flags = ArrayField(
        models.CharField(max_length=40), default=list, blank=True, help_text="Incident flags that must all be set, e.g. minors_involved."
    )
    harm_categories = models.ManyToManyField("incidents.HarmCategory", blank=True, related_name="sla_policies")

    class Meta:
        ordering = ["-priority", "name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name


class SLAMetric(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", "Time to acknowledge"
    TRIAGE = "triage", "Time to triage"
    FIRST_RESPONSE = "first_response", "Time to first response"
    MITIGATION = "mitigation", "Time to mitigation / removal"
    RESOLUTION = "resolution", "Time to resolution"
    POSTMORTEM = "postmortem", "Post-mortem due"
    AUTHORITY_RESPONSE = "authority_response", "Respond to the authority by"


class SLAStartFrom(models.TextChoices):
    CREATED_AT = "created_at", "Declared in Firebreak"
    RECEIVED_AT = "received_at", "Received (order, report or inquiry)"


class SLATarget(TimeStampedModel):
    policy = models.ForeignKey(SLAPolicy, on_delete=models.CASCADE, related_name="targets")
    metric = models.CharField(max_length=30, choices=SLAMetric.choices)
    name = models.CharField(max_length=200)
    duration = models.DurationField(null=True, blank=True, help_text="Empty when a legal clock gives the duration.")
    legal_clock = models.ForeignKey(LegalClock, null=True, blank=True, on_delete=models.PROTECT, related_name="targets")
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT, related_name="targets")
    warn_pct = models.PositiveSmallIntegerField(default=75, validators=[MinValueValidator(1), MaxValueValidator(99)])
    pause_when_waiting = models.BooleanField(default=True, help_text='Pause while the incident is flagged "waiting on an external party".')
    start_from = models.CharField(max_length=20, choices=SLAStartFrom.choices, default=SLAStartFrom.CREATED_AT)
    stop_condition = models.CharField(max_length=300, blank=True)
    on_warning = models.JSONField(default=list, blank=True)
    on_breach = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["policy", "metric", "id"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "metric"], name="uniq_sla_target_policy_metric"),
            models.CheckConstraint(condition=Q(warn_pct__gte=1) & Q(warn_pct__lte=99), name="sla_target_warn_pct_range"),
            models.CheckConstraint(condition=Q(duration__isnull=True) | Q(duration__gt=timedelta(0)), name="sla_target_duration_positive"),
            models.CheckConstraint(
                condition=Q(duration__isnull=False) | Q(legal_clock__isnull=False), name="sla_target_duration_or_legal_clock"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy.name}: {self.name}"

    def clean(self) -> None:
        from escalations.sla_services import sla_target_problems

        problems = sla_target_problems(self)
        if problems:
            raise DjangoValidationError(problems)


class SLAClockState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"


class SLAClock(models.Model):
    """One per (incident, target, incident cycle). ``elapsed_seconds`` is business time
    before the current run segment (which started at ``segment_started_at``)."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="sla_clocks")
    target = models.ForeignKey(SLATarget, null=True, on_delete=models.SET_NULL, related_name="clocks")
    metric = models.CharField(max_length=30, choices=SLAMetric.choices)
    name = models.CharField(max_length=200, blank=True)
    cycle = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=20, choices=SLAClockState.choices, default=SLAClockState.RUNNING)
    duration = models.DurationField()
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    warn_pct = models.PositiveSmallIntegerField(default=75)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    warn_at = models.DateTimeField(null=True, blank=True)
    elapsed_seconds = models.BigIntegerField(default=0)
    segment_started_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    policy_version = models.PositiveIntegerField(default=1)
    legal_clock_version = models.ForeignKey(LegalClockVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="clocks")
    matched_because = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["next_check_at"], name="sla_clock_due", condition=Q(state="running")),
            models.Index(fields=["incident", "cycle"], name="sla_clock_incident_cycle"),
            # Attainment and the breach list read clocks by start time (dashboards, reporting).
            models.Index(fields=["started_at"], name="sla_clock_started"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["incident", "target", "cycle"], name="uniq_sla_clock_incident_target_cycle"),
        ]

    def __str__(self) -> str:
        return f"SLA clock {self.pk} {self.metric} ({self.state})"

    @property
    def attained(self) -> bool | None:
        """True/False once stopped; None while open."""
        if self.stopped_at is None:
            return None
        return self.stopped_at <= self.due_at


class SLAClockEventKind(models.TextChoices):
    START = "start", "Started"
    PAUSE = "pause", "Paused"
    RESUME = "resume", "Resumed"
    WARN = "warn", "Warning"
    BREACH = "breach", "Breached"
    STOP = "stop", "Stopped"
    RECOMPUTE = "recompute", "Recomputed"
    RESTART = "restart", "Restarted"


class SLAClockEvent(models.Model):
    clock = models.ForeignKey(SLAClock, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=SLAClockEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["clock", "at"], name="sla_clock_event_clock_at")]

    def __str__(self) -> str:
        return f"{self.clock_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"
