from django.urls import path

from postmortems import views

app_name = "postmortems"

urlpatterns = [
    path("", views.postmortem_list, name="list"),
    path("start/", views.postmortem_start, name="start"),
    path("preview/", views.markdown_preview, name="preview"),
    path("action-items/", views.action_item_list, name="action-items"),
    path("<int:pk>/", views.postmortem_detail, name="detail"),
    path("<int:pk>/sections/", views.postmortem_sections, name="sections"),
    path("<int:pk>/factors/", views.postmortem_factor_add, name="factor-add"),
    path("<int:pk>/factors/<int:factor_pk>/delete/", views.postmortem_factor_remove, name="factor-remove"),
    path("<int:pk>/timeline/import/", views.postmortem_timeline_import, name="timeline-import"),
    path("<int:pk>/timeline/add/", views.postmortem_timeline_add, name="timeline-add"),
    path("<int:pk>/timeline/<int:entry_pk>/", views.postmortem_timeline_edit, name="timeline-edit"),
    path("<int:pk>/action-items/", views.action_item_add, name="item-add"),
    path("<int:pk>/action-items/<int:item_pk>/", views.action_item_update, name="item-update"),
    path("<int:pk>/comments/", views.comment_add, name="comment-add"),
    path("<int:pk>/transition/", views.postmortem_transition, name="transition"),
    path("<int:pk>/export.md", views.postmortem_export_markdown, name="export-md"),
    path("<int:pk>/print/", views.postmortem_print, name="print"),
]
