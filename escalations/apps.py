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


class EscalationsConfig(AppConfig):
    name = "escalations"
    default_auto_field = "django.db.models.BigAutoField"

    role_permissions = {
        "incident_manager": [*_SCHEDULE_MANAGE],
        "lead": [*_SCHEDULE_MANAGE],
        "reviewer": [*_SCHEDULE_VIEW],
        "responder": [*_SCHEDULE_VIEW],
        "analyst": [*_SCHEDULE_VIEW],
        "viewer": [*_SCHEDULE_VIEW],
    }
