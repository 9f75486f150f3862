from django.conf import settings
from django.shortcuts import redirect

EXEMPT_PREFIXES = ("/accounts/login", "/accounts/logout", "/accounts/2fa", "/static/", "/healthz", "/readyz", "/api/")


class AdminOTPRequiredMiddleware:
    """Admins work only with a verified second factor (TOTP). API tokens are separate."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            getattr(settings, "FIREBREAK_ADMIN_OTP_REQUIRED", True)
            and user is not None
            and user.is_authenticated
            and (user.is_superuser or any(g.name == "admin" for g in user.groups.all()))
            and not user.is_verified()
            and not request.path.startswith(EXEMPT_PREFIXES)
        ):
            return redirect(f"/accounts/2fa/?next={request.path}")
        return self.get_response(request)
