import pytest

from accounts.models import Clearance
from incidents.services import incident_create
from tests.accounts.factories import CompartmentFactory


def incident_data(**overrides):
    data = {
        "title": "Dangerous blackout challenge trending among minors",
        "summary": "Videos encouraging the challenge are spreading fast in DE and FR.",
        "channel": "internal_detection",
        "harm_category": "dangerous-challenges",
        "region": "emea",
        "countries": ["DE", "FR"],
        "surfaces": ["video"],
        "hashtags": ["#BlackoutChallenge"],
        "severity": 2,
    }
    data.update(overrides)
    return data


@pytest.fixture
def make_incident(manager):
    def make(actor=None, **overrides):
        return incident_create(actor=actor or manager, data=incident_data(**overrides))

    return make


@pytest.fixture
def incident(make_incident):
    return make_incident()


@pytest.fixture
def csea():
    return CompartmentFactory(slug="csea", name="Child safety (CSEA)")


@pytest.fixture
def csea_incident(manager, csea):
    Clearance.objects.create(user=manager, compartment=csea, reason="rapid response lead")
    return incident_create(
        actor=manager,
        data=incident_data(
            title="CSEA network sharing links via DMs",
            harm_category="csea",
            compartment="csea",
            hashtags=["#csealinks"],
            content_items=["https://video.example/v/123"],
            summary="Restricted case handled with NCMEC.",
            commander="manager",
        ),
    )
