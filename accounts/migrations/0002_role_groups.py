from django.db import migrations

ROLES = ["incident_manager", "reviewer", "responder", "lead", "analyst", "viewer", "admin"]


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    # Permissions are attached after every app has migrated (accounts.roles.roles_sync),
    # because the models the roles act on belong to apps that migrate later.
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
