"""Reads of SLA clocks for pages, the API and the triage queue. Callers scope the
incidents first (``incidents.selectors``); these never widen what a user may see."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from escalations.models import SLAClock, SLAClockState, SLAMetric

OPEN_STATES = (SLAClockState.RUNNING, SLAClockState.PAUSED)


def sla_clocks_for_incident(incident: Any, *, cycle: int | None = None) -> QuerySet[SLAClock]:
    """Every clock of an incident (all cycles unless one is named), newest cycle first, each
    with its events prefetched and its legal clock version and policy."""
    qs = SLAClock.objects.filter(incident=incident)
    if cycle is not None:
        qs = qs.filter(cycle=cycle)
    return (
        qs.select_related("target", "target__policy", "calendar", "legal_clock_version", "legal_clock_version__legal_clock")
        .prefetch_related("events")
        .order_by("-cycle", "due_at", "pk")
    )


def sla_next_deadline_for_incidents(ids: Iterable[int]) -> dict[int, tuple[datetime, datetime | None, str, str]]:
    """incident id → (due_at, warn_at, state, metric label) of its nearest open deadline in
    its current cycle: a breached clock not yet stopped first (most overdue), then the
    running clock due soonest, then a paused one. One query."""
    id_list = list({int(i) for i in ids})
    if not id_list:
        return {}
    labels = dict(SLAMetric.choices)
    rank = {SLAClockState.BREACHED: 0, SLAClockState.RUNNING: 1, SLAClockState.PAUSED: 2}
    rows = (
        SLAClock.objects.filter(incident_id__in=id_list, stopped_at__isnull=True, state__in=[*OPEN_STATES, SLAClockState.BREACHED])
        .extra(
            where=["escalations_slaclock.cycle = (SELECT i.cycle FROM incidents_incident i WHERE i.id = escalations_slaclock.incident_id)"]
        )
        .values_list("incident_id", "due_at", "warn_at", "state", "metric", "name")
    )
    best: dict[int, tuple[int, datetime, datetime | None, str, str]] = {}
    for incident_id, due_at, warn_at, state, metric, name in rows:
        key = (rank[state], due_at)
        current = best.get(incident_id)
        if current is None or key < (current[0], current[1]):
            best[incident_id] = (rank[state], due_at, warn_at, state, name or labels.get(metric, metric))
    return {incident_id: (due, warn, state, label) for incident_id, (_, due, warn, state, label) in best.items()}


def sla_breached_open_count(ids: Iterable[int]) -> int:
    return SLAClock.objects.filter(incident_id__in=list(ids), state=SLAClockState.BREACHED, stopped_at__isnull=True).count()
