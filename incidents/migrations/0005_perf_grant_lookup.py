"""Per-user grant lookup for the visibility filter: a user with thousands of direct grants
is answered from this index alone (index-only scan), without visiting the grant rows."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("incidents", "0004_saved_views")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS incident_grant_user_object ON incidents_incidentuserobjectpermission "
            "(user_id, content_object_id) INCLUDE (permission_id, expires_at)",
            "DROP INDEX IF EXISTS incident_grant_user_object",
        ),
    ]
