from django.apps import AppConfig

_SCHEDULE_MANAGE = [
    "escalations.view_schedule",
    "escalations.add_schedule",
    "escalations.change_schedule",
    "escalations.delete_schedule",
    "escalations.view_rotation",
    "escalations.add_rotation",
    "escalations.change_rotation",
    "escalations.delete_rotation",
    "escalations.view_override",
    "escalations.add_override",
    "escalations.delete_override",
    "escalations.view_oncallspan",
]
_SCHEDULE_VIEW = ["escalations.view_schedule", "escalations.view_rotation", "escalations.view_override", "escalations.view_oncallspan"]
_PAGING_MANAGE = [
    "escalations.view_escalationpolicy",
    "escalations.add_escalationpolicy",
    "escalations.change_escalationpolicy",
    "escalations.delete_escalationpolicy",
    "escalations.view_escalation",
    "escalations.view_page",
    "escalations.change_page",
]
_PAGING_VIEW = ["escalations.view_escalationpolicy"]
_PAGING_LEAD = ["escalations.view_escalationpolicy", "escalations.view_escalation", "escalations.view_page"]
# SLA policies, calendars and legal clocks: everyone who works incidents may read them; only
# admins (every permission) change them, through the API or the Django admin.
_SLA_VIEW = ["escalations.view_slapolicy", "escalations.view_slatarget", "escalations.view_legalclock", "escalations.view_businesscalendar"]


class EscalationsConfig(AppConfig):
    name = "escalations"
    default_auto_field = "django.db.models.BigAutoField"

    role_permissions = {
        "incident_manager": [*_SCHEDULE_MANAGE, *_PAGING_MANAGE, *_SLA_VIEW],
        "lead": [*_SCHEDULE_MANAGE, *_PAGING_LEAD, *_SLA_VIEW],
        "reviewer": [*_SCHEDULE_VIEW, *_PAGING_VIEW, *_SLA_VIEW],
        "responder": [*_SCHEDULE_VIEW, *_PAGING_VIEW, *_SLA_VIEW],
        "analyst": [*_SCHEDULE_VIEW, *_SLA_VIEW],
        "viewer": [*_SCHEDULE_VIEW],
    }

    def ready(self) -> None:
        from escalations import schedule_tasks  # noqa: F401  (registers the spans refresh task)
        from escalations.subscriptions import subscribe_all

        subscribe_all()

        from escalations import sla_views_support
        from incidents import queue_deadlines

        queue_deadlines.deadline_provider_register("sla", sla_views_support.queue_deadlines)
