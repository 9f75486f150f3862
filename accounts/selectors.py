from __future__ import annotations

from django.utils import timezone

from accounts.models import ApiToken, Clearance, User


def user_cleared_compartment_ids(*, user: User, at=None) -> set[int]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cache = getattr(user, "_cleared_compartments", None)
    if cache is not None and at is None:
        return cache
    ids = set(Clearance.objects.active(at or timezone.now()).filter(user=user).values_list("compartment_id", flat=True))
    if at is None:
        user._cleared_compartments = ids  # type: ignore[attr-defined]
    return ids


def api_token_list_for_user(*, user: User):
    return ApiToken.objects.filter(user=user).order_by("-created_at")
