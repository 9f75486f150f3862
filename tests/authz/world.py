"""One world for the whole matrix, built through the services: a reader per role and
relationship, the incidents they stand in that relationship to, and on each incident a
post-mortem in review, an outbound stakeholder update awaiting approval and a page to the
incident's owner."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import Clearance
from tests.accounts.factories import CompartmentFactory, UserFactory

from .expectations import RELATIONSHIPS, ROLES, TOKEN_RELATIONSHIPS, TOKEN_ROLES


@dataclass
class Target:
    incident: Any
    word: str  # a word only this incident's title holds (search probes)
    postmortem: Any = None
    update: Any = None
    page: Any = None


@dataclass
class World:
    owner: Any
    invitee: Any
    users: dict[tuple[str, str], Any] = field(default_factory=dict)
    targets: dict[str, Target] = field(default_factory=dict)  # "shared", "open", "cmd-<role>"
    tokens: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (role, relationship, scope) -> plaintext
    sessions: dict[tuple[str, str], str] = field(default_factory=dict)  # (role, relationship) -> session key

    def user(self, role: str, relationship: str):
        return self.users[(role, relationship)]

    def target(self, role: str, relationship: str) -> Target:
        if relationship == "commander":
            return self.targets[f"cmd-{role}"]
        if relationship == "unrestricted":
            return self.targets["open"]
        return self.targets["shared"]


def _ensure_reference_rows() -> None:
    from incidents.models import HarmCategory
    from postmortems.services import policy_current

    if not HarmCategory.objects.exists():
        importlib.import_module("incidents.migrations.0002_harm_categories").seed(apps, None)
    policy_current()


def _user(username: str, role: str | None):
    kwargs = {"is_staff": True, "is_superuser": True} if role == "admin" else {}
    user = UserFactory(username=username, **kwargs)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def build() -> World:
    from accounts.services import api_token_create
    from escalations import engine
    from escalations.models import Page
    from incidents.services import comment_create, incident_add_participant, incident_create, incident_grant_access
    from incidents.services_collab import stakeholder_update_create
    from postmortems.services import postmortem_start
    from tests.escalations.factories_paging import email_for, make_policy, webhook_for
    from tests.postmortems.factories import fill_and_submit

    _ensure_reference_rows()
    csea = CompartmentFactory(slug="csea", name="Child safety (CSEA)")
    owner = _user("authz-owner", "incident_manager")
    Clearance.objects.create(user=owner, compartment=csea, reason="owner")
    invitee = _user("authz-invitee", "reviewer")
    world = World(owner=owner, invitee=invitee)
    make_policy("Authz owner", steps=[(5, [("user", owner.pk)])], rules=[{"max_severity": 4}])
    # Outgoing pages by mail and by webhook too, so their payloads can be read for leaks.
    email_for(owner, "owner@example.org")
    webhook_for(owner, "http://127.0.0.1:9/hook", fmt="generic")

    for role in ROLES:
        for rel in RELATIONSHIPS:
            user = _user(f"authz-{role}-{rel}", role)
            if rel in ("commander", "participant", "cleared"):
                Clearance.objects.create(user=user, compartment=csea, reason="matrix")
            world.users[(role, rel)] = user

    def declare(word: str, *, restricted: bool, commander) -> Target:
        data = {
            "title": f"Network sharing links {word}",
            "summary": f"Restricted detail {word}summary handled with NCMEC." if restricted else "Public detail.",
            "channel": "internal_detection",
            "harm_category": "csea" if restricted else "dangerous-challenges",
            "severity": 2,
            "commander": commander.username,
        }
        if restricted:
            data["compartment"] = "csea"
        incident = incident_create(actor=owner, data=data)
        return Target(incident=incident, word=word)

    world.targets["shared"] = declare("kestrelshared", restricted=True, commander=owner)
    world.targets["open"] = declare("kestrelopen", restricted=False, commander=owner)
    for role in ROLES:
        world.targets[f"cmd-{role}"] = declare(
            f"kestrelcmd{role.replace('_', '')}", restricted=True, commander=world.user(role, "commander")
        )

    shared = world.targets["shared"].incident
    for role in ROLES:
        incident_add_participant(actor=owner, incident=shared, user=world.user(role, "participant"))
        incident_grant_access(actor=owner, incident=shared, user=world.user(role, "granted"), reason="matrix")

    for target in world.targets.values():
        incident = target.incident
        incident.refresh_from_db()
        postmortem = postmortem_start(actor=owner, incident=incident, owner=owner)
        target.postmortem = fill_and_submit(postmortem, owner)
        target.update = stakeholder_update_create(
            actor=owner, incident=incident, audience="regulator", recipient="NCMEC", body=f"Report {target.word}."
        )

    # Everyone in the matrix is mentioned on every incident: only readers who may see it are notified.
    mentions = " ".join(f"@{u.username}" for u in world.users.values())
    for target in world.targets.values():
        comment_create(actor=owner, incident=target.incident, body=f"Heads up {mentions}")

    engine.tick(timezone.now() + timedelta(minutes=10))
    for target in world.targets.values():
        target.incident.refresh_from_db()
        target.update.refresh_from_db()
        target.postmortem.refresh_from_db()
        target.page = Page.objects.filter(incident=target.incident, recipient=owner).order_by("id").first()
        assert target.page is not None, f"no page for {target.incident.reference}"

    from django.test import Client

    for key, user in world.users.items():
        client = Client()
        client.force_login(user)
        world.sessions[key] = client.session.session_key

    for role, scopes in TOKEN_ROLES.items():
        for rel in TOKEN_RELATIONSHIPS:
            holder = world.user(role, rel)
            for scope in scopes:
                _token, plaintext = api_token_create(actor=holder, user=holder, name=f"matrix {scope}", scopes=[scope])
                world.tokens[(role, rel, scope)] = plaintext
    return world
