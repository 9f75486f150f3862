import pytest
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError

from incidents.models import HarmCategory
from tests.incidents.factories import IncidentFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


def test_default_taxonomy_is_seeded_with_a_dsa_mapping():
    csea = HarmCategory.objects.get(slug="csea")
    assert csea.dsa_category == "protection_of_minors"
    assert csea.dsa_taxonomy_version == "2025-07-01"
    assert HarmCategory.objects.count() == 17


@pytest.mark.parametrize("statement", ["UPDATE incidents_timelineevent SET summary = 'x'", "DELETE FROM incidents_timelineevent"])
def test_timeline_rows_cannot_be_changed_or_removed(statement):
    TimelineEventFactory()
    with pytest.raises((InternalError, ProgrammingError), match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def test_factory_builds_a_reference():
    incident = IncidentFactory()
    assert incident.reference.startswith("INC-")
