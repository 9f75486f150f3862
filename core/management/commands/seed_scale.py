"""A large, realistic data set for the benchmarks: ``manage.py seed_scale --incidents N``.

Incidents are generated in Python (distributions below) and streamed in chunks of
``--chunk`` rows with COPY into a temporary staging table; everything that hangs off an
incident (comments, timeline events, cycles, participants, escalations and pages,
post-mortems and action items, per-incident grants, SLA clocks when the escalations app
has them) is then derived from the staging table by INSERT … SELECT inside Postgres, and
the incidents themselves are inserted last with their search vector computed in the same
statement (title and tags A, summary B, comments C, as ``search_vector_refresh_many``).
Foreign keys are deferred, so each chunk is one transaction and nothing is half-written.
Memory stays flat in N: one chunk of CSV at a time.

References follow INC-YYYY-NNNNN with per-year numbers continuing after the existing
``ReferenceSequence`` rows, which are advanced at the end; the incident id sequence is
moved past the explicit ids. Tables are looked up with ``apps.get_model`` so this
command imports no higher app; columns this command does not know get their model
default, so a new non-null column with a default does not break it.
"""

from __future__ import annotations

import io
import random
import time
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import NOT_PROVIDED

CHANNELS = [
    ("user_report_spike", 34),
    ("internal_detection", 30),
    ("trusted_flagger", 12),
    ("employee_escalation", 8),
    ("media_inquiry", 5),
    ("regulator_order", 4),
    ("law_enforcement", 4),
    ("other", 3),
]
SEVERITIES = [(1, 3), (2, 12), (3, 45), (4, 40)]
REGIONS = [("emea", 35), ("amer", 33), ("apac", 24), ("global", 8)]
COUNTRIES = {
    "emea": ["GB", "DE", "FR", "ES", "IT", "PL", "NL", "TR", "NG", "ZA", "EG", "SE"],
    "amer": ["US", "CA", "BR", "MX", "AR", "CO", "CL"],
    "apac": ["IN", "ID", "JP", "KR", "PH", "AU", "VN", "TH"],
    "global": ["US", "GB", "IN", "BR"],
}
LANGS = {"GB": "en", "US": "en", "CA": "en", "AU": "en", "DE": "de", "FR": "fr", "ES": "es", "MX": "es", "AR": "es", "CO": "es"}
LANGS.update({"CL": "es", "IT": "it", "PL": "pl", "NL": "nl", "TR": "tr", "BR": "pt-BR", "JP": "ja", "KR": "ko", "IN": "hi"})
SURFACES = ["video", "live", "comments", "dms", "search", "ads"]
OPEN = [("new", 15), ("triaged", 20), ("investigating", 30), ("mitigating", 20), ("monitoring", 15)]
DONE = [("closed", 80), ("resolved", 10), ("declined", 7), ("merged", 3)]
SUBJECTS = {
    "csea": "grooming network",
    "violent-extremism": "extremist recruitment videos",
    "hate-speech": "coordinated slur campaign",
    "harassment": "pile-on harassment",
    "self-harm": "self-harm challenge clips",
    "dangerous-challenges": "dangerous stunt challenge",
    "violent-graphic": "graphic violence reuploads",
    "adult-sexual": "adult content in teen feeds",
    "illegal-goods": "counterfeit medicine listings",
    "fraud-scams": "crypto giveaway scam",
    "civic-integrity": "voting date misinformation",
    "misinformation": "fabricated health claims",
    "privacy-doxxing": "doxxing of a journalist",
    "intellectual-property": "live sports restreams",
    "platform-manipulation": "fake engagement ring",
    "minor-safety": "underage accounts in live rooms",
}
QUALIFIERS = ["Spike in", "Surge of", "Cross-platform", "Coordinated", "Viral", "Recurring", "Regional wave of", "Report of"]
SURFACE_WORDS = {"video": "short videos", "live": "live streams", "comments": "comments", "dms": "direct messages"}
SURFACE_WORDS.update({"search": "search suggestions", "ads": "paid ads"})
SYLLABLES = ["ka", "lo", "mi", "ru", "ze", "ta", "vo", "ni", "sha", "pe", "qua", "dri", "fen", "gol", "hux", "jyr", "brak", "tesh"]


