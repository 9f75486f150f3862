import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import IntegrityError, transaction

from accounts.models import Clearance, User
from core.errors import Conflict, Forbidden, ValidationError
from incidents.models import Incident, Notification, TimelineEvent
from incidents.models_collab import IncidentSubscription, StakeholderUpdate, UpdateStatus
from incidents.services_collab import (
    approved_text_hash,
    stakeholder_update_approve,
    stakeholder_update_create,
    stakeholder_update_edit,
    stakeholder_update_send,
    subscription_set,
)
from tests.accounts.factories import TeamFactory

pytestmark = pytest.mark.django_db


def with_role(user, role):
    """The user with one more role, fetched afresh so no permission cache hides it."""
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def draft(incident, manager):
    return stakeholder_update_create(
        actor=manager,
        incident=incident,
        audience="regulator",
        recipient="Bundesnetzagentur (DSC Germany)",
        subject="Art. 9 order 2026-114: effect given",
        body="We removed **412** videos within 47 minutes of the order.",
    )


def test_internal_update_notifies_subscribers_who_can_see_the_incident(
    incident, manager, responder, reviewer, django_capture_on_commit_callbacks
):
    subscription_set(actor=responder, incident=incident, subscribed=True)
    subscription_set(actor=manager, incident=incident, subscribed=True)
    with django_capture_on_commit_callbacks(execute=True):
        update = stakeholder_update_create(
            actor=manager, incident=incident, audience="internal", subject="Mitigating", body="Search blocked in DE."
        )
    assert update.status == UpdateStatus.SENT
    assert list(Notification.objects.filter(kind="status_update").values_list("user__username", flat=True)) == ["responder"]
    assert [m.to for m in mail.outbox] == [[responder.email]]
    assert "Search blocked in DE." in mail.outbox[0].body
    assert TimelineEvent.objects.filter(incident=incident, kind="stakeholder_update", data__action="posted").exists()


def test_restricted_incident_update_mails_no_detail_and_skips_uncleared_subscribers(
    csea_incident, manager, reviewer, django_capture_on_commit_callbacks
):
    # A subscription left over from before the reviewer lost access must not leak anything.
    IncidentSubscription.objects.create(incident=csea_incident, user=reviewer)
    cleared = User.objects.create_user("cleared", email="cleared@example.org")
    cleared.groups.add(Group.objects.get(name="reviewer"))
    Clearance.objects.create(user=cleared, compartment=csea_incident.compartment)
    IncidentSubscription.objects.create(incident=csea_incident, user=cleared)
    with django_capture_on_commit_callbacks(execute=True):
        stakeholder_update_create(actor=manager, incident=csea_incident, audience="internal", body="NCMEC report filed: 1234567.")
    assert not Notification.objects.filter(user=reviewer).exists()
    assert [m.to for m in mail.outbox] == [["cleared@example.org"]]
    assert "1234567" not in mail.outbox[0].body and "1234567" not in mail.outbox[0].subject


def test_outbound_needs_a_recipient(incident, manager):
    with pytest.raises(ValidationError) as exc:
        stakeholder_update_create(actor=manager, incident=incident, audience="press", body="Statement")
    assert "recipient" in exc.value.errors


def test_outbound_draft_approved_then_sent_marks_answer_sent(draft, reviewer, manager):
    approved = stakeholder_update_approve(actor=reviewer, update=draft)
    assert approved.status == UpdateStatus.APPROVED and approved.approved_by == reviewer
    assert approved.approved_hash == approved_text_hash(approved)
    sent = stakeholder_update_send(actor=manager, update=approved, reference="BNetzA-2026-114")
    assert sent.status == UpdateStatus.SENT and sent.sent_reference == "BNetzA-2026-114"
    assert TimelineEvent.objects.filter(incident=draft.incident, kind="milestone", data__milestone="answer_sent").exists()
    actions = list(TimelineEvent.objects.filter(kind="stakeholder_update").order_by("at", "id").values_list("data__action", flat=True))
    assert actions == ["drafted", "approved", "sent"]


def test_author_cannot_approve_their_own_response(draft, manager):
    manager = with_role(manager, "lead")
    with pytest.raises(Forbidden, match="someone else"):
        stakeholder_update_approve(actor=manager, update=draft)
    assert StakeholderUpdate.objects.get(pk=draft.pk).status == UpdateStatus.DRAFT


def test_only_legal_comms_or_the_permission_may_approve(draft, responder, make_user):
    with pytest.raises(Forbidden):
        stakeholder_update_approve(actor=responder, update=draft)
    lawyer = make_user("lawyer", role="responder")
    TeamFactory(slug="legal", name="Legal", function="legal").members.add(lawyer)
    assert stakeholder_update_approve(actor=lawyer, update=draft).approved_by == lawyer


def test_send_before_approval_is_refused(draft, manager):
    with pytest.raises(Conflict, match="not been approved"):
        stakeholder_update_send(actor=manager, update=draft)
    assert not TimelineEvent.objects.filter(kind="milestone", data__milestone="answer_sent").exists()


