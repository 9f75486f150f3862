from django.http import JsonResponse
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


def server_error(request):
    if request.path.startswith("/api/"):
        return _problem_json(request, 500, "Server error", "Something went wrong on our side; it has been logged.")
    return defaults.server_error(request)
