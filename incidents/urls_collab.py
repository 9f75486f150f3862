"""Pages and partials for tasks, mitigations, stakeholder updates, evidence and wellbeing.
Included from config/urls.py at the site root, ahead of the other incident pages."""

from django.urls import path

from incidents import views_collab as views

app_name = "incidents_collab"

urlpatterns = [
    path("incidents/<int:pk>/tasks/", views.tasks_partial, name="tasks"),
    path("incidents/<int:pk>/tasks/<int:task_pk>/status/", views.task_status, name="task-status"),
    path("incidents/<int:pk>/mitigations/", views.mitigation_create, name="mitigations"),
    path("incidents/<int:pk>/updates/", views.updates_partial, name="updates"),
    path("incidents/<int:pk>/updates/subscription/", views.subscription_toggle, name="subscription"),
    path("incidents/<int:pk>/updates/<uuid:uid>/edit/", views.update_edit, name="update-edit"),
    path("incidents/<int:pk>/updates/<uuid:uid>/approve/", views.update_approve, name="update-approve"),
    path("incidents/<int:pk>/updates/<uuid:uid>/send/", views.update_send, name="update-send"),
    path("incidents/<int:pk>/evidence/", views.evidence_partial, name="evidence"),
    path("incidents/<int:pk>/evidence/<uuid:uid>/", views.evidence_item, name="evidence-item"),
    path("incidents/<int:pk>/evidence/<uuid:uid>/reveal/", views.evidence_reveal, name="evidence-reveal"),
    path("incidents/<int:pk>/evidence/<uuid:uid>/delete/", views.evidence_delete, name="evidence-delete"),
    path("incidents/<int:pk>/evidence/<uuid:uid>/file/", views.evidence_file, name="evidence-file"),
    path("wellbeing/", views.wellbeing, name="wellbeing"),
]