def codenames(count: int, rng: random.Random) -> list[str]:
    """Distinct three-syllable campaign code names: the selective search terms."""
    names: set[str] = set()
    while len(names) < count:
        names.add("".join(rng.choice(SYLLABLES) for _ in range(3)))
    return sorted(names)


def _weighted(pairs):
    values = [v for v, _ in pairs]
    weights = [w for _, w in pairs]
    return values, weights


def _arr(items) -> str:
    return "{" + ",".join(f'"{x}"' for x in items) + "}"


def _ts(dt: datetime | None) -> str:
    return "" if dt is None else dt.isoformat()


def _table(label: str):
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _fill(model, provided: dict[str, str], now_sql: str = "statement_timestamp()") -> tuple[list[str], list[str], list]:
    """Columns and SQL expressions for INSERT … SELECT into ``model``: ``provided`` maps
    column → expression; other non-null columns get their model default as a parameter."""
    cols, exprs, params = [], [], []
    for field in model._meta.concrete_fields:
        col = field.column
        if col in provided:
            cols.append(col)
            exprs.append(provided[col])
            continue
        if field.primary_key or field.null or getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            cols.append(col)
            exprs.append(now_sql)
        elif field.has_default():
            cols.append(col)
            exprs.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
        elif getattr(field, "blank", False) and field.get_internal_type() in ("CharField", "TextField", "SlugField"):
            cols.append(col)
            exprs.append("''")
        else:
            raise CommandError(f"seed_scale does not know how to fill {model._meta.db_table}.{col}")
    return cols, exprs, params


def _insert_select(cursor, model, provided: dict[str, str], from_sql: str) -> int:
    """INSERT … SELECT; the expressions given here are literal SQL (their % is escaped)."""
    cols, exprs, params = _fill(model, {col: expr.replace("%", "%%") for col, expr in provided.items()})
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(cols)}) SELECT {', '.join(exprs)} {from_sql.replace('%', '%%')}"
    cursor.execute(sql, params)
    return cursor.rowcount


