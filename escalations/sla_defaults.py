"""The shipped legal and regulatory clocks (DESIGN.md reference table) and the default
SLA policies, as data. Migration 0005 writes them; after a flush (transactional tests)
``post_migrate`` puts back what is missing. Nothing here overwrites an admin's edits:
clocks are created by code only when absent, and the default policies only when there
is no SLA policy at all.

Every clock names its citation and official source. Where the law sets no time
("promptly", "without undue delay", "as soon as reasonably possible") the duration is
an internal target (24 hours, ``internal_target=True``), labelled so, for admins to
change. India's takedown window is versioned: 36 hours until 20 February 2026, 3 hours
from then. NetzDG ships with an end date (replaced by the DSA and the DDG in May 2024)
as the example of a clock no longer in force.
"""

from datetime import UTC, datetime, timedelta, timezone

IST = timezone(timedelta(hours=5, minutes=30))
CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))
H = timedelta(hours=1)
INTERNAL = "Internal target, not the law: the instrument says {words}; 24 hours is our default for admins to set."


def d(year, month, day, tz=UTC):
    return datetime(year, month, day, tzinfo=tz)


CLOCKS = [
    {
        "code": "eu-tco-removal-order",
        "jurisdiction": "European Union",
        "instrument": "Terrorist Content Online Regulation (EU) 2021/784",
        "trigger": "Removal order from a competent authority",
        "citation": "Regulation (EU) 2021/784, Art. 3(3); preservation Art. 6",
        "source_url": "https://eur-lex.europa.eu/eli/reg/2021/784/oj",
        "stop_condition": "Content removed or access disabled in all Member States (inform the authority, Art. 3(6))",
        "notes": "Keep the removed content and related data for 6 months (Art. 6).",
        "versions": [(d(2022, 6, 7), None, 1 * H, "Remove or disable within one hour of receipt")],
    },
    {
        "code": "de-netzdg-manifestly-unlawful",
        "jurisdiction": "Germany",
        "instrument": "Netzwerkdurchsetzungsgesetz (NetzDG)",
        "trigger": "Complaint about manifestly unlawful content",
        "citation": "NetzDG § 3(2) no. 2",
        "source_url": "https://www.gesetze-im-internet.de/netzdg/__3.html",
        "stop_condition": "Content removed or access blocked; complainant informed",
        "notes": "Largely replaced by the DSA and the Digitale-Dienste-Gesetz (in force 14 May 2024): no longer in force.",
        "versions": [(d(2018, 1, 1, CET), d(2024, 5, 14, CEST), 24 * H, "24 hours for manifestly unlawful content")],
    },
    {
        "code": "de-netzdg-other-unlawful",
        "jurisdiction": "Germany",
        "instrument": "Netzwerkdurchsetzungsgesetz (NetzDG)",
        "trigger": "Complaint about (not manifestly) unlawful content",
        "citation": "NetzDG § 3(2) no. 3",
        "source_url": "https://www.gesetze-im-internet.de/netzdg/__3.html",
        "stop_condition": "Decision taken; content removed or access blocked if unlawful",
        "notes": "Largely replaced by the DSA and the Digitale-Dienste-Gesetz (in force 14 May 2024): no longer in force.",
        "versions": [(d(2018, 1, 1, CET), d(2024, 5, 14, CEST), 7 * 24 * H, "7 days for other unlawful content")],
    },
    {
        "code": "au-osa-removal-notice",
        "jurisdiction": "Australia",
        "instrument": "Online Safety Act 2021",
        "trigger": "eSafety Commissioner removal notice",
        "citation": "Online Safety Act 2021 (Cth) ss. 65, 77, 88, 109, 128",
        "source_url": "https://www.legislation.gov.au/C2021A00076/latest/text",
        "stop_condition": "Material removed or access ceased",
        "notes": "",
        "versions": [(d(2022, 1, 23), None, 24 * H, "24 hours after the notice is given")],
    },
    {
        "code": "us-take-it-down-ncii",
        "jurisdiction": "United States",
        "instrument": "TAKE IT DOWN Act (Pub. L. 119-12)",
        "trigger": "Valid removal request for non-consensual intimate imagery",
        "citation": "TAKE IT DOWN Act § 3 (47 U.S.C. 223a); platform duties from 19 May 2026",
        "source_url": "https://www.congress.gov/bill/119th-congress/senate-bill/146",
        "stop_condition": "Image removed, with known identical copies",
        "notes": "Platforms had one year from enactment (19 May 2025) to set up the process.",
        "versions": [(d(2026, 5, 19), None, 48 * H, "48 hours after a valid request")],
    },
    {
        "code": "uk-osa-s66-csea-report",
        "jurisdiction": "United Kingdom",
        "instrument": "Online Safety Act 2023",
        "trigger": "Detected, unreported child sexual exploitation and abuse content",
        "citation": "Online Safety Act 2023 s. 66 and the reporting regulations (in force 7 April 2026)",
        "source_url": "https://www.legislation.gov.uk/ukpga/2023/50/section/66",
        "stop_condition": "Report filed with the National Crime Agency, with its reference number",
        "internal_target": True,
        "notes": INTERNAL.format(words='to report to the NCA (no fixed time in the Act); "as soon as reasonably practicable"'),
        "versions": [(d(2026, 4, 7), None, 24 * H, "Internal target: report to the NCA")],
    },
    {
        "code": "eu-dsa-art9-order",
        "jurisdiction": "European Union",
        "instrument": "Digital Services Act (EU) 2022/2065",
        "trigger": "Order from a national authority to act against illegal content",
        "citation": "Regulation (EU) 2022/2065, Art. 9(1)",
        "source_url": "https://eur-lex.europa.eu/eli/reg/2022/2065/oj",
        "stop_condition": "Authority informed of the effect given to the order",
        "internal_target": True,
        "notes": INTERNAL.format(words='"without undue delay"'),
        "versions": [(d(2024, 2, 17), None, 24 * H, "Internal target: inform the authority")],
    },
    {
        "code": "eu-dsa-art10-info-order",
        "jurisdiction": "European Union",
        "instrument": "Digital Services Act (EU) 2022/2065",
        "trigger": "Order from a national authority to provide information",
        "citation": "Regulation (EU) 2022/2065, Art. 10(1)",
        "source_url": "https://eur-lex.europa.eu/eli/reg/2022/2065/oj",
        "stop_condition": "Answer sent: authority informed of receipt and the effect given",
        "internal_target": True,
        "notes": INTERNAL.format(words='"without undue delay"'),
        "versions": [(d(2024, 2, 17), None, 24 * H, "Internal target: answer the authority")],
    },
    {
        "code": "eu-dsa-art22-trusted-flagger",
        "jurisdiction": "European Union",
        "instrument": "Digital Services Act (EU) 2022/2065",
        "trigger": "Notice from a trusted flagger",
        "citation": "Regulation (EU) 2022/2065, Art. 22(1)",
        "source_url": "https://eur-lex.europa.eu/eli/reg/2022/2065/oj",
        "stop_condition": "Notice decided (content actioned or declined) and flagger informed",
        "internal_target": True,
        "notes": INTERNAL.format(words='priority processing "without undue delay"'),
        "versions": [(d(2024, 2, 17), None, 24 * H, "Internal target: decide the notice")],
    },
    {
        "code": "eu-dsa-art18-threat-to-life",
        "jurisdiction": "European Union",
        "instrument": "Digital Services Act (EU) 2022/2065",
        "trigger": "Information giving rise to a suspicion of a criminal offence involving a threat to life or safety",
        "citation": "Regulation (EU) 2022/2065, Art. 18(1)",
        "source_url": "https://eur-lex.europa.eu/eli/reg/2022/2065/oj",
        "stop_condition": "Law enforcement or judicial authorities informed",
        "internal_target": True,
        "notes": INTERNAL.format(words='"promptly"') + " Teams usually act within the hour; set it lower.",
        "versions": [(d(2024, 2, 17), None, 24 * H, "Internal target: inform the authorities")],
    },
    {
        "code": "in-it-rules-takedown",
        "jurisdiction": "India",
        "instrument": "Information Technology (Intermediary Guidelines and Digital Media Ethics Code) Rules, 2021",
        "trigger": "Court order or notice from the authorised government agency",
        "citation": "IT Rules 2021 r. 3(1)(d), as amended by G.S.R. 120(E) (in force 20 February 2026)",
        "source_url": "https://www.meity.gov.in/",
        "stop_condition": "Content removed or access disabled",
        "notes": "Orders received before 20 February 2026 (IST) keep the 36-hour window.",
        "versions": [
            (d(2021, 2, 25, IST), d(2026, 2, 20, IST), 36 * H, "36 hours (IT Rules 2021 as first made)"),
            (d(2026, 2, 20, IST), None, 3 * H, "3 hours (G.S.R. 120(E), 2026)"),
        ],
    },
    {
        "code": "in-it-rules-ncii",
        "jurisdiction": "India",
        "instrument": "Information Technology (Intermediary Guidelines and Digital Media Ethics Code) Rules, 2021",
        "trigger": "Complaint about non-consensual intimate imagery, including deepfake nudity",
        "citation": "IT Rules 2021 r. 3(2)(b), as amended by G.S.R. 120(E) (in force 20 February 2026)",
        "source_url": "https://www.meity.gov.in/",
        "stop_condition": "Content removed or access disabled",
        "notes": "",
        "versions": [
            (d(2021, 2, 25, IST), d(2026, 2, 20, IST), 24 * H, "24 hours (IT Rules 2021 as first made)"),
            (d(2026, 2, 20, IST), None, 2 * H, "2 hours (G.S.R. 120(E), 2026)"),
        ],
    },
    {
        "code": "in-it-rules-grievance-ack",
        "jurisdiction": "India",
        "instrument": "Information Technology (Intermediary Guidelines and Digital Media Ethics Code) Rules, 2021",
        "trigger": "Grievance from a user",
        "citation": "IT Rules 2021 r. 3(2)(a), as amended by G.S.R. 120(E) (in force 20 February 2026)",
        "source_url": "https://www.meity.gov.in/",
        "stop_condition": "Grievance acknowledged (answer sent)",
        "notes": "",
        "versions": [(d(2026, 2, 20, IST), None, 7 * 24 * H, "Acknowledge within 7 days")],
    },
    {
        "code": "tr-5651-personal-rights",
        "jurisdiction": "Turkey",
        "instrument": "Law No. 5651 (as amended by Law No. 7253, 2020)",
        "trigger": "Application about personal rights or privacy, through the social network provider's representative",
        "citation": "Law No. 5651, Additional Art. 4(3)",
        "source_url": "https://www.mevzuat.gov.tr/mevzuatmetin/1.5.5651.pdf",
        "stop_condition": "Answer sent (with reasons if refused)",
        "notes": "",
        "versions": [(d(2020, 10, 1), None, 48 * H, "Answer within 48 hours")],
    },
    {
        "code": "tr-5651-art8a-urgent",
        "jurisdiction": "Turkey",
        "instrument": "Law No. 5651",
        "trigger": "Content-removal or access-blocking decision in urgent cases",
        "citation": "Law No. 5651, Art. 8/A",
        "source_url": "https://www.mevzuat.gov.tr/mevzuatmetin/1.5.5651.pdf",
        "stop_condition": "Content removed or access blocked",
        "notes": "",
        "versions": [(d(2015, 3, 27), None, 4 * H, "Comply within 4 hours")],
    },
    {
        "code": "us-2258a-ncmec-report",
        "jurisdiction": "United States",
        "instrument": "18 U.S.C. 2258A",
        "trigger": "Apparent child sexual abuse material",
        "citation": "18 U.S.C. 2258A(a); preservation 2258A(h) as amended by the REPORT Act (Pub. L. 118-59, May 2024)",
        "source_url": "https://www.law.cornell.edu/uscode/text/18/2258A",
        "stop_condition": "Report filed with the NCMEC CyberTipline, with its report number",
        "internal_target": True,
        "notes": INTERNAL.format(words='"as soon as reasonably possible"')
        + " Preserve the report's contents 1 year (90 days before the REPORT Act).",
        "versions": [(d(2008, 10, 13), None, 24 * H, "Internal target: report to NCMEC")],
    },
]

