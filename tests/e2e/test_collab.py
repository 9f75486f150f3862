"""Stakeholder-update approval and graphic evidence on the incident page, in real Chromium."""

import importlib
import re
import struct
import zlib

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from accounts.models import Team
from incidents.models import HarmCategory
from incidents.models_collab import EvidenceView, StakeholderUpdate, UpdateStatus, WellbeingSettings
from incidents.services import incident_create
from incidents.services_collab import evidence_add, stakeholder_update_create

pytestmark = pytest.mark.e2e


def _png(width: int = 8, height: int = 8) -> bytes:
    """A real (tiny, red) PNG, so the browser decodes what the server streams."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture
def scene(make_user):
    if not HarmCategory.objects.exists():  # browser tests flush data-migration rows
        importlib.import_module("incidents.migrations.0002_harm_categories").seed(apps, None)
    manager = make_user("manager", role="incident_manager")
    reviewer = make_user("reviewer", role="reviewer")
    legal = Team.objects.create(name="Legal", slug="legal", function="legal")
    legal.members.add(reviewer)
    incident = incident_create(
        actor=manager,
        data={
            "title": "Beheading video re-uploads after attack",
            "summary": "Re-uploads with altered hashes; Ofcom information notice received.",
            "channel": "regulator_order",
            "received_at": "2026-01-10T08:00:00Z",
            "authority": "Ofcom",
            "legal_instrument": "Online Safety Act 2023 s. 100 information notice",
            "harm_category": "violent-graphic",
            "severity": 1,
        },
    )
    draft = stakeholder_update_create(
        actor=manager,
        incident=incident,
        audience="regulator",
        recipient="Ofcom Online Safety",
        subject="Information notice OSA-2026-031",
        body="We removed **1,204** re-uploads and added the hashes to our match list.",
    )
    graphic = evidence_add(
        actor=manager,
        incident=incident,
        kind="file",
        title="Frame from re-upload",
        upload=SimpleUploadedFile("frame.png", _png(), content_type="image/png"),
        graphic=True,
    )
    return {"incident": incident, "draft": draft, "graphic": graphic, "reviewer": reviewer}


def test_legal_reviewer_approves_the_managers_regulator_response_and_reveals_blurred_evidence(page, live_server, login, scene):
    incident, draft, graphic, reviewer = scene["incident"], scene["draft"], scene["graphic"], scene["reviewer"]
    login(page, "reviewer")
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")

    updates = page.locator("#incident-updates")
    row = updates.locator(f"#update-{draft.uid}")
    expect(row).to_contain_text("Ofcom Online Safety")
    expect(row.locator(".badge")).to_have_text("Draft")
    row.get_by_role("button", name="Approve").click()
    expect(updates.locator(f"#update-{draft.uid} .badge")).to_have_text("Approved")
    expect(updates.locator(f"#update-{draft.uid}")).to_contain_text("approved by reviewer")
    approved = StakeholderUpdate.objects.get(pk=draft.pk)
    assert approved.status == UpdateStatus.APPROVED and approved.approved_by_id == reviewer.pk

    item = page.locator(f"#evidence-{graphic.uid}")
    veil = item.locator(".evidence-media")
    expect(veil).to_have_class(re.compile(r"\bis-blurred\b"))
    assert "blur" in veil.evaluate("el => getComputedStyle(el).filter")
    expect(item.locator("img")).to_have_count(0)
    assert not EvidenceView.objects.filter(user=reviewer).exists()

    item.get_by_role("button", name="Reveal (logged)").click()
    image = page.locator(f"#evidence-{graphic.uid} img")
    expect(image).to_be_visible()
    page.wait_for_function("el => el.complete && el.naturalWidth === 8", arg=image.element_handle())
    assert "grayscale" in image.evaluate("el => getComputedStyle(el).filter")
    expect(page.locator(f"#evidence-{graphic.uid} .evidence-media")).not_to_have_class(re.compile(r"\bis-blurred\b"))
    assert EvidenceView.objects.filter(user=reviewer, evidence=graphic).count() == 1

    page.goto(f"{live_server.url}/wellbeing/")
    expect(page.locator("#exposure-today")).to_have_text("1")


def test_past_the_daily_cap_a_reviewer_confirms_a_break_before_the_next_reveal(page, live_server, login, scene):
    WellbeingSettings.objects.create(daily_cap=1)
    incident, graphic, reviewer = scene["incident"], scene["graphic"], scene["reviewer"]
    login(page, "reviewer")
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    item = page.locator(f"#evidence-{graphic.uid}")
    item.get_by_role("button", name="Reveal (logged)").click()
    expect(page.locator(f"#evidence-{graphic.uid} img")).to_be_visible()
    page.locator(f"#evidence-{graphic.uid}").get_by_role("button", name="Hide again").click()
    expect(page.locator(f"#evidence-{graphic.uid} .evidence-media")).to_have_class(re.compile(r"\bis-blurred\b"))

    page.locator(f"#evidence-{graphic.uid}").get_by_role("button", name="Reveal (logged)").click()
    prompt = page.get_by_role("alertdialog", name="Time for a break")
    expect(prompt).to_be_visible()
    expect(page.locator(f"#evidence-{graphic.uid} img")).to_have_count(0)
    assert EvidenceView.objects.filter(user=reviewer).count() == 1
    prompt.get_by_role("button", name=re.compile("I have taken a break")).click()
    expect(page.locator(f"#evidence-{graphic.uid} img")).to_be_visible()
    assert EvidenceView.objects.filter(user=reviewer, after_break=True).count() == 1
