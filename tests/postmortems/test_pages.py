import datetime as dt

import pytest

from postmortems import services
from postmortems.models import ActionItem, ContributingFactor
from tests.postmortems.factories import action_item, fill_and_submit

pytestmark = pytest.mark.django_db

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)"> [click](javascript:alert(3)) **bold**'


def publish(postmortem, manager, lead):
    postmortem = fill_and_submit(postmortem, manager)
    services.postmortem_transition(actor=lead, postmortem=postmortem, action="approve")
    return services.postmortem_transition(actor=lead, postmortem=postmortem, action="publish")


def test_list_page_shows_status_due_and_owner(client, manager, postmortem):
    client.force_login(manager)
    body = client.get("/postmortems/").content.decode()
    assert postmortem.title in body
    assert "Draft" in body
    assert postmortem.due_on.isoformat() in body
    assert "Start a post-mortem" in body


def test_edit_page_has_labelled_textareas_guidance_and_no_inline_script(client, manager, postmortem):
    client.force_login(manager)
    body = client.get(f"/postmortems/{postmortem.pk}/").content.decode()
    assert 'for="id_summary"' in body and 'id="id_summary"' in body
    assert "Blameless writing" in body
    assert "Time to detect" in body
    assert "<script>" not in body.split("</head>", 1)[1]
    assert " style=" not in body


def test_sections_form_saves_and_refuses_stale_version(client, manager, postmortem):
    client.force_login(manager)
    data = {"version": postmortem.version, "title": postmortem.title, "summary": "Six hours of spread."}
    assert client.post(f"/postmortems/{postmortem.pk}/sections/", data).status_code == 302
    stale = client.post(f"/postmortems/{postmortem.pk}/sections/", {**data, "summary": "lost"})
    assert stale.status_code == 400
    assert "Someone else saved" in stale.content.decode()
    postmortem.refresh_from_db()
    assert postmortem.summary == "Six hours of spread."


def test_markdown_is_sanitised_on_the_published_page_and_in_comments(client, manager, lead, reviewer, postmortem):
    postmortem = services.postmortem_update(actor=manager, postmortem=postmortem, version=postmortem.version, data={"lessons": XSS})
    services.comment_add(actor=reviewer, postmortem=postmortem, section="lessons", body=XSS)
    publish(postmortem, manager, lead)
    client.force_login(reviewer)
    body = client.get(f"/postmortems/{postmortem.pk}/").content.decode()
    main = body.split('<main id="main"', 1)[1]
    assert "<script>alert" not in main
    assert "onerror" not in main
    assert "javascript:" not in main
    assert "<strong>bold</strong>" in main


def test_preview_is_sanitised(client, manager):
    client.force_login(manager)
    html = client.post("/postmortems/preview/", {"summary": XSS}).content.decode()
    assert "<strong>bold</strong>" in html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html


def test_factor_form_rejects_category_outside_taxonomy(client, manager, postmortem):
    client.force_login(manager)
    response = client.post(f"/postmortems/{postmortem.pk}/factors/", {"category": "bad-luck"})
    assert response.status_code == 400
    assert not ContributingFactor.objects.exists()
    ok = client.post(f"/postmortems/{postmortem.pk}/factors/", {"category": "detection", "description": "No velocity alert"})
    assert ok.status_code == 302
    assert ContributingFactor.objects.get().category == "detection"


