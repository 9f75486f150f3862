"""SLA clocks: start, pause, resume, stop, recompute (see ARCHITECTURE.md "SLA clocks")."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from escalations.models import SLATarget

ACTIONS = ("notify_commander", "propose_severity_raise")


def _action_problems(actions: object) -> list[str]:
    if not isinstance(actions, list):
        return ["must be a list of actions"]
    problems: list[str] = []
    for action in actions:
        if isinstance(action, str) and action in ACTIONS:
            continue
        if isinstance(action, dict) and set(action) == {"page_policy"} and isinstance(action["page_policy"], int):
            continue
        problems.append(f'unknown action {action!r}; use "notify_commander", "propose_severity_raise" or {{"page_policy": <id>}}')
    return problems


def sla_target_problems(target: SLATarget) -> dict[str, list[str]]:
    """Field → problems for a target (empty when valid). Used by the model's clean and the services."""
    errors: dict[str, list[str]] = {}
    if target.duration is None and target.legal_clock_id is None:
        errors["duration"] = ["Give a duration or a legal clock."]
    elif target.duration is not None and target.duration <= timedelta(0):
        errors["duration"] = ["The duration must be positive."]
    if target.warn_pct is None or not 1 <= target.warn_pct <= 99:
        errors["warn_pct"] = ["The warning threshold is a percentage between 1 and 99."]
    for field in ("on_warning", "on_breach"):
        problems = _action_problems(getattr(target, field))
        if problems:
            errors[field] = problems
    return errors
