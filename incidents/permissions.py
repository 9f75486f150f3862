"""Who may see and do what with an incident.

Visibility is one hand-written SQL fragment used by every read: an incident is
visible when it is not restricted, or the user holds an active clearance for its
compartment, or a direct (unexpired) guardian grant of view_incident on it. The
role permission incidents.view_incident is needed to see anything at all. Admins do
not bypass compartments; they use break-glass, which leaves a grant and a trail.
guardian's get_objects_for_user is deliberately not used: it accepts global perms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import BooleanField, Expression

if TYPE_CHECKING:
    from incidents.models import Incident, IncidentQuerySet

VIEW_PERM = "incidents.view_incident"

VISIBLE_SQL = """(
    {t}."compartment_id" IS NULL
    OR EXISTS (
        SELECT 1 FROM accounts_clearance fb_c
        WHERE fb_c.compartment_id = {t}."compartment_id"
          AND fb_c.user_id = %s
          AND fb_c.revoked_at IS NULL
          AND (fb_c.expires_at IS NULL OR fb_c.expires_at > statement_timestamp())
    )
    OR EXISTS (
        SELECT 1 FROM incidents_incidentuserobjectpermission fb_g
        WHERE fb_g.content_object_id = {t}."id"
          AND fb_g.user_id = %s
          AND fb_g.permission_id = (SELECT {view_perm})
          AND (fb_g.expires_at IS NULL OR fb_g.expires_at > statement_timestamp())
          AND {t}."compartment_id" IS NOT NULL
    )
    OR EXISTS (
        SELECT 1 FROM incidents_incidentgroupobjectpermission fb_gg
        JOIN {groups} fb_ug ON fb_ug.group_id = fb_gg.group_id
        WHERE fb_gg.content_object_id = {t}."id"
          AND fb_ug.user_id = %s
          AND fb_gg.permission_id = (SELECT {view_perm})
          AND {t}."compartment_id" IS NOT NULL
    )
)"""
# The permission id is an InitPlan, computed once per statement. The outer reference to
# compartment_id inside the grant subqueries keeps the planner from turning them into a
# hash of every grant the user holds (it costs the whole table while a page reads 50
# rows): each restricted row probes the (user, incident) index instead.
VIEW_PERM_ID_SQL = """fb_p.id FROM auth_permission fb_p
        JOIN django_content_type fb_ct ON fb_ct.id = fb_p.content_type_id
        WHERE fb_p.codename = 'view_incident' AND fb_ct.app_label = 'incidents'"""


def _user_groups_table() -> str:
    from django.contrib.auth import get_user_model

    return get_user_model().groups.through._meta.db_table


def can_view_any(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False) and user.has_perm(VIEW_PERM))


class VisibleTo(Expression):
    """VISIBLE_SQL as a boolean expression bound to whatever alias the incident table has
    in the query being compiled (a plain table name at the top, U0 inside a subquery)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, user_id: int):
        super().__init__()
        self.user_id = user_id

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        alias = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        groups = connection.ops.quote_name(_user_groups_table())
        # Values are bound parameters; only the alias and a table name from model metadata are interpolated.
        return VISIBLE_SQL.format(t=alias, groups=groups, view_perm=VIEW_PERM_ID_SQL), [self.user_id, self.user_id, self.user_id]


def visible_filter(qs: IncidentQuerySet, user: Any) -> IncidentQuerySet:
    if not can_view_any(user):
        return qs.none()
    return qs.filter(VisibleTo(user.pk))


def can_view(user: Any, incident: Incident) -> bool:
    from incidents.models import Incident

    return Incident.objects.visible_to(user).filter(pk=incident.pk).exists()


def is_manager_or_commander(user: Any, incident: Incident) -> bool:
    return incident.commander_id == getattr(user, "pk", None) or user.has_perm("incidents.grant_incident")
