"""The audit log: written by services, in the caller's transaction."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from core import context
from core.models import AuditEvent


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    before: dict | None = None,
    after: dict | None = None,
    legal_hold: bool = False,
) -> AuditEvent:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    real_actor = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        at=timezone.now(),
        actor=real_actor,
        actor_label=getattr(real_actor, "username", "") or (str(actor) if actor else "system"),
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        before=_jsonable(before),
        after=_jsonable(after),
        ip=context.client_ip.get(),
        request_id=context.request_id.get(),
        legal_hold=legal_hold,
    )


def audit_ensure_partitions(months_ahead: int = 3) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT core_audit_ensure_partitions(date_trunc('month', now())::date, %s)",
            [months_ahead + 1],
        )
        return cursor.fetchone()[0]
