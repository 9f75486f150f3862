"""A user's own named filters for the triage queue."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SavedView(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_queue_views")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, blank=True, help_text="The queue's query string, filter keys only")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="uniq_saved_view_name")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.name}"
