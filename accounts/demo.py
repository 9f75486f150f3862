"""Demo people, teams and compartments for `manage.py seed_demo` (dev settings only).

Idempotent: users, teams and compartments are looked up by their natural keys, so a
second run changes nothing and keeps passwords and clearances that people changed.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import TextIO

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from accounts.models import Clearance, Compartment, Region, Team, TeamMembership, User

# username, display name, role, time zone, region, languages
DEMO_USERS = [
    ("manager", "Aoife Byrne", "incident_manager", "Europe/Dublin", Region.EMEA, ["en", "ga"]),
    ("reviewer", "Marcus Webb", "reviewer", "America/Chicago", Region.AMER, ["en", "es"]),
    ("responder", "Tan Wei Ling", "responder", "Asia/Singapore", Region.APAC, ["en", "zh", "ms"]),
    ("lead", "Sofia Alvarez", "lead", "America/Los_Angeles", Region.AMER, ["en", "es"]),
    ("analyst", "Niamh Kelly", "analyst", "Europe/Dublin", Region.EMEA, ["en", "de"]),
    ("admin", "Sam Okafor", "admin", "Europe/Dublin", Region.EMEA, ["en", "fr"]),
]

EXTRA_RESPONDERS = [
    ("cian.murphy", "Cian Murphy", "Europe/Dublin", Region.EMEA, ["en", "ga"]),
    ("lena.schmidt", "Lena Schmidt", "Europe/Dublin", Region.EMEA, ["de", "en"]),
    ("tomas.novak", "Tomáš Novák", "Europe/Dublin", Region.EMEA, ["cs", "en"]),
    ("amira.haddad", "Amira Haddad", "Europe/Dublin", Region.EMEA, ["ar", "fr", "en"]),
    ("raj.menon", "Raj Menon", "Asia/Singapore", Region.APAC, ["en", "hi", "ta"]),
    ("siti.rahman", "Siti Rahman", "Asia/Singapore", Region.APAC, ["ms", "id", "en"]),
    ("kenji.watanabe", "Kenji Watanabe", "Asia/Singapore", Region.APAC, ["ja", "en"]),
    ("minh.nguyen", "Nguyễn Minh", "Asia/Singapore", Region.APAC, ["vi", "en"]),
    ("jordan.reyes", "Jordan Reyes", "America/Los_Angeles", Region.AMER, ["en", "es"]),
    ("ana.costa", "Ana Costa", "America/Los_Angeles", Region.AMER, ["pt-BR", "es", "en"]),
    ("dwayne.brooks", "Dwayne Brooks", "America/Chicago", Region.AMER, ["en"]),
    ("emily.chen", "Emily Chen", "America/Chicago", Region.AMER, ["en", "zh"]),
]

# name, slug, function, region, time zone, members (lead first)
DEMO_TEAMS = [
    (
        "Rapid Response Dublin",
        "rapid-response-dublin",
        "rapid response",
        Region.EMEA,
        "Europe/Dublin",
        ["manager", "cian.murphy", "lena.schmidt", "tomas.novak", "amira.haddad"],
    ),
    (
        "Rapid Response Singapore",
        "rapid-response-singapore",
        "rapid response",
        Region.APAC,
        "Asia/Singapore",
        ["responder", "raj.menon", "siti.rahman", "kenji.watanabe", "minh.nguyen"],
    ),
    (
        "Rapid Response US",
        "rapid-response-us",
        "rapid response",
        Region.AMER,
        "America/Los_Angeles",
        ["lead", "jordan.reyes", "ana.costa", "dwayne.brooks", "emily.chen"],
    ),
    ("Public Policy", "public-policy", "policy", Region.GLOBAL, "Europe/Dublin", ["analyst", "amira.haddad", "raj.menon"]),
    ("Legal", "legal", "legal", Region.AMER, "America/Chicago", ["reviewer", "emily.chen"]),
    ("Comms", "comms", "comms", Region.GLOBAL, "Europe/Dublin", ["reviewer", "lena.schmidt", "ana.costa"]),
    ("Product", "product", "product", Region.AMER, "America/Los_Angeles", ["jordan.reyes", "kenji.watanabe"]),
    (
        "Trust & Safety Engineering",
        "ts-engineering",
        "engineering",
        Region.GLOBAL,
        "Europe/Dublin",
        ["admin", "tomas.novak", "minh.nguyen"],
    ),
]

# slug, name, description, owners
DEMO_COMPARTMENTS = [
    ("csea", "Child safety (CSEA)", "Child sexual exploitation and abuse cases: hashes and references only, never the material.", ["lead"]),
    ("usds", "US Data Security (USDS)", "Incidents whose data must stay with the US data-security team.", ["lead", "reviewer"]),
    ("legal-privileged", "Legal privileged", "Work under legal privilege: counsel decides who is cleared.", ["reviewer"]),
]

DEMO_CLEARANCES = [("manager", "csea"), ("lead", "csea")]


def seed(*, stdout: TextIO, rng: random.Random, now: datetime) -> None:
    # One hash for every demo account: hashing is deliberately slow and the password is public.
    encoded = make_password(settings.DEMO_PASSWORD)
    users: dict[str, User] = {}
    created = 0
    for username, display_name, role, tz, region, languages in DEMO_USERS:
        users[username], made = _user(username, display_name, tz, region, languages, encoded, is_admin=role == "admin")
        created += made
        users[username].groups.add(Group.objects.get_or_create(name=role)[0])
    responder_group = Group.objects.get_or_create(name="responder")[0]
    for username, display_name, tz, region, languages in EXTRA_RESPONDERS:
        users[username], made = _user(username, display_name, tz, region, languages, encoded)
        created += made
        users[username].groups.add(responder_group)

    for name, slug, function, region, tz, members in DEMO_TEAMS:
        team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": name, "function": function, "region": region, "time_zone": tz})
        for position, username in enumerate(members):
            TeamMembership.objects.get_or_create(team=team, user=users[username], defaults={"is_lead": position == 0})

    for slug, name, description, owners in DEMO_COMPARTMENTS:
        compartment, _ = Compartment.objects.get_or_create(slug=slug, defaults={"name": name, "description": description})
        compartment.owners.add(*(users[o] for o in owners))

    for username, slug in DEMO_CLEARANCES:
        compartment = Compartment.objects.get(slug=slug)
        if not Clearance.objects.active(at=now).filter(user=users[username], compartment=compartment).exists():
            Clearance.objects.create(
                user=users[username],
                compartment=compartment,
                granted_by=users["admin"],
                reason="Demo: rapid-response duty for this compartment.",
            )

    stdout.write(f"accounts: {len(users)} users ({created} new), {len(DEMO_TEAMS)} teams, {len(DEMO_COMPARTMENTS)} compartments\n")


def _user(username, display_name, tz, region, languages, encoded_password, *, is_admin=False) -> tuple[User, bool]:
    first, _, last = display_name.partition(" ")
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "display_name": display_name,
            "first_name": first,
            "last_name": last,
            "email": f"{username}@firebreak.example",
            "time_zone": tz,
            "region": region,
            "languages": languages,
            "password": encoded_password,
            "is_staff": is_admin,
            "is_superuser": is_admin,
        },
    )
    return user, created
