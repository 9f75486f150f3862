from escalations.models.schedules import (
    ICalFeedToken,
    OnCallSpan,
    Override,
    Rotation,
    RotationMember,
    Schedule,
    ShiftUnit,
    SpanSource,
)

__all__ = [
    "ICalFeedToken",
    "OnCallSpan",
    "Override",
    "Rotation",
    "RotationMember",
    "Schedule",
    "ShiftUnit",
    "SpanSource",
]
from escalations.models.paging import (  # noqa: E402
    Channel,
    ContactKind,
    ContactMethod,
    DeliveryAttempt,
    Escalation,
    EscalationPolicy,
    EscalationState,
    EscalationStep,
    MessageState,
    NotificationRule,
    OutgoingMessage,
    Page,
    PageState,
    PolicyRule,
    StepTarget,
    TargetKind,
    Urgency,
    WebhookFormat,
)

__all__ += [
    "Channel",
    "ContactKind",
    "ContactMethod",
    "DeliveryAttempt",
    "Escalation",
    "EscalationPolicy",
    "EscalationState",
    "EscalationStep",
    "MessageState",
    "NotificationRule",
    "OutgoingMessage",
    "Page",
    "PageState",
    "PolicyRule",
    "StepTarget",
    "TargetKind",
    "Urgency",
    "WebhookFormat",
]
from escalations.models.handoff import HandoffNote  # noqa: E402

__all__ += ["HandoffNote"]
from escalations.models.sla import (  # noqa: E402
    BusinessCalendar,
    Holiday,
    LegalClock,
    LegalClockVersion,
    SLAClock,
    SLAClockEvent,
    SLAClockEventKind,
    SLAClockState,
    SLAMetric,
    SLAPolicy,
    SLAStartFrom,
    SLATarget,
)

__all__ += [
    "BusinessCalendar",
    "Holiday",
    "LegalClock",
    "LegalClockVersion",
    "SLAClock",
    "SLAClockEvent",
    "SLAClockEventKind",
    "SLAClockState",
    "SLAMetric",
    "SLAPolicy",
    "SLAStartFrom",
    "SLATarget",
]
