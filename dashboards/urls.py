from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("incidents/", views.drilldown, name="drilldown"),
    path("export/incidents.csv", views.export_incidents, name="export-incidents"),
    path("export/<slug:widget>.csv", views.export_widget, name="export-widget"),
    path("exports/<int:pk>/", views.export_job, name="export-job"),
    path("exports/<int:pk>/download/", views.export_job_download, name="export-job-download"),
]
