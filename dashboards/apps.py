from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "Dashboards and reporting"
    default_auto_field = "django.db.models.BigAutoField"

    role_permissions: dict[str, list[str]] = {}
