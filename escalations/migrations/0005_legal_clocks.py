"""Legal and regulatory clocks (DESIGN.md reference table) and the default SLA policies.

The rows live in ``escalations.sla_defaults`` (which post_migrate also uses to put them
back after a flush); see there for the sources and the internal-target rule.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from escalations import sla_defaults

    sla_defaults.ensure(apps, using=schema_editor.connection.alias)


def backwards(apps, schema_editor):
    from escalations import sla_defaults

    sla_defaults.remove(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0004_sla")]

    operations = [migrations.RunPython(forwards, backwards)]
