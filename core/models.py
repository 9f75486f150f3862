from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """Who did what, when, with before/after. Append-only: a Postgres trigger refuses
    UPDATE and DELETE. The table is partitioned by month; retention drops whole
    partitions (see core.services.audit_apply_retention)."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    legal_hold = models.BooleanField(default=False)

    class Meta:
        # Created by hand-written SQL (partitioned table with an append-only trigger).
        managed = False
        db_table = "core_auditevent"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"


class EngineHeartbeat(models.Model):
    """One row per engine loop; /readyz and the admin page read the latest."""

    name = models.CharField(max_length=50, primary_key=True)
    beat_at = models.DateTimeField()
    lag_seconds = models.FloatField(default=0)
    detail = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at}"
