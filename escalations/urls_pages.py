from django.urls import path

from escalations import views_pages

app_name = "paging"

urlpatterns = [
    path("escalations/ack/<str:token>/", views_pages.page_ack_link, name="page-ack-link"),
    path("escalations/engine/", views_pages.engine_status_view, name="engine-status"),
    path("notifications/", views_pages.notification_list, name="notifications"),
    path("notifications/bell/", views_pages.notification_bell, name="bell"),
    path("notifications/pages/<int:pk>/acknowledge/", views_pages.page_acknowledge_view, name="page-acknowledge"),
]
