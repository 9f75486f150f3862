from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    role_permissions = {
        "incident_manager": ["accounts.view_team", "accounts.view_user"],
        "reviewer": ["accounts.view_team", "accounts.view_user"],
        "responder": ["accounts.view_team", "accounts.view_user"],
        "lead": ["accounts.view_team", "accounts.view_user"],
        "analyst": ["accounts.view_team"],
        "viewer": ["accounts.view_team"],
    }

    def ready(self) -> None:
        # Keeping role groups in step with the permission tables is configuration
        # housekeeping after migrate, not domain logic, so the post_migrate signal fits.
        post_migrate.connect(_sync_roles, dispatch_uid="accounts.roles_sync")
        from django.contrib.auth.signals import user_logged_in

        from accounts.middleware import remember_otp_enrolment

        user_logged_in.connect(remember_otp_enrolment, dispatch_uid="accounts.otp_enrolment")


def _sync_roles(sender, using="default", **kwargs) -> None:
    from django.apps import apps

    # Every app's permissions exist only once the last app's post_migrate has run.
    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if sender.name != last.name:
        return
    from accounts.roles import roles_sync

    roles_sync(using=using)
