from django.urls import path

from escalations import views_schedules

app_name = "schedules"

urlpatterns = [
    path("", views_schedules.schedule_list, name="list"),
    path("<int:pk>/", views_schedules.schedule_detail, name="detail"),
    path("<int:pk>/overrides/<int:override_pk>/delete/", views_schedules.override_delete, name="override-delete"),
    path("<int:pk>/handoff-notes/", views_schedules.handoff_note_create, name="handoff-note-create"),
    path("<int:pk>/feeds/", views_schedules.feed_create, name="feed-create"),
    path("<int:pk>/feeds/<int:token_pk>/revoke/", views_schedules.feed_revoke, name="feed-revoke"),
]
