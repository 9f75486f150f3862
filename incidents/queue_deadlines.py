"""Deadline providers: how a higher app puts its deadlines on the triage queue and the
incident page without incidents importing it.

A provider takes the ids of the incidents about to be shown and answers, in one query for
all of them, the nearest deadline of each that has one. Providers register in their
AppConfig.ready with a literal call, so ``grep -rn "deadline_provider_register(" */``
lists them all::

    queue_deadlines.deadline_provider_register("sla", sla_views_support.queue_deadlines)

``deadlines_attach(incidents)`` calls every provider once and sets ``incident.queue_deadline``
(the earliest :class:`QueueDeadline`, or None); the ``next_deadline`` template filter prefers
it to a media inquiry's reporter deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class QueueDeadline:
    due_at: datetime
    warn_at: datetime | None  # from here the countdown shows the warning colour
    state: str  # running, paused, met, breached
    label: str  # what the deadline is for, e.g. "Time to acknowledge"


DeadlineProvider = Callable[[list[int]], dict[int, QueueDeadline]]

_PROVIDERS: dict[str, DeadlineProvider] = {}


def deadline_provider_register(name: str, provider: DeadlineProvider) -> None:
    """Register once per name; registering the same name again replaces it (app reloads)."""
    _PROVIDERS[name] = provider


def deadline_providers() -> list[str]:
    return sorted(_PROVIDERS)


def _rank(deadline: QueueDeadline) -> tuple[int, datetime]:
    # A running or breached clock is what someone must act on; a paused one only when nothing else is.
    return (1 if deadline.state == "paused" else 0, deadline.due_at)


def deadlines_attach(incidents: Iterable[Any]) -> None:
    """Set ``queue_deadline`` on every incident: one call per provider, none when the list is empty."""
    rows = list(incidents)
    for incident in rows:
        incident.queue_deadline = None
    if not rows or not _PROVIDERS:
        return
    ids = [incident.pk for incident in rows]
    found: dict[int, QueueDeadline] = {}
    for provider in _PROVIDERS.values():
        for pk, deadline in provider(ids).items():
            if pk not in found or _rank(deadline) < _rank(found[pk]):
                found[pk] = deadline
    for incident in rows:
        incident.queue_deadline = found.get(incident.pk)
