"""Removing an SLA policy from the API (creating and changing one is sla_services.sla_policy_save).
Its clocks keep their own copy of duration and calendar and lose only the link to the target."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core.audit import audit_record
from core.errors import Forbidden
from escalations.models import SLAClock, SLAPolicy


@transaction.atomic
def sla_policy_delete(*, actor: Any, policy: SLAPolicy) -> None:
    if not actor.has_perm("escalations.delete_slapolicy"):
        raise Forbidden("Your role does not allow this (needs escalations.delete_slapolicy).")
    policy = SLAPolicy.objects.select_for_update().get(pk=policy.pk)
    before = {"name": policy.name, "version": policy.version, "targets": [t.metric for t in policy.targets.all()]}
    SLAClock.objects.filter(target__policy=policy).update(target=None)
    audit_record(actor=actor, action="sla.policy_delete", obj=policy, before=before)
    policy.delete()
