"""Your contact methods and notification rules: how the engine reaches you when you are
paged. Thin: the services in ``escalations.contact_services`` validate and write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ValidationError
from escalations import contact_services as svc
from escalations.models import ContactKind, ContactMethod, NotificationRule, Urgency, WebhookFormat


def _context(request: HttpRequest, **extra) -> dict:
    methods = list(ContactMethod.objects.filter(user=request.user).exclude(kind=ContactKind.IN_APP).order_by("kind", "id"))
    rules = list(NotificationRule.objects.filter(user=request.user).select_related("contact_method").order_by("delay_minutes", "id"))
    return {
        "methods": methods,
        "verified_methods": [m for m in methods if m.verified],
        "rules": rules,
        "kinds": [(k, label) for k, label in ContactKind.choices if k in svc.CREATABLE_KINDS],
        "formats": WebhookFormat.choices,
        "urgencies": Urgency.choices,
        "errors": [],
        "values": {},
        **extra,
    }


def _render_with_errors(request: HttpRequest, exc: ValidationError, form: str, pk: int | None = None) -> HttpResponse:
    """The page again with the form's values and its errors beside it (400)."""
    errors = [str(m) for msgs in (exc.errors or {"__all__": [exc.message]}).values() for m in msgs]
    context = _context(request, errors=errors, error_form=form, error_pk=pk, values=request.POST)
    return render(request, "escalations/contact_settings.html", context, status=400)


@login_required
@require_http_methods(["GET"])
def contact_settings(request: HttpRequest) -> HttpResponse:
    return render(request, "escalations/contact_settings.html", _context(request))


@login_required
@require_POST
def contact_method_add(request: HttpRequest) -> HttpResponse:
    try:
        method = svc.contact_method_create(
            actor=request.user,
            kind=request.POST.get("kind", ""),
            target=request.POST.get("target", ""),
            webhook_format=request.POST.get("webhook_format", WebhookFormat.SLACK),
        )
        svc.contact_method_send_code(actor=request.user, method=method, now=timezone.now())
    except ValidationError as exc:
        return _render_with_errors(request, exc, "method")
    messages.success(request, f"Added. A code is on its way to {method.target}: type it below to start using this method.")
    return redirect("paging:contact-settings")


@login_required
@require_POST
def contact_method_verify(request: HttpRequest, pk: int) -> HttpResponse:
    method = svc.contact_method_get_own(user=request.user, pk=pk)
    try:
        svc.contact_method_verify(actor=request.user, method=method, code=request.POST.get("code", ""))
    except ValidationError as exc:
        return _render_with_errors(request, exc, "verify", pk)
    messages.success(request, f"{method.target} is verified.")
    return redirect("paging:contact-settings")


@login_required
@require_POST
def contact_method_resend(request: HttpRequest, pk: int) -> HttpResponse:
    method = svc.contact_method_get_own(user=request.user, pk=pk)
    svc.contact_method_send_code(actor=request.user, method=method, now=timezone.now())
    messages.success(request, f"A new code is on its way to {method.target}.")
    return redirect("paging:contact-settings")


@login_required
@require_POST
def contact_method_remove(request: HttpRequest, pk: int) -> HttpResponse:
    method = svc.contact_method_get_own(user=request.user, pk=pk)
    svc.contact_method_delete(actor=request.user, method=method)
    messages.success(request, "Contact method removed, with its rules.")
    return redirect("paging:contact-settings")


@login_required
@require_POST
def notification_rule_add(request: HttpRequest) -> HttpResponse:
    try:
        raw_method = request.POST.get("contact_method", "")
        if not raw_method.isdigit():
            raise ValidationError.for_field("contact_method", "Choose one of your verified contact methods.")
        method = svc.contact_method_get_own(user=request.user, pk=int(raw_method))
        raw_delay = request.POST.get("delay_minutes", "0").strip() or "0"
        if not raw_delay.isdigit():
            raise ValidationError.for_field("delay_minutes", "The delay is a whole number of minutes.")
        svc.notification_rule_create(
            actor=request.user, method=method, delay_minutes=int(raw_delay), urgency=request.POST.get("urgency", Urgency.ANY)
        )
    except ValidationError as exc:
        return _render_with_errors(request, exc, "rule")
    messages.success(request, "Rule added.")
    return redirect("paging:contact-settings")


@login_required
@require_POST
def notification_rule_remove(request: HttpRequest, pk: int) -> HttpResponse:
    svc.notification_rule_delete(actor=request.user, pk=pk)
    messages.success(request, "Rule removed.")
    return redirect("paging:contact-settings")
