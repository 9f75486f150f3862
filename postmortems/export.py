"""A published post-mortem as a Markdown document (the sections are Markdown already)."""

from __future__ import annotations

from django.utils import timezone

from postmortems.models import PostMortem
from postmortems.taxonomy import TEXT_SECTIONS, Section


def _when(value) -> str:
    if value is None:
        return "—"
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


def _cell(text: str) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def postmortem_markdown(postmortem: PostMortem) -> str:
    incident = postmortem.incident
    lines = [
        f"# {postmortem.title}",
        "",
        f"- Incident: {incident.reference} (SEV{incident.severity})",
        f"- Status: {postmortem.get_status_display()}",
        f"- Owner: {postmortem.owner or '—'}",
        f"- Approved by: {postmortem.approved_by or '—'} at {_when(postmortem.approved_at)}",
        f"- Published by: {postmortem.published_by or '—'} at {_when(postmortem.published_at)}",
        "",
    ]
    for name in TEXT_SECTIONS[:4]:
        lines += [f"## {Section(name).label}", "", getattr(postmortem, name).strip() or "_Not written._", ""]
    lines += ["## Timeline", ""]
    entries = list(postmortem.timeline_entries.all())
    lines += [f"- {_when(e.at)} — {_cell(e.text)}" for e in entries] or ["_No entries._"]
    lines += ["", "## Contributing factors", ""]
    factors = list(postmortem.factors.all())
    lines += [f"- **{f.get_category_display()}**: {_cell(f.description) or '—'}" for f in factors] or ["_None recorded._"]
    lines.append("")
    for name in TEXT_SECTIONS[4:]:
        lines += [f"## {Section(name).label}", "", getattr(postmortem, name).strip() or "_Not written._", ""]
    lines += ["## Action items", ""]
    items = list(postmortem.action_items.all())
    if items:
        lines += ["| Priority | Action | Owner | Due | Status | Tracker |", "|---|---|---|---|---|---|"]
        lines += [
            f"| {i.priority} | {_cell(i.title)} | {_cell(str(i.owner))} | {i.due_on.isoformat()} | {i.get_status_display()} | {_cell(i.tracker_url) or '—'} |"
            for i in items
        ]
    else:
        lines.append("_None._")
    lines.append("")
    return "\n".join(lines)
