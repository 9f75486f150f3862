"""SLA routes under /api/v1/. Mounted before escalations' and incidents' own urls:
sla-policies/match/ must win over sla-policies/<id>/, and incidents/<id>/sla/ is ours."""

from django.urls import path

from escalations.api import sla

urlpatterns = [
    path("incidents/<int:pk>/sla/", sla.IncidentSlaApi.as_view(), name="api-incident-sla"),
    path("sla-policies/", sla.SlaPolicyListCreateApi.as_view(), name="api-sla-policies"),
    path("sla-policies/match/", sla.SlaPolicyMatchApi.as_view(), name="api-sla-policy-match"),
    path("sla-policies/<int:pk>/", sla.SlaPolicyDetailApi.as_view(), name="api-sla-policy"),
]