class Command(BaseCommand):
    help = "Generate a large realistic data set (incidents with their timeline, comments, pages, post-mortems, grants)."

    def add_arguments(self, parser):
        parser.add_argument("--incidents", type=int, required=True, help="how many incidents to add")
        parser.add_argument("--seed", type=int, default=2026, help="random seed, for a reproducible data set")
        parser.add_argument("--years", type=int, default=5, help="history depth in years")
        parser.add_argument("--chunk", type=int, default=50_000, help="incidents per transaction")

    def handle(self, *args, incidents: int, seed: int, years: int, chunk: int, **options):
        if incidents < 1:
            raise CommandError("--incidents must be at least 1.")
        rng = random.Random(seed)
        started = time.monotonic()
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.start = self.now - timedelta(days=365 * years)
        with transaction.atomic():
            self._reference_data(rng)
        total = {}
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM incidents_incident")
            base_id = cursor.fetchone()[0]
            cursor.execute("SELECT year, last FROM incidents_referencesequence")
            self.ref_last = dict(cursor.fetchall())
        done = 0
        while done < incidents:
            size = min(chunk, incidents - done)
            with transaction.atomic():
                counts = self._chunk(rng, base_id, done, size, incidents)
            for key, value in counts.items():
                total[key] = total.get(key, 0) + value
            done += size
            self.stdout.write(f"  {done:,}/{incidents:,} incidents ({time.monotonic() - started:.0f} s)")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence('incidents_incident', 'id'), (SELECT max(id) FROM incidents_incident))")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        summary = ", ".join(f"{value:,} {key}" for key, value in total.items())
        self.stdout.write(self.style.SUCCESS(f"seed_scale: {summary} in {time.monotonic() - started:.1f} s"))

    # -- reference data: users, teams, compartments, clearances ---------------------------

    def _reference_data(self, rng: random.Random) -> None:
        from django.contrib.auth.models import Group

        User = apps.get_model("accounts", "User")
        Team = apps.get_model("accounts", "Team")
        Compartment = apps.get_model("accounts", "Compartment")
        Clearance = apps.get_model("accounts", "Clearance")
        HarmCategory = apps.get_model("incidents", "HarmCategory")

        unusable = make_password(None)
        User.objects.bulk_create(
            [
                User(
                    username=f"scale{i:03d}",
                    email=f"scale{i:03d}@example.org",
                    display_name=f"Scale Responder {i:03d}",
                    region=REGIONS[i % 3][0],
                    password=unusable,
                )
                for i in range(300)
            ],
            ignore_conflicts=True,
        )
        users = list(User.objects.filter(username__startswith="scale").order_by("id").values_list("id", flat=True))
        group = Group.objects.filter(name="responder").first()
        if group is not None:
            group.user_set.add(*users)
        Team.objects.bulk_create(
            [Team(name=f"Scale team {name}", slug=f"scale-{name}", region=region) for name, region in self._team_names()],
            ignore_conflicts=True,
        )
        teams = list(Team.objects.filter(name__startswith="Scale team").order_by("id").values_list("id", flat=True))
        Compartment.objects.bulk_create(
            [Compartment(name=f"Scale {name}", slug=f"scale-{name}") for name in ("csea", "leo", "legal", "exec", "vip", "regulator")],
            ignore_conflicts=True,
        )
        compartments = list(Compartment.objects.filter(slug__startswith="scale-").order_by("id").values_list("id", flat=True))
        # About one responder in six is cleared for one or two compartments.
        cleared = set(Clearance.objects.filter(user_id__in=users).values_list("user_id", "compartment_id"))
        new = [
            Clearance(user_id=uid, compartment_id=cid, reason="Scale data set")
            for uid in users[::6]
            for cid in rng.sample(compartments, rng.choice((1, 2)))
            if (uid, cid) not in cleared
        ]
        Clearance.objects.bulk_create(new)
        self.users = users
        self.teams = teams
        self.compartments = compartments
        cats = list(HarmCategory.objects.filter(active=True).order_by("order").values_list("id", "slug"))
        if not cats:
            raise CommandError("No harm categories: run the migrations first.")
        self.categories = cats
        self.cat_weights = [max(1, 30 - 2 * i) for i in range(len(cats))]
        self.codenames = codenames(5_000, random.Random(7))

    @staticmethod
    def _team_names():
        for region in ("emea", "amer", "apac", "global"):
            for function in ("rapid-response", "policy", "investigations"):
                yield f"{region}-{function}", region

    # -- one chunk -------------------------------------------------------------------------

    def _incident_rows(self, rng: random.Random, base_id: int, first: int, size: int, total: int):
        span = (self.now - self.start).total_seconds()
        channels, channel_w = _weighted(CHANNELS)
        sevs, sev_w = _weighted(SEVERITIES)
        regions, region_w = _weighted(REGIONS)
        opens, open_w = _weighted(OPEN)
        dones, done_w = _weighted(DONE)
        recent = self.now - timedelta(days=21)
        for n in range(first, first + size):
            # Growth over the years: later years are denser (created_at is monotone in n).
            created = self.start + timedelta(seconds=span * ((n + 0.5) / total) ** 0.75)
            year = created.year
            self.ref_last[year] = self.ref_last.get(year, 0) + 1
            reference = f"INC-{year}-{self.ref_last[year]:05d}"
            cat_id, cat_slug = rng.choices(self.categories, self.cat_weights)[0]
            channel = rng.choices(channels, channel_w)[0]
            severity = rng.choices(sevs, sev_w)[0]
            region = rng.choices(regions, region_w)[0]
            countries = rng.sample(COUNTRIES[region], rng.choice((1, 1, 1, 2, 3)))
            languages = sorted({LANGS.get(c, "en") for c in countries})
            surfaces = rng.sample(SURFACES, rng.choice((1, 1, 2)))
            code = rng.choice(self.codenames)
            subject = SUBJECTS.get(cat_slug, cat_slug.replace("-", " "))
            title = f"{rng.choice(QUALIFIERS)} {subject} on {SURFACE_WORDS[surfaces[0]]} ({countries[0]}) — {code}"
            summary = (
                f"{channel.replace('_', ' ').capitalize()} flagged {subject} across {', '.join(SURFACE_WORDS[s] for s in surfaces)}"
                f" in {', '.join(countries)}. Campaign {code}; estimated reach grows hourly."
            )
            status = rng.choices(opens, open_w)[0] if created > recent and rng.random() < 0.7 else rng.choices(dones, done_w)[0]
            restricted = rng.random() < (0.25 if cat_slug == "csea" else 0.015)
            compartment = rng.choice(self.compartments) if restricted else ""
            commander = rng.choice(self.users) if status != "new" and rng.random() < 0.93 else ""
            ack = created + timedelta(minutes=rng.randint(2, 90)) if status != "new" else None
            triaged = ack + timedelta(minutes=rng.randint(5, 120)) if ack and status != "triaged" else None
            finished = status in ("resolved", "closed", "declined", "merged")
            mitigated = triaged + timedelta(hours=rng.randint(1, 48)) if triaged and (finished or status == "monitoring") else None
            resolved = (mitigated or triaged or created) + timedelta(hours=rng.randint(1, 72)) if finished else None
            closed = resolved + timedelta(days=rng.randint(1, 10)) if status == "closed" else None
            hashtags = [code] + ([f"{cat_slug.split('-')[0]}"] if rng.random() < 0.5 else [])
            yield [
                base_id + n + 1,
                reference,
                title,
                summary,
                channel,
                severity,
                status,
                cat_id,
                region,
                _arr(countries),
                _arr(languages),
                _arr(surfaces),
                _arr(hashtags),
                _arr([subject.split()[0], code]),
                int(rng.lognormvariate(9, 2.2)),
                "t" if cat_slug in ("csea", "minor-safety") or rng.random() < 0.05 else "f",
                "t" if severity == 1 and rng.random() < 0.4 else "f",
                "t" if channel == "media_inquiry" or rng.random() < 0.03 else "f",
                "t" if channel == "regulator_order" else "f",
                compartment,
                "t" if channel in ("law_enforcement", "regulator_order") and rng.random() < 0.3 else "f",
                commander,
                rng.choice(self.teams),
                rng.choice(self.users),
                _ts(created - timedelta(minutes=rng.randint(0, 240))),
                _ts(created),
                _ts(created),
                _ts(ack),
                _ts(triaged),
                _ts(mitigated),
                _ts(resolved),
                _ts(closed),
                _ts(closed or resolved or created),
                "Mitigated and monitored; no recurrence." if finished else "",
            ]

    STAGE_COLUMNS = [
        "id",
        "reference",
        "title",
        "summary",
        "channel",
        "severity",
        "status",
        "harm_category_id",
        "region",
        "countries",
        "languages",
        "surfaces",
        "hashtags",
        "keywords",
        "reach_views",
        "minors_involved",
        "imminent_risk",
        "media_interest",
        "regulatory",
        "compartment_id",
        "legal_hold",
        "commander_id",
        "team_id",
        "created_by_id",
        "first_signal_at",
        "received_at",
        "created_at",
        "acknowledged_at",
        "triaged_at",
        "mitigated_at",
        "resolved_at",
        "closed_at",
        "updated_at",
        "resolution_summary",
    ]

    def _chunk(self, rng: random.Random, base_id: int, first: int, size: int, total: int) -> dict[str, int]:
        import csv

        Incident = apps.get_model("incidents", "Incident")
        buf = io.StringIO()
        writer = csv.writer(buf)
        for row in self._incident_rows(rng, base_id, first, size, total):
            writer.writerow(row)
        buf.seek(0)
        counts: dict[str, int] = {}
        users_arr = "ARRAY[" + ",".join(str(u) for u in self.users) + "]::bigint[]"
        nusers = len(self.users)

        def user_expr(salt: str) -> str:
            return f"({users_arr})[1 + ((s.id * {salt}) % {nusers})]"

        with connection.cursor() as cursor:
            skipped = self._skip_row_triggers(cursor)
            # No constraints on the staging copy: columns not staged take their defaults on insert.
            cursor.execute("DROP TABLE IF EXISTS fb_scale_stage")
            cursor.execute("CREATE TEMP TABLE fb_scale_stage ON COMMIT DROP AS SELECT * FROM incidents_incident WITH NO DATA")
            cols = ", ".join(self.STAGE_COLUMNS)
            cursor.copy_expert(f"COPY fb_scale_stage ({cols}) FROM STDIN WITH (FORMAT csv, NULL '')", buf)
            del buf

            Comment = apps.get_model("incidents", "Comment")
            body = (
                "(ARRAY['Confirmed more uploads with the same audio; hashes shared with the hashing team.',"
                "'Trusted flagger sent a second batch of URLs, triaged and actioned.',"
                "'Classifier threshold lowered for this campaign; watching false positives.',"
                "'Comms asked for a holding statement; legal reviewing the wording.',"
                "'Reach is flattening after the takedown wave.'])[1 + ((s.id + g) % 5)]"
            )
            counts["comments"] = _insert_select(
                cursor,
                Comment,
                {
                    "incident_id": "s.id",
                    "author_id": user_expr("7 + g"),
                    "body": body,
                    "body_html": f"'<p>' || {body} || '</p>'",
                    "visibility": "CASE WHEN (s.id + g) % 6 = 0 THEN 'shareable' ELSE 'internal' END",
                    "created_at": "s.created_at + make_interval(mins => (20 * g + (s.id % 17)::int))",
                },
                "FROM fb_scale_stage s CROSS JOIN LATERAL generate_series(1, (s.id % 4)::int) g",
            )

            # The incidents themselves, search vector included (same weights as the service).
            vector = (
                "setweight(to_tsvector('english', coalesce(s.title, '')), 'A') || "
                "setweight(to_tsvector('english', array_to_string(s.hashtags, ' ') || ' ' || array_to_string(s.keywords, ' ')), 'A') || "
                "setweight(to_tsvector('english', left(coalesce(s.summary, ''), 200000)), 'B') || "
                "setweight(to_tsvector('english', left(coalesce((SELECT string_agg(c.body, ' ' ORDER BY c.id) "
                "FROM incidents_comment c WHERE c.incident_id = s.id), ''), 400000)), 'C')"
            )
            provided = {col: f"s.{col}" for col in self.STAGE_COLUMNS}
            provided["resolution_summary"] = "coalesce(s.resolution_summary, '')"
            provided["search_vector"] = vector
            counts["incidents"] = _insert_select(cursor, Incident, provided, "FROM fb_scale_stage s")

            TimelineEvent = apps.get_model("incidents", "TimelineEvent")
            kinds = "(ARRAY['created','acknowledged','commander_assigned','status_changed','comment','milestone','status_changed','key_moment'])"
            counts["timeline events"] = _insert_select(
                cursor,
                TimelineEvent,
                {
                    "incident_id": "s.id",
                    "at": "s.created_at + make_interval(mins => (15 * (g - 1)::int))",
                    "kind": f"{kinds}[g]",
                    "actor_id": user_expr("3 + g"),
                    "summary": f"'Scale data: ' || {kinds}[g]",
                    "data": "'{}'::jsonb",
                    "is_key_moment": "g = 8",
                    "recorded_at": "s.created_at + make_interval(mins => (15 * (g - 1)::int))",
                },
                "FROM fb_scale_stage s CROSS JOIN LATERAL generate_series(1, 3 + (s.id % 6)::int) g",
            )

            Cycle = apps.get_model("incidents", "IncidentCycle")
            counts["cycles"] = _insert_select(
                cursor,
                Cycle,
                {
                    "incident_id": "s.id",
                    "number": "1",
                    "started_at": "s.created_at",
                    "acknowledged_at": "s.acknowledged_at",
                    "triaged_at": "s.triaged_at",
                    "mitigated_at": "s.mitigated_at",
                    "resolved_at": "s.resolved_at",
                    "closed_at": "s.closed_at",
                    "milestones": "'{}'::jsonb",
                },
                "FROM fb_scale_stage s",
            )

            Participant = apps.get_model("incidents", "Participant")
            counts["participants"] = _insert_select(
                cursor,
                Participant,
                {
                    "incident_id": "s.id",
                    "user_id": f"({users_arr})[1 + ((s.id * 31 + g * 7) % {nusers})]",
                    "role": "CASE WHEN g = 1 THEN 'commander' WHEN g = 2 THEN 'scribe' ELSE 'responder' END",
                    "added_at": "s.created_at + make_interval(mins => (g)::int)",
                },
                "FROM fb_scale_stage s CROSS JOIN LATERAL generate_series(1, 1 + (s.id % 3)::int) g WHERE s.status <> 'new'",
            )

            # Direct per-incident grants on restricted incidents (reviewers brought in by name).
            Grant = apps.get_model("incidents", "IncidentUserObjectPermission")
            counts["grants"] = _insert_select(
                cursor,
                Grant,
                {
                    "content_object_id": "s.id",
                    "user_id": f"({users_arr})[1 + ((s.id * 13 + g * 11) % {nusers})]",
                    "permission_id": (
                        "(SELECT p.id FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id "
                        "WHERE ct.app_label = 'incidents' AND p.codename = 'view_incident')"
                    ),
                    "granted_by_id": "s.commander_id",
                    "reason": "'Named reviewer on a restricted incident'",
                },
                "FROM fb_scale_stage s CROSS JOIN LATERAL generate_series(1, 1 + (s.id % 3)::int) g WHERE s.compartment_id IS NOT NULL",
            )

            counts.update(self._escalations(cursor, user_expr))
            counts.update(self._postmortems(cursor, user_expr))
            counts.update(self._sla(cursor))
            # The per-year counters move with the chunk, so a later chunk failing leaves them consistent.
            for year, last in self.ref_last.items():
                cursor.execute(
                    "INSERT INTO incidents_referencesequence (year, last) VALUES (%s, %s) "
                    "ON CONFLICT (year) DO UPDATE SET last = GREATEST(incidents_referencesequence.last, EXCLUDED.last)",
                    [year, last],
                )
            cursor.execute("SELECT setval(pg_get_serial_sequence('incidents_incident', 'id'), (SELECT max(id) FROM incidents_incident))")
            if skipped:
                # Inside a caller's transaction SET LOCAL would outlive this chunk: restore now.
                cursor.execute("SET LOCAL session_replication_role = origin")
        return counts

    @staticmethod
    def _skip_row_triggers(cursor) -> bool:
        """Foreign-key checks fire once per inserted row at commit, which is most of the cost
        of ten million child rows whose keys come from the rows just inserted. A superuser
        connection (the benchmark's) skips them for this transaction; any other connection
        keeps them and is only slower."""
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute("SET LOCAL session_replication_role = replica")
        return True

    def _escalations(self, cursor, user_expr) -> dict[str, int]:
        Escalation = _table("escalations.Escalation")
        Page = _table("escalations.Page")
        if Escalation is None or Page is None:
            return {}
        n = _insert_select(
            cursor,
            Escalation,
            {
                "incident_id": "s.id",
                "policy_snapshot": '\'{"name": "Scale", "steps": []}\'::jsonb',
                "policy_version": "1",
                "state": "CASE WHEN s.resolved_at IS NULL THEN 'acknowledged' ELSE 'resolved' END",
                "started_at": "s.created_at",
                "ended_at": "s.resolved_at",
            },
            "FROM fb_scale_stage s WHERE s.severity <= 2 AND s.status <> 'new'",
        )
        pages = _insert_select(
            cursor,
            Page,
            {
                "escalation_id": "e.id",
                "incident_id": "s.id",
                "cycle": "1",
                "step": "g - 1",
                "recipient_id": user_expr("5 + g"),
                "channel": "CASE WHEN g = 1 THEN 'email' ELSE 'sms' END",
                "state": "CASE WHEN g = 1 THEN 'acknowledged' ELSE 'cancelled' END",
                "created_at": "s.created_at + make_interval(mins => (5 * (g - 1)::int))",
                "acknowledged_at": "CASE WHEN g = 1 THEN s.acknowledged_at END",
            },
            "FROM fb_scale_stage s JOIN escalations_escalation e ON e.incident_id = s.id "
            "CROSS JOIN LATERAL generate_series(1, 1 + (s.id % 2)::int) g",
        )
        return {"escalations": n, "pages": pages}

    def _postmortems(self, cursor, user_expr) -> dict[str, int]:
        PostMortem = _table("postmortems.PostMortem")
        ActionItem = _table("postmortems.ActionItem")
        if PostMortem is None:
            return {}
        n = _insert_select(
            cursor,
            PostMortem,
            {
                "incident_id": "s.id",
                "title": "'Post-mortem: ' || s.title",
                "status": "CASE WHEN s.status = 'closed' THEN 'published' ELSE 'draft' END",
                "owner_id": "s.commander_id",
                "due_on": "(s.resolved_at + interval '14 days')::date",
                "summary": "s.summary",
                "created_at": "s.resolved_at",
                "updated_at": "coalesce(s.closed_at, s.resolved_at)",
                "published_at": "CASE WHEN s.status = 'closed' THEN s.closed_at END",
            },
            "FROM fb_scale_stage s WHERE s.severity <= 2 AND s.resolved_at IS NOT NULL AND s.status IN ('resolved', 'closed')",
        )
        items = 0
        if ActionItem is not None:
            items = _insert_select(
                cursor,
                ActionItem,
                {
                    "postmortem_id": "pm.id",
                    "title": "(ARRAY['Add hash to the shared database','Tune the classifier threshold','Update the escalation runbook'])[g]",
                    "owner_id": user_expr("17 + g"),
                    "priority": "'P' || (g)::text",
                    "due_on": "(s.resolved_at + make_interval(days => 14 * g))::date",
                    "status": "CASE WHEN s.status = 'closed' AND g < 3 THEN 'done' ELSE 'open' END",
                    "completed_at": "CASE WHEN s.status = 'closed' AND g < 3 THEN s.closed_at END",
                    "created_at": "s.resolved_at",
                    "updated_at": "coalesce(s.closed_at, s.resolved_at)",
                },
                "FROM fb_scale_stage s JOIN postmortems_postmortem pm ON pm.incident_id = s.id "
                "CROSS JOIN LATERAL generate_series(1, 1 + (s.id % 3)::int) g",
            )
        return {"post-mortems": n, "action items": items}

    def _sla(self, cursor) -> dict[str, int]:
        Clock = _table("escalations.SLAClock")
        if Clock is None:
            return {}
        # An acknowledgement clock for every incident, a resolution clock for SEV1/2.
        n = _insert_select(
            cursor,
            Clock,
            {
                "incident_id": "s.id",
                "metric": "m.metric",
                "name": "m.name",
                "state": (
                    "CASE WHEN m.stop_at IS NULL THEN 'running' WHEN m.stop_at <= s.created_at + m.dur THEN 'met' ELSE 'breached' END"
                ),
                "duration": "m.dur",
                "started_at": "s.created_at",
                "due_at": "s.created_at + m.dur",
                "warn_at": "s.created_at + m.dur * 0.75",
                "stopped_at": "m.stop_at",
                "breached_at": "CASE WHEN m.stop_at > s.created_at + m.dur THEN s.created_at + m.dur END",
                "next_check_at": "CASE WHEN m.stop_at IS NULL THEN s.created_at + m.dur * 0.75 END",
                "segment_started_at": "CASE WHEN m.stop_at IS NULL THEN s.created_at END",
            },
            "FROM fb_scale_stage s CROSS JOIN LATERAL (VALUES "
            "('acknowledge', 'Acknowledge', make_interval(mins => (15 * s.severity)::int), s.acknowledged_at, true), "
            "('resolution', 'Resolve', make_interval(hours => (24 * s.severity)::int), s.resolved_at, s.severity <= 2)"
            ") AS m(metric, name, dur, stop_at, wanted) WHERE m.wanted",
        )
        return {"SLA clocks": n}
