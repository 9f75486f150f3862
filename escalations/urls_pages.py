from django.urls import path

from escalations import views_contacts, views_pages

app_name = "paging"

urlpatterns = [
    path("escalations/ack/<str:token>/", views_pages.page_ack_link, name="page-ack-link"),
    path("escalations/engine/", views_pages.engine_status_view, name="engine-status"),
    path("notifications/", views_pages.notification_list, name="notifications"),
    path("notifications/bell/", views_pages.notification_bell, name="bell"),
    path("notifications/pages/<int:pk>/acknowledge/", views_pages.page_acknowledge_view, name="page-acknowledge"),
    path("notifications/settings/", views_contacts.contact_settings, name="contact-settings"),
    path("notifications/settings/methods/", views_contacts.contact_method_add, name="contact-method-add"),
    path("notifications/settings/methods/<int:pk>/verify/", views_contacts.contact_method_verify, name="contact-method-verify"),
    path("notifications/settings/methods/<int:pk>/resend/", views_contacts.contact_method_resend, name="contact-method-resend"),
    path("notifications/settings/methods/<int:pk>/remove/", views_contacts.contact_method_remove, name="contact-method-remove"),
    path("notifications/settings/rules/", views_contacts.notification_rule_add, name="notification-rule-add"),
    path("notifications/settings/rules/<int:pk>/remove/", views_contacts.notification_rule_remove, name="notification-rule-remove"),
]
