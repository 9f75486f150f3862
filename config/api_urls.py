"""Every API route lives under /api/v1/. Apps contribute their own urls modules."""

from django.urls import include, path

from core.api.views import SchemaView, SwaggerView

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("accounts.api.urls")),
    path("", include("escalations.api.urls_sla")),
    path("", include("escalations.api.urls")),
    path("", include("incidents.api.urls")),
    path("", include("postmortems.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("dashboards.api.urls")),
]
