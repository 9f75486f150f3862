import pytest

from core.errors import Conflict, Forbidden, ValidationError
from core.models import AuditEvent
from incidents.models import TimelineEvent
from postmortems import services
from postmortems.models import ContributingFactor, PostMortem, PostMortemPolicy
from tests.postmortems.factories import fill_and_submit

pytestmark = pytest.mark.django_db


def test_draft_review_approve_publish_is_audited_and_on_the_incident_timeline(manager, lead, postmortem):
    postmortem = fill_and_submit(postmortem, manager)
    assert postmortem.status == "in_review"
    postmortem = services.postmortem_transition(actor=lead, postmortem=postmortem, action="approve")
    assert postmortem.status == "approved" and postmortem.approved_by == lead
    postmortem = services.postmortem_transition(actor=lead, postmortem=postmortem, action="publish")
    assert postmortem.status == "published" and postmortem.published_at is not None

    actions = set(
        AuditEvent.objects.filter(object_id=str(postmortem.pk), object_type="postmortems.postmortem").values_list("action", flat=True)
    )
    assert {"postmortem.submit", "postmortem.approve", "postmortem.publish"} <= actions
    summaries = list(TimelineEvent.objects.filter(incident=postmortem.incident, kind="postmortem").values_list("summary", flat=True))
    assert "Post-mortem submitted for review" in summaries
    assert "Post-mortem approved" in summaries
    assert "Post-mortem published" in summaries


def test_owner_who_is_a_lead_cannot_approve_their_own(make_user, postmortem):
    owner_lead = make_user("owner-lead", role="lead")
    owner_lead.groups.add(*make_user("m2", role="incident_manager").groups.all())
    PostMortem.objects.filter(pk=postmortem.pk).update(owner=owner_lead)
    postmortem.refresh_from_db()
    postmortem = fill_and_submit(postmortem, owner_lead)

    with pytest.raises(Conflict, match="another lead"):
        services.postmortem_transition(actor=owner_lead, postmortem=postmortem, action="approve")
    postmortem.refresh_from_db()
    assert postmortem.status == "in_review"


def test_self_approval_allowed_when_the_policy_says_so(make_user, postmortem):
    PostMortemPolicy.objects.update(forbid_self_approval=False)
    owner_lead = make_user("owner-lead", role="lead")
    PostMortem.objects.filter(pk=postmortem.pk).update(owner=owner_lead)
    postmortem.refresh_from_db()
    postmortem = fill_and_submit(postmortem, owner_lead)
    assert services.postmortem_transition(actor=owner_lead, postmortem=postmortem, action="approve").status == "approved"


def test_a_manager_cannot_approve(manager, postmortem):
    postmortem = fill_and_submit(postmortem, manager)
    with pytest.raises(Forbidden):
        services.postmortem_transition(actor=manager, postmortem=postmortem, action="approve")


def test_publish_needs_approval_first(manager, lead, postmortem):
    postmortem = fill_and_submit(postmortem, manager)
    with pytest.raises(Conflict):
        services.postmortem_transition(actor=lead, postmortem=postmortem, action="publish")


def test_submit_needs_a_summary(manager, postmortem):
    with pytest.raises(ValidationError) as exc:
        services.postmortem_transition(actor=manager, postmortem=postmortem, action="submit")
    assert "summary" in exc.value.errors


def test_published_postmortem_is_read_only_until_a_lead_reopens_with_a_reason(manager, lead, postmortem):
    postmortem = fill_and_submit(postmortem, manager)
    services.postmortem_transition(actor=lead, postmortem=postmortem, action="approve")
    postmortem = services.postmortem_transition(actor=lead, postmortem=postmortem, action="publish")

    with pytest.raises(Conflict, match="read-only"):
        services.postmortem_update(actor=manager, postmortem=postmortem, version=postmortem.version, data={"summary": "rewritten"})
    with pytest.raises(Conflict):
        services.factor_add(actor=manager, postmortem=postmortem, category="detection")
    with pytest.raises(ValidationError):
        services.postmortem_transition(actor=lead, postmortem=postmortem, action="reopen", reason="")
    with pytest.raises(Forbidden):
        services.postmortem_transition(actor=manager, postmortem=postmortem, action="reopen", reason="typo")

    postmortem = services.postmortem_transition(actor=lead, postmortem=postmortem, action="reopen", reason="New facts from Legal")
    assert postmortem.status == "draft" and postmortem.published_at is None
    updated = services.postmortem_update(actor=manager, postmortem=postmortem, version=postmortem.version, data={"summary": "rewritten"})
    assert updated.summary == "rewritten"


def test_stale_version_is_refused_and_nothing_is_saved(manager, postmortem):
    version = postmortem.version
    services.postmortem_update(actor=manager, postmortem=postmortem, version=version, data={"summary": "first"})
    with pytest.raises(Conflict) as exc:
        services.postmortem_update(actor=manager, postmortem=postmortem, version=version, data={"summary": "second"})
    assert exc.value.extra["current_version"] == version + 1
    postmortem.refresh_from_db()
    assert postmortem.summary == "first"


def test_factor_outside_the_taxonomy_is_refused(manager, postmortem):
    with pytest.raises(ValidationError) as exc:
        services.factor_add(actor=manager, postmortem=postmortem, category="bad-luck")
    assert "category" in exc.value.errors
    assert not ContributingFactor.objects.exists()
    factor = services.factor_add(
        actor=manager, postmortem=postmortem, category="process_handoff", description="Shift handoff lost the context"
    )
    assert factor.get_category_display() == "Process / handoff"


def test_reviewer_comments_are_anchored_to_a_section(reviewer, responder, postmortem):
    comment = services.comment_add(actor=reviewer, postmortem=postmortem, section="detection", body="How fast did the spike alert fire?")
    assert comment.section == "detection"
    with pytest.raises(ValidationError):
        services.comment_add(actor=reviewer, postmortem=postmortem, section="nowhere", body="x")
    with pytest.raises(Forbidden):
        services.comment_add(actor=responder, postmortem=postmortem, section="summary", body="x")


def test_publishing_stops_the_postmortem_sla_clock(manager, lead, postmortem):
    from escalations.models import SLAClock

    clock = SLAClock.objects.get(incident=postmortem.incident, metric="postmortem")
    assert clock.state == "running" and clock.stopped_at is None
    postmortem = fill_and_submit(postmortem, manager)
    postmortem = services.postmortem_transition(actor=lead, postmortem=postmortem, action="approve")
    clock.refresh_from_db()
    assert clock.stopped_at is None

    services.postmortem_transition(actor=lead, postmortem=postmortem, action="publish")

    clock.refresh_from_db()
    assert clock.state == "met" and clock.stopped_at is not None
    assert clock.events.filter(kind="stop").exists()
