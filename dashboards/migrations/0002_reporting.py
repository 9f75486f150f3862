"""Read-only reporting views for analysts, in their own schemas, and the roles that read them.

``reporting.*`` leaves out restricted incidents (compartment set) and everything hanging off
them; ``reporting_cleared.*`` has the same views with restricted rows and the compartment,
readable only by ``firebreak_reporting_cleared``. Both roles are NOLOGIN: an operator makes
a login role a member (``GRANT firebreak_reporting TO alice``). Roles are cluster-wide, so
they are created only when missing; the views are security barriers so a predicate in a
query cannot see rows the view filters out.
"""

from django.db import migrations

VIEWS = {
    "incidents": """
        SELECT i.id, i.reference, i.title, i.status, i.severity, i.channel, hc.slug AS harm_category, i.region,
               i.team_id, t.name AS team, i.commander_id, i.cycle, i.minors_involved, i.imminent_risk, i.media_interest,
               i.regulatory, i.reach_views, i.first_signal_at, i.received_at, i.created_at, i.acknowledged_at,
               i.triaged_at, i.mitigated_at, i.resolved_at, i.closed_at,
               EXTRACT(EPOCH FROM (i.created_at - i.first_signal_at)) AS time_to_detect_s,
               EXTRACT(EPOCH FROM (i.acknowledged_at - i.created_at)) AS time_to_acknowledge_s,
               EXTRACT(EPOCH FROM (i.mitigated_at - i.created_at)) AS time_to_mitigate_s,
               EXTRACT(EPOCH FROM (i.resolved_at - i.created_at)) AS time_to_resolve_s{extra}
        FROM incidents_incident i
        JOIN incidents_harmcategory hc ON hc.id = i.harm_category_id
        LEFT JOIN accounts_team t ON t.id = i.team_id
        {join}WHERE {where}""",
    "timeline": """
        SELECT e.id, e.incident_id, e.at, e.kind, e.cycle, e.actor_id, e.summary, e.is_key_moment
        FROM incidents_timelineevent e JOIN incidents_incident i ON i.id = e.incident_id
        WHERE {where}""",
    "sla_clocks": """
        SELECT c.id, c.incident_id, c.metric, c.name, c.cycle, c.state, c.started_at, c.due_at, c.warn_at,
               c.stopped_at, c.breached_at, c.elapsed_seconds,
               (c.stopped_at IS NOT NULL AND c.stopped_at <= c.due_at AND c.state <> 'breached') AS met
        FROM escalations_slaclock c JOIN incidents_incident i ON i.id = c.incident_id
        WHERE {where}""",
    "pages": """
        SELECT p.id, p.incident_id, p.cycle, p.step, p.recipient_id, p.channel, p.state, p.created_at, p.acknowledged_at
        FROM escalations_page p JOIN incidents_incident i ON i.id = p.incident_id
        WHERE {where}""",
    "postmortems": """
        SELECT pm.id, pm.incident_id, pm.status, pm.owner_id, pm.due_on, pm.submitted_at, pm.approved_at,
               pm.published_at, pm.created_at,
               (SELECT COUNT(*) FROM postmortems_actionitem a WHERE a.postmortem_id = pm.id) AS action_items,
               (SELECT COUNT(*) FROM postmortems_actionitem a WHERE a.postmortem_id = pm.id
                  AND a.status IN ('open', 'in_progress') AND a.due_on < CURRENT_DATE) AS overdue_action_items
        FROM postmortems_postmortem pm JOIN incidents_incident i ON i.id = pm.incident_id
        WHERE {where}""",
}


def _role(name: str) -> str:
    # Two databases migrating at once (test runs) may race to create it: the loser moves on.
    return f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN
            CREATE ROLE {name} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
        END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$;"""


def _views(schema: str, where: str, cleared: bool) -> list[str]:
    out = [f"CREATE SCHEMA IF NOT EXISTS {schema}"]
    for name, body in VIEWS.items():
        sql = body.format(
            where=where,
            extra=", c.slug AS compartment" if cleared and name == "incidents" else "",
            join="LEFT JOIN accounts_compartment c ON c.id = i.compartment_id\n        " if cleared and name == "incidents" else "",
        )
        out.append(f"CREATE OR REPLACE VIEW {schema}.{name} WITH (security_barrier) AS {sql}")
    return out


FORWARD = [
    _role("firebreak_reporting"),
    _role("firebreak_reporting_cleared"),
    *_views("reporting", "i.compartment_id IS NULL", cleared=False),
    *_views("reporting_cleared", "TRUE", cleared=True),
    "REVOKE ALL ON SCHEMA reporting FROM PUBLIC",
    "REVOKE ALL ON SCHEMA reporting_cleared FROM PUBLIC",
    "REVOKE ALL ON ALL TABLES IN SCHEMA reporting FROM PUBLIC",
    "REVOKE ALL ON ALL TABLES IN SCHEMA reporting_cleared FROM PUBLIC",
    "GRANT USAGE ON SCHEMA reporting TO firebreak_reporting, firebreak_reporting_cleared",
    "GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO firebreak_reporting, firebreak_reporting_cleared",
    "GRANT USAGE ON SCHEMA reporting_cleared TO firebreak_reporting_cleared",
    "GRANT SELECT ON ALL TABLES IN SCHEMA reporting_cleared TO firebreak_reporting_cleared",
]
# Roles stay on reverse: they are cluster-wide and other databases may still use them.
BACKWARD = ["DROP SCHEMA IF EXISTS reporting CASCADE", "DROP SCHEMA IF EXISTS reporting_cleared CASCADE"]


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0001_rollups"),
        ("incidents", "0004_saved_views"),
        ("escalations", "0004_sla"),
        ("postmortems", "0002_default_policy"),
    ]

    operations = [migrations.RunSQL(sql=FORWARD, reverse_sql=BACKWARD)]
