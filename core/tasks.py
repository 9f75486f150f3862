"""Thin Celery tasks for the kernel: each calls one function and is safe to run twice."""

from celery import shared_task

from core.audit import audit_ensure_partitions
from core.services import audit_apply_retention


@shared_task(acks_late=True, name="core.audit_ensure_partitions")
def audit_ensure_partitions_task(months_ahead: int = 3) -> int:
    return audit_ensure_partitions(months_ahead=months_ahead)


@shared_task(acks_late=True, name="core.audit_apply_retention")
def audit_apply_retention_task() -> dict:
    return audit_apply_retention()
