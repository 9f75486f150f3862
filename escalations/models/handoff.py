"""Notes the outgoing on-call person leaves for whoever takes the next shift."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class HandoffNote(models.Model):
    schedule = models.ForeignKey("escalations.Schedule", on_delete=models.CASCADE, related_name="handoff_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField()
    # Set when a shift change hands the note over; a consumed note is not sent again.
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["schedule", "created_at"], name="handoff_note_pending", condition=Q(consumed_at__isnull=True))]

    def __str__(self) -> str:
        return f"Handoff note {self.pk} on {self.schedule_id}"
