"""The incident page and its partials and actions."""

from html.parser import HTMLParser

import pytest

from core.models import AuditEvent
from incidents.models import Comment, IncidentUserObjectPermission
from incidents.services import comment_create, incident_create, incident_update
from tests.incidents.conftest import incident_data
from tests.shared_fixtures import hostile_inputs

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
HOSTILE = hostile_inputs(printable_only=True)


class ActiveContent(HTMLParser):
    """Collects what a browser would run: inline scripts, on* handlers, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not (names.get("src") or "").startswith("/static/"):
            self.found.append(f"script {names}")
        if tag in ("iframe", "object", "embed"):
            self.found.append(tag)
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.found.append(f"{tag} {name}")
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href") and (value or "").strip().lower().startswith(
                ("javascript:", "data:", "vbscript:")
            ):
                self.found.append(f"{tag} {name}={value}")


def active_content(html):
    parser = ActiveContent()
    parser.feed(html)
    return parser.found


@pytest.fixture
def signed_in(client, manager):
    client.force_login(manager)
    return client


def test_incident_page_by_reference_and_by_id(signed_in, incident, manager):
    by_ref = signed_in.get(f"/incidents/{incident.reference}/")
    by_id = signed_in.get(f"/incidents/{incident.pk}/")

    assert by_ref.status_code == by_id.status_code == 200
    html = by_ref.content.decode()
    assert f'<h1 id="incident-title">{incident.title}</h1>' in html
    assert "Matrix proposes" in html
    for target in ("Triaged", "Investigating", "Declined"):
        assert f'value="{target.lower()}"' in html
    assert f"<dd>{manager.time_zone}</dd>" in html  # times name the viewer's zone


def test_times_are_shown_in_the_viewers_zone(client, make_user, incident):
    user = make_user("sg", role="incident_manager", time_zone="Asia/Singapore")
    client.force_login(user)
    assert "+08" in client.get(f"/incidents/{incident.pk}/").content.decode()


def _surfaces(pk):
    return [
        ("get", f"/incidents/{pk}/", None),
        ("get", f"/incidents/{pk}/core/", None),
        ("get", f"/incidents/{pk}/timeline/", None),
        ("get", f"/incidents/{pk}/comments/", None),
        ("post", f"/incidents/{pk}/transition/", {"to": "triaged"}),
        ("post", f"/incidents/{pk}/severity/", {"severity": "1", "reason": "x"}),
        ("post", f"/incidents/{pk}/commander/", {"commander": "me"}),
        ("post", f"/incidents/{pk}/edit/", {"edit-version": "1", "edit-title": "x"}),
        ("post", f"/incidents/{pk}/key-moments/", {"summary": "x"}),
        ("post", f"/incidents/{pk}/comments/new/", {"comment-body": "x", "comment-visibility": "internal"}),
        ("post", f"/incidents/{pk}/grants/", {"user": "reviewer"}),
    ]


def test_uncleared_user_gets_404_on_every_incident_surface(client, reviewer, csea_incident):
    client.force_login(reviewer)
    for method, url, body in _surfaces(csea_incident.pk):
        response = getattr(client, method)(url, body, **HX) if body else getattr(client, method)(url, **HX)
        assert response.status_code == 404, (method, url, response.status_code)
        assert csea_incident.title not in response.content.decode()
    assert client.get(f"/incidents/{csea_incident.reference}/").status_code == 404
    assert Comment.objects.filter(incident=csea_incident).count() == 0


def test_missing_and_malformed_incidents_are_404(signed_in):
    assert signed_in.get("/incidents/INC-2099-99999/").status_code == 404
    assert signed_in.get("/incidents/99999999/").status_code == 404
    assert signed_in.get("/incidents/99999999999999999999999/").status_code == 404


def test_opening_a_restricted_incident_is_audited(signed_in, manager, csea_incident):
    before = AuditEvent.objects.filter(action="incident.read", object_id=str(csea_incident.pk)).count()
    assert signed_in.get(f"/incidents/{csea_incident.reference}/").status_code == 200
    assert AuditEvent.objects.filter(action="incident.read", object_id=str(csea_incident.pk)).count() == before + 1


def test_transition_button_moves_the_incident_and_rerenders_the_core(signed_in, incident):
    response = signed_in.post(f"/incidents/{incident.pk}/transition/", {"to": "triaged", "version": incident.version}, **HX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "incident-changed"
    assert "Status is now Triaged." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "triaged"


def test_an_illegal_transition_shows_the_allowed_moves_in_the_page(signed_in, incident):
    response = signed_in.post(f"/incidents/{incident.pk}/transition/", {"to": "closed"}, **HX)

    assert response.status_code == 409
    assert "cannot move from new to closed" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "new"


def test_declining_without_a_reason_is_a_form_error(signed_in, incident):
    response = signed_in.post(f"/incidents/{incident.pk}/transition/", {"to": "declined"}, **HX)
    assert response.status_code == 422
    assert "A reason for moving to declined is required." in response.content.decode()


def test_severity_needs_a_reason_and_records_it(signed_in, incident):
    refused = signed_in.post(f"/incidents/{incident.pk}/severity/", {"severity": "1", "reason": ""}, **HX)
    assert refused.status_code == 422
    done = signed_in.post(f"/incidents/{incident.pk}/severity/", {"severity": "1", "reason": "Spreading to minors"}, **HX)
    assert done.status_code == 200
    incident.refresh_from_db()
    assert incident.severity == 1
    assert incident.timeline.filter(kind="severity_changed", summary__contains="Spreading to minors").exists()


def test_commander_assignment_to_someone_who_cannot_see_it_is_refused(signed_in, make_user, csea_incident):
    make_user("dana", role="incident_manager")
    response = signed_in.post(f"/incidents/{csea_incident.pk}/commander/", {"commander": "dana"}, **HX)
    assert response.status_code == 422
    assert "cannot see this incident" in response.content.decode()


def _edit(incident, **overrides):
    data = {
        "edit-version": str(incident.version),
        "edit-title": incident.title,
        "edit-summary": incident.summary,
        "edit-harm_category": incident.harm_category.slug,
        "edit-region": incident.region,
        "edit-hashtags": "#blackoutchallenge",
    }
    data.update({f"edit-{k}": v for k, v in overrides.items()})
    return data


def test_edit_saves_with_the_loaded_version(signed_in, incident):
    response = signed_in.post(f"/incidents/{incident.pk}/edit/", _edit(incident, title="Blackout challenge: wave 2"), **HX)
    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.title == "Blackout challenge: wave 2"


def test_a_stale_edit_shows_the_current_values_and_overwrites_nothing(signed_in, incident, manager):
    stale = _edit(incident, title="My stale title")
    incident_update(actor=manager, incident=incident, data={"title": "Someone else's title"}, version=incident.version)

    response = signed_in.post(f"/incidents/{incident.pk}/edit/", stale, **HX)

    assert response.status_code == 409
    html = response.content.decode()
    assert "changed by someone else" in html
    assert "Someone else&#x27;s title" in html
    assert 'value="My stale title"' in html
    incident.refresh_from_db()
    assert incident.title == "Someone else's title"


def test_edit_with_bad_input_shows_field_errors(signed_in, incident):
    response = signed_in.post(f"/incidents/{incident.pk}/edit/", _edit(incident, title="", region="mars"), **HX)
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert "Select a valid choice." in response.content.decode()


def test_roles_without_the_permission_get_403(client, reviewer, incident):
    client.force_login(reviewer)
    assert client.post(f"/incidents/{incident.pk}/transition/", {"to": "triaged"}, **HX).status_code == 403
    assert client.post(f"/incidents/{incident.pk}/severity/", {"severity": "1", "reason": "x"}, **HX).status_code == 403
    assert client.post(f"/incidents/{incident.pk}/edit/", _edit(incident), **HX).status_code == 403
    assert client.post(f"/incidents/{incident.pk}/grants/", {"user": "reviewer"}, **HX).status_code == 403


def test_timeline_partial_answers_304_until_something_is_recorded(signed_in, incident, manager):
    first = signed_in.get(f"/incidents/{incident.pk}/timeline/", **HX)
    assert first.status_code == 200
    same = signed_in.get(f"/incidents/{incident.pk}/timeline/", HTTP_IF_NONE_MATCH=first["ETag"], **HX)
    assert same.status_code == 304

    comment_create(actor=manager, incident=incident, body="New lead from the partner")
    after = signed_in.get(f"/incidents/{incident.pk}/timeline/", HTTP_IF_NONE_MATCH=first["ETag"], **HX)
    assert after.status_code == 200
    assert "commented" in after.content.decode()


def test_timeline_order_toggle(signed_in, incident, manager):
    comment_create(actor=manager, incident=incident, body="Second event")
    newest = signed_in.get(f"/incidents/{incident.pk}/timeline/?order=desc").content.decode()
    oldest = signed_in.get(f"/incidents/{incident.pk}/timeline/?order=asc").content.decode()
    assert newest.index("commented") < newest.index("Declared")
    assert oldest.index("Declared") < oldest.index("commented")


def test_key_moment_is_added_and_a_future_time_is_refused(signed_in, incident):
    done = signed_in.post(f"/incidents/{incident.pk}/key-moments/", {"summary": "Partner confirmed takedown"}, **HX)
    assert done.status_code == 200
    assert "Partner confirmed takedown" in done.content.decode()
    refused = signed_in.post(f"/incidents/{incident.pk}/key-moments/", {"summary": "Later", "at": "2099-01-01T10:00"}, **HX)
    assert refused.status_code == 422
    assert "This time is in the future." in refused.content.decode()


def test_comment_with_translation_and_mention(signed_in, incident, reviewer):
    response = signed_in.post(
        f"/incidents/{incident.pk}/comments/new/",
        {
            "comment-body": "Das Video ist **wieder** online, @reviewer bitte prüfen",
            "comment-visibility": "shareable",
            "comment-original_language": "de",
            "comment-translation": "The video is back online, please check",
            "comment-translation_language": "en",
        },
        **HX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>wieder</strong>" in html
    assert 'lang="de"' in html and "Translation (en)" in html
    assert reviewer.notifications.filter(kind="mention").exists()


def test_comment_errors_are_shown_next_to_fields(signed_in, incident):
    empty = signed_in.post(f"/incidents/{incident.pk}/comments/new/", {"comment-body": "", "comment-visibility": "internal"}, **HX)
    assert empty.status_code == 422
    assert "This field is required." in empty.content.decode()
    bad_language = signed_in.post(
        f"/incidents/{incident.pk}/comments/new/",
        {"comment-body": "hi", "comment-visibility": "internal", "comment-translation": "salut"},
        **HX,
    )
    assert bad_language.status_code == 422
    assert "Say which language the translation is in." in bad_language.content.decode()
    assert incident.comments.count() == 0


def test_commander_grants_a_named_reviewer_access_to_a_restricted_incident(client, manager, reviewer, csea_incident):
    client.force_login(manager)
    response = client.post(f"/incidents/{csea_incident.pk}/grants/", {"user": "reviewer", "reason": "Legal review"}, **HX)
    assert response.status_code == 200
    assert "reviewer can now see" in response.content.decode()
    assert IncidentUserObjectPermission.objects.filter(user=reviewer, content_object=csea_incident).exists()

    client.force_login(reviewer)
    assert client.get(f"/incidents/{csea_incident.pk}/").status_code == 200


def test_colleague_panels_are_included_on_the_incident_page(signed_in, incident):
    html = signed_in.get(f"/incidents/{incident.pk}/").content.decode()
    for panel in ("incident-tasks", "incident-updates", "incident-evidence"):
        assert f'id="{panel}"' in html


def test_hostile_title_summary_and_comments_render_without_active_content(signed_in, manager):
    incident = incident_create(actor=manager, data=incident_data(title=HOSTILE[1], summary="\n".join(HOSTILE)))
    for text in HOSTILE:
        comment_create(actor=manager, incident=incident, body=text, translation=text, translation_language="en")

    html = signed_in.get(f"/incidents/{incident.pk}/").content.decode()

    assert active_content(html) == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert(1)</script>" not in html
