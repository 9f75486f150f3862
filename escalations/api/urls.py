from django.urls import path

from escalations.api import contacts, paging, schedules

urlpatterns = [
    path("schedules/", schedules.ScheduleListCreateApi.as_view(), name="api-schedules"),
    path("schedules/mine.ics", schedules.MyShiftsICalApi.as_view(), name="api-my-shifts-ics"),
    path("schedules/<int:pk>/", schedules.ScheduleDetailApi.as_view(), name="api-schedule"),
    path("schedules/<int:pk>.ics", schedules.ScheduleICalApi.as_view(), name="api-schedule-ics"),
    path("schedules/<int:pk>/oncall/", schedules.ScheduleOncallApi.as_view(), name="api-schedule-oncall"),
    path("schedules/<int:pk>/shifts/", schedules.ScheduleShiftsApi.as_view(), name="api-schedule-shifts"),
    path("schedules/<int:pk>/overrides/", schedules.ScheduleOverridesApi.as_view(), name="api-schedule-overrides"),
    path("schedules/<int:pk>/overrides/<int:override_pk>/", schedules.ScheduleOverrideDetailApi.as_view(), name="api-schedule-override"),
    path("schedules/<int:pk>/rotations/", schedules.ScheduleRotationsApi.as_view(), name="api-schedule-rotations"),
    path("schedules/<int:pk>/rotations/<int:rotation_pk>/", schedules.ScheduleRotationDetailApi.as_view(), name="api-schedule-rotation"),
    path("escalation-policies/", paging.PolicyListCreateApi.as_view(), name="api-escalation-policies"),
    path("escalation-policies/<int:pk>/", paging.PolicyDetailApi.as_view(), name="api-escalation-policy"),
    path("pages/", paging.PageListApi.as_view(), name="api-pages"),
    path("pages/<int:pk>/", paging.PageDetailApi.as_view(), name="api-page"),
    path("pages/<int:pk>/acknowledge/", paging.PageAcknowledgeApi.as_view(), name="api-page-acknowledge"),
    path("contact-methods/", contacts.ContactMethodListApi.as_view(), name="api-contact-methods"),
    path("contact-methods/<int:pk>/", contacts.ContactMethodDetailApi.as_view(), name="api-contact-method"),
    path("contact-methods/<int:pk>/send-code/", contacts.ContactMethodSendCodeApi.as_view(), name="api-contact-method-send-code"),
    path("contact-methods/<int:pk>/verify/", contacts.ContactMethodVerifyApi.as_view(), name="api-contact-method-verify"),
    path("notification-rules/", contacts.NotificationRuleListApi.as_view(), name="api-notification-rules"),
    path("notification-rules/<int:pk>/", contacts.NotificationRuleDetailApi.as_view(), name="api-notification-rule"),
]
