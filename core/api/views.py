from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.api.permissions import AUTHENTICATED


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 document; signed-in users and tokens with any scope may read it."""

    required_permissions = {"get": AUTHENTICATED}


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI with its script served as a file, so the CSP needs no inline script."""

    required_permissions = {"get": AUTHENTICATED}
