from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken, Clearance, Compartment, ExternalIdentity, User, validate_time_zone
from core.audit import audit_record
from core.errors import Forbidden, NotFound, ValidationError

TOKEN_PREFIX = "fbk_"  # noqa: S105 - a public marker, not a secret


def token_digest(plaintext: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no brute force).
    return hashlib.sha256(plaintext.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, actor: User, user: User, name: str, scopes: list[str], expires_in_days: int = 90) -> tuple[ApiToken, str]:
    name = (name or "").strip()
    if not name:
        raise ValidationError.for_field("name", "Give the token a name so you can recognise it later.")
    if len(name) > 100:
        raise ValidationError.for_field("name", "The name is longer than 100 characters.")
    unknown = sorted(set(scopes) - set(ApiToken.SCOPES))
    if not scopes or unknown:
        raise ValidationError.for_field(
            "scopes", f"Choose scopes from {', '.join(ApiToken.SCOPES)}" + (f"; unknown: {', '.join(unknown)}." if unknown else ".")
        )
    if "admin" in scopes and not (user.is_superuser or user.groups.filter(name="admin").exists()):
        raise ValidationError.for_field("scopes", "Only admins can hold a token with the 'admin' scope.")
    max_days = settings.API_TOKEN_MAX_DAYS
    if not (1 <= expires_in_days <= max_days):
        raise ValidationError.for_field("expires_in_days", f"A token lasts between 1 and {max_days} days.")
    if actor.pk != user.pk and not actor.is_superuser:
        raise NotFound("No such user.")
    prefix = secrets.token_hex(4)
    plaintext = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        digest=token_digest(plaintext),
        scopes=sorted(set(scopes)),
        expires_at=timezone.now() + timedelta(days=expires_in_days),
    )
    audit_record(
        actor=actor,
        action="api_token.create",
        obj=token,
        after={"user": user.username, "name": name, "scopes": token.scopes, "expires_at": token.expires_at},
    )
    return token, plaintext


@transaction.atomic
def api_token_revoke(*, actor: User, token_id: int) -> ApiToken:
    qs = ApiToken.objects.select_for_update()
    if not actor.is_superuser:
        qs = qs.filter(user=actor)
    token = qs.filter(pk=token_id).first()
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api_token.revoke", obj=token, after={"revoked_at": token.revoked_at})
    return token


def api_token_authenticate(plaintext: str) -> ApiToken | None:
    """The token for a presented secret, or None when unknown, expired or revoked."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    prefix = plaintext[len(TOKEN_PREFIX) :].split("_", 1)[0]
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not secrets.compare_digest(token.digest, token_digest(plaintext)):
        return None
    if not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        # Throttled so a busy integration does not write on every request.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


@transaction.atomic
def user_update_profile(*, actor: User, user: User, time_zone: str, languages: list[str], display_name: str = "") -> User:
    if actor.pk != user.pk:
        raise NotFound("No such user.")
    try:
        validate_time_zone(time_zone)
    except Exception as exc:
        raise ValidationError.for_field("time_zone", f"'{time_zone}' is not a known time zone.") from exc
    langs = [lang.strip() for lang in languages if lang.strip()]
    for lang in langs:
        if len(lang) > 16 or not all(c.isalnum() or c == "-" for c in lang):
            raise ValidationError.for_field("languages", f"'{lang[:20]}' is not a language code such as en or pt-BR.")
    before = {"time_zone": user.time_zone, "languages": user.languages, "display_name": user.display_name}
    user.time_zone, user.languages, user.display_name = time_zone, langs, display_name.strip()[:150]
    user.save(update_fields=["time_zone", "languages", "display_name"])
    audit_record(
        actor=actor,
        action="user.update_profile",
        obj=user,
        before=before,
        after={"time_zone": time_zone, "languages": langs, "display_name": user.display_name},
    )
    return user


@transaction.atomic
def clearance_grant(*, actor: User, user: User, compartment: Compartment, reason: str, expires_at=None) -> Clearance:
    if not reason.strip():
        raise ValidationError.for_field("reason", "Say why this person needs access to the compartment.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError.for_field("expires_at", "The expiry must be in the future.")
    existing = Clearance.objects.select_for_update().filter(user=user, compartment=compartment, revoked_at__isnull=True).first()
    if existing:
        existing.expires_at, existing.reason, existing.granted_by = expires_at, reason.strip(), actor
        existing.save(update_fields=["expires_at", "reason", "granted_by", "updated_at"])
        clearance = existing
    else:
        clearance = Clearance.objects.create(
            user=user, compartment=compartment, granted_by=actor, reason=reason.strip(), expires_at=expires_at
        )
    audit_record(
        actor=actor,
        action="clearance.grant",
        obj=clearance,
        after={"user": user.username, "compartment": compartment.slug, "expires_at": expires_at, "reason": reason},
    )
    return clearance


@transaction.atomic
def clearance_revoke(*, actor: User, clearance: Clearance) -> Clearance:
    if clearance.revoked_at is None:
        clearance.revoked_at = timezone.now()
        clearance.save(update_fields=["revoked_at", "updated_at"])
        audit_record(actor=actor, action="clearance.revoke", obj=clearance, after={"revoked_at": clearance.revoked_at})
    return clearance


def totp_device_start(*, user: User) -> TOTPDevice:
    """The user's pending (unconfirmed) authenticator, created once so the secret
    shown on the setup page stays the same until it is confirmed."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def _throttle_message(device: TOTPDevice) -> str | None:
    allowed, info = device.verify_is_allowed()
    if allowed:
        return None
    wait = ""
    until = (info or {}).get("locked_until")
    if until is not None:
        wait = f" Try again in {max(1, int((until - timezone.now()).total_seconds()) + 1)} seconds."
    return "Too many wrong codes in a row." + wait


