from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.views_sso import LoginView
from core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("config.api_urls")),
    path("postmortems/", include("postmortems.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("integrations/", include("integrations.urls")),
    path("", include("incidents.urls_collab")),
    path("schedules/", include("escalations.urls_schedules")),
    path("admin/", admin.site.urls),
    path("", include("escalations.urls_sla")),
    path("", include("escalations.urls_pages")),
    path("", include("incidents.urls")),
]

handler404 = "core.api.views.not_found"
handler500 = "core.api.views.server_error"
