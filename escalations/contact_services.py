"""A person's own contact methods and notification rules ("immediately email, after 5
minutes the webhook to the phone bridge"). A method is used by the engine only once it
is verified: a six-digit code goes to it through the outbox and its owner types it back.

Codes live in the cache (Redis) for 15 minutes, hashed; losing the cache only means
asking for a new code. Every write is audited; another person's method is a 404."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from django.core.cache import cache
from django.core.validators import EmailValidator, URLValidator
from django.core.validators import ValidationError as DjangoValidationError
from django.db import transaction

from accounts.models import User
from core.audit import audit_record
from core.errors import NotFound, ValidationError
from escalations.models import ContactKind, ContactMethod, NotificationRule, OutgoingMessage, Urgency, WebhookFormat

MAX_METHODS = 10
MAX_RULES = 20
MAX_DELAY_MINUTES = 24 * 60
CODE_TTL_SECONDS = 15 * 60
CODE_MAX_ATTEMPTS = 5
CREATABLE_KINDS = (ContactKind.EMAIL, ContactKind.WEBHOOK)


def _code_key(method_id: int) -> str:
    return f"contact-verify:{method_id}"


def _digest(method_id: int, code: str) -> str:
    return hashlib.sha256(f"{method_id}:{code}".encode()).hexdigest()


def contact_method_get_own(*, user: User, pk: int) -> ContactMethod:
    method = ContactMethod.objects.filter(pk=pk, user=user).first()
    if method is None:
        raise NotFound("No such contact method.")
    return method


def _clean_target(kind: str, target: str) -> str:
    target = (target or "").strip()
    if kind == ContactKind.EMAIL:
        try:
            EmailValidator()(target)
        except DjangoValidationError as exc:
            raise ValidationError.for_field("target", f"'{target[:80]}' is not an email address.") from exc
    else:
        try:
            URLValidator(schemes=["https", "http"])(target)
        except DjangoValidationError as exc:
            raise ValidationError.for_field("target", "Give the webhook's full http(s) URL, e.g. https://hooks.example.org/T123.") from exc
    if len(target) > 500:
        raise ValidationError.for_field("target", "The address is longer than 500 characters.")
    return target


@transaction.atomic
def contact_method_create(*, actor: User, kind: str, target: str, webhook_format: str = WebhookFormat.SLACK) -> ContactMethod:
    if kind == ContactKind.IN_APP:
        raise ValidationError.for_field("kind", "In-app notifications are always on; there is nothing to add.")
    if kind == ContactKind.SMS:
        raise ValidationError.for_field("kind", "SMS and voice are not configured on this installation.")
    if kind not in CREATABLE_KINDS:
        raise ValidationError.for_field("kind", f"'{kind}' is not a contact method; use email or webhook.")
    target = _clean_target(kind, target)
    if kind == ContactKind.WEBHOOK and webhook_format not in WebhookFormat.values:
        raise ValidationError.for_field("webhook_format", f"Use one of: {', '.join(WebhookFormat.values)}.")
    User.objects.select_for_update().filter(pk=actor.pk).first()  # one creation at a time per person
    if ContactMethod.objects.filter(user=actor).count() >= MAX_METHODS:
        raise ValidationError.for_field("kind", f"You have {MAX_METHODS} contact methods already; remove one first.")
    if ContactMethod.objects.filter(user=actor, kind=kind, target__iexact=target).exists():
        raise ValidationError.for_field("target", "You have this contact method already.")
    method = ContactMethod.objects.create(
        user=actor,
        kind=kind,
        target=target,
        webhook_format=webhook_format if kind == ContactKind.WEBHOOK else "",
        secret=secrets.token_hex(32) if kind == ContactKind.WEBHOOK else "",
        verified=False,
    )
    audit_record(actor=actor, action="contact_method.create", obj=method, after={"kind": kind, "target": target})
    return method


@transaction.atomic
def contact_method_send_code(*, actor: User, method: ContactMethod, now: datetime) -> OutgoingMessage:
    """Queue a verification code to the method through the outbox (so it is retried and
    recorded like a page). A new code replaces the previous one."""
    if method.user_id != actor.pk:
        raise NotFound("No such contact method.")
    code = f"{secrets.randbelow(10**6):06d}"
    cache.set(_code_key(method.pk), {"digest": _digest(method.pk, code), "attempts": 0}, CODE_TTL_SECONDS)
    text = f"Your Firebreak verification code is {code}. It expires in 15 minutes. If you did not ask for it, ignore this message."
    message = OutgoingMessage.objects.create(
        idempotency_key=f"verify:{method.pk}:{secrets.token_hex(8)}",
        recipient=actor,
        contact_method=method,
        kind="verify",
        channel=method.kind,
        target=method.target,
        payload={"subject": "Firebreak: verify this contact method", "text": text},
        created_at=now,
        next_attempt_at=now,
    )
    audit_record(actor=actor, action="contact_method.send_code", obj=method)
    return message


@transaction.atomic
def contact_method_verify(*, actor: User, method: ContactMethod, code: str) -> ContactMethod:
    if method.user_id != actor.pk:
        raise NotFound("No such contact method.")
    if method.verified:
        return method
    state = cache.get(_code_key(method.pk))
    if not state:
        raise ValidationError.for_field("code", "There is no code waiting for this method, or it expired. Ask for a new one.")
    if state["attempts"] >= CODE_MAX_ATTEMPTS:
        raise ValidationError.for_field("code", "Too many wrong codes. Ask for a new one.")
    if not hmac.compare_digest(state["digest"], _digest(method.pk, (code or "").strip())):
        state["attempts"] += 1
        cache.set(_code_key(method.pk), state, CODE_TTL_SECONDS)
        raise ValidationError.for_field("code", "That code is not right. Check the latest message and try again.")
    cache.delete(_code_key(method.pk))
    method.verified = True
    method.save(update_fields=["verified", "updated_at"])
    audit_record(actor=actor, action="contact_method.verify", obj=method)
    return method


@transaction.atomic
def contact_method_delete(*, actor: User, method: ContactMethod) -> None:
    if method.user_id != actor.pk:
        raise NotFound("No such contact method.")
    audit_record(actor=actor, action="contact_method.delete", obj=method, before={"kind": method.kind, "target": method.target})
    cache.delete(_code_key(method.pk))
    method.delete()


@transaction.atomic
def notification_rule_create(*, actor: User, method: ContactMethod, delay_minutes: int, urgency: str = Urgency.ANY) -> NotificationRule:
    if method.user_id != actor.pk:
        raise NotFound("No such contact method.")
    if not isinstance(delay_minutes, int) or isinstance(delay_minutes, bool) or not 0 <= delay_minutes <= MAX_DELAY_MINUTES:
        raise ValidationError.for_field("delay_minutes", f"The delay is a whole number of minutes from 0 to {MAX_DELAY_MINUTES}.")
    if urgency not in Urgency.values:
        raise ValidationError.for_field("urgency", f"Use one of: {', '.join(Urgency.values)}.")
    User.objects.select_for_update().filter(pk=actor.pk).first()
    if NotificationRule.objects.filter(user=actor).count() >= MAX_RULES:
        raise ValidationError.for_field("delay_minutes", f"You have {MAX_RULES} rules already; remove one first.")
    if NotificationRule.objects.filter(user=actor, contact_method=method, delay_minutes=delay_minutes, urgency=urgency).exists():
        raise ValidationError.for_field("delay_minutes", "You have this rule already.")
    rule = NotificationRule.objects.create(user=actor, contact_method=method, delay_minutes=delay_minutes, urgency=urgency)
    audit_record(
        actor=actor,
        action="notification_rule.create",
        obj=rule,
        after={"method": method.pk, "delay_minutes": delay_minutes, "urgency": urgency},
    )
    return rule


@transaction.atomic
def notification_rule_delete(*, actor: User, pk: int) -> None:
    rule = NotificationRule.objects.filter(pk=pk, user=actor).first()
    if rule is None:
        raise NotFound("No such notification rule.")
    audit_record(
        actor=actor,
        action="notification_rule.delete",
        obj=rule,
        before={"method": rule.contact_method_id, "delay_minutes": rule.delay_minutes},
    )
    rule.delete()
