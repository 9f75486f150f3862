import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.api.errors import PROBLEM_TYPE
from core.api.permissions import AUTHENTICATED, DeclaredPermissions


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 document, for signed-in users and tokens with the read scope."""

    required_permissions = {"get": AUTHENTICATED}
    permission_classes = [DeclaredPermissions]  # drf-spectacular's default is AllowAny


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI with its script served as a file, so the CSP needs no inline script."""

    required_permissions = {"get": AUTHENTICATED}
    permission_classes = [DeclaredPermissions]
    template_name = "core/api/swagger_ui.html"


def _problem_json(request, status: int, title: str, detail: str) -> JsonResponse:
    body = {"type": PROBLEM_TYPE + title.lower().replace(" ", "-"), "title": title, "status": status, "detail": detail}
    return JsonResponse(body, status=status, content_type="application/problem+json")


def not_found(request, exception=None):
    """API clients get problem+json for unknown paths too; browsers get the HTML page."""
    if request.path.startswith("/api/"):
        return _problem_json(request, 404, "Not found", f"No API endpoint at {request.path}.")
    return defaults.page_not_found(request, exception)


DATABASE_RETRY_AFTER_SECONDS = 30


def server_error(request):
    """A database that is down or restarting is an outage, not a bug: 503 with Retry-After
    (the error being handled is the one in flight while Django calls this handler)."""
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        if request.path.startswith("/api/"):
            response = _problem_json(request, 503, "Service unavailable", "The database cannot be reached right now; try again shortly.")
        else:
            response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    if request.path.startswith("/api/"):
        return _problem_json(request, 500, "Server error", "Something went wrong on our side; it has been logged.")
    return defaults.server_error(request)
