from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import User
from core.errors import Conflict, ValidationError
from core.models import AuditEvent
from incidents.models import Incident, TimelineEvent
from incidents.models_collab import Evidence, EvidenceView, WellbeingSettings
from incidents.selectors_collab import exposure_for_user, team_exposure
from incidents.services_collab import BreakRequired, evidence_add, evidence_delete, evidence_reveal, sniff_content_type
from tests.accounts.factories import TeamFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
HTML = b"<html><script>alert(1)</script></html>"


def upload(name="frame.png", content=PNG, content_type="image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def graphic(incident, manager):
    return evidence_add(actor=manager, incident=incident, kind="file", title="Frame 12", upload=upload(), graphic=True)


# --- adding -------------------------------------------------------------------------------------


def test_file_evidence_is_stored_with_its_sniffed_type_and_hash(incident, manager):
    import hashlib

    item = evidence_add(actor=manager, incident=incident, kind="file", upload=upload(), captured={"author": "@x", "views": 1200})
    assert item.content_type == "image/png" and item.size == len(PNG)
    assert item.sha256 == hashlib.sha256(PNG).hexdigest()
    assert item.file.name.startswith(f"evidence/{incident.pk}/") and "frame" not in item.file.name
    assert TimelineEvent.objects.filter(incident=incident, kind="evidence", data__action="added").exists()
    assert AuditEvent.objects.filter(action="evidence.add").exists()


def test_hash_only_and_content_item_evidence(incident, manager):
    digest = "a" * 64
    item = evidence_add(actor=manager, incident=incident, kind="hash_only", sha256=digest.upper(), platform_id="video:7312")
    assert item.sha256 == digest and not item.file
    link = evidence_add(actor=manager, incident=incident, kind="content_item", url="https://video.example/v/9")
    assert link.url == "https://video.example/v/9"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "hash_only", "platform_id": "v:1"}, "sha256"),
        ({"kind": "hash_only", "sha256": "xyz", "platform_id": "v:1"}, "sha256"),
        ({"kind": "hash_only", "sha256": "b" * 64}, "platform_id"),
        ({"kind": "content_item", "url": "javascript:alert(1)"}, "url"),
        ({"kind": "file"}, "file"),
        ({"kind": "content_item", "url": "https://a.example/", "captured": "[1, 2]"}, "captured"),
        ({"kind": "file", "upload": "wrong-type"}, "file"),
        ({"kind": "file", "upload": "disguised"}, "file"),
        ({"kind": "file", "upload": "empty"}, "file"),
        ({"kind": "hash_only", "sha256": "c" * 64, "platform_id": "v", "legal_basis": "forever"}, "legal_basis"),
    ],
)
def test_bad_evidence_is_refused_naming_the_field(incident, manager, kwargs, field):
    files = {
        "wrong-type": upload("tool.exe", EXE, "application/octet-stream"),
        "disguised": upload("cute.png", HTML, "image/png"),
        "empty": upload("empty.png", b"", "image/png"),
    }
    if "upload" in kwargs:
        kwargs = {**kwargs, "upload": files[kwargs["upload"]]}
    with pytest.raises(ValidationError) as exc:
        evidence_add(actor=manager, incident=incident, **kwargs)
    assert field in exc.value.errors
    assert not Evidence.objects.exists()


def test_extension_must_agree_with_the_content(incident, manager):
    with pytest.raises(ValidationError, match="content is application/pdf"):
        evidence_add(actor=manager, incident=incident, kind="file", upload=upload("photo.png", PDF, "image/png"))


