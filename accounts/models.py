from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from core.models import TimeStampedModel


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"'{value}' is not a known time zone (use an IANA name such as Europe/Dublin).") from exc


class Region(models.TextChoices):
    EMEA = "emea", "EMEA"
    APAC = "apac", "APAC"
    AMER = "amer", "Americas"
    GLOBAL = "global", "Global"


class User(AbstractUser):
    display_name = models.CharField(max_length=150, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    languages = ArrayField(models.CharField(max_length=16), default=list, blank=True, help_text="BCP 47 codes, e.g. en, de, pt-BR")
    region = models.CharField(max_length=10, choices=Region.choices, blank=True)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def role_names(self) -> list[str]:
        return [g.name for g in self.groups.all()]

    def has_role(self, role: str) -> bool:
        return self.groups.filter(name=role).exists()


class Team(TimeStampedModel):
    """A functional team (Rapid Response Dublin, Legal, Comms …) with its home zone."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    function = models.CharField(max_length=50, blank=True, help_text="e.g. rapid response, policy, legal, comms, product, engineering")
    region = models.CharField(max_length=10, choices=Region.choices, default=Region.GLOBAL)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    is_lead = models.BooleanField(default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="uniq_team_member")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class Compartment(TimeStampedModel):
    """A restricted area (CSEA, USDS, legal-privileged): only cleared users see its incidents."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    owners = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="owned_compartments", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ClearanceQuerySet(models.QuerySet):
    def active(self, at=None):
        at = at or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=at))


class Clearance(TimeStampedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clearances")
    compartment = models.ForeignKey(Compartment, on_delete=models.CASCADE, related_name="clearances")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # "sso" clearances follow the identity provider's group claim at every sign-in;
    # "manual" ones are granted and revoked by people and never touched by SSO.
    source = models.CharField(
        max_length=10, choices=[("manual", "Granted by a person"), ("sso", "Identity provider group")], default="manual"
    )

    objects = ClearanceQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "compartment"], name="clearance_user_comp")]
        constraints = [
            models.UniqueConstraint(fields=["user", "compartment"], condition=models.Q(revoked_at__isnull=True), name="uniq_open_clearance")
        ]

    def __str__(self) -> str:
        return f"{self.user} cleared for {self.compartment}"


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, at=None):
        at = at or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=at)


class ApiToken(models.Model):
    """A personal or partner API token. Only a SHA-256 of the secret is stored; the
    plaintext is shown once at creation. The prefix identifies it in lists and logs."""

    SCOPES = ("read", "write", "intake", "admin")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    scopes = ArrayField(models.CharField(max_length=16), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def scope_list(self) -> list[str]:
        return list(self.scopes)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class ExternalIdentity(models.Model):
    """A user's account at an OpenID Connect provider: (issuer, subject) is stable where
    an email address is not, so sign-in matches on it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities")
    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    groups = ArrayField(models.CharField(max_length=200), default=list, blank=True, help_text="The group claim at the last sign-in")
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="uniq_external_identity")]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"
