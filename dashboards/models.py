from __future__ import annotations

from django.conf import settings
from django.db import models

# Duration histogram buckets (seconds), fixed and log-scale: [0, 1 min), [1, 2 min),
# [2, 4 min) … doubling up to 2^15 minutes (about 23 days), then one overflow bucket.
# Bucket i covers [BUCKET_EDGES[i], BUCKET_EDGES[i + 1]); the last is open-ended.
BUCKET_EDGES: tuple[int, ...] = (0, *(60 * 2**k for k in range(16)))
BUCKETS = len(BUCKET_EDGES)
METRICS = ("ttd", "tta", "ttm", "ttr")


class DailyRollup(models.Model):
    """Incident counts and duration histograms for one UTC day and one combination of
    team, harm category, region, channel, severity and compartment (null: unrestricted).

    ``opened`` counts incidents created that day and ``resolved`` those resolved that day;
    ``open_at_end`` those created before the day ended and neither resolved nor closed by
    then. Durations belong to the day the incident was created (its cohort): ``<metric>_b<k>``
    holds how many of that day's incidents fell in bucket k of BUCKET_EDGES, ``<metric>_sum``
    their total in seconds. Rebuilt by
    ``dashboards.rollups.rollup_rebuild_day``; never edited by hand."""

    day = models.DateField()
    team_id = models.BigIntegerField(null=True)
    harm_category_id = models.BigIntegerField()
    region = models.CharField(max_length=10)
    channel = models.CharField(max_length=30)
    severity = models.PositiveSmallIntegerField()
    compartment_id = models.BigIntegerField(null=True)

    opened = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    open_at_end = models.IntegerField(default=0)

    # One integer column per metric and bucket (ttd_b0 … ttr_b16): summing plain columns over
    # thousands of rows is several times faster than subscripting arrays.
    for _metric in METRICS:
        for _k in range(BUCKETS):
            locals()[f"{_metric}_b{_k}"] = models.IntegerField(default=0)
    del _metric, _k
    ttd_sum = models.BigIntegerField(default=0)
    tta_sum = models.BigIntegerField(default=0)
    ttm_sum = models.BigIntegerField(default=0)
    ttr_sum = models.BigIntegerField(default=0)

    rebuilt_at = models.DateTimeField()

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team_id", "harm_category_id", "region", "channel", "severity", "compartment_id"],
                name="dailyrollup_key",
                nulls_distinct=False,
            )
        ]
        indexes = [
            models.Index(fields=["day", "compartment_id"], name="dailyrollup_day"),
            # Rows that only carry open_at_end are most of the table; the widgets read the others.
            models.Index(fields=["day"], name="dailyrollup_active_day", condition=models.Q(opened__gt=0) | models.Q(resolved__gt=0)),
        ]
        permissions = [
            ("view_dashboard", "Can open the lead dashboard and its API"),
            ("export_incidents", "Can export dashboard and incident data as CSV"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.harm_category_id}/{self.region}/{self.channel}/SEV{self.severity}"

    def hist(self, metric: str) -> list[int]:
        return [getattr(self, f"{metric}_b{k}") for k in range(BUCKETS)]


class ExportState(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ExportJob(models.Model):
    """A large CSV export written in the background; downloadable by its requester only."""

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs")
    kind = models.CharField(max_length=40, default="incidents")
    filters = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=ExportState.choices, default=ExportState.PENDING)
    total_rows = models.IntegerField(default=0)
    rows_written = models.IntegerField(default=0)
    file_path = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "created_at"], name="exportjob_user_created")]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.state})"

    @property
    def progress(self) -> int:
        if self.state == ExportState.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(100 * self.rows_written / self.total_rows))
