from django.apps import AppConfig

_VIEW = ["postmortems.view_postmortem", "postmortems.view_actionitem"]


class PostmortemsConfig(AppConfig):
    name = "postmortems"
    verbose_name = "Post-mortems"
    default_auto_field = "django.db.models.BigAutoField"

    role_permissions = {
        "incident_manager": [
            *_VIEW,
            "postmortems.add_postmortem",
            "postmortems.change_postmortem",
            "postmortems.add_actionitem",
            "postmortems.change_actionitem",
            "postmortems.add_reviewcomment",
        ],
        "lead": [
            *_VIEW,
            "postmortems.approve_postmortem",
            "postmortems.add_reviewcomment",
            "postmortems.change_actionitem",
        ],
        "reviewer": [*_VIEW, "postmortems.add_reviewcomment"],
        "responder": _VIEW,
        "analyst": _VIEW,
        "viewer": _VIEW,
    }

    def ready(self) -> None:
        from postmortems.subscriptions import subscribe_all

        subscribe_all()
