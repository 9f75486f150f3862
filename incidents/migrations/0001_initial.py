import django.contrib.postgres.fields
from django.contrib.postgres.operations import TrigramExtension
import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# The timeline is the record post-mortems are built from: rows are added, never changed
# or removed. TRUNCATE stays allowed so test databases can be flushed.
TIMELINE_APPEND_ONLY_SQL = r"""
CREATE FUNCTION incidents_timeline_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'incidents_timelineevent is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER incidents_timelineevent_append_only
    BEFORE UPDATE OR DELETE ON incidents_timelineevent
    FOR EACH ROW EXECUTE FUNCTION incidents_timeline_refuse_change();
"""

TIMELINE_APPEND_ONLY_REVERSE = r"""
DROP TRIGGER IF EXISTS incidents_timelineevent_append_only ON incidents_timelineevent;
DROP FUNCTION IF EXISTS incidents_timeline_refuse_change();
"""


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0002_role_groups'),
        ('auth', '0012_alter_user_first_name_max_length'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        TrigramExtension(),
        migrations.CreateModel(
            name='HarmCategory',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(max_length=60, unique=True)),
                ('name', models.CharField(max_length=120)),
                ('dsa_category', models.CharField(max_length=80)),
                ('dsa_taxonomy_version', models.CharField(default='2025-07-01', max_length=20)),
                ('harm_level', models.PositiveSmallIntegerField(default=3, help_text='Inherent harm of the category for the severity matrix: 1 (gravest) … 4 (least).')),
                ('active', models.BooleanField(default=True)),
                ('order', models.PositiveSmallIntegerField(default=100)),
            ],
            options={
                'verbose_name_plural': 'harm categories',
                'ordering': ['order', 'name'],
            },
        ),
        migrations.CreateModel(
            name='ReferenceSequence',
            fields=[
                ('year', models.PositiveIntegerField(primary_key=True, serialize=False)),
                ('last', models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='Incident',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reference', models.CharField(editable=False, max_length=20, unique=True)),
                ('title', models.CharField(max_length=300)),
                ('summary', models.TextField(blank=True)),
                ('channel', models.CharField(choices=[('internal_detection', 'Internal detection'), ('user_report_spike', 'User-report spike'), ('media_inquiry', 'Media inquiry'), ('regulator_order', 'Government / regulator report or order'), ('trusted_flagger', 'Community partner / trusted flagger'), ('law_enforcement', 'Law enforcement'), ('employee_escalation', 'Employee escalation'), ('other', 'Other')], max_length=30)),
                ('severity', models.PositiveSmallIntegerField(choices=[(1, 'SEV1'), (2, 'SEV2'), (3, 'SEV3'), (4, 'SEV4')], default=3)),
                ('status', models.CharField(choices=[('new', 'New'), ('triaged', 'Triaged'), ('investigating', 'Investigating'), ('mitigating', 'Mitigating'), ('monitoring', 'Monitoring'), ('resolved', 'Resolved'), ('closed', 'Closed'), ('declined', 'Declined'), ('merged', 'Merged')], default='new', max_length=20)),
                ('region', models.CharField(choices=[('emea', 'EMEA'), ('apac', 'APAC'), ('amer', 'Americas'), ('global', 'Global')], default='global', max_length=10)),
                ('countries', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=2), blank=True, default=list, help_text='ISO 3166-1 alpha-2', size=None)),
                ('languages', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=16), blank=True, default=list, help_text='BCP 47 codes', size=None)),
                ('surfaces', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(choices=[('video', 'Video'), ('live', 'Live'), ('comments', 'Comments'), ('dms', 'Direct messages'), ('search', 'Search'), ('ads', 'Ads')], max_length=16), blank=True, default=list, size=None)),
                ('content_items', models.JSONField(blank=True, default=list)),
                ('accounts', models.JSONField(blank=True, default=list)),
                ('hashtags', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=140), blank=True, default=list, size=None)),
                ('keywords', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=140), blank=True, default=list, size=None)),
                ('reach_views', models.BigIntegerField(default=0)),
                ('minors_involved', models.BooleanField(default=False)),
                ('imminent_risk', models.BooleanField(default=False)),
                ('media_interest', models.BooleanField(default=False)),
                ('regulatory', models.BooleanField(default=False)),
                ('waiting_on_external', models.BooleanField(default=False)),
                ('waiting_reason', models.CharField(blank=True, max_length=500)),
                ('legal_hold', models.BooleanField(default=False)),
                ('intake_details', models.JSONField(blank=True, default=dict)),
                ('version', models.PositiveIntegerField(default=1)),
                ('cycle', models.PositiveIntegerField(default=1)),
                ('search_vector', django.contrib.postgres.search.SearchVectorField(editable=False, null=True)),
                ('first_signal_at', models.DateTimeField(blank=True, null=True)),
                ('received_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField()),
                ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                ('triaged_at', models.DateTimeField(blank=True, null=True)),
                ('mitigated_at', models.DateTimeField(blank=True, null=True)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('resolution_summary', models.TextField(blank=True)),
                ('commander', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='commanded_incidents', to=settings.AUTH_USER_MODEL)),
                ('compartment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='incidents', to='accounts.compartment')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('harm_category', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='incidents', to='incidents.harmcategory')),
                ('merged_into', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='merged_duplicates', to='incidents.incident')),
                ('parent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='children', to='incidents.incident')),
                ('related', models.ManyToManyField(blank=True, to='incidents.incident')),
                ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='owned_incidents', to='accounts.team')),
                ('teams_engaged', models.ManyToManyField(blank=True, related_name='engaged_incidents', to='accounts.team')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'permissions': [('transition_incident', 'Can move an incident through its lifecycle'), ('grant_incident', 'Can grant a named user access to an incident'), ('break_glass_incident', 'Can open a restricted incident with a recorded reason'), ('export_incident', 'Can export incident data')],
            },
        ),
        migrations.CreateModel(
            name='Participant',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('commander', 'Commander'), ('deputy', 'Deputy'), ('scribe', 'Scribe'), ('responder', 'Responder'), ('reviewer', 'Reviewer'), ('liaison', 'Liaison'), ('observer', 'Observer')], default='responder', max_length=20)),
                ('added_at', models.DateTimeField(auto_now_add=True)),
                ('added_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('incident', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='participant_links', to='incidents.incident')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='incident_participations', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['added_at', 'id'],
            },
        ),
        migrations.AddField(
            model_name='incident',
            name='participants',
            field=models.ManyToManyField(blank=True, related_name='participating_incidents', through='incidents.Participant', through_fields=('incident', 'user'), to=settings.AUTH_USER_MODEL),
        ),
        migrations.CreateModel(
            name='ReachSnapshot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField()),
                ('views', models.BigIntegerField()),
                ('incident', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reach_snapshots', to='incidents.incident')),
            ],
            options={
                'ordering': ['incident', 'at'],
            },
        ),
        migrations.CreateModel(
            name='TimelineEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField()),
                ('kind', models.CharField(max_length=40)),
                ('summary', models.CharField(blank=True, max_length=1000)),
                ('data', models.JSONField(blank=True, default=dict)),
                ('cycle', models.PositiveIntegerField(default=1)),
                ('is_key_moment', models.BooleanField(default=False)),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('incident', models.ForeignKey(on_delete=django.db.models.deletion.DO_NOTHING, related_name='timeline', to='incidents.incident')),
            ],
            options={
                'ordering': ['at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Comment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('body', models.TextField(help_text='Markdown as written')),
                ('body_html', models.TextField(help_text='Sanitised HTML rendered from body')),
                ('visibility', models.CharField(choices=[('internal', 'Internal'), ('shareable', 'Shareable')], default='internal', max_length=10)),
                ('original_language', models.CharField(blank=True, max_length=16)),
                ('translation', models.TextField(blank=True)),
                ('translation_html', models.TextField(blank=True)),
                ('translation_language', models.CharField(blank=True, max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('author', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='incident_comments', to=settings.AUTH_USER_MODEL)),
                ('incident', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='comments', to='incidents.incident')),
            ],
            options={
                'ordering': ['created_at', 'id'],
                'indexes': [models.Index(fields=['incident', 'created_at'], name='comment_incident_created')],
            },
        ),
        migrations.CreateModel(
            name='IncidentCycle',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('started_at', models.DateTimeField()),
                ('reopen_reason', models.TextField(blank=True)),
                ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                ('triaged_at', models.DateTimeField(blank=True, null=True)),
                ('mitigated_at', models.DateTimeField(blank=True, null=True)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('milestones', models.JSONField(blank=True, default=dict, help_text='Other milestones of this cycle: name → ISO time')),
                ('incident', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='cycles', to='incidents.incident')),
                ('reopened_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['incident', 'number'],
                'constraints': [models.UniqueConstraint(fields=('incident', 'number'), name='uniq_incident_cycle')],
            },
        ),
        migrations.CreateModel(
            name='IncidentGroupObjectPermission',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('content_object', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='group_grants', to='incidents.incident')),
                ('group', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='auth.group')),
                ('permission', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='auth.permission')),
            ],
            options={
                'abstract': False,
                'unique_together': {('group', 'permission', 'content_object')},
            },
        ),
        migrations.CreateModel(
            name='IncidentUserObjectPermission',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.CharField(blank=True, max_length=500)),
                ('expires_at', models.DateTimeField(blank=True, null=True)),
                ('content_object', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='user_grants', to='incidents.incident')),
                ('granted_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('permission', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='auth.permission')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'abstract': False,
                'unique_together': {('user', 'permission', 'content_object')},
            },
        ),
        migrations.CreateModel(
            name='IntakeRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=200)),
                ('request_hash', models.CharField(max_length=64)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('actor', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('incident', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='incidents.incident')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('actor', 'key'), name='uniq_intake_key')],
            },
        ),
        migrations.CreateModel(
            name='Notification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=40)),
                ('text', models.CharField(max_length=500)),
                ('url', models.CharField(blank=True, max_length=500)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('read_at', models.DateTimeField(blank=True, null=True)),
                ('incident', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to='incidents.incident')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(condition=models.Q(('read_at__isnull', True)), fields=['user', 'created_at'], name='notification_user_unread')],
            },
        ),
        migrations.AddConstraint(
            model_name='participant',
            constraint=models.UniqueConstraint(fields=('incident', 'user'), name='uniq_incident_participant'),
        ),
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(condition=models.Q(('status__in', ['new', 'triaged', 'investigating', 'mitigating', 'monitoring'])), fields=['status', 'severity', 'created_at'], name='incident_open_queue'),
        ),
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(fields=['commander'], name='incident_commander'),
        ),
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(fields=['compartment'], name='incident_compartment'),
        ),
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(fields=['harm_category'], name='incident_harm_category'),
        ),
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(fields=['region'], name='incident_region'),
        ),
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(fields=['channel'], name='incident_channel'),
        ),
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(fields=['created_at'], name='incident_created_at'),
        ),
        migrations.AddIndex(
            model_name='incident',
            index=django.contrib.postgres.indexes.GinIndex(fields=['search_vector'], name='incident_search'),
        ),
        migrations.AddIndex(
            model_name='incident',
            index=django.contrib.postgres.indexes.GinIndex(fields=['title'], name='incident_title_trgm', opclasses=['gin_trgm_ops']),
        ),
        migrations.AddIndex(
            model_name='incident',
            index=django.contrib.postgres.indexes.GinIndex(fields=['hashtags'], name='incident_hashtags'),
        ),
        migrations.AddIndex(
            model_name='reachsnapshot',
            index=models.Index(fields=['incident', 'at'], name='reach_incident_at'),
        ),
        migrations.AddIndex(
            model_name='timelineevent',
            index=models.Index(fields=['incident', 'at', 'id'], name='timeline_incident_at'),
        ),
        migrations.RunSQL(TIMELINE_APPEND_ONLY_SQL, TIMELINE_APPEND_ONLY_REVERSE),
    ]