def totp_device_confirm(*, actor: User, device: TOTPDevice, code: str) -> TOTPDevice:
    """Confirms a pending authenticator with a current code; raises ValidationError naming `code`."""
    if device.user_id != actor.pk:
        raise NotFound("No such device.")
    throttled = _throttle_message(device)
    if throttled:
        raise ValidationError.for_field("code", throttled)
    # verify_token records failures for throttling, so it runs outside any rollback.
    if not device.verify_token(code):
        raise ValidationError.for_field(
            "code", "That code is not right. Check that your phone's clock is correct and enter the current code."
        )
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        # One authenticator per person: older confirmed ones stop working.
        TOTPDevice.objects.filter(user=actor, confirmed=True).exclude(pk=device.pk).delete()
        audit_record(actor=actor, action="otp.device_confirm", obj=device, after={"name": device.name})
    return device


def totp_verify(*, user: User, code: str) -> TOTPDevice:
    """The confirmed authenticator that accepts `code`; raises ValidationError naming `code`."""
    devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    if not devices:
        raise ValidationError.for_field("code", "Set up an authenticator app first.")
    for device in devices:
        throttled = _throttle_message(device)
        if throttled:
            raise ValidationError.for_field("code", throttled)
        if device.verify_token(code):
            return device
    raise ValidationError.for_field("code", "That code is not right. Check that your phone's clock is correct and enter the current code.")


@transaction.atomic
def totp_device_remove(*, actor: User) -> int:
    deleted, _ = TOTPDevice.objects.filter(user=actor).delete()
    if deleted:
        audit_record(actor=actor, action="otp.device_remove", obj=actor, after={"devices_removed": deleted})
    return deleted


# --- single sign-on -----------------------------------------------------------------


def _sso_username(claims: dict[str, Any]) -> str:
    base = str(claims.get("preferred_username") or str(claims.get("email") or "").split("@")[0] or "user")
    base = "".join(c for c in base if c.isalnum() or c in "._-@+")[:140] or "user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


def _sso_claim_groups(claims: dict[str, Any], claim: str) -> list[str]:
    value = claims.get(claim) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValidationError.for_field(claim, f"The '{claim}' claim must be a list of group names.")
    return sorted({str(v)[:200] for v in value if isinstance(v, str | int)})


