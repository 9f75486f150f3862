from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect

EXEMPT_PREFIXES = ("/accounts/login", "/accounts/logout", "/accounts/2fa", "/static/", "/healthz", "/readyz", "/api/")
TWO_FACTOR_URL = "/accounts/2fa/"
# Set at sign-in: whoever turned two-factor on is held to it, not only admins.
SESSION_ENROLLED_KEY = "firebreak_otp_enrolled"


def remember_otp_enrolment(sender, request, user, **kwargs) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    session = getattr(request, "session", None)
    if session is not None:
        session[SESSION_ENROLLED_KEY] = TOTPDevice.objects.filter(user=user, confirmed=True).exists()


class AdminOTPRequiredMiddleware:
    """Admins, and anyone who turned it on, work only with a verified second factor (TOTP).
    API tokens are separate."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            getattr(settings, "FIREBREAK_ADMIN_OTP_REQUIRED", True)
            and user is not None
            and user.is_authenticated
            and (request.session.get(SESSION_ENROLLED_KEY) or user.is_superuser or any(g.name == "admin" for g in user.groups.all()))
            and not user.is_verified()
            and not request.path.startswith(EXEMPT_PREFIXES)
        ):
            if request.headers.get("HX-Request"):
                return _htmx_refusal(request)
            return redirect(f"{TWO_FACTOR_URL}?{urlencode({'next': request.path})}")
        return self.get_response(request)


def _htmx_refusal(request) -> HttpResponse:
    # htmx would follow a 302 and swap the whole 2FA page into a fragment (the bell, a
    # table row). 204 swaps nothing; HX-Redirect moves the whole page, unless it is
    # already the 2FA page, which must not reload under the person typing their code.
    response = HttpResponse(status=204)
    current = urlsplit(request.headers.get("HX-Current-URL", "")).path or "/"
    if not current.startswith(TWO_FACTOR_URL):
        response["HX-Redirect"] = f"{TWO_FACTOR_URL}?{urlencode({'next': current})}"
    return response
