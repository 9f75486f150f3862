"""The incident state machine: which status may follow which, and what each move sets."""

from __future__ import annotations

from core.errors import Conflict
from incidents.models import Status

# Forward path plus the two exits. Skipping ahead is allowed (a clear-cut report can go
# from triage straight to mitigation); going back needs a reopen.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.NEW: (Status.TRIAGED, Status.INVESTIGATING, Status.DECLINED),
    Status.TRIAGED: (Status.INVESTIGATING, Status.MITIGATING, Status.DECLINED),
    Status.INVESTIGATING: (Status.MITIGATING, Status.MONITORING, Status.RESOLVED),
    Status.MITIGATING: (Status.MONITORING, Status.RESOLVED),
    Status.MONITORING: (Status.MITIGATING, Status.RESOLVED),
    Status.RESOLVED: (Status.CLOSED, Status.INVESTIGATING),
    Status.CLOSED: (Status.INVESTIGATING,),
    Status.DECLINED: (Status.INVESTIGATING,),
    Status.MERGED: (),
}

# Merged is reached only through incident_merge, which names the surviving incident.
MERGE_FROM = frozenset({Status.NEW, Status.TRIAGED, Status.INVESTIGATING, Status.MITIGATING, Status.MONITORING, Status.DECLINED})

# Leaving one of these for investigating is a reopen: a new cycle starts.
REOPEN_FROM = frozenset({Status.RESOLVED, Status.CLOSED, Status.DECLINED})

# Entering a status sets these milestone times once per cycle.
MILESTONE_ON_ENTER: dict[str, str] = {
    Status.TRIAGED: "triaged",
    Status.MONITORING: "mitigated",
    Status.RESOLVED: "resolved",
    Status.CLOSED: "closed",
}

# Moves past triage imply triage happened; the milestone is set if it was skipped.
IMPLIES_TRIAGE = frozenset({Status.INVESTIGATING, Status.MITIGATING, Status.MONITORING, Status.RESOLVED})


def allowed_targets(current: str) -> tuple[str, ...]:
    return TRANSITIONS.get(current, ())


def is_reopen(current: str, target: str) -> bool:
    return current in REOPEN_FROM and target == Status.INVESTIGATING


def check(current: str, target: str) -> None:
    """Raise Conflict naming the allowed moves when current → target is not one of them."""
    if target not in Status.values:
        allowed = allowed_targets(current)
        raise Conflict(
            f"'{target}' is not a status. From {current} the incident can move to: {', '.join(allowed) or 'nothing'}.",
            errors={"to": [f"Choose one of: {', '.join(allowed) or 'none'}."]},
            extra={"status": current, "allowed": list(allowed)},
        )
    allowed = allowed_targets(current)
    if target == Status.MERGED and current != Status.MERGED:
        message = (
            "Mark a duplicate by merging it into the incident it duplicates, not by a status change. "
            f"Allowed from {current}: {', '.join(allowed) or 'nothing'}."
        )
        raise Conflict(message, errors={"to": [message]}, extra={"status": current, "allowed": list(allowed)})
    if target not in allowed:
        if allowed:
            message = f"An incident cannot move from {current} to {target}. Allowed from {current}: {', '.join(allowed)}."
        else:
            message = f"An incident cannot move from {current} to {target}: {current} is final."
        raise Conflict(message, errors={"to": [message]}, extra={"status": current, "allowed": list(allowed)})
