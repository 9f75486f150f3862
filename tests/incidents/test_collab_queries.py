"""List endpoints and partials run a fixed number of queries whatever the number of rows."""

import pytest
from django.utils import timezone

from accounts.models import User
from incidents.models_collab import Evidence, MitigationAction, StakeholderUpdate, Task

pytestmark = pytest.mark.django_db


def _fill(incident, author, rows):
    now = timezone.now()
    Task.objects.bulk_create(
        Task(incident=incident, title=f"Task {n}", assignee=author, created_by=author, created_at=now) for n in range(rows)
    )
    MitigationAction.objects.bulk_create(
        MitigationAction(incident=incident, kind="content_removed", count=n, countries=["DE"], at=now, actor=author) for n in range(rows)
    )
    StakeholderUpdate.objects.bulk_create(
        StakeholderUpdate(
            incident=incident, audience="regulator", recipient="Ofcom", body=f"Answer {n}", body_html=f"<p>Answer {n}</p>", author=author
        )
        for n in range(rows)
    )
    Evidence.objects.bulk_create(
        Evidence(incident=incident, kind="hash_only", sha256=f"{n:064x}", platform_id=f"v:{n}", created_by=author, graphic=n % 2 == 0)
        for n in range(rows)
    )


API_LISTS = ["tasks", "mitigations", "updates", "evidence"]
PARTIALS = ["tasks", "updates", "evidence"]

# Pinned counts: the caller's groups and permissions (2), the incident's visibility check (1)
# and one list query; partials add the session, the user, the form choices and the session save.
API_QUERIES = {"tasks": 4, "mitigations": 4, "updates": 4, "evidence": 4}
PARTIAL_QUERIES = {"tasks": 13, "updates": 12, "evidence": 10}


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize("name", API_LISTS)
def test_api_list_query_count_is_flat(api, incident, manager, django_assert_num_queries, rows, name):
    _fill(incident, manager, rows)
    client = api(User.objects.get(pk=manager.pk))
    url = f"/api/v1/incidents/{incident.pk}/{name}/?page_size=50"
    with django_assert_num_queries(API_QUERIES[name]):
        response = client.get(url)
    assert response.status_code == 200 and len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize("name", PARTIALS)
def test_partial_query_count_is_flat(client, incident, manager, django_assert_num_queries, rows, name):
    _fill(incident, manager, rows)
    client.force_login(manager)
    with django_assert_num_queries(PARTIAL_QUERIES[name]):
        response = client.get(f"/incidents/{incident.pk}/{name}/")
    assert response.status_code == 200
