"""Incident pages: the triage queue is the home page."""

from django.urls import path

from incidents.views import detail, intake, queue

app_name = "incidents"

urlpatterns = [
    path("", queue.queue, name="queue"),
    path("queue/rows/", queue.queue_rows, name="queue-rows"),
    path("queue/bulk-assign/", queue.queue_bulk_assign, name="queue-bulk-assign"),
    path("queue/views/", queue.saved_view_create, name="saved-view-create"),
    path("queue/views/<int:pk>/delete/", queue.saved_view_delete, name="saved-view-delete"),
    path("queue/<int:pk>/row/", queue.queue_row, name="queue-row"),
    path("queue/<int:pk>/assign-me/", queue.queue_assign_me, name="queue-assign-me"),
    path("queue/<int:pk>/triage/", queue.queue_triage, name="queue-triage"),
    path("incidents/new/", intake.intake, name="intake"),
    path("incidents/new/duplicates/", intake.intake_duplicates, name="intake-duplicates"),
    path("incidents/new/proposal/", intake.intake_proposal, name="intake-proposal"),
    path("incidents/<int:pk>/core/", detail.incident_core, name="core"),
    path("incidents/<int:pk>/transition/", detail.incident_transition_view, name="transition"),
    path("incidents/<int:pk>/severity/", detail.incident_severity_view, name="severity"),
    path("incidents/<int:pk>/commander/", detail.incident_commander_view, name="commander"),
    path("incidents/<int:pk>/edit/", detail.incident_edit_view, name="edit"),
    path("incidents/<int:pk>/timeline/", detail.incident_timeline, name="timeline"),
    path("incidents/<int:pk>/key-moments/", detail.incident_key_moment, name="key-moment"),
    path("incidents/<int:pk>/comments/", detail.incident_comments, name="comments"),
    path("incidents/<int:pk>/comments/new/", detail.incident_comment_create, name="comment-create"),
    path("incidents/<int:pk>/grants/", detail.incident_grant_view, name="grant"),
    path("incidents/<str:key>/", detail.incident_detail, name="detail"),
]
