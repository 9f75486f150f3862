from django.db import migrations


def create_default_policy(apps, schema_editor):
    PostMortemPolicy = apps.get_model("postmortems", "PostMortemPolicy")
    if not PostMortemPolicy.objects.exists():
        PostMortemPolicy.objects.create(name="Default", max_severity=2, due_days=14, forbid_self_approval=True)


class Migration(migrations.Migration):
    dependencies = [("postmortems", "0001_initial")]

    operations = [migrations.RunPython(create_default_policy, migrations.RunPython.noop)]