def test_action_item_htmx_add_returns_the_table_with_errors(client, manager, postmortem):
    client.force_login(manager)
    url = f"/postmortems/{postmortem.pk}/action-items/"
    bad = client.post(url, {"title": "x", "owner": manager.pk, "due_on": "2000-01-01", "priority": "P1"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 200
    assert "The due date is in the past" in bad.content.decode()
    assert not ActionItem.objects.exists()
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    good = client.post(url, {"title": "Velocity alert", "owner": manager.pk, "due_on": due, "priority": "P1"}, HTTP_HX_REQUEST="true")
    assert good.status_code == 200
    assert 'id="action-items"' in good.content.decode() and "Velocity alert" in good.content.decode()
    item = ActionItem.objects.get()
    changed = client.post(f"{url}{item.pk}/", {"status": "done", "tracker_url": ""}, HTTP_HX_REQUEST="true")
    assert changed.status_code == 200
    item.refresh_from_db()
    assert item.status == "done"


def test_non_http_tracker_url_is_a_form_error(client, manager, postmortem):
    client.force_login(manager)
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    response = client.post(
        f"/postmortems/{postmortem.pk}/action-items/",
        {"title": "x", "owner": manager.pk, "due_on": due, "priority": "P1", "tracker_url": "javascript:alert(1)"},
    )
    assert response.status_code == 400
    assert "http://" in response.content.decode()
    assert not ActionItem.objects.exists()


def test_self_approval_refused_in_the_page(client, make_user, postmortem):
    from postmortems.models import PostMortem

    owner_lead = make_user("owner-lead", role="lead")
    PostMortem.objects.filter(pk=postmortem.pk).update(owner=owner_lead)
    postmortem.refresh_from_db()
    fill_and_submit(postmortem, owner_lead)
    client.force_login(owner_lead)
    page = client.get(f"/postmortems/{postmortem.pk}/").content.decode()
    assert "another lead approves it" in page
    response = client.post(f"/postmortems/{postmortem.pk}/transition/", {"action": "approve"})
    assert response.status_code == 409
    postmortem.refresh_from_db()
    assert postmortem.status == "in_review"


def test_published_page_is_read_only_and_exports(client, manager, lead, postmortem):
    services.factor_add(actor=manager, postmortem=postmortem, category="communication", description="Comms | Legal handoff")
    action_item(postmortem, manager, manager, tracker_url="https://tracker.example/T-9")
    publish(postmortem, manager, lead)
    client.force_login(manager)
    body = client.get(f"/postmortems/{postmortem.pk}/").content.decode()
    assert "<textarea" not in body and "Save sections" not in body
    assert "published and read-only" in body

    md = client.get(f"/postmortems/{postmortem.pk}/export.md")
    assert md.status_code == 200 and md["Content-Type"].startswith("text/markdown")
    text = md.content.decode()
    assert text.startswith(f"# {postmortem.title}")
    assert "## Contributing factors" in text and "Comms \\| Legal handoff" in text
    assert "https://tracker.example/T-9" in text

    printable = client.get(f"/postmortems/{postmortem.pk}/print/")
    assert printable.status_code == 200 and b"print.css" in printable.content

    edit = client.post(f"/postmortems/{postmortem.pk}/sections/", {"version": 99, "title": "x", "summary": "y"})
    assert edit.status_code == 400 and "read-only" in edit.content.decode()


def test_export_of_a_draft_is_refused(client, manager, postmortem):
    client.force_login(manager)
    assert client.get(f"/postmortems/{postmortem.pk}/export.md").status_code == 409


def test_overdue_list_shows_only_overdue_open_items(client, lead, manager, postmortem):
    late = action_item(postmortem, manager, manager, title="Late item")
    soon = action_item(postmortem, manager, manager, title="Future item")
    ActionItem.objects.filter(pk=late.pk).update(due_on=dt.date.today() - dt.timedelta(days=3))
    client.force_login(lead)
    body = client.get("/postmortems/action-items/?overdue=1").content.decode()
    assert "Late item" in body and soon.title not in body


def test_start_by_hand_from_the_list_page(client, manager, make_resolved):
    incident = make_resolved(severity=3)
    client.force_login(manager)
    response = client.post("/postmortems/start/", {"incident": incident.reference})
    assert response.status_code == 302
    assert incident.__class__.objects.get(pk=incident.pk).postmortem.auto_created is False
    assert client.post("/postmortems/start/", {"incident": "INC-0000-00000"}).status_code == 400


def test_reviewer_comments_inline_on_a_section_during_review(client, manager, reviewer, postmortem):
    postmortem = fill_and_submit(postmortem, manager)
    client.force_login(reviewer)
    page = client.get(f"/postmortems/{postmortem.pk}/").content.decode()
    assert 'for="comment-detection"' in page and "<textarea" in page and "Save sections" not in page
    response = client.post(f"/postmortems/{postmortem.pk}/comments/", {"section": "detection", "body": "How long did the report wait?"})
    assert response.status_code == 302 and response["Location"].endswith("#section-detection")
    page = client.get(f"/postmortems/{postmortem.pk}/").content.decode()
    detection = page.split('id="section-detection"', 1)[1].split("</section>", 1)[0]
    assert "How long did the report wait?" in detection


@pytest.mark.parametrize("extra", [0, 4])
def test_list_pages_query_count_does_not_grow(client, manager, make_resolved, django_assert_num_queries, extra):
    for _ in range(1 + extra):
        pm = make_resolved().postmortem
        action_item(pm, manager, manager)
    client.force_login(manager)
    client.get("/postmortems/")
    with django_assert_num_queries(9):
        assert client.get("/postmortems/").status_code == 200
    with django_assert_num_queries(9):
        assert client.get("/postmortems/action-items/").status_code == 200


def test_admin_edits_the_policy_and_the_change_is_audited(client, admin_user, settings):
    from core.models import AuditEvent

    settings.FIREBREAK_ADMIN_OTP_REQUIRED = False
    policy = services.policy_current()
    client.force_login(admin_user)
    url = f"/admin/postmortems/postmortempolicy/{policy.pk}/change/"
    assert client.get(url).status_code == 200
    data = {
        "name": "Default",
        "max_severity": 3,
        "due_days": 10,
        "forbid_self_approval": "on",
        "reminder_days_before": 2,
        "overdue_repeat_days": 7,
    }
    assert client.post(url, data).status_code == 302
    assert services.policy_current().max_severity == 3
    event = AuditEvent.objects.get(action="postmortem_policy.change")
    assert event.before["max_severity"] == 2 and event.after["max_severity"] == 3


def test_a_manual_timeline_entry_is_read_in_the_viewers_zone(client, manager, postmortem):
    from postmortems.models import TimelineEntry

    client.force_login(manager)  # manager's zone is Europe/Dublin: GMT in November
    response = client.post(f"/postmortems/{postmortem.pk}/timeline/add/", {"at": "2026-11-20T14:05", "text": "Partner flagged the trend"})
    assert response.status_code == 302
    entry = TimelineEntry.objects.get(postmortem=postmortem, kind="manual")
    assert entry.at == dt.datetime(2026, 11, 20, 14, 5, tzinfo=dt.UTC)
    future = client.post(f"/postmortems/{postmortem.pk}/timeline/add/", {"at": "2099-01-01T00:00", "text": "later"})
    assert future.status_code == 400 and "future" in future.content.decode()
    assert "2026-11-20 14:05 GMT" in client.get(f"/postmortems/{postmortem.pk}/").content.decode()
