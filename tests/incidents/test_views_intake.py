"""The intake form, its duplicate check and severity proposal."""

import pytest

from incidents.models import Incident
from tests.shared_fixtures import hostile_inputs

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
HOSTILE = hostile_inputs(printable_only=True)


@pytest.fixture
def signed_in(client, manager):
    client.force_login(manager)
    return client


def _form(**overrides):
    data = {
        "channel": "internal_detection",
        "title": "Self-harm hashtag resurfacing in search",
        "summary": "Search suggestions surface the banned tag again.",
        "harm_category": "self-harm",
        "region": "global",
        "hashtags": "#sh_tag",
        "idempotency_key": "form-key-1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_form_renders_channel_first_with_per_channel_fields(signed_in):
    response = signed_in.get("/incidents/new/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index('name="channel"') < html.index('name="title"')
    assert 'data-channel="regulator_order"' in html and 'data-channel="media_inquiry"' in html
    assert '<label for="id_authority">' in html


def test_roles_that_cannot_declare_get_403(client, reviewer):
    client.force_login(reviewer)
    assert client.get("/incidents/new/").status_code == 403
    assert client.post("/incidents/new/", _form()).status_code == 403
    assert client.post("/incidents/new/duplicates/", {"title": "x"}).status_code == 403


def test_anonymous_is_sent_to_login(client):
    assert client.get("/incidents/new/").status_code == 302


def test_regulator_order_needs_authority_instrument_and_receipt_and_writes_nothing_without(signed_in):
    response = signed_in.post("/incidents/new/", _form(channel="regulator_order"))

    assert response.status_code == 422
    html = response.content.decode()
    assert "Name the authority that issued the order or report." in html
    assert "Give the time the order reached us; legal clocks run from it." in html
    assert "nothing was saved" in html
    assert Incident.objects.count() == 0


def test_media_inquiry_needs_outlet_and_deadline(signed_in):
    response = signed_in.post("/incidents/new/", _form(channel="media_inquiry", outlet="Der Spiegel"))
    assert response.status_code == 422
    assert "Give the reporter&#x27;s deadline." in response.content.decode()
    assert Incident.objects.count() == 0


def test_regulator_order_is_declared_with_its_details_in_the_viewers_zone(signed_in):
    response = signed_in.post(
        "/incidents/new/",
        _form(
            channel="regulator_order",
            authority="eSafety Commissioner",
            legal_instrument="Online Safety Act s. 109",
            order_reference="ESC-2026-118",
            received_at="2026-01-10T09:30",
            outlet="ignored for this channel",
        ),
    )

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.reference}/"
    assert incident.intake_details == {
        "authority": "eSafety Commissioner",
        "legal_instrument": "Online Safety Act s. 109",
        "order_reference": "ESC-2026-118",
    }
    assert incident.regulatory is True
    assert incident.received_at.isoformat() == "2026-01-10T09:30:00+00:00"  # Europe/Dublin is UTC in January


def test_service_errors_land_on_their_fields(signed_in):
    response = signed_in.post("/incidents/new/", _form(countries="D1", languages="not a code!"))
    assert response.status_code == 422
    assert "Use ISO 3166-1 two-letter codes" in response.content.decode()
    assert Incident.objects.count() == 0


def test_submitting_the_same_form_twice_declares_one_incident(signed_in):
    first = signed_in.post("/incidents/new/", _form())
    second = signed_in.post("/incidents/new/", _form())
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Incident.objects.count() == 1


def test_duplicate_check_offers_open_and_merge_for_visible_lookalikes_only(signed_in, make_incident, make_user, csea_incident):
    twin = make_incident(title="Self-harm hashtag resurfacing in search results")

    response = signed_in.post("/incidents/new/duplicates/", {"title": "Self-harm hashtag resurfacing in search"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert twin.reference in html and f'name="merge_into" value="{twin.pk}"' in html
    assert "similar title" in html

    signed_in.force_login(make_user("dana", role="incident_manager"))
    hidden = signed_in.post("/incidents/new/duplicates/", {"title": csea_incident.title, "hashtags": "#csealinks"}, **HX).content.decode()
    assert csea_incident.reference not in hidden


def test_merge_into_declares_and_merges_in_one_step(signed_in, make_incident):
    twin = make_incident(title="Self-harm hashtag resurfacing in search results")

    response = signed_in.post("/incidents/new/", _form(merge_into=str(twin.pk), idempotency_key="merge-1"))

    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{twin.reference}/"
    duplicate = Incident.objects.exclude(pk=twin.pk).get()
    assert duplicate.status == "merged" and duplicate.merged_into_id == twin.pk


def test_merge_into_an_invisible_incident_writes_nothing(client, reviewer, make_user, csea_incident):
    dana = make_user("dana", role="incident_manager")
    client.force_login(dana)
    response = client.post("/incidents/new/", _form(merge_into=str(csea_incident.pk), idempotency_key="merge-2"))
    assert response.status_code == 422
    assert "not available" in response.content.decode()
    assert Incident.objects.count() == 1


def test_severity_proposal_follows_the_matrix(signed_in):
    response = signed_in.post("/incidents/new/proposal/", {"harm_category": "self-harm", "imminent_risk": "on"}, **HX)
    assert response.status_code == 200
    assert "SEV1" in response.content.decode()
    assert "Imminent risk" in response.content.decode()


@pytest.mark.parametrize("text", HOSTILE[:10])
def test_hostile_title_and_summary_through_the_form_are_stored_and_shown_escaped(signed_in, text):
    response = signed_in.post("/incidents/new/", _form(title=text[:300], summary=text, idempotency_key=f"h-{HOSTILE.index(text)}"))
    assert response.status_code == 302
    page = signed_in.get(response["Location"]).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x onerror" not in page
    assert "<svg/onload" not in page


def test_nul_bytes_are_refused_as_400(signed_in):
    assert signed_in.post("/incidents/new/", _form(title="a\x00b")).status_code == 400
    assert Incident.objects.count() == 0
