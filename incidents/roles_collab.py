"""What each role may do with tasks, mitigations, stakeholder updates and evidence.

Merged into IncidentsConfig.role_permissions, so roles_sync applies them with the rest."""

from __future__ import annotations

_TASKS = ["incidents.add_task", "incidents.change_task", "incidents.view_task"]
_MITIGATE = ["incidents.add_mitigationaction", "incidents.view_mitigationaction"]
_UPDATES = ["incidents.add_stakeholderupdate", "incidents.change_stakeholderupdate", "incidents.view_stakeholderupdate"]
_EVIDENCE = ["incidents.add_evidence", "incidents.view_evidence"]

COLLAB_ROLE_PERMISSIONS: dict[str, list[str]] = {
    "incident_manager": [*_TASKS, *_MITIGATE, *_UPDATES, *_EVIDENCE, "incidents.delete_evidence"],
    "reviewer": [*_TASKS, *_UPDATES, *_EVIDENCE, "incidents.approve_outbound"],
    "responder": [*_TASKS, *_MITIGATE, *_EVIDENCE],
    "lead": [
        *_TASKS,
        *_MITIGATE,
        *_UPDATES,
        *_EVIDENCE,
        "incidents.delete_evidence",
        "incidents.approve_outbound",
        "incidents.view_team_exposure",
    ],
    "analyst": ["incidents.view_task", "incidents.view_mitigationaction", "incidents.view_stakeholderupdate"],
    "viewer": ["incidents.view_task", "incidents.view_mitigationaction"],
}


def with_collab_permissions(role_permissions: dict[str, list[str]]) -> dict[str, list[str]]:
    merged = {role: list(codenames) for role, codenames in role_permissions.items()}
    for role, codenames in COLLAB_ROLE_PERMISSIONS.items():
        merged.setdefault(role, []).extend(c for c in codenames if c not in merged[role])
    return merged
