import importlib

import pytest
from django.apps import apps

from accounts.models import Clearance
from incidents.services import incident_create, incident_transition, timeline_add_key_moment
from postmortems.services import policy_current
from tests.accounts.factories import CompartmentFactory


def ensure_harm_categories() -> None:
    """Browser tests flush the database (data-migration rows included); put the taxonomy back."""
    from incidents.models import HarmCategory

    if not HarmCategory.objects.exists():
        importlib.import_module("incidents.migrations.0002_harm_categories").seed(apps, None)
    policy_current()  # the default policy row, also a data-migration row


@pytest.fixture(autouse=True)
def _harm_categories(db):
    ensure_harm_categories()


def incident_data(**overrides):
    data = {
        "title": "Dangerous blackout challenge trending among minors",
        "summary": "Videos encouraging the challenge are spreading fast in DE and FR.",
        "channel": "internal_detection",
        "harm_category": "dangerous-challenges",
        "region": "emea",
        "countries": ["DE", "FR"],
        "languages": ["de", "fr"],
        "surfaces": ["video"],
        "reach_views": 1_250_000,
        "severity": 1,
    }
    data.update(overrides)
    return data


def resolve(actor, incident):
    incident = incident_transition(actor=actor, incident=incident, to="investigating")
    return incident_transition(actor=actor, incident=incident, to="resolved", resolution_summary="Content removed, hashtag blocked.")


@pytest.fixture
def make_incident(manager):
    def make(actor=None, **overrides):
        return incident_create(actor=actor or manager, data=incident_data(commander=(actor or manager).pk, **overrides))

    return make


@pytest.fixture
def make_resolved(manager, make_incident):
    """A resolved incident (with a key moment), so its required post-mortem exists."""

    def make(actor=None, **overrides):
        actor = actor or manager
        incident = make_incident(actor=actor, **overrides)
        timeline_add_key_moment(actor=actor, incident=incident, summary="Hashtag blocked in search", at=incident.created_at)
        return resolve(actor, incident)

    return make


@pytest.fixture
def postmortem(make_resolved):
    return make_resolved().postmortem


@pytest.fixture
def csea():
    return CompartmentFactory(slug="csea", name="Child safety (CSEA)")


@pytest.fixture
def csea_postmortem(manager, csea, make_resolved):
    Clearance.objects.create(user=manager, compartment=csea, reason="rapid response lead")
    incident = make_resolved(
        title="CSEA network sharing links via DMs", harm_category="csea", compartment="csea", summary="Restricted case handled with NCMEC."
    )
    return incident.postmortem
