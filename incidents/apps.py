from django.apps import AppConfig
from django.db.models.signals import post_migrate

_VIEW = "incidents.view_incident"
_COMMENT = "incidents.add_comment"


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"
    default_auto_field = "django.db.models.BigAutoField"

    role_permissions = {
        "incident_manager": [
            "incidents.add_incident",
            "incidents.change_incident",
            _VIEW,
            _COMMENT,
            "incidents.transition_incident",
            "incidents.grant_incident",
            "incidents.view_harmcategory",
        ],
        "reviewer": [_VIEW, _COMMENT, "incidents.view_harmcategory"],
        "responder": [_VIEW, _COMMENT, "incidents.view_harmcategory"],
        "lead": [_VIEW, _COMMENT, "incidents.change_incident", "incidents.export_incident", "incidents.view_harmcategory"],
        "analyst": [_VIEW, "incidents.export_incident", "incidents.view_harmcategory"],
        "viewer": [_VIEW, "incidents.view_harmcategory"],
    }

    def ready(self) -> None:
        # The default taxonomy is reference data: a flushed database (transactional tests)
        # or a fresh install gets the missing rows back after migrate.
        post_migrate.connect(_ensure_taxonomy, sender=self, dispatch_uid="incidents.taxonomy")


def _ensure_taxonomy(sender, using="default", **kwargs) -> None:
    from incidents.taxonomy import harm_categories_ensure

    harm_categories_ensure(using=using)


from incidents.roles_collab import with_collab_permissions  # noqa: E402 - collaboration grants live beside their models

IncidentsConfig.role_permissions = with_collab_permissions(IncidentsConfig.role_permissions)
