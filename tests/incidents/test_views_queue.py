"""The triage queue page, its polled rows partial, row actions, bulk assign and saved views."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Incident, SavedView
from incidents.services import incident_assign_commander, incident_create, incident_transition
from tests.incidents.conftest import incident_data
from tests.incidents.factories import IncidentFactory
from tests.shared_fixtures import hostile_inputs

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
HOSTILE = hostile_inputs(printable_only=True)


@pytest.fixture
def signed_in(client, manager):
    client.force_login(manager)
    return client


def _refs(response):
    return re.findall(r'<th scope="row"><a href="[^"]+">(INC-[0-9-]+)</a>', response.content.decode())


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_queue_lists_open_incidents_with_severity_text_and_heading(signed_in, make_incident, manager):
    open_one = make_incident(title="Open one")
    done = make_incident(title="Declined one")
    incident_transition(actor=manager, incident=done, to="declined", reason="Not a policy violation")

    response = signed_in.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Triage queue</h1>" in html
    assert _refs(response) == [open_one.reference]
    assert '<span class="sev sev-2">SEV2</span>' in html
    assert 'scope="col"' in html


def test_uncleared_reviewer_does_not_see_a_restricted_incident_in_the_queue_or_search(client, reviewer, csea_incident, incident):
    client.force_login(reviewer)

    assert _refs(client.get("/")) == [incident.reference]
    assert _refs(client.get("/", {"q": csea_incident.reference})) == []
    assert csea_incident.title not in client.get("/queue/rows/", {"q": "CSEA"}).content.decode()


def test_filters_mine_unassigned_severity_channel_and_search(signed_in, make_incident, manager, make_user):
    other = make_user("dana", role="incident_manager")
    mine = make_incident(title="Mine: hate raid on a creator")
    incident_assign_commander(actor=manager, incident=mine, user=manager)
    theirs = make_incident(title="Theirs: counterfeit medicine ads", severity=1, harm_category="illegal-goods")
    incident_assign_commander(actor=manager, incident=theirs, user=other)
    loose = make_incident(
        title="Unassigned regulator order",
        channel="regulator_order",
        severity=4,
        authority="Ofcom",
        legal_instrument="OSA s. 66",
        received_at="2026-01-01T10:00:00Z",
    )

    assert _refs(signed_in.get("/", {"commander": "me"})) == [mine.reference]
    assert _refs(signed_in.get("/", {"commander": "none"})) == [loose.reference]
    assert _refs(signed_in.get("/", {"severity": ["1", "2"], "commander": "dana"})) == [theirs.reference]
    assert _refs(signed_in.get("/", {"channel": "regulator_order"})) == [loose.reference]
    assert _refs(signed_in.get("/", {"q": "counterfeit"})) == [theirs.reference]
    assert _refs(signed_in.get("/", {"harm_category": "illegal-goods"})) == [theirs.reference]


def test_a_bad_filter_value_answers_400_with_a_message_in_the_page(signed_in):
    response = signed_in.get("/", {"severity": "9"})
    assert response.status_code == 400
    assert "severity" in response.content.decode()
    assert signed_in.get("/", {"sort": "nonsense"}).status_code == 400
    assert signed_in.get("/", {"cursor": "%%%not-a-cursor"}).status_code == 400


def test_keyset_pages_cover_every_row_once(signed_in):
    IncidentFactory.create_batch(53)

    first = signed_in.get("/", {"sort": "newest"})
    cursor = re.search(r'cursor=([A-Za-z0-9_-]+)" rel="next"', first.content.decode()).group(1)
    second = signed_in.get("/", {"sort": "newest", "cursor": cursor})

    assert len(_refs(first)) == 50
    assert len(_refs(second)) == 3
    assert not set(_refs(first)) & set(_refs(second))
    assert 'rel="next"' not in second.content.decode()


def _queue_queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_queue_query_count_is_pinned_and_does_not_grow_from_1_to_50_rows(signed_in, django_assert_num_queries, manager):
    one = IncidentFactory(commander=manager)
    signed_in.get("/")  # session and permission caches warm, as in a real browsing session
    # 13 for the page, plus one for the rows' nearest SLA deadlines (queue_deadlines provider)
    with django_assert_num_queries(14):
        signed_in.get("/")
    with django_assert_num_queries(11):
        signed_in.get("/queue/rows/")
    IncidentFactory.create_batch(49, commander=manager, harm_category=one.harm_category)
    assert len(_refs(signed_in.get("/"))) == 50
    with django_assert_num_queries(14):
        signed_in.get("/")
    with django_assert_num_queries(11):
        signed_in.get("/queue/rows/")


def test_polled_rows_answer_304_until_a_visible_row_changes(signed_in, incident, manager):
    first = signed_in.get("/queue/rows/", **HX)
    etag = first["ETag"]
    assert first.status_code == 200
    assert first["Cache-Control"] == "no-store"
    assert incident.reference in first.content.decode()

    unchanged = signed_in.get("/queue/rows/", HTTP_IF_NONE_MATCH=etag, **HX)
    assert unchanged.status_code == 304
    assert unchanged.content == b""

    incident_assign_commander(actor=manager, incident=incident, user=manager)
    changed = signed_in.get("/queue/rows/", HTTP_IF_NONE_MATCH=etag, **HX)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_assign_me_rerenders_the_row_with_the_new_commander(signed_in, incident, manager):
    response = signed_in.post(f"/queue/{incident.pk}/assign-me/", **HX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith(f'<tr id="inc-{incident.pk}"')
    assert '<td class="commander">manager</td>' in html
    incident.refresh_from_db()
    assert incident.commander_id == manager.pk


def test_roles_without_change_permission_get_403_on_row_actions(client, reviewer, incident):
    client.force_login(reviewer)
    assert client.post(f"/queue/{incident.pk}/assign-me/", **HX).status_code == 403
    assert client.post(f"/queue/{incident.pk}/triage/", {"action": "severity", "severity": 1, "reason": "x"}, **HX).status_code == 403
    assert client.post("/queue/bulk-assign/", {"ids": [incident.pk], "commander": "me"}, **HX).status_code == 403


def test_every_queue_surface_answers_404_for_an_incident_the_user_may_not_see(client, reviewer, csea_incident):
    client.force_login(reviewer)
    pk = csea_incident.pk
    assert client.get(f"/queue/{pk}/row/").status_code == 404
    assert client.get(f"/queue/{pk}/triage/").status_code == 404
    assert client.post(f"/queue/{pk}/triage/", {"action": "transition", "to": "triaged"}, **HX).status_code == 404
    assert client.post(f"/queue/{pk}/assign-me/", **HX).status_code == 404
    for response in (client.get(f"/queue/{pk}/row/"), client.get(f"/queue/{pk}/triage/")):
        assert csea_incident.title not in response.content.decode()


def test_triage_panel_shows_the_matrix_proposal_and_needs_a_reason_for_severity(signed_in, incident):
    panel = signed_in.get(f"/queue/{incident.pk}/triage/?focus=severity", **HX)
    assert panel.status_code == 200
    assert "Matrix proposes" in panel.content.decode()

    refused = signed_in.post(f"/queue/{incident.pk}/triage/", {"action": "severity", "severity": "1", "reason": ""}, **HX)
    assert refused.status_code == 422
    assert "This field is required." in refused.content.decode()
    incident.refresh_from_db()
    assert incident.severity == 2

    done = signed_in.post(
        f"/queue/{incident.pk}/triage/", {"action": "severity", "severity": "1", "reason": "Spreading among minors"}, **HX
    )
    assert done.status_code == 200
    assert done["HX-Trigger"] == "queue-changed"
    assert f'<tr id="inc-{incident.pk}"' in done.content.decode()
    assert 'hx-swap-oob="true"' in done.content.decode()
    incident.refresh_from_db()
    assert incident.severity == 1


def test_an_illegal_or_raced_transition_shows_the_reason_in_the_panel(signed_in, incident, manager):
    incident_transition(actor=manager, incident=incident, to="declined", reason="Duplicate report")

    response = signed_in.post(f"/queue/{incident.pk}/triage/", {"action": "transition", "to": "triaged", "version": "1"}, **HX)

    assert response.status_code == 409
    assert "changed since you loaded it" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "declined"


def test_triage_transition_moves_the_incident_and_rerenders_its_row(signed_in, incident):
    response = signed_in.post(f"/queue/{incident.pk}/triage/", {"action": "transition", "to": "triaged"}, **HX)
    assert response.status_code == 200
    assert "status is now Triaged" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "triaged"


def test_bulk_assign_assigns_all_or_none(signed_in, make_incident, make_user, csea_incident, manager):
    dana = make_user("dana", role="incident_manager")
    a, b = make_incident(title="First"), make_incident(title="Second")

    refused = signed_in.post("/queue/bulk-assign/", {"ids": [a.pk, csea_incident.pk], "commander": "dana"}, **HX)
    assert refused.status_code == 422
    assert "Nothing was assigned" in refused.content.decode()
    assert Incident.objects.filter(commander=dana).count() == 0

    done = signed_in.post("/queue/bulk-assign/", {"ids": [a.pk, b.pk], "commander": "dana"}, **HX)
    assert done.status_code == 200
    assert done["HX-Trigger"] == "queue-changed"
    assert set(Incident.objects.filter(commander=dana).values_list("pk", flat=True)) == {a.pk, b.pk}

    assert signed_in.post("/queue/bulk-assign/", {"commander": "me"}, **HX).status_code == 422


def test_saved_views_are_per_user_and_keep_only_filter_keys(signed_in, client, manager, reviewer):
    response = signed_in.post("/queue/views/", {"name": "EMEA SEV1", "query": "region=emea&severity=1&cursor=abc&evil=1"})
    assert response.status_code == 302
    view = SavedView.objects.get(user=manager)
    assert view.query == "severity=1&region=emea"
    page = signed_in.get("/").content.decode()
    assert "EMEA SEV1" in page
    for label in ("My incidents", "Unassigned SEV1/2", "Regulator orders"):
        assert label in page

    assert signed_in.post("/queue/views/", {"name": "EMEA SEV1", "query": ""}).status_code == 302
    assert SavedView.objects.filter(user=manager).count() == 1

    client.force_login(reviewer)
    assert "EMEA SEV1" not in client.get("/").content.decode()
    assert client.post(f"/queue/views/{view.pk}/delete/").status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_hostile_titles_render_escaped_in_the_queue(signed_in, manager):
    for text in HOSTILE:
        incident_create(actor=manager, data=incident_data(title=text[:300]))
    html = signed_in.get("/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "<svg/onload" not in html


def test_a_reader_sees_the_triage_panel_without_forms(client, reviewer, incident):
    client.force_login(reviewer)
    html = client.get(f"/queue/{incident.pk}/triage/", **HX).content.decode()
    assert "can read this incident but not triage it" in html
    assert "Set severity" not in html and "Change status" not in html
