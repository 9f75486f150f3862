"""The severity matrix. It proposes; a person decides (incident_set_severity needs a reason).

Start from the inherent harm of the category (HarmCategory.harm_level, 1 gravest … 4),
then each aggravating dimension raises the proposal one level (SEV1 is the ceiling):
wide reach or fast spread, minors involved, regulatory or media exposure. An imminent
risk to life is SEV1 whatever else holds. Small, contained reach with nothing else
aggravating lowers it one level, except for the gravest categories.
"""

from __future__ import annotations

from typing import Any

from incidents.models import HarmCategory, Incident, Severity

HIGH_REACH_VIEWS = 1_000_000
HIGH_VELOCITY_PER_HOUR = 100_000
LOW_REACH_VIEWS = 1_000


def reach_velocity_per_hour(incident: Incident) -> float:
    """Views per hour between the two latest reach snapshots (0 when there are fewer than two)."""
    snapshots = list(incident.reach_snapshots.order_by("-at")[:2]) if incident.pk else []
    if len(snapshots) < 2:
        return 0.0
    latest, previous = snapshots
    hours = (latest.at - previous.at).total_seconds() / 3600
    if hours <= 0:
        return 0.0
    return max(0.0, (latest.views - previous.views) / hours)


def _category(value: Any) -> HarmCategory | None:
    if value is None or value == "":
        return None
    if isinstance(value, HarmCategory):
        return value
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return HarmCategory.objects.filter(pk=int(value)).first()
    return HarmCategory.objects.filter(slug=str(value)).first()


def _as_int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def severity_propose(*, data_or_incident: Incident | dict) -> tuple[int, list[str]]:
    if isinstance(data_or_incident, Incident):
        incident = data_or_incident
        category = incident.harm_category if incident.harm_category_id else None
        views = incident.reach_views
        velocity = reach_velocity_per_hour(incident)
        flags = incident.flags
    else:
        data = data_or_incident
        category = _category(data.get("harm_category"))
        views = _as_int(data.get("reach_views"))
        velocity = float(_as_int(data.get("velocity_per_hour")))
        flags = {k: bool(data.get(k)) for k in ("minors_involved", "imminent_risk", "media_interest", "regulatory")}

    reasons: list[str] = []
    level = category.harm_level if category else 3
    level = min(max(level, Severity.SEV1), Severity.SEV4)
    reasons.append(f"{category.name if category else 'Unknown category'}: inherent harm SEV{level}")

    if flags.get("imminent_risk"):
        reasons.append("Imminent risk to life or safety: SEV1")
        return int(Severity.SEV1), reasons

    aggravating = 0
    if views >= HIGH_REACH_VIEWS or velocity >= HIGH_VELOCITY_PER_HOUR:
        aggravating += 1
        detail = f"{views:,} views" if views >= HIGH_REACH_VIEWS else f"{velocity:,.0f} views/hour"
        reasons.append(f"Wide reach or fast spread ({detail}): one level up")
    if flags.get("minors_involved"):
        aggravating += 1
        reasons.append("Minors involved: one level up")
    if flags.get("regulatory") or flags.get("media_interest"):
        aggravating += 1
        exposure = " and ".join(n for n, on in (("regulatory", flags.get("regulatory")), ("media", flags.get("media_interest"))) if on)
        reasons.append(f"External exposure ({exposure}): one level up")

    if aggravating == 0 and views < LOW_REACH_VIEWS and Severity.SEV1 < level < Severity.SEV4:
        reasons.append(f"Contained reach ({views:,} views) and nothing aggravating: one level down")
        level += 1
    level = max(int(Severity.SEV1), level - aggravating)
    return level, reasons