@pytest.mark.parametrize(
    ("name", "content"),
    [("page.html", HTML), ("page", HTML), ("icon.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'), ("run.js", b"alert(1)")],
)
def test_markup_and_unnamed_text_types_are_refused(incident, manager, name, content):
    with pytest.raises(ValidationError) as exc:
        evidence_add(actor=manager, incident=incident, kind="file", upload=upload(name, content, "text/plain"))
    assert "file" in exc.value.errors


def test_plain_text_notes_are_accepted(incident, manager):
    item = evidence_add(actor=manager, incident=incident, kind="file", upload=upload("notes.txt", "Zeuge: Straße 5".encode(), "text/plain"))
    assert item.content_type == "text/plain"


def test_oversize_file_is_refused(incident, manager, settings):
    settings.EVIDENCE_MAX_BYTES = 50
    with pytest.raises(ValidationError) as exc:
        evidence_add(actor=manager, incident=incident, kind="file", upload=upload())
    assert "limit" in exc.value.errors["file"][0]


def test_csea_incident_refuses_files_but_takes_hash_and_reference(csea_incident, manager):
    with pytest.raises(ValidationError, match="never stored in Firebreak") as exc:
        evidence_add(actor=manager, incident=csea_incident, kind="file", upload=upload())
    assert "file" in exc.value.errors
    with pytest.raises(ValidationError):
        evidence_add(actor=manager, incident=csea_incident, kind="file")
    item = evidence_add(
        actor=manager, incident=csea_incident, kind="hash_only", sha256="d" * 64, platform_id="dm:5531", legal_basis="ncmec"
    )
    assert item.preservation_until is not None and not item.file


def test_csea_harm_category_alone_refuses_files(make_incident, manager):
    incident = make_incident(harm_category="csea")
    assert incident.compartment is None
    with pytest.raises(ValidationError) as exc:
        evidence_add(actor=manager, incident=incident, kind="file", upload=upload())
    assert "file" in exc.value.errors


def test_sniffing_recognises_the_allow_list():
    assert sniff_content_type(PNG) == "image/png"
    assert sniff_content_type(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "image/jpeg"
    assert sniff_content_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_content_type(b"\x00\x00\x00\x18ftypmp42") == "video/mp4"
    assert sniff_content_type("Zeugenaussage: Straße".encode()) == "text/plain"
    assert sniff_content_type(EXE) is None


# --- preservation and deletion ----------------------------------------------------------------


@pytest.mark.parametrize(("basis", "days"), [("tco", 181), ("ncmec", 365)])
def test_preserved_evidence_cannot_be_deleted_until_its_period_ends(incident, manager, basis, days):
    start = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    item = evidence_add(actor=manager, incident=incident, kind="hash_only", sha256="e" * 64, platform_id="v:1", legal_basis=basis, at=start)
    assert (item.preservation_until - start).days == days
    with pytest.raises(Conflict) as exc:
        evidence_delete(actor=manager, evidence=item, at=start + timedelta(days=days - 1))
    assert exc.value.extra["preservation_until"] == item.preservation_until.isoformat()
    evidence_delete(actor=manager, evidence=item, at=item.preservation_until + timedelta(seconds=1))
    assert Evidence.objects.get(pk=item.pk).deleted_at is not None


def test_legal_hold_blocks_deletion(incident, manager):
    item = evidence_add(actor=manager, incident=incident, kind="hash_only", sha256="f" * 64, platform_id="v:1")
    Incident.objects.filter(pk=incident.pk).update(legal_hold=True)
    with pytest.raises(Conflict, match="legal hold"):
        evidence_delete(actor=manager, evidence=item)


def test_delete_removes_the_file_after_commit(incident, manager, django_capture_on_commit_callbacks):
    item = evidence_add(actor=manager, incident=incident, kind="file", upload=upload())
    storage, name = item.file.storage, item.file.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        evidence_delete(actor=manager, evidence=item)
    assert not storage.exists(name)
    assert TimelineEvent.objects.filter(kind="evidence", data__action="deleted").exists()


def test_delete_api_answers_409_with_the_date(api, incident, manager):
    item = evidence_add(actor=manager, incident=incident, kind="hash_only", sha256="1" * 64, platform_id="v:1", legal_basis="tco")
    response = api(manager).delete(f"/api/v1/incidents/{incident.pk}/evidence/{item.uid}/")
    assert response.status_code == 409
    body = response.json()
    assert body["preservation_until"] == item.preservation_until.isoformat()
    assert item.preservation_until.strftime("%Y-%m-%d") in body["detail"]


# --- reveals and wellbeing ------------------------------------------------------------------------


def test_reveal_is_logged_and_counted(graphic, reviewer):
    now = timezone.now()
    evidence_reveal(actor=reviewer, evidence=graphic, at=now)
    evidence_reveal(actor=reviewer, evidence=graphic, at=now)
    assert EvidenceView.objects.filter(user=reviewer, evidence=graphic).count() == 2
    assert AuditEvent.objects.filter(action="evidence.reveal", actor=reviewer).count() == 2
    exposure = exposure_for_user(user=reviewer, now=now + timedelta(seconds=1))
    assert exposure["today"] == 2 and exposure["week"] == 2


def test_exposure_days_and_weeks_follow_the_reviewers_zone(graphic, make_user):
    singapore = make_user("sg", role="reviewer", time_zone="Asia/Singapore")
    # Wednesday 2026-03-11 23:30 in Singapore is 15:30 UTC; 00:30 the next day is Thursday.
    evidence_reveal(actor=singapore, evidence=graphic, at=datetime(2026, 3, 11, 15, 30, tzinfo=UTC))
    evidence_reveal(actor=singapore, evidence=graphic, at=datetime(2026, 3, 11, 16, 30, tzinfo=UTC))
    evidence_reveal(actor=singapore, evidence=graphic, at=datetime(2026, 3, 8, 12, 0, tzinfo=UTC))  # the week before (Sunday SGT)
    exposure = exposure_for_user(user=singapore, now=datetime(2026, 3, 11, 17, 0, tzinfo=UTC))
    assert (exposure["today"], exposure["week"]) == (1, 2)


def test_daily_cap_asks_for_a_break_before_the_next_reveal(graphic, reviewer):
    WellbeingSettings.objects.create(daily_cap=2)
    now = timezone.now()
    evidence_reveal(actor=reviewer, evidence=graphic, at=now)
    evidence_reveal(actor=reviewer, evidence=graphic, at=now)
    with pytest.raises(BreakRequired) as exc:
        evidence_reveal(actor=reviewer, evidence=graphic, at=now)
    assert exc.value.extra == {"break_required": True, "reveals_today": 2, "daily_cap": 2}
    assert EvidenceView.objects.filter(user=reviewer).count() == 2
    view = evidence_reveal(actor=reviewer, evidence=graphic, confirm_break=True, at=now)
    assert view.after_break
    evidence_reveal(actor=reviewer, evidence=graphic, at=now)  # the prompt returns after another cap's worth
    with pytest.raises(BreakRequired):
        evidence_reveal(actor=reviewer, evidence=graphic, at=now)


def test_cap_defaults_to_the_setting(reviewer, settings):
    settings.WELLBEING_DAILY_CAP = 7
    assert exposure_for_user(user=reviewer)["daily_cap"] == 7


def test_non_graphic_items_need_no_reveal(incident, manager, reviewer):
    item = evidence_add(actor=manager, incident=incident, kind="file", upload=upload())
    with pytest.raises(ValidationError):
        evidence_reveal(actor=reviewer, evidence=item)


def test_leads_see_team_counts_only_for_their_teams(graphic, reviewer, lead, responder):
    team = TeamFactory(slug="rr-dublin", name="Rapid Response Dublin")
    team.members.add(lead, reviewer)
    evidence_reveal(actor=reviewer, evidence=graphic)
    evidence_reveal(actor=responder, evidence=graphic)
    rows = team_exposure(user=lead)
    assert len(rows) == 1 and rows[0]["team"] == team
    members = {m["name"]: (m["today"], m["week"]) for m in rows[0]["members"]}
    assert members == {"lead": (0, 0), "reviewer": (1, 1)}
    assert set(rows[0]["members"][0]) == {"user_id", "name", "today", "week"}
    assert team_exposure(user=reviewer) == []


# --- HTTP: reveal, file, partial, wellbeing ---------------------------------------------------------


def test_graphic_file_is_served_only_after_a_logged_reveal(client, graphic, reviewer):
    client.force_login(reviewer)
    file_url = f"/incidents/{graphic.incident_id}/evidence/{graphic.uid}/file/"
    assert client.get(file_url).status_code == 403
    partial = client.get(f"/incidents/{graphic.incident_id}/evidence/").content.decode()
    assert "is-blurred" in partial and file_url not in partial
    revealed = client.post(f"/incidents/{graphic.incident_id}/evidence/{graphic.uid}/reveal/", HTTP_HX_REQUEST="true")
    assert revealed.status_code == 200 and file_url in revealed.content.decode() and "is-greyscale" in revealed.content.decode()
    served = client.get(file_url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == PNG
    assert "sandbox" in served["Content-Security-Policy"] and "no-store" in served["Cache-Control"]
    assert EvidenceView.objects.filter(user=reviewer, evidence=graphic).count() == 1


def test_reveal_past_the_cap_shows_the_break_interstitial(client, graphic, reviewer):
    WellbeingSettings.objects.create(daily_cap=1)
    client.force_login(reviewer)
    url = f"/incidents/{graphic.incident_id}/evidence/{graphic.uid}/reveal/"
    client.post(url, HTTP_HX_REQUEST="true")
    prompt = client.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Time for a break" in prompt and "file/" not in prompt
    assert EvidenceView.objects.filter(user=reviewer).count() == 1
    confirmed = client.post(url, {"confirm_break": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "is-greyscale" in confirmed
    assert EvidenceView.objects.filter(user=reviewer, after_break=True).count() == 1


def test_reveal_api_and_break_required_409(api, graphic, reviewer):
    WellbeingSettings.objects.create(daily_cap=1)
    url = f"/api/v1/incidents/{graphic.incident_id}/evidence/{graphic.uid}/reveal/"
    first = api(reviewer).post(url, {}, format="json")
    assert first.status_code == 200 and first.json()["reveals_today"] == 1
    assert api(reviewer).get(first.json()["file_url"]).status_code == 200
    second = api(reviewer).post(url, {}, format="json")
    assert second.status_code == 409 and second.json()["break_required"] is True
    assert api(reviewer).post(url, {"confirm_break": True}, format="json").status_code == 200


def test_evidence_api_upload_and_refusals(api, incident, csea_incident, manager, settings):
    url = f"/api/v1/incidents/{incident.pk}/evidence/"
    created = api(manager).post(url, {"kind": "file", "file": upload(), "graphic": "true", "captured": '{"views": 5}'}, format="multipart")
    assert created.status_code == 201, created.content
    assert created.json()["graphic"] is True and created.json()["captured"] == {"views": 5}
    wrong = api(manager).post(url, {"kind": "file", "file": upload("x.exe", EXE)}, format="multipart")
    assert wrong.status_code == 400 and "file" in wrong.json()["errors"]
    settings.EVIDENCE_MAX_BYTES = 10
    big = api(manager).post(url, {"kind": "file", "file": upload()}, format="multipart")
    assert big.status_code == 400 and "file" in big.json()["errors"]
    csea = api(manager).post(f"/api/v1/incidents/{csea_incident.pk}/evidence/", {"kind": "file", "file": upload()}, format="multipart")
    assert csea.status_code == 400 and "CSEA" in csea.json()["errors"]["file"][0]
    listed = api(manager).get(url).json()["results"]
    assert len(listed) == 1 and listed[0]["file_url"].endswith("/file/")


def test_evidence_partial_on_a_csea_incident_has_no_file_input(client, csea_incident, manager):
    client.force_login(manager)
    html = client.get(f"/incidents/{csea_incident.pk}/evidence/").content.decode()
    assert 'type="file"' not in html and "never stored in Firebreak" in html
    refused = client.post(f"/incidents/{csea_incident.pk}/evidence/", {"ev-kind": "file", "ev-legal_basis": "none", "ev-file": upload()})
    assert refused.status_code == 400 and "never stored in Firebreak" in refused.content.decode()
    assert not Evidence.objects.exists()


def test_evidence_partial_upload_errors_name_the_field(client, incident, manager):
    client.force_login(manager)
    response = client.post(
        f"/incidents/{incident.pk}/evidence/",
        {"ev-kind": "file", "ev-legal_basis": "none", "ev-file": upload("x.png", EXE)},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'id="id_ev-file-errors"' in response.content.decode() and "not accepted" in response.content.decode()


def test_wellbeing_page_shows_own_counts_and_team_counts_for_leads(client, graphic, reviewer, lead):
    team = TeamFactory(slug="rr-sg", name="Rapid Response Singapore")
    team.members.add(lead, reviewer)
    evidence_reveal(actor=reviewer, evidence=graphic)
    client.force_login(reviewer)
    mine = client.get("/wellbeing/").content.decode()
    assert 'id="exposure-today">1<' in mine and "Team exposure" not in mine
    client.force_login(lead)
    theirs = client.get("/wellbeing/").content.decode()
    assert "Rapid Response Singapore" in theirs and "Frame 12" not in theirs


def test_admin_sets_the_daily_cap_and_others_cannot(client, admin_user, reviewer, settings):
    settings.FIREBREAK_ADMIN_OTP_REQUIRED = False  # the second factor has its own tests
    client.force_login(reviewer)
    assert client.post("/wellbeing/", {"daily_cap": 3}).status_code == 403
    client.force_login(User.objects.get(pk=admin_user.pk))
    assert client.post("/wellbeing/", {"daily_cap": 0}).status_code == 400
    assert client.post("/wellbeing/", {"daily_cap": 3}).status_code == 200
    assert WellbeingSettings.objects.get().daily_cap == 3


def test_wellbeing_api(api, graphic, reviewer):
    evidence_reveal(actor=reviewer, evidence=graphic)
    body = api(reviewer).get("/api/v1/wellbeing/").json()
    assert body["me"]["today"] == 1 and body["teams"] == []


def test_a_cap_lowered_during_the_day_applies_at_once(graphic, reviewer):
    now = timezone.now()
    for _ in range(3):
        evidence_reveal(actor=reviewer, evidence=graphic, at=now)
    WellbeingSettings.objects.create(daily_cap=2)
    with pytest.raises(BreakRequired):
        evidence_reveal(actor=reviewer, evidence=graphic, at=now)