MIN = timedelta(minutes=1)
NOTIFY = ["notify_commander"]
BREACH = ["notify_commander", "propose_severity_raise"]

# name, rules, priority, targets: (metric, name, duration | None, legal clock code | None, start_from)
POLICIES = [
    (
        "Regulator order",
        "Orders and reports from governments and regulators. The order's own instrument picks the legal clock "
        "(version in force when it was received); 24 hours when the instrument is unknown.",
        {"channels": ["regulator_order"]},
        10,
        [
            ("acknowledge", "Time to acknowledge", 15 * MIN, None, "created_at"),
            ("authority_response", "Act on the order / answer the authority", 24 * H, None, "received_at"),
            ("mitigation", "Time to mitigation / removal", 4 * H, None, "received_at"),
        ],
    ),
    (
        "SEV1 regulator order",
        "A SEV1 incident opened from a regulator's order: the legal clock plus the SEV1 targets.",
        {"channels": ["regulator_order"], "severities": [1]},
        10,
        [
            ("acknowledge", "Time to acknowledge", 15 * MIN, None, "created_at"),
            ("authority_response", "Act on the order / answer the authority", 24 * H, None, "received_at"),
            ("mitigation", "Time to mitigation / removal", 1 * H, None, "received_at"),
            ("first_response", "Time to first response", 1 * H, None, "created_at"),
            ("resolution", "Time to resolution", 24 * H, None, "created_at"),
        ],
    ),
    (
        "Trusted flagger notice",
        "Notices from trusted flaggers get priority handling (DSA Art. 22).",
        {"channels": ["trusted_flagger"]},
        5,
        [
            ("acknowledge", "Time to acknowledge", 1 * H, None, "created_at"),
            ("authority_response", "Decide the trusted flagger's notice", None, "eu-dsa-art22-trusted-flagger", "received_at"),
        ],
    ),
    (
        "SEV1",
        "Highest severity: fast acknowledgement and mitigation.",
        {"severities": [1]},
        0,
        [
            ("acknowledge", "Time to acknowledge", 15 * MIN, None, "created_at"),
            ("triage", "Time to triage", 30 * MIN, None, "created_at"),
            ("first_response", "Time to first response", 1 * H, None, "created_at"),
            ("mitigation", "Time to mitigation / removal", 4 * H, None, "created_at"),
            ("resolution", "Time to resolution", 24 * H, None, "created_at"),
            ("postmortem", "Post-mortem due", 5 * 24 * H, None, "created_at"),
        ],
    ),
    (
        "SEV2",
        "High severity.",
        {"severities": [2]},
        0,
        [
            ("acknowledge", "Time to acknowledge", 30 * MIN, None, "created_at"),
            ("triage", "Time to triage", 1 * H, None, "created_at"),
            ("mitigation", "Time to mitigation / removal", 8 * H, None, "created_at"),
            ("resolution", "Time to resolution", 3 * 24 * H, None, "created_at"),
            ("postmortem", "Post-mortem due", 10 * 24 * H, None, "created_at"),
        ],
    ),
    (
        "Default",
        "Every other incident.",
        {},
        0,
        [
            ("acknowledge", "Time to acknowledge", 4 * H, None, "created_at"),
            ("triage", "Time to triage", 8 * H, None, "created_at"),
            ("resolution", "Time to resolution", 14 * 24 * H, None, "created_at"),
        ],
    ),
]


