"""The shipped legal clocks: one sample order per jurisdiction with its computed due time,
versions by effective date (India 36 h → 3 h on 20 February 2026), and regulator-order intake."""

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import ValidationError
from escalations.models import LegalClock, LegalClockVersion, SLAClock
from escalations.sla_services import legal_clock_version_add, legal_clock_version_at
from incidents.models import Incident
from tests.escalations.factories_sla_core import regulator_order

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
RECEIVED = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # after every 2026 change below


def authority_clock(incident):
    return SLAClock.objects.select_related("legal_clock_version__legal_clock").get(incident=incident, metric="authority_response")


def test_every_shipped_clock_has_a_citation_a_source_and_a_version():
    clocks = list(LegalClock.objects.prefetch_related("versions"))
    assert len(clocks) >= 15
    for clock in clocks:
        assert clock.citation and clock.source_url.startswith("https://"), clock.code
        assert clock.stop_condition, clock.code
        assert clock.versions.exists(), clock.code
        if clock.internal_target:
            assert "Internal target, not the law" in clock.notes
            assert all(v.duration == 24 * H for v in clock.versions.all())
    internal = set(LegalClock.objects.filter(internal_target=True).values_list("code", flat=True))
    assert internal == {
        "uk-osa-s66-csea-report",
        "eu-dsa-art9-order",
        "eu-dsa-art10-info-order",
        "eu-dsa-art22-trusted-flagger",
        "eu-dsa-art18-threat-to-life",
        "us-2258a-ncmec-report",
    }


@pytest.mark.parametrize(
    ("instrument", "code", "hours"),
    [
        ("TCO Regulation (EU) 2021/784 Art. 3", "eu-tco-removal-order", 1),
        ("Online Safety Act 2021 s. 109 (eSafety)", "au-osa-removal-notice", 24),
        ("TAKE IT DOWN Act", "us-take-it-down-ncii", 48),
        ("Online Safety Act 2023 s. 66", "uk-osa-s66-csea-report", 24),
        ("DSA Art. 9 order", "eu-dsa-art9-order", 24),
        ("DSA Art. 10 information order", "eu-dsa-art10-info-order", 24),
        ("DSA Art. 22 trusted flagger notice", "eu-dsa-art22-trusted-flagger", 24),
        ("DSA Art. 18", "eu-dsa-art18-threat-to-life", 24),
        ("IT Rules 2021 r. 3(1)(d) (MeitY order)", "in-it-rules-takedown", 3),
        ("IT Rules 2021 r. 3(2)(b) NCII complaint", "in-it-rules-ncii", 2),
        ("IT Rules grievance", "in-it-rules-grievance-ack", 7 * 24),
        ("Law 5651 Additional Art. 4", "tr-5651-personal-rights", 48),
        ("Law 5651 Art. 8/A", "tr-5651-art8a-urgent", 4),
        ("18 U.S.C. 2258A", "us-2258a-ncmec-report", 24),
    ],
)
def test_a_sample_order_per_jurisdiction_gets_its_legal_deadline_from_receipt(manager, instrument, code, hours):
    incident = regulator_order(manager, instrument=instrument, received_at=RECEIVED)

    clock = authority_clock(incident)
    assert clock.legal_clock_version.legal_clock.code == code
    assert clock.started_at == RECEIVED
    assert clock.due_at == RECEIVED + hours * H
    assert clock.duration == hours * H


def test_india_before_and_after_20_february_2026(manager):
    before = regulator_order(manager, instrument="IT Rules 2021", received_at=datetime(2026, 2, 19, 18, 0, tzinfo=UTC))  # 23:30 IST
    after = regulator_order(manager, instrument="IT Rules 2021", received_at=datetime(2026, 2, 19, 18, 30, tzinfo=UTC))  # 00:00 IST

    assert authority_clock(before).due_at == datetime(2026, 2, 19, 18, 0, tzinfo=UTC) + 36 * H
    assert authority_clock(before).legal_clock_version.description.startswith("36 hours")
    assert authority_clock(after).due_at == datetime(2026, 2, 19, 18, 30, tzinfo=UTC) + 3 * H
    ncii = regulator_order(manager, instrument="deepfake nudity complaint (NCII)", received_at=RECEIVED)
    assert authority_clock(ncii).due_at == RECEIVED + 2 * H


