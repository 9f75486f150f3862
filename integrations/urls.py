from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("quarantine/", views.quarantine, name="quarantine"),
    path("quarantine/<int:pk>/", views.quarantine_detail, name="quarantine-detail"),
    path("quarantine/<int:pk>/release/", views.quarantine_release, name="quarantine-release"),
    path("quarantine/<int:pk>/discard/", views.quarantine_discard, name="quarantine-discard"),
]
