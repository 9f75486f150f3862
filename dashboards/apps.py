from django.apps import AppConfig

_VIEW = "dashboards.view_dashboard"
_EXPORT = "dashboards.export_incidents"


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "Dashboards and reporting"
    default_auto_field = "django.db.models.BigAutoField"

    role_permissions: dict[str, list[str]] = {
        "lead": [_VIEW, _EXPORT],
        "analyst": [_VIEW, _EXPORT],
        "admin": [_VIEW, _EXPORT],
        "incident_manager": [_VIEW],
    }
