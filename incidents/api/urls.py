from django.urls import path

from incidents.api import views

urlpatterns = [
    path("incidents/", views.IncidentListCreateApi.as_view(), name="api-incidents"),
    path("incidents/<int:pk>/", views.IncidentDetailApi.as_view(), name="api-incident"),
    path("incidents/<int:pk>/transition/", views.IncidentTransitionApi.as_view(), name="api-incident-transition"),
    path("incidents/<int:pk>/severity/", views.IncidentSeverityApi.as_view(), name="api-incident-severity"),
    path("incidents/<int:pk>/comments/", views.IncidentCommentsApi.as_view(), name="api-incident-comments"),
    path("incidents/<int:pk>/timeline/", views.IncidentTimelineApi.as_view(), name="api-incident-timeline"),
    path("incidents/<int:pk>/grants/", views.IncidentGrantsApi.as_view(), name="api-incident-grants"),
    path("incidents/<int:pk>/duplicates/", views.IncidentDuplicatesApi.as_view(), name="api-incident-duplicates"),
    path("intake/", views.IntakeApi.as_view(), name="api-intake"),
    path("harm-categories/", views.HarmCategoryListApi.as_view(), name="api-harm-categories"),
    path("notifications/", views.NotificationListApi.as_view(), name="api-notifications"),
]
