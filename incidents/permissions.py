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

from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

if TYPE_CHECKING:
    from incidents.models import Incident, IncidentQuerySet

VIEW_PERM = "incidents.view_incident"

VISIBLE_SQL = """(
    "incidents_incident"."compartment_id" IS NULL
    OR EXISTS (
        SELECT 1 FROM accounts_clearance fb_c
        WHERE fb_c.compartment_id = "incidents_incident"."compartment_id"
          AND fb_c.user_id = %s
          AND fb_c.revoked_at IS NULL
          AND (fb_c.expires_at IS NULL OR fb_c.expires_at > statement_timestamp())
    )
    OR EXISTS (
        SELECT 1 FROM incidents_incidentuserobjectpermission fb_g
        JOIN auth_permission fb_p ON fb_p.id = fb_g.permission_id
        JOIN django_content_type fb_ct ON fb_ct.id = fb_p.content_type_id
        WHERE fb_g.content_object_id = "incidents_incident"."id"
          AND fb_g.user_id = %s
          AND fb_p.codename = 'view_incident' AND fb_ct.app_label = 'incidents'
          AND (fb_g.expires_at IS NULL OR fb_g.expires_at > statement_timestamp())
    )
    OR EXISTS (
        SELECT 1 FROM incidents_incidentgroupobjectpermission fb_gg
        JOIN auth_user_groups fb_ug ON fb_ug.group_id = fb_gg.group_id
        JOIN auth_permission fb_gp ON fb_gp.id = fb_gg.permission_id
        JOIN django_content_type fb_gct ON fb_gct.id = fb_gp.content_type_id
        WHERE fb_gg.content_object_id = "incidents_incident"."id"
          AND fb_ug.user_id = %s
          AND fb_gp.codename = 'view_incident' AND fb_gct.app_label = 'incidents'
    )
)"""


def _user_groups_table() -> str:
    from django.contrib.auth import get_user_model

    return get_user_model().groups.through._meta.db_table


def can_view_any(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False) and user.has_perm(VIEW_PERM))


def visible_filter(qs: IncidentQuerySet, user: Any) -> IncidentQuerySet:
    if not can_view_any(user):
        return qs.none()
    sql = VISIBLE_SQL.replace("auth_user_groups", _user_groups_table())
    # Values are bound parameters; the only interpolation is a table name from model metadata.
    return qs.filter(RawSQL(sql, [user.pk, user.pk, user.pk], output_field=BooleanField()))  # noqa: S611


def can_view(user: Any, incident: Incident) -> bool:
    from incidents.models import Incident

    return Incident.objects.visible_to(user).filter(pk=incident.pk).exists()


def is_manager_or_commander(user: Any, incident: Incident) -> bool:
    return incident.commander_id == getattr(user, "pk", None) or user.has_perm("incidents.grant_incident")
