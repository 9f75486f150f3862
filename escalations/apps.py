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


class EscalationsConfig(AppConfig):
    name = "escalations"
    default_auto_field = "django.db.models.BigAutoField"

    role_permissions = {
        "incident_manager": [*_SCHEDULE_MANAGE, *_PAGING_MANAGE],
        "lead": [*_SCHEDULE_MANAGE, *_PAGING_LEAD],
        "reviewer": [*_SCHEDULE_VIEW, *_PAGING_VIEW],
        "responder": [*_SCHEDULE_VIEW, *_PAGING_VIEW],
        "analyst": [*_SCHEDULE_VIEW],
        "viewer": [*_SCHEDULE_VIEW],
    }

    def ready(self) -> None:
        from escalations import schedule_tasks  # noqa: F401  (registers the spans refresh task)
        from escalations.subscriptions import subscribe_all

        subscribe_all()