def test_editing_after_approval_resets_to_draft(draft, reviewer, manager):
    approved = stakeholder_update_approve(actor=reviewer, update=draft)
    edited = stakeholder_update_edit(actor=manager, update=approved, body="We removed 415 videos.", version=approved.version)
    assert edited.status == UpdateStatus.DRAFT and edited.approved_by is None and edited.approved_hash == ""
    with pytest.raises(Conflict):
        stakeholder_update_send(actor=manager, update=edited)
    assert TimelineEvent.objects.filter(kind="stakeholder_update", data__approval_withdrawn=True).exists()


def test_an_unchanged_save_keeps_the_approval(draft, reviewer, manager):
    approved = stakeholder_update_approve(actor=reviewer, update=draft)
    same = stakeholder_update_edit(actor=manager, update=approved, body=approved.body)
    assert same.status == UpdateStatus.APPROVED


def test_a_sent_response_cannot_be_edited(draft, reviewer, manager):
    stakeholder_update_approve(actor=reviewer, update=draft)
    sent = stakeholder_update_send(actor=manager, update=draft)
    with pytest.raises(Conflict):
        stakeholder_update_edit(actor=manager, update=sent, body="changed")


def test_database_refuses_an_approver_who_is_the_author(draft, manager):
    with pytest.raises(IntegrityError), transaction.atomic():
        StakeholderUpdate.objects.filter(pk=draft.pk).update(approved_by=manager)


# --- API -----------------------------------------------------------------------------------


def test_updates_api_workflow_and_refusals(api, incident, manager, reviewer):
    base = f"/api/v1/incidents/{incident.pk}/updates/"
    created = api(manager).post(
        base, {"audience": "regulator", "recipient": "Ofcom", "body": "Our answer to the information notice."}, format="json"
    )
    assert created.status_code == 201, created.content
    uid = created.json()["uid"]
    assert api(manager).post(f"{base}{uid}/send/", {}, format="json").status_code == 409
    self_approval = api(manager).post(f"{base}{uid}/approve/", {}, format="json")
    assert self_approval.status_code == 403 and self_approval["Content-Type"] == "application/problem+json"
    approved = api(reviewer).post(f"{base}{uid}/approve/", {}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    edited = api(manager).patch(f"{base}{uid}/", {"body": "Our corrected answer."}, format="json")
    assert edited.status_code == 200 and edited.json()["status"] == "draft"
    api(reviewer).post(f"{base}{uid}/approve/", {}, format="json")
    sent = api(manager).post(f"{base}{uid}/send/", {"reference": "OF-77"}, format="json")
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    assert Incident.objects.get(pk=incident.pk).pk == incident.pk
    listed = api(reviewer).get(base).json()["results"]
    assert [u["uid"] for u in listed] == [uid]


def test_updates_api_bad_audience_names_the_field(api, incident, manager):
    response = api(manager).post(f"/api/v1/incidents/{incident.pk}/updates/", {"audience": "twitter", "body": "x"}, format="json")
    assert response.status_code == 400 and "audience" in response.json()["errors"]


def test_subscription_api(api, incident, responder):
    url = f"/api/v1/incidents/{incident.pk}/subscription/"
    assert api(responder).get(url).json() == {"subscribed": False}
    assert api(responder).put(url).json() == {"subscribed": True}
    assert api(responder).get(url).json() == {"subscribed": True}
    assert api(responder).delete(url).json() == {"subscribed": False}


# --- HTML partial ------------------------------------------------------------------------------


def test_updates_partial_loads_itself_and_approves_with_htmx(client, incident, manager, reviewer, draft):
    client.force_login(reviewer)
    page = client.get(f"/incidents/{incident.pk}/updates/")
    assert page.status_code == 200
    assert b"Approve" in page.content and b"Bundesnetzagentur" in page.content
    response = client.post(f"/incidents/{incident.pk}/updates/{draft.uid}/approve/", {"version": draft.version}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"approved by" in response.content


def test_updates_partial_self_approval_is_refused_with_a_message(client, incident, manager, draft):
    client.force_login(with_role(manager, "lead"))
    plain = client.post(f"/incidents/{incident.pk}/updates/{draft.uid}/approve/")
    assert plain.status_code == 403
    htmx = client.post(f"/incidents/{incident.pk}/updates/{draft.uid}/approve/", HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and b"someone else must approve" in htmx.content


def test_updates_partial_form_errors_are_shown_in_place(client, incident, manager):
    client.force_login(manager)
    response = client.post(f"/incidents/{incident.pk}/updates/", {"form": "outbound", "out-audience": "press", "out-body": "x"})
    assert response.status_code == 400
    assert b'aria-invalid="true"' in response.content and b"errorlist" in response.content


def test_legal_hears_of_a_draft_and_the_author_of_the_approval(incident, manager, make_user, csea_incident):
    lawyer = make_user("lawyer2", role="reviewer")
    TeamFactory(slug="legal", name="Legal", function="legal").members.add(lawyer)
    update = stakeholder_update_create(
        actor=manager, incident=incident, audience="partner", recipient="INHOPE", body="Thanks for the flag."
    )
    assert Notification.objects.filter(user=lawyer, kind="outbound_draft").count() == 1
    stakeholder_update_approve(actor=lawyer, update=update)
    assert Notification.objects.filter(user=manager, kind="outbound_approved").count() == 1
    stakeholder_update_create(actor=manager, incident=csea_incident, audience="regulator", recipient="NCMEC", body="Report.")
    assert Notification.objects.filter(user=lawyer, kind="outbound_draft").count() == 1  # not cleared for CSEA
