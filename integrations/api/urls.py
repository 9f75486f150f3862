from django.urls import path

from integrations.api import views

urlpatterns = [
    path("integrations/alertmanager/", views.AlertmanagerWebhookApi.as_view(), name="integrations-alertmanager"),
    path("integrations/pagerduty/enqueue/", views.PagerDutyEnqueueApi.as_view(), name="integrations-pagerduty"),
]
