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