def test_netzdg_is_no_longer_in_force_and_an_order_under_it_falls_back_to_the_policy_target(manager):
    netzdg = LegalClock.objects.get(code="de-netzdg-manifestly-unlawful")
    assert legal_clock_version_at(netzdg, RECEIVED) is None
    assert legal_clock_version_at(netzdg, datetime(2023, 1, 1, tzinfo=UTC)).duration == 24 * H

    incident = regulator_order(manager, instrument="NetzDG § 3", received_at=RECEIVED)
    clock = authority_clock(incident)
    assert clock.legal_clock_version is None
    assert clock.due_at == RECEIVED + 24 * H  # the "Regulator order" policy's own 24 h
    start = clock.events.get(kind="start")
    assert "not in force" in start.data["note"]


def test_an_order_naming_a_legal_clock_code_uses_it_and_an_unknown_code_is_refused_whole(manager):
    incident = regulator_order(
        manager, instrument="Removal order", received_at=RECEIVED, intake_details={"legal_clock": "tr-5651-art8a-urgent"}
    )
    assert authority_clock(incident).due_at == RECEIVED + 4 * H

    count = Incident.objects.count()
    with pytest.raises(ValidationError) as caught:
        regulator_order(manager, instrument="Removal order", received_at=RECEIVED, intake_details={"legal_clock": "atlantis-act"})
    assert "legal_clock" in caught.value.errors
    assert Incident.objects.count() == count  # nothing half-saved


def test_a_received_at_in_the_future_is_refused_naming_the_field(manager):
    count = Incident.objects.count()
    with pytest.raises(ValidationError) as caught:
        regulator_order(manager, instrument="TCO", received_at=datetime.now(UTC) + timedelta(hours=2))
    assert "received_at" in caught.value.errors
    assert Incident.objects.count() == count


def test_a_new_legal_version_never_changes_clocks_already_started(manager):
    tco = LegalClock.objects.get(code="eu-tco-removal-order")
    early = regulator_order(manager, instrument="TCO 2021/784", received_at=RECEIVED)
    change = datetime(2026, 9, 1, tzinfo=UTC)

    legal_clock_version_add(actor=None, legal_clock=tco, effective_from=change, duration="00:30:00", description="Hypothetical 30 minutes")

    assert authority_clock(early).due_at == RECEIVED + H
    assert LegalClockVersion.objects.get(legal_clock=tco, effective_from__lt=change).effective_until == change
    late = regulator_order(manager, instrument="TCO 2021/784", received_at=change + timedelta(days=1))
    assert authority_clock(late).duration == timedelta(minutes=30)
    # Recomputing the early order (a severity change) keeps the version it started with.
    from incidents.services import incident_set_severity

    incident_set_severity(actor=manager, incident=early, severity=1, reason="Worse than thought")
    clock = authority_clock(early)
    assert clock.duration == H and clock.legal_clock_version.effective_from < change


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"effective_from": RECEIVED, "duration": 0}, "duration"),
        ({"effective_from": RECEIVED, "duration": "-01:00:00"}, "duration"),
        ({"effective_from": RECEIVED.replace(tzinfo=None), "duration": 60}, "effective_from"),
        ({"effective_from": RECEIVED, "duration": 60, "effective_until": RECEIVED}, "effective_until"),
    ],
)
def test_bad_legal_versions_are_refused(kwargs, field):
    tco = LegalClock.objects.get(code="eu-tco-removal-order")
    before = LegalClockVersion.objects.filter(legal_clock=tco).count()
    with pytest.raises(ValidationError) as caught:
        legal_clock_version_add(actor=None, legal_clock=tco, **kwargs)
    assert field in caught.value.errors
    assert LegalClockVersion.objects.filter(legal_clock=tco).count() == before


def test_removing_the_content_stops_the_order_clock_and_a_filed_report_needs_its_reference(manager):
    from incidents.services import incident_record_milestone

    order = regulator_order(manager, instrument="TCO 2021/784", received_at=datetime.now(UTC) - timedelta(minutes=20))
    incident_record_milestone(actor=manager, incident=order, milestone="content_removed")
    clock = authority_clock(order)
    assert clock.state == "met" and clock.stopped_at <= clock.due_at
    assert SLAClock.objects.get(incident=order, metric="mitigation").state == "met"

    report = regulator_order(manager, instrument="18 U.S.C. 2258A", received_at=RECEIVED)
    with pytest.raises(ValidationError):
        incident_record_milestone(actor=manager, incident=report, milestone="report_filed", data={})
    assert authority_clock(report).stopped_at is None
    incident_record_milestone(actor=manager, incident=report, milestone="report_filed", data={"reference_number": "CT-123"})
    assert authority_clock(report).state == "breached"  # received in June with a 24 h internal target