def ensure(apps=None, using: str = "default") -> None:
    """Create the missing legal clocks (with their versions) and, on an empty policy table,
    the default policies. ``apps`` is the migration state's registry, or None for the live one."""
    if apps is None:
        from django.apps import apps as live_apps

        apps = live_apps
    LegalClock = apps.get_model("escalations", "LegalClock")  # noqa: N806
    LegalClockVersion = apps.get_model("escalations", "LegalClockVersion")  # noqa: N806
    SLAPolicy = apps.get_model("escalations", "SLAPolicy")  # noqa: N806
    SLATarget = apps.get_model("escalations", "SLATarget")  # noqa: N806
    for row in CLOCKS:
        fields = dict(row)
        versions = fields.pop("versions")
        clock, created = LegalClock.objects.using(using).get_or_create(code=fields["code"], defaults=fields)
        if created:
            for start, until, duration, description in versions:
                LegalClockVersion.objects.using(using).create(
                    legal_clock=clock, effective_from=start, effective_until=until, duration=duration, description=description
                )
    if SLAPolicy.objects.using(using).exists():
        return
    clocks = {c.code: c for c in LegalClock.objects.using(using).all()}
    for name, description, rules, priority, targets in POLICIES:
        policy = SLAPolicy.objects.using(using).create(name=name, description=description, priority=priority, **rules)
        for metric, target_name, duration, legal_code, start_from in targets:
            SLATarget.objects.using(using).create(
                policy=policy,
                metric=metric,
                name=target_name,
                duration=duration,
                legal_clock=clocks.get(legal_code) if legal_code else None,
                start_from=start_from,
                warn_pct=75,
                # A legal deadline does not stop because we wait on someone; an acknowledgement is ours alone.
                pause_when_waiting=metric not in ("acknowledge", "authority_response"),
                on_warning=NOTIFY,
                on_breach=BREACH if metric in ("acknowledge", "authority_response", "mitigation") else NOTIFY,
            )


def remove(apps, using: str = "default") -> None:
    apps.get_model("escalations", "SLAPolicy").objects.using(using).filter(name__in=[p[0] for p in POLICIES]).delete()
    apps.get_model("escalations", "LegalClock").objects.using(using).filter(code__in=[c["code"] for c in CLOCKS]).delete()
