from django.urls import path

from dashboards.api import views

urlpatterns = [
    path("dashboards/summary/", views.DashboardSummaryApi.as_view(), name="api-dashboards-summary"),
]
