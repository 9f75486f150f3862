from django.urls import path

from incidents.api import collab, views

urlpatterns = [
    path("incidents/", views.IncidentListCreateApi.as_view(), name="api-incidents"),
    path("incidents/<int:pk>/", views.IncidentDetailApi.as_view(), name="api-incident"),
    path("incidents/<int:pk>/transition/", views.IncidentTransitionApi.as_view(), name="api-incident-transition"),
    path("incidents/<int:pk>/severity/", views.IncidentSeverityApi.as_view(), name="api-incident-severity"),
    path("incidents/<int:pk>/comments/", views.IncidentCommentsApi.as_view(), name="api-incident-comments"),
    path("incidents/<int:pk>/timeline/", views.IncidentTimelineApi.as_view(), name="api-incident-timeline"),
    path("incidents/<int:pk>/grants/", views.IncidentGrantsApi.as_view(), name="api-incident-grants"),
    path("incidents/<int:pk>/duplicates/", views.IncidentDuplicatesApi.as_view(), name="api-incident-duplicates"),
    path("incidents/<int:pk>/break-glass/", views.IncidentBreakGlassApi.as_view(), name="api-incident-break-glass"),
    path("intake/", views.IntakeApi.as_view(), name="api-intake"),
    path("harm-categories/", views.HarmCategoryListApi.as_view(), name="api-harm-categories"),
    path("notifications/", views.NotificationListApi.as_view(), name="api-notifications"),
    path("incidents/<int:pk>/tasks/", collab.TaskListApi.as_view(), name="api-incident-tasks"),
    path("incidents/<int:pk>/tasks/<int:task_pk>/", collab.TaskDetailApi.as_view(), name="api-incident-task"),
    path("incidents/<int:pk>/tasks/<int:task_pk>/complete/", collab.TaskCompleteApi.as_view(), name="api-incident-task-complete"),
    path("incidents/<int:pk>/mitigations/", collab.MitigationListApi.as_view(), name="api-incident-mitigations"),
    path("incidents/<int:pk>/updates/", collab.UpdateListApi.as_view(), name="api-incident-updates"),
    path("incidents/<int:pk>/updates/<uuid:uid>/", collab.UpdateDetailApi.as_view(), name="api-incident-update"),
    path("incidents/<int:pk>/updates/<uuid:uid>/approve/", collab.UpdateApproveApi.as_view(), name="api-incident-update-approve"),
    path("incidents/<int:pk>/updates/<uuid:uid>/send/", collab.UpdateSendApi.as_view(), name="api-incident-update-send"),
    path("incidents/<int:pk>/subscription/", collab.SubscriptionApi.as_view(), name="api-incident-subscription"),
    path("incidents/<int:pk>/evidence/", collab.EvidenceListApi.as_view(), name="api-incident-evidence"),
    path("incidents/<int:pk>/evidence/<uuid:uid>/", collab.EvidenceDetailApi.as_view(), name="api-incident-evidence-item"),
    path("incidents/<int:pk>/evidence/<uuid:uid>/reveal/", collab.EvidenceRevealApi.as_view(), name="api-incident-evidence-reveal"),
    path("incidents/<int:pk>/evidence/<uuid:uid>/file/", collab.EvidenceFileApi.as_view(), name="api-incident-evidence-file"),
    path("wellbeing/", collab.WellbeingApi.as_view(), name="api-wellbeing"),
]
