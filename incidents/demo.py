"""Demo incidents for `manage.py seed_demo` (dev settings only).

A few hundred incidents across channels, harm categories, severities, regions and
states, spread over the last four months so queues, dashboards and metrics have
history. The recent open ones go through the services (so their events reach
escalations); the history is written in bulk, with the same rows the services would
leave (cycles, milestone times, timeline, commander, comments, reach). Idempotent:
nothing happens when demo incidents already exist.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

from django.db import connection

from accounts.models import Compartment, Team, User
from incidents import services
from incidents.models import (
    Comment,
    HarmCategory,
    Incident,
    IncidentCycle,
    Participant,
    ParticipantRole,
    ReachSnapshot,
    Severity,
    Status,
    TimelineEvent,
    TimelineKind,
)

DEMO_MARKER = "demo_seed"
HISTORY_COUNT = 280
LIVE_COUNT = 16
HISTORY_DAYS = 120

COUNTRIES = {
    "emea": [
        ("DE", "Germany", "de"),
        ("FR", "France", "fr"),
        ("IE", "Ireland", "en"),
        ("PL", "Poland", "pl"),
        ("TR", "Türkiye", "tr"),
        ("GB", "the UK", "en"),
        ("ES", "Spain", "es"),
    ],
    "apac": [
        ("AU", "Australia", "en"),
        ("IN", "India", "hi"),
        ("SG", "Singapore", "en"),
        ("ID", "Indonesia", "id"),
        ("JP", "Japan", "ja"),
        ("PH", "the Philippines", "tl"),
    ],
    "amer": [("US", "the US", "en"), ("BR", "Brazil", "pt-BR"), ("MX", "Mexico", "es"), ("CA", "Canada", "en"), ("AR", "Argentina", "es")],
}

CHALLENGES = ["blackoutchallenge", "skullbreaker", "benadrylchallenge", "fireplay", "chokingchallenge", "trainsurfing"]
SELF_HARM_TAGS = ["sh4d0w", "thinspo2026", "edtwt", "palesaddness"]
OUTLETS = ["The Daily Example", "Example Post", "Tech Weekly Example", "Der Beispiel-Spiegel", "Le Monde d'Exemple", "ABC Example News"]
BRANDS = ["a national bank", "a parcel carrier", "a tax authority", "a crypto exchange", "a mobile operator"]
AUTHORITIES = [
    ("Bundeskriminalamt (DE)", "Regulation (EU) 2021/784 (TCO) Art. 3", "DE", "violent-extremism"),
    ("Office anti-cybercriminalité (FR)", "Regulation (EU) 2021/784 (TCO) Art. 3", "FR", "violent-extremism"),
    ("eSafety Commissioner (AU)", "Online Safety Act 2021 s. 109", "AU", "harassment"),
    ("eSafety Commissioner (AU)", "Online Safety Act 2021 s. 65", "AU", "self-harm"),
    ("MeitY (IN)", "IT Rules 2021 r. 3(1)(d) as amended 2026", "IN", "misinformation"),
    ("BTK (TR)", "Law 5651 Art. 8/A", "TR", "civic-integrity"),
    ("Coimisiún na Meán (IE)", "DSA Art. 9", "IE", "hate-speech"),
    ("UODO (PL)", "DSA Art. 10", "PL", "privacy-doxxing"),
]
PARTNERS = ["Safer Internet Example", "INHOPE example hotline", "Consumer Watch Example", "Digital Rights Example"]
FIRST_NAMES = ["Maya", "Luca", "Aisha", "Jonas", "Priya", "Diego", "Hana", "Tom"]


@dataclass
class Spec:
    title: str
    category: str
    channel: str
    severity: int
    region: str
    country: tuple[str, str, str]
    summary: str
    hashtags: list[str] = field(default_factory=list)
    surfaces: list[str] = field(default_factory=list)
    flags: dict[str, bool] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    compartment: str = ""
    reach: int = 0


def _spec(rng: random.Random, now: datetime, created: datetime) -> Spec:
    region = rng.choice(list(COUNTRIES))
    country = rng.choice(COUNTRIES[region])
    code, name, _lang = country
    kind = rng.choices(
        [
            "challenge",
            "tco",
            "notice",
            "media",
            "scam",
            "csea",
            "election",
            "doxxing",
            "hate",
            "goods",
            "health",
            "bots",
            "sports",
            "deepfake",
            "graphic",
            "grooming",
            "employee",
            "other",
        ],
        weights=[10, 6, 7, 7, 9, 4, 6, 5, 7, 4, 6, 5, 3, 6, 4, 3, 3, 3],
    )[0]
    reach = int(rng.lognormvariate(11, 1.8))
    if kind == "challenge":
        tag = rng.choice(CHALLENGES)
        return Spec(
            f"Dangerous #{tag} trending among minors in {name}",
            "dangerous-challenges",
            rng.choice(["internal_detection", "user_report_spike"]),
            rng.choice([1, 2, 2]),
            region,
            country,
            f"Videos encouraging the #{tag} challenge are spreading among teenage accounts in {name}; copycat uploads after school hours.",
            [tag, f"{tag}{rng.randint(1, 9)}"],
            ["video", "live", "search"],
            {"minors_involved": True},
            reach=reach * 3,
        )
    if kind in ("tco", "notice"):
        authority, instrument, auth_country, category = rng.choice(AUTHORITIES[:2] if kind == "tco" else AUTHORITIES[2:])
        region = next(r for r, cs in COUNTRIES.items() if any(c[0] == auth_country for c in cs))
        country = next(c for c in COUNTRIES[region] if c[0] == auth_country)
        label = "TCO removal order" if kind == "tco" else "Removal notice"
        subject = {
            "violent-extremism": "re-uploaded attack livestream",
            "harassment": "cyberbullying of a child",
            "self-harm": "self-harm content targeting teens",
            "misinformation": "deepfake of a minister",
            "civic-integrity": "posts about a local election",
            "hate-speech": "antisemitic comment wave",
            "privacy-doxxing": "leaked home addresses",
        }[category]
        return Spec(
            f"{label} from {authority}: {subject}",
            category,
            "regulator_order",
            1 if kind == "tco" else rng.choice([1, 2]),
            region,
            country,
            f"{authority} ordered action on {rng.randint(2, 40)} items under {instrument}. Legal clock runs from receipt.",
            [],
            ["video", "comments"],
            {"regulatory": True},
            {
                "authority": authority,
                "legal_instrument": instrument,
                "order_reference": f"{auth_country}-{created:%Y}-{rng.randint(1000, 9999)}",
            },
            reach=reach // 4,
        )
    if kind == "media":
        tag = rng.choice(SELF_HARM_TAGS)
        outlet = rng.choice(OUTLETS)
        return Spec(
            f"Media inquiry from {outlet} about the #{tag} self-harm hashtag",
            "self-harm",
            "media_inquiry",
            2,
            region,
            country,
            f"A reporter at {outlet} asks how #{tag} stays searchable and what we do for at-risk teens.",
            [tag],
            ["search", "video"],
            {"media_interest": True, "minors_involved": rng.random() < 0.5},
            {
                "outlet": outlet,
                "reporter": f"{rng.choice(FIRST_NAMES)} (reporter)",
                "reporter_deadline": (created + timedelta(hours=rng.choice([6, 24, 48]))).isoformat(),
            },
            reach=reach,
        )
    if kind == "scam":
        brand = rng.choice(BRANDS)
        return Spec(
            f"Trusted-flagger report: scam network impersonating {brand} in {name}",
            "fraud-scams",
            "trusted_flagger",
            rng.choice([2, 3]),
            region,
            country,
            f"{rng.choice(PARTNERS)} flagged {rng.randint(30, 400)} accounts sending phishing links that impersonate {brand}.",
            ["refund", "support"],
            ["dms", "comments", "ads"],
            {},
            {"partner": rng.choice(PARTNERS), "case_reference": f"TF-{rng.randint(10000, 99999)}"},
            reach=reach // 2,
        )
    if kind == "csea":
        return Spec(
            f"CSEA case: offender network trading links via DMs ({code})",
            "csea",
            rng.choice(["internal_detection", "law_enforcement"]),
            1,
            region,
            country,
            "Hash matches on shared links; accounts preserved and reported to NCMEC. Restricted to the CSEA compartment.",
            [],
            ["dms"],
            {"minors_involved": True},
            {"agency": "NCMEC"},
            compartment="csea",
            reach=0,
        )
    if kind == "grooming":
        return Spec(
            f"Adults contacting minors through live gifts in {name}",
            "minor-safety",
            "internal_detection",
            rng.choice([1, 2]),
            region,
            country,
            "Pattern of adult accounts sending gifts to minors during live streams and moving to DMs.",
            [],
            ["live", "dms"],
            {"minors_involved": True},
            compartment="csea" if rng.random() < 0.3 else "",
            reach=reach // 10,
        )
    if kind == "election":
        return Spec(
            f"Election misinformation about polling-station closures in {name}",
            "civic-integrity",
            rng.choice(["internal_detection", "trusted_flagger"]),
            rng.choice([1, 2]),
            region,
            country,
            "Posts claim polling stations are closed or moved; some use an official-looking logo.",
            ["vote", f"election{created:%Y}"],
            ["video", "search"],
            {"regulatory": rng.random() < 0.3},
            {"partner": rng.choice(PARTNERS)} if rng.random() < 0.5 else {},
            reach=reach * 2,
        )
    simple = {
        "doxxing": (
            "Doxxing of a journalist after a viral live stream",
            "privacy-doxxing",
            "user_report_spike",
            [2, 3],
            ["live", "comments"],
            [],
        ),
        "hate": (
            f"Coordinated hate raid on creators' comments in {name}",
            "hate-speech",
            "user_report_spike",
            [2, 3],
            ["comments"],
            ["raid"],
        ),
        "goods": ("Ads selling unlicensed weight-loss injections", "illegal-goods", "internal_detection", [2, 3], ["ads"], ["weightloss"]),
        "health": (
            f"Health misinformation: fake measles cure spreading in {name}",
            "misinformation",
            "internal_detection",
            [2, 3],
            ["video", "search"],
            ["naturalcure"],
        ),
        "bots": (
            "Bot network inflating a political hashtag",
            "platform-manipulation",
            "internal_detection",
            [3, 4],
            ["comments", "search"],
            ["trending"],
        ),
        "sports": ("Mass re-upload of a live football broadcast", "intellectual-property", "other", [3, 4], ["live", "video"], []),
        "deepfake": (
            "Spike in reports: deepfake celebrity crypto giveaway",
            "fraud-scams",
            "user_report_spike",
            [2, 3],
            ["video", "ads"],
            ["giveaway", "crypto"],
        ),
        "graphic": (
            f"Graphic footage of a road accident circulating in {name}",
            "violent-graphic",
            "user_report_spike",
            [3, 4],
            ["video"],
            [],
        ),
        "employee": (
            "Employee escalation: creator threatened after a brand deal",
            "harassment",
            "employee_escalation",
            [2, 3],
            ["comments", "dms"],
            [],
        ),
        "other": ("Unexpected spike in reports on a comedy sketch", "other", "user_report_spike", [4], ["video"], []),
    }
    title, category, channel, sevs, surfaces, tags = simple[kind]
    return Spec(
        title,
        category,
        channel,
        rng.choice(sevs),
        region,
        country,
        f"{title}. First seen in {name}; triage notes in the comments.",
        list(tags),
        surfaces,
        {"media_interest": rng.random() < 0.1},
        reach=reach,
    )


FLOW = [Status.TRIAGED, Status.INVESTIGATING, Status.MITIGATING, Status.MONITORING, Status.RESOLVED, Status.CLOSED]


def _target_status(rng: random.Random, age_days: float) -> str:
    if age_days > 21:
        return rng.choices([Status.CLOSED, Status.RESOLVED, Status.DECLINED, Status.MONITORING], weights=[55, 30, 10, 5])[0]
    if age_days > 5:
        return rng.choices(
            [Status.RESOLVED, Status.CLOSED, Status.MONITORING, Status.MITIGATING, Status.INVESTIGATING, Status.DECLINED],
            weights=[30, 15, 15, 15, 15, 10],
        )[0]
    return rng.choices(
        [Status.NEW, Status.TRIAGED, Status.INVESTIGATING, Status.MITIGATING, Status.MONITORING, Status.RESOLVED],
        weights=[20, 20, 25, 15, 10, 10],
    )[0]


COMMENTS = [
    "Confirmed the pattern on {n} uploads; queued for bulk removal.",
    "Policy view: this violates the dangerous acts policy, no newsworthiness exception.",
    "Legal: the order is valid; keep removed content for six months.",
    "Comms holding line drafted; waiting for Legal approval.",
    "Search intervention live for the hashtag family (**{n}** variants).",
    "Translation of the original report attached below.",
    "Handing off to the next shift: open items are the appeal queue and the partner reply.",
]


def _reserve_references(years: list[int]) -> dict[int, int]:
    """Reserve a block of numbers per year at once; returns the first number of each block."""
    first: dict[int, int] = {}
    counts: dict[int, int] = {}
    for y in years:
        counts[y] = counts.get(y, 0) + 1
    with connection.cursor() as cursor:
        for year, count in counts.items():
            cursor.execute(
                "INSERT INTO incidents_referencesequence (year, last) VALUES (%s, %s) "
                "ON CONFLICT (year) DO UPDATE SET last = incidents_referencesequence.last + EXCLUDED.last RETURNING last",
                [year, count],
            )
            first[year] = cursor.fetchone()[0] - count + 1
    return first


def _history(
    *,
    rng: random.Random,
    now: datetime,
    users: dict[str, Any],
    categories: dict[str, HarmCategory],
    compartments: dict[str, Compartment],
    teams: list[Team],
) -> int:
    commanders = [u for u in (users.get("manager"), users.get("lead"), users.get("responder")) if u is not None]
    cleared = [u for u in (users.get("manager"), users.get("lead")) if u is not None]
    rows: list[tuple[Incident, Spec, str, datetime]] = []
    for _ in range(HISTORY_COUNT):
        age = rng.random() ** 1.4 * HISTORY_DAYS
        created = now - timedelta(days=age, minutes=rng.randint(0, 600))
        spec = _spec(rng, now, created)
        rows.append((Incident(), spec, _target_status(rng, age), created))
    rows.sort(key=lambda r: r[3])
    numbers = _reserve_references([r[3].year for r in rows])

    incidents: list[Incident] = []
    for incident, spec, status, created in rows:
        year = created.year
        incident.reference = f"INC-{year}-{numbers[year]:05d}"
        numbers[year] += 1
        code, _name, lang = spec.country
        received = created - timedelta(minutes=rng.randint(2, 180))
        incident.title = spec.title
        incident.summary = spec.summary
        incident.channel = spec.channel
        incident.severity = spec.severity
        incident.status = status
        incident.harm_category = categories[spec.category]
        incident.region = spec.region
        incident.countries = [code]
        incident.languages = sorted({lang, "en"})
        incident.surfaces = spec.surfaces
        incident.hashtags = spec.hashtags
        incident.keywords = []
        incident.reach_views = spec.reach
        incident.content_items = [{"url": f"https://video.example/v/{rng.randint(10**8, 10**9)}"} for _ in range(rng.randint(0, 3))]
        for flag, value in spec.flags.items():
            setattr(incident, flag, value)
        incident.compartment = compartments.get(spec.compartment) if spec.compartment else None
        pool = cleared if incident.compartment else commanders
        incident.commander = rng.choice(pool) if pool and status != Status.NEW else None
        incident.team = rng.choice(teams) if teams else None
        incident.intake_details = {**spec.details, DEMO_MARKER: True}
        incident.created_by = users.get("manager")
        incident.first_signal_at = received - timedelta(minutes=rng.randint(0, 240))
        incident.received_at = received
        incident.created_at = created
        incident.legal_hold = spec.compartment == "csea" or spec.channel == "regulator_order" and rng.random() < 0.3
        t = created + timedelta(minutes=rng.randint(3, 40))
        if status != Status.NEW:
            incident.acknowledged_at = t
        path = FLOW[: FLOW.index(status) + 1] if status in FLOW else [Status.TRIAGED, Status.DECLINED]
        moments: list[tuple[str, datetime]] = []
        for step in path:
            t = t + timedelta(minutes=rng.randint(10, 60 * 24 if step in (Status.RESOLVED, Status.CLOSED) else 240))
            moments.append((step, min(t, now - timedelta(minutes=1))))
        for step, at in moments:
            field_name = {
                Status.TRIAGED: "triaged_at",
                Status.MONITORING: "mitigated_at",
                Status.RESOLVED: "resolved_at",
                Status.CLOSED: "closed_at",
            }.get(step)
            if field_name:
                setattr(incident, field_name, at)
        if status in (Status.RESOLVED, Status.CLOSED):
            incident.resolution_summary = "Violating content removed, hashtag family blocked in search, partner informed."
        incident._demo_moments = moments  # type: ignore[attr-defined]
        incidents.append(incident)

    Incident.objects.bulk_create(incidents, batch_size=200)
    cycles, events, participants, comments, snapshots = [], [], [], [], []
    for incident in incidents:
        moments = incident._demo_moments  # type: ignore[attr-defined]
        cycles.append(
            IncidentCycle(
                incident=incident,
                number=1,
                started_at=incident.created_at,
                acknowledged_at=incident.acknowledged_at,
                triaged_at=incident.triaged_at,
                mitigated_at=incident.mitigated_at,
                resolved_at=incident.resolved_at,
                closed_at=incident.closed_at,
            )
        )
        actor = incident.commander or incident.created_by
        events.append(
            TimelineEvent(
                incident=incident,
                at=incident.created_at,
                kind=TimelineKind.CREATED,
                actor=incident.created_by,
                summary=f"Declared via {incident.get_channel_display()} as SEV{incident.severity}",
                data={"channel": incident.channel, "severity": incident.severity},
            )
        )
        if incident.acknowledged_at:
            events.append(
                TimelineEvent(
                    incident=incident, at=incident.acknowledged_at, kind=TimelineKind.ACKNOWLEDGED, actor=actor, summary="Acknowledged"
                )
            )
        before = Status.NEW
        for step, at in moments:
            events.append(
                TimelineEvent(
                    incident=incident,
                    at=at,
                    kind=TimelineKind.STATUS_CHANGED,
                    actor=actor,
                    summary=f"Status {before} → {step}",
                    data={"from": before, "to": step, "reason": "", "cycle": 1},
                )
            )
            before = step
        if incident.commander:
            participants.append(
                Participant(incident=incident, user=incident.commander, role=ParticipantRole.COMMANDER, added_by=incident.created_by)
            )
        for i in range(rng.randint(0, 3)):
            body = rng.choice(COMMENTS).format(n=rng.randint(3, 300))
            author = rng.choice(cleared if incident.compartment else list(users.values()))
            comments.append(
                Comment(incident=incident, author=author, body=body, body_html=services.render_markdown(body), visibility="internal")
            )
            events.append(
                TimelineEvent(
                    incident=incident,
                    at=min(incident.created_at + timedelta(minutes=30 * (i + 1)), now),
                    kind=TimelineKind.COMMENT,
                    actor=author,
                    summary=f"{author.username} commented (internal)",
                )
            )
        if incident.reach_views:
            steps = rng.randint(2, 4)
            snapshots.extend(
                ReachSnapshot(
                    incident=incident, at=incident.created_at + timedelta(hours=k * 2), views=int(incident.reach_views * (k + 1) / steps)
                )
                for k in range(steps)
            )
    IncidentCycle.objects.bulk_create(cycles, batch_size=500)
    TimelineEvent.objects.bulk_create(sorted(events, key=lambda e: e.at), batch_size=1000)
    Participant.objects.bulk_create(participants, batch_size=500)
    Comment.objects.bulk_create(comments, batch_size=500)
    ReachSnapshot.objects.bulk_create(snapshots, batch_size=1000)
    services.search_vector_refresh_many([i.pk for i in incidents])
    return len(incidents)


LIVE = [
    dict(
        title="Dangerous #blackoutchallenge trending among minors in Ireland",
        channel="user_report_spike",
        harm_category="dangerous-challenges",
        region="emea",
        countries=["IE", "GB"],
        surfaces=["video", "live", "search"],
        hashtags=["#BlackoutChallenge"],
        minors_involved=True,
        reach_views=2_400_000,
        summary="Report volume on challenge videos tripled in two hours; several uploads from accounts that look under 16.",
    ),
    dict(
        title="TCO removal order from Bundeskriminalamt: re-uploaded attack livestream",
        channel="regulator_order",
        harm_category="violent-extremism",
        region="emea",
        countries=["DE"],
        surfaces=["video", "live"],
        intake_details={
            "authority": "Bundeskriminalamt (DE)",
            "legal_instrument": "Regulation (EU) 2021/784 (TCO) Art. 3",
            "order_reference": "BKA-TCO-7731",
        },
        summary="Removal order for 14 URLs; one-hour clock from receipt.",
    ),
    dict(
        title="eSafety removal notice: cyberbullying of an Australian teen",
        channel="regulator_order",
        harm_category="harassment",
        region="apac",
        countries=["AU"],
        surfaces=["comments", "dms"],
        minors_involved=True,
        intake_details={
            "authority": "eSafety Commissioner (AU)",
            "legal_instrument": "Online Safety Act 2021 s. 65",
            "order_reference": "ESC-2026-0412",
        },
        summary="Notice covers 6 posts and 2 accounts; 24-hour clock.",
    ),
    dict(
        title="Media inquiry from The Daily Example about the #sh4d0w self-harm hashtag",
        channel="media_inquiry",
        harm_category="self-harm",
        region="emea",
        countries=["GB"],
        surfaces=["search"],
        hashtags=["#sh4d0w"],
        intake_details={"outlet": "The Daily Example", "reporter": "Maya (health desk)"},
        summary="Reporter asks why the hashtag is still searchable; publishing tonight.",
    ),
    dict(
        title="Trusted-flagger report: scam network impersonating a parcel carrier",
        channel="trusted_flagger",
        harm_category="fraud-scams",
        region="emea",
        countries=["PL", "DE"],
        surfaces=["dms", "ads"],
        hashtags=["#paczka"],
        intake_details={"partner": "Consumer Watch Example", "case_reference": "TF-58211"},
        summary="212 accounts send fake delivery-fee links; partner attached a spreadsheet of handles.",
    ),
    dict(
        title="CSEA case: grooming network moving minors to DMs",
        channel="law_enforcement",
        harm_category="csea",
        region="amer",
        countries=["US"],
        surfaces=["dms", "live"],
        minors_involved=True,
        compartment="csea",
        intake_details={"agency": "NCMEC"},
        summary="Hashes and platform references only. Report to NCMEC CyberTipline pending.",
    ),
    dict(
        title="Election misinformation about polling-station closures in Brazil",
        channel="internal_detection",
        harm_category="civic-integrity",
        region="amer",
        countries=["BR"],
        languages=["pt-BR"],
        surfaces=["video", "search"],
        hashtags=["#eleicoes"],
        reach_views=900_000,
        summary="Videos claim polling stations in São Paulo are closed; some use the electoral court's logo.",
    ),
    dict(
        title="Doxxing of a journalist after a viral live stream",
        channel="employee_escalation",
        harm_category="privacy-doxxing",
        region="emea",
        countries=["FR"],
        surfaces=["live", "comments"],
        imminent_risk=True,
        summary="Home address posted in comments under a live; threats escalating.",
    ),
    dict(
        title="India IT Rules order: deepfake video of a minister",
        channel="regulator_order",
        harm_category="misinformation",
        region="apac",
        countries=["IN"],
        surfaces=["video"],
        intake_details={
            "authority": "MeitY (IN)",
            "legal_instrument": "IT Rules 2021 r. 3(1)(d) as amended 2026",
            "order_reference": "MEITY-2026-331",
        },
        summary="Three-hour clock under the 2026 amendment.",
    ),
    dict(
        title="Spike in reports: deepfake celebrity crypto giveaway",
        channel="user_report_spike",
        harm_category="fraud-scams",
        region="global",
        countries=["US", "GB", "SG"],
        surfaces=["video", "ads"],
        hashtags=["#giveaway"],
        reach_views=350_000,
        summary="Ads and videos use a cloned voice of a famous founder.",
    ),
    dict(
        title="Coordinated hate raid on creators' comments in Spain",
        channel="user_report_spike",
        harm_category="hate-speech",
        region="emea",
        countries=["ES"],
        languages=["es"],
        surfaces=["comments"],
        summary="Hundreds of new accounts posting slurs under LGBTQ+ creators' videos.",
    ),
    dict(
        title="Adults contacting minors through live gifts in the Philippines",
        channel="internal_detection",
        harm_category="minor-safety",
        region="apac",
        countries=["PH"],
        surfaces=["live", "dms"],
        minors_involved=True,
        summary="Gift pattern detector fired on 40 adult accounts.",
    ),
]


def _live(*, rng: random.Random, now: datetime, users: dict[str, Any]) -> int:
    manager = users["manager"]
    made = 0
    for index, data in enumerate(LIVE[:LIVE_COUNT]):
        data = dict(data)
        if data["channel"] == "regulator_order":
            data["received_at"] = now - timedelta(minutes=rng.randint(5, 50))
        if data["channel"] == "media_inquiry":
            data["intake_details"] = {**data["intake_details"], "reporter_deadline": (now + timedelta(hours=5)).isoformat()}
        data["intake_details"] = {**data.get("intake_details", {}), DEMO_MARKER: True}
        if data.get("compartment") and not Compartment.objects.filter(slug=data["compartment"]).exists():
            data.pop("compartment")
        incident = services.incident_create(actor=manager, data=data)
        made += 1
        if index % 3 == 0:
            continue  # stays new, waiting in the queue
        commander = (
            users.get("lead") if incident.compartment_id else rng.choice([u for u in (users.get("manager"), users.get("responder")) if u])
        )
        incident = services.incident_assign_commander(actor=manager, incident=incident, user=commander)
        incident = services.incident_transition(actor=manager, incident=incident, to=Status.TRIAGED)
        if index % 3 == 2:
            incident = services.incident_transition(actor=manager, incident=incident, to=Status.INVESTIGATING)
            services.comment_create(
                actor=commander, incident=incident, body="Taking this one. First removals **in progress**; @manager FYI."
            )
        if index == 1:
            services.incident_set_flags(
                actor=manager,
                incident=incident,
                flags={"waiting_on_external": True},
                reason="Waiting for the authority to confirm two URLs",
            )
    return made


def seed(*, stdout: TextIO, rng: random.Random, now: datetime) -> None:
    if Incident.objects.filter(**{f"intake_details__{DEMO_MARKER}": True}).exists():
        stdout.write("incidents: demo incidents already present, skipped\n")
        return
    users = {u.username: u for u in User.objects.filter(username__in=["manager", "reviewer", "responder", "lead", "analyst"])}
    if "manager" not in users:
        stdout.write("incidents: demo users missing, skipped\n")
        return
    categories = {c.slug: c for c in HarmCategory.objects.all()}
    compartments = {c.slug: c for c in Compartment.objects.all()}
    teams = list(Team.objects.filter(function="rapid response"))
    history = _history(rng=rng, now=now, users=users, categories=categories, compartments=compartments, teams=teams)
    live = _live(rng=rng, now=now, users=users)
    open_count = Incident.objects.open().count()
    stdout.write(
        f"incidents: {history + live} demo incidents ({history} history, {live} live; {open_count} open), severities {sorted(Severity.values)}\n"
    )
