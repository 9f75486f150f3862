from django.urls import path

from escalations.api import schedules

urlpatterns = [
    path("schedules/", schedules.ScheduleListCreateApi.as_view(), name="api-schedules"),
    path("schedules/mine.ics", schedules.MyShiftsICalApi.as_view(), name="api-my-shifts-ics"),
    path("schedules/<int:pk>/", schedules.ScheduleDetailApi.as_view(), name="api-schedule"),
    path("schedules/<int:pk>.ics", schedules.ScheduleICalApi.as_view(), name="api-schedule-ics"),
    path("schedules/<int:pk>/oncall/", schedules.ScheduleOncallApi.as_view(), name="api-schedule-oncall"),
    path("schedules/<int:pk>/shifts/", schedules.ScheduleShiftsApi.as_view(), name="api-schedule-shifts"),
    path("schedules/<int:pk>/overrides/", schedules.ScheduleOverridesApi.as_view(), name="api-schedule-overrides"),
    path("schedules/<int:pk>/overrides/<int:override_pk>/", schedules.ScheduleOverrideDetailApi.as_view(), name="api-schedule-override"),
]
