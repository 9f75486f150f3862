"""The authorization matrix as data: who may do what to an incident, on which surface.

Reviewed against DESIGN.md "Access control" and ARCHITECTURE.md:

- An incident is visible when it is not restricted, or the reader is cleared for its
  compartment, or holds a direct per-incident grant. Commanders and participants are
  cleared (the services refuse to name someone who cannot see it); being a participant
  confers nothing by itself. Admins do not bypass compartments (break-glass is separate).
- Whoever may not see an object gets 404 on every surface, reads and writes alike
  ("missing and forbidden both answer 404").
- A write on an object the caller can see, refused by role, answers 403. One documented
  exception: acknowledging somebody else's page answers 404 ("only the recipient or a
  manager may acknowledge; anyone else gets 404", escalations/api/paging.py).
- API tokens act as their user, narrowed by scope: a scope refusal is 403 and comes before
  any lookup (so it reveals nothing); "admin" stands for every scope.

The table below is written out as data (ROLE_PERMS, VISIBLE, ACTIONS); `expected()` only
combines those rows. tests/authz/test_matrix.py checks ROLE_PERMS against the groups that
`roles_sync` really builds, so the table cannot drift from the product silently.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("incident_manager", "reviewer", "responder", "lead", "analyst", "viewer", "admin")

# The role permissions the matrix depends on (a subset of each group's permissions).
ROLE_PERMS: dict[str, frozenset[str]] = {
    "incident_manager": frozenset(
        {
            "incidents.view_incident",
            "incidents.add_incident",
            "incidents.add_comment",
            "incidents.transition_incident",
            "incidents.grant_incident",
            "escalations.view_page",
            "escalations.change_page",
            "postmortems.view_postmortem",
        }
    ),
    "reviewer": frozenset(
        {"incidents.view_incident", "incidents.add_comment", "incidents.approve_outbound", "postmortems.view_postmortem"}
    ),
    "responder": frozenset({"incidents.view_incident", "incidents.add_comment", "postmortems.view_postmortem"}),
    "lead": frozenset(
        {
            "incidents.view_incident",
            "incidents.add_comment",
            "incidents.approve_outbound",
            "escalations.view_page",
            "postmortems.view_postmortem",
            "postmortems.approve_postmortem",
        }
    ),
    "analyst": frozenset({"incidents.view_incident", "postmortems.view_postmortem"}),
    "viewer": frozenset({"incidents.view_incident", "postmortems.view_postmortem"}),
    "admin": frozenset(
        {
            "incidents.view_incident",
            "incidents.add_incident",
            "incidents.add_comment",
            "incidents.transition_incident",
            "incidents.grant_incident",
            "incidents.approve_outbound",
            "escalations.view_page",
            "escalations.change_page",
            "postmortems.view_postmortem",
            "postmortems.approve_postmortem",
        }
    ),
}
# The dashboards app (reporting) as its AppConfig declares it. Kept apart from ROLE_PERMS so
# the matrix still loads while that app has no permissions yet; its cells skip without URLs.
DASHBOARD_PERMS: dict[str, frozenset[str]] = {
    "incident_manager": frozenset({"dashboards.view_dashboard"}),
    "lead": frozenset({"dashboards.view_dashboard", "dashboards.export_incidents"}),
    "analyst": frozenset({"dashboards.view_dashboard", "dashboards.export_incidents"}),
    "admin": frozenset({"dashboards.view_dashboard", "dashboards.export_incidents"}),
    "reviewer": frozenset(),
    "responder": frozenset(),
    "viewer": frozenset(),
}

# Permissions the matrix relies on a role NOT having (checked against the real groups too).
ROLE_LACKS: dict[str, frozenset[str]] = {
    role: frozenset(set().union(*ROLE_PERMS.values()) - perms) for role, perms in ROLE_PERMS.items() if role != "admin"
}

# Relationship of the reader to the incident under test.
RELATIONSHIPS = ("commander", "participant", "granted", "cleared", "uncleared", "unrestricted")
RESTRICTED = {"commander": True, "participant": True, "granted": True, "cleared": True, "uncleared": True, "unrestricted": False}
VISIBLE = {"commander": True, "participant": True, "granted": True, "cleared": True, "uncleared": False, "unrestricted": True}


@dataclass(frozen=True)
class Action:
    name: str
    surfaces: tuple[str, ...]
    write: bool
    perm: str | None  # the role permission needed once the object is visible
    ok: int  # status of an allowed API call (HTML: any 2xx/3xx, checked per surface)
    refused: int = 403  # status of a visible-but-refused write
    needs_commander_or_perm: bool = False  # grant: the commander may, whatever the role
    collection: bool = False  # a list: always answers (200), the incident is in it or not


ACTIONS: dict[str, Action] = {
    "view": Action("view", ("html", "api", "postmortem_html", "postmortem_api"), write=False, perm=None, ok=200),
    "list": Action("list", ("html", "api", "postmortem_html", "postmortem_api"), write=False, perm=None, ok=200, collection=True),
    "search": Action("search", ("html", "api"), write=False, perm=None, ok=200, collection=True),
    # The intake form's "possible duplicates" panel: the one type-ahead over incidents.
    "autocomplete": Action("autocomplete", ("html",), write=False, perm="incidents.add_incident", ok=200, collection=True),
    "comment": Action("comment", ("html", "api"), write=True, perm="incidents.add_comment", ok=201),
    "transition": Action("transition", ("html", "api"), write=True, perm="incidents.transition_incident", ok=200),
    "grant": Action("grant", ("html", "api"), write=True, perm="incidents.grant_incident", ok=201, needs_commander_or_perm=True),
    # Post-mortem Markdown export; the post-mortem under test is in review, so a reader who
    # can see it gets 409 ("only a published post-mortem can be exported"), anyone else 404.
    "export": Action("export", ("postmortem_html",), write=False, perm=None, ok=409),
    # Dashboards: the drill-down list behind a chart and the CSV export of incidents.
    "drilldown": Action("drilldown", ("dashboard",), write=False, perm="dashboards.view_dashboard", ok=200, collection=True),
    "csv_export": Action("csv_export", ("dashboard",), write=False, perm="dashboards.export_incidents", ok=200, collection=True),
    "acknowledge": Action("acknowledge", ("html", "api"), write=True, perm="escalations.change_page", ok=200, refused=404),
    "approve_update": Action("approve_update", ("html", "api"), write=True, perm="incidents.approve_outbound", ok=200),
    "approve_postmortem": Action("approve_postmortem", ("html", "api"), write=True, perm="postmortems.approve_postmortem", ok=200),
}

# Token scopes: which scope an action needs through the API ("admin" stands for all).
ACTION_SCOPE = {name: ("write" if a.write else "read") for name, a in ACTIONS.items()}
TOKEN_SCOPES = ("read", "write", "intake", "admin")
# Tokens are held by these roles (only admins may hold an admin-scope token).
TOKEN_ROLES = {"incident_manager": ("read", "write", "intake"), "admin": TOKEN_SCOPES}
# A token acts as its user, so the relationships that decide visibility are enough here:
# access through clearance, through a grant, none (restricted), and an unrestricted incident.
TOKEN_RELATIONSHIPS = ("commander", "granted", "uncleared", "unrestricted")
# Anonymous callers have no relationship; one restricted and one open incident stand for all.
ANONYMOUS_RELATIONSHIPS = ("uncleared", "unrestricted")


def visible(role: str, relationship: str, action: str = "view") -> bool:
    if role == "anonymous":
        return False
    return VISIBLE[relationship]


def expected(role: str, relationship: str, action: str, scope: str | None = None) -> int:
    """The status an API call answers (HTML allowed cells answer a 2xx or 3xx, see the test).
    ``scope`` is None for a session caller."""
    a = ACTIONS[action]
    if role == "anonymous":
        return 401
    if scope is not None and scope != "admin" and scope != ACTION_SCOPE[action]:
        return 403
    perms = ROLE_PERMS[role] | DASHBOARD_PERMS[role]
    if a.collection:
        # Lists answer whoever may use them; whether the incident is in it is listed().
        return a.ok if a.perm is None or a.perm in perms else a.refused
    if not VISIBLE[relationship]:
        return 404
    if a.perm is None:
        return a.ok
    if a.needs_commander_or_perm and relationship == "commander":
        return a.ok
    if a.perm not in perms:
        return a.refused
    return a.ok


def listed(role: str, relationship: str, scope: str | None = None) -> bool:
    """Whether list and search results include the incident."""
    return role != "anonymous" and VISIBLE[relationship] and (scope in (None, "read", "admin"))


def cells() -> list[tuple[str, str, str, str, str | None]]:
    """(role, relationship, action, surface, scope) for every cell of the matrix."""
    out: list[tuple[str, str, str, str, str | None]] = []
    for role in (*ROLES, "anonymous"):
        for rel in ANONYMOUS_RELATIONSHIPS if role == "anonymous" else RELATIONSHIPS:
            for name, action in ACTIONS.items():
                for surface in action.surfaces:
                    out.append((role, rel, name, surface, None))
    for role, scopes in TOKEN_ROLES.items():
        for scope in scopes:
            for rel in TOKEN_RELATIONSHIPS:
                for name, action in ACTIONS.items():
                    if "api" in action.surfaces:
                        out.append((role, rel, name, "api", scope))
    return out