@transaction.atomic
def sso_sign_in(
    *,
    issuer: str,
    claims: dict[str, Any],
    role_map: dict[str, list[str]],
    compartment_map: dict[str, list[str]],
    groups_claim: str = "groups",
) -> User:
    """The user for verified ID-token claims: matched by (issuer, subject), else linked to
    the one local account with the same verified email, else created. Roles follow the
    group claim through ``role_map`` (the identity provider is then the source of truth
    for role groups); clearances follow ``compartment_map`` for those the provider
    granted, and clearances granted by people are never touched."""
    from django.contrib.auth.models import Group

    from accounts.roles import Role

    subject = str(claims.get("sub") or "")
    if not subject or len(subject) > 255:
        raise ValidationError.for_field("sub", "The identity provider sent no usable subject.")
    groups = _sso_claim_groups(claims, groups_claim)
    identity = ExternalIdentity.objects.select_for_update().select_related("user").filter(issuer=issuer, subject=subject).first()
    created = False
    if identity is not None:
        user = identity.user
    else:
        email = str(claims.get("email") or "").strip()
        matches = list(User.objects.filter(email__iexact=email)[:2]) if email and claims.get("email_verified") is True else []
        if len(matches) == 1:
            user = matches[0]
        else:
            user = User(username=_sso_username(claims), email=email[:254])
            user.set_unusable_password()
            user.save()
            created = True
        identity = ExternalIdentity.objects.create(user=user, issuer=issuer, subject=subject)
        audit_record(
            actor=user, action="sso.link" if not created else "sso.create_user", obj=user, after={"issuer": issuer, "subject": subject}
        )
    if not user.is_active:
        raise Forbidden("This account is deactivated in Firebreak.")

    now = timezone.now()
    name = str(claims.get("name") or "").strip()[:150]
    zone = str(claims.get("zoneinfo") or "")
    changed = []
    if name and user.display_name != name:
        user.display_name = name
        changed.append("display_name")
    if zone and zone != user.time_zone:
        try:
            validate_time_zone(zone)
        except Exception:  # noqa: BLE001 - a provider's odd zone is ignored, not fatal
            zone = ""
        if zone:
            user.time_zone = zone
            changed.append("time_zone")
    if changed:
        user.save(update_fields=changed)

    if role_map:
        role_names = {r.value for r in Role}
        wanted = {role for g in groups for role in role_map.get(g, []) if role in role_names}
        current = set(user.groups.filter(name__in=role_names).values_list("name", flat=True))
        if wanted != current:
            user.groups.remove(*Group.objects.filter(name__in=current - wanted))
            user.groups.add(*Group.objects.filter(name__in=wanted - current))
            audit_record(actor=user, action="sso.roles", obj=user, before={"roles": sorted(current)}, after={"roles": sorted(wanted)})

    if compartment_map:
        wanted_slugs = {slug for g in groups for slug in compartment_map.get(g, [])}
        mapped_slugs = {slug for slugs in compartment_map.values() for slug in slugs}
        open_sso = {
            c.compartment.slug: c
            for c in Clearance.objects.select_for_update()
            .select_related("compartment")
            .filter(user=user, source="sso", revoked_at__isnull=True)
        }
        for slug in sorted(mapped_slugs - wanted_slugs):
            if slug in open_sso:
                clearance = open_sso[slug]
                clearance.revoked_at = now
                clearance.save(update_fields=["revoked_at", "updated_at"])
                audit_record(actor=user, action="sso.clearance_revoke", obj=clearance, after={"compartment": slug})
        has_open = set(Clearance.objects.filter(user=user, revoked_at__isnull=True).values_list("compartment__slug", flat=True))
        for compartment in Compartment.objects.filter(slug__in=wanted_slugs - has_open):
            clearance = Clearance.objects.create(
                user=user, compartment=compartment, source="sso", reason=f"Identity provider group ({issuer})"[:300]
            )
            audit_record(actor=user, action="sso.clearance_grant", obj=clearance, after={"compartment": compartment.slug})

    identity.groups, identity.last_login_at = groups, now
    identity.save(update_fields=["groups", "last_login_at"])
    return user
