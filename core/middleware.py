import uuid
import zoneinfo

from django.utils import timezone

from core import context


class RequestIdMiddleware:
    """Tags each request with an id (from the proxy or new) for logs and the audit trail."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = (request.headers.get("X-Request-ID") or "")[:64] or uuid.uuid4().hex
        request.request_id = rid
        t1 = context.request_id.set(rid)
        t2 = context.client_ip.set(request.META.get("REMOTE_ADDR"))
        try:
            response = self.get_response(request)
        finally:
            context.request_id.reset(t1)
            context.client_ip.reset(t2)
        response["X-Request-ID"] = rid
        return response


class PermissionsPolicyMiddleware:
    """Turns off browser features no page uses, so injected content cannot ask for them."""

    POLICY = (
        "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
        "magnetometer=(), microphone=(), midi=(), payment=(), publickey-credentials-get=(self), usb=()"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.POLICY)
        return response


class UserTimezoneMiddleware:
    """Pages show times in the viewer's own zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tz_name = getattr(getattr(request, "user", None), "time_zone", "") or "UTC"
        try:
            timezone.activate(zoneinfo.ZoneInfo(tz_name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo("UTC"))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class RejectNulMiddleware:
    """PostgreSQL cannot store NUL in text: refuse it at the door as a 400, not a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import JsonResponse

        if "\x00" in request.META.get("QUERY_STRING", "") or "%00" in request.META.get("QUERY_STRING", ""):
            return JsonResponse(
                {"title": "Invalid input", "status": 400, "detail": "Query parameters may not contain NUL characters."},
                status=400,
                content_type="application/problem+json",
            )
        if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                if any("\x00" in v for vs in request.POST.lists() for v in vs[1]):
                    return JsonResponse(
                        {"title": "Invalid input", "status": 400, "detail": "Form fields may not contain NUL characters."}, status=400
                    )
            except Exception:  # noqa: BLE001, S110 - malformed bodies are left to the view's own parsing
                pass
        return self.get_response(request)


class ApplicationErrorMiddleware:
    """Maps service errors raised in HTML views to the matching status and a readable page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.shortcuts import render

        from core.errors import ApplicationError

        if not isinstance(exception, ApplicationError) or request.path.startswith("/api/"):
            return None
        return render(
            request,
            "core/error.html",
            {"title": exception.title, "message": exception.message, "errors": exception.errors},
            status=exception.status_code,
        )
