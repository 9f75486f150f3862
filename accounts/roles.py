"""Roles are Django groups. Each app states what each role may do in its AppConfig
(`role_permissions`); `roles_sync()` gathers them, so a lower app never names a
higher app's models and the matrix lives next to the models it is about."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    INCIDENT_MANAGER = "incident_manager", "Incident manager"
    REVIEWER = "reviewer", "Reviewer"
    RESPONDER = "responder", "Responder"
    LEAD = "lead", "Lead"
    ANALYST = "analyst", "Analyst"
    VIEWER = "viewer", "Viewer"
    ADMIN = "admin", "Admin"


def roles_sync(using: str = "default") -> None:
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    wanted: dict[str, set[tuple[str, str]]] = {r.value: set() for r in Role}
    for config in apps.get_app_configs():
        for role, codenames in getattr(config, "role_permissions", {}).items():
            for codename in codenames:
                app_label, _, code = codename.rpartition(".")
                wanted[role].add((app_label or config.label, code))
    all_perms = {(p.content_type.app_label, p.codename): p for p in Permission.objects.using(using).select_related("content_type")}
    for role, keys in wanted.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        if role == Role.ADMIN:
            perms = list(all_perms.values())
        else:
            perms = [all_perms[k] for k in keys if k in all_perms]
        group.permissions.set(perms)
