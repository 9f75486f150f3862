from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"

    role_permissions: dict[str, list[str]] = {
        "incident_manager": ["integrations.review_quarantine", "integrations.view_inboundmessage"],
    }

    def ready(self) -> None:
        from integrations.chat import subscribe_all

        subscribe_all()
