from django.urls import path

from escalations import views_sla

app_name = "sla"

urlpatterns = [
    path("sla/", views_sla.sla_policies, name="policies"),
    path("incidents/<int:pk>/sla/", views_sla.incident_sla_panel, name="incident-panel"),
    path("incidents/<int:pk>/sla/waiting/", views_sla.incident_sla_waiting, name="incident-waiting"),
]
