"""Domain events the incidents app publishes (through core.events).

Higher apps (escalations, postmortems, dashboards) subscribe to these in their
AppConfig.ready(); incidents never imports them. Events carry ids and plain
values only, never model instances, so a subscriber re-reads what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class IncidentDeclared:
    """A new incident exists (any intake channel). Escalations start here."""

    incident_id: int
    severity: int
    actor_id: int | None
    at: datetime


@dataclass(frozen=True)
class IncidentSeverityChanged:
    incident_id: int
    before: int
    after: int
    actor_id: int | None
    at: datetime

    @property
    def raised(self) -> bool:
        return self.after < self.before  # SEV1 is the highest


@dataclass(frozen=True)
class IncidentStatusChanged:
    """Every lifecycle transition, including reopen (after is then the reopened status)."""

    incident_id: int
    before: str
    after: str
    actor_id: int | None
    at: datetime
    reopened: bool = False


@dataclass(frozen=True)
class IncidentAcknowledged:
    """The first acknowledgement (by a page ack or in the app); sets acknowledged_at once."""

    incident_id: int
    actor_id: int | None
    at: datetime


@dataclass(frozen=True)
class IncidentFlagsChanged:
    """Flags such as waiting_on_external (with a reason) that pause SLA clocks."""

    incident_id: int
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    actor_id: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class IncidentMilestoneReached:
    """A milestone time was set for the first time in its cycle: triaged, first_response,
    mitigated, resolved, closed, report_filed, answer_sent. SLA clocks stop on these."""

    incident_id: int
    milestone: str
    at: datetime
    actor_id: int | None = None
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentUpdated:
    """Fields that matter for routing changed (harm category, region, channel, compartment)."""

    incident_id: int
    fields: tuple[str, ...]
    actor_id: int | None
    at: datetime
