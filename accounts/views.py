from __future__ import annotations

import base64

import django_otp
import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.forms import ApiTokenForm, OTPCodeForm, ProfileForm
from accounts.middleware import SESSION_ENROLLED_KEY
from accounts.selectors import api_token_list_for_user
from accounts.services import (
    api_token_create,
    api_token_revoke,
    totp_device_confirm,
    totp_device_remove,
    totp_device_start,
    totp_verify,
    user_update_profile,
)
from core.errors import Forbidden, ValidationError


def _apply_errors(form, exc: ValidationError) -> None:
    """Service errors land on the matching form field, or above the form."""
    if not exc.errors:
        form.add_error(None, exc.message)
    for field, msgs in exc.errors.items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)


def _profile_page(request, *, profile_form=None, token_form=None, new_token=None, status=200):
    user = request.user
    context = {
        "profile_form": profile_form
        or ProfileForm(initial={"display_name": user.display_name, "time_zone": user.time_zone, "languages": ", ".join(user.languages)}),
        "token_form": token_form or ApiTokenForm(),
        "tokens": api_token_list_for_user(user=user),
        "new_token": new_token,
        "has_otp": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
    }
    response = render(request, "accounts/profile.html", context, status=status)
    if new_token:
        response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
def profile(request):
    if request.method != "POST":
        return _profile_page(request)
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            user_update_profile(actor=request.user, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Profile saved.")
            return redirect("accounts:profile")
    return _profile_page(request, profile_form=form, status=400)


@never_cache
@login_required
@require_POST
def token_create(request):
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, plaintext = api_token_create(actor=request.user, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            return _profile_page(request, new_token={"token": token, "plaintext": plaintext})
    return _profile_page(request, token_form=form, status=400)


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = api_token_revoke(actor=request.user, token_id=pk)
    messages.success(request, f"Token '{token.name}' ({token.prefix}) is revoked; calls with it now get 401.")
    return redirect("accounts:profile")


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


@never_cache
@login_required
def two_factor(request):
    """Set up an authenticator app (first time) or verify this session with a code."""
    user = request.user
    next_url = _safe_next(request)
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    device = None if confirmed else totp_device_start(user=user)
    form = OTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if device is not None:
                verified = totp_device_confirm(actor=user, device=device, code=form.cleaned_data["code"])
            else:
                verified = totp_verify(user=user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            django_otp.login(request, verified)
            request.session[SESSION_ENROLLED_KEY] = True
            messages.success(request, "Two-factor sign-in is set up." if device is not None else "Code accepted.")
            return redirect(next_url)
    context = {"form": form, "next": next_url, "setup": device is not None}
    if device is not None:
        uri = device.config_url
        context.update(secret=base64.b32encode(device.bin_key).decode(), otpauth_uri=uri, qr_svg=_qr_svg(uri))
    return render(request, "accounts/two_factor.html", context, status=400 if form.is_bound and not form.is_valid() else 200)


@login_required
@require_POST
def two_factor_remove(request):
    # Whoever knows only the password must not be able to swap in their own authenticator.
    if not request.user.is_verified():
        raise Forbidden("Verify this session with a code from your authenticator app before turning two-factor sign-in off.")
    totp_device_remove(actor=request.user)
    request.session[SESSION_ENROLLED_KEY] = False
    messages.success(request, "Two-factor sign-in is off. Admins are asked to set it up again at their next page.")
    return redirect("accounts:profile")
