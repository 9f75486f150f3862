"""The benchmark's data set and runner keep working (no timings asserted here)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from incidents.models import Comment, Incident, IncidentCycle, IncidentUserObjectPermission, ReferenceSequence, TimelineEvent
from incidents.services import allocate_reference

ROOT = Path(__file__).resolve().parents[2]


def _seed(n, **kwargs):
    call_command("seed_scale", incidents=n, stdout=open(os.devnull, "w"), **kwargs)  # noqa: SIM115


@pytest.mark.django_db
def test_seed_scale_makes_realistic_consistent_data():
    _seed(300, chunk=120)

    assert Incident.objects.count() == 300
    refs = list(Incident.objects.values_list("reference", flat=True))
    assert len(set(refs)) == 300
    assert all(r.startswith("INC-") for r in refs)
    # Several years, every severity, most finished, a few restricted.
    years = {r.split("-")[1] for r in refs}
    assert len(years) >= 3
    assert set(Incident.objects.values_list("severity", flat=True)) == {1, 2, 3, 4}
    assert Incident.objects.filter(status__in=["closed", "resolved", "declined", "merged"]).count() > 150
    assert 0 < Incident.objects.filter(compartment__isnull=False).count() < 60
    assert Incident.objects.filter(search_vector__isnull=True).count() == 0
    # Children in realistic proportions.
    assert TimelineEvent.objects.count() >= 3 * 300
    assert IncidentCycle.objects.count() == 300
    assert 200 <= Comment.objects.count() <= 600
    restricted = Incident.objects.filter(compartment__isnull=False)
    assert IncidentUserObjectPermission.objects.filter(content_object__in=restricted).count() >= restricted.count()
    # The append-only timeline trigger is still in force after the bulk load.
    with pytest.raises(DatabaseError), transaction.atomic():
        TimelineEvent.objects.filter(pk=TimelineEvent.objects.values_list("pk", flat=True)[0]).update(summary="rewritten")
    # Full-text search finds the campaign code names.
    term = Incident.objects.order_by("id").values_list("keywords", flat=True)[0][1]
    assert Incident.objects.filter(search_vector=term).exists()


@pytest.mark.django_db
def test_seed_scale_leaves_reference_and_id_sequences_consistent():
    _seed(150)
    _seed(150, seed=7)
    assert Incident.objects.values("reference").distinct().count() == 300
    for seq in ReferenceSequence.objects.all():
        numbers = [
            int(r.rsplit("-", 1)[1])
            for r in Incident.objects.filter(reference__startswith=f"INC-{seq.year}-").values_list("reference", flat=True)
        ]
        assert seq.last == max(numbers)
    latest = max(ReferenceSequence.objects.values_list("year", flat=True))
    # The next incident declared through the service gets a fresh reference.
    assert not Incident.objects.filter(reference=allocate_reference(latest)).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('incidents_incident', 'id'))")
        assert cursor.fetchone()[0] > Incident.objects.order_by("-id").values_list("id", flat=True)[0]


def test_seed_scale_refuses_nonsense():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        _seed(0)


@pytest.mark.django_db(transaction=True)
def test_runner_smoke_seeds_and_reports(tmp_path):
    """bench/run.py --smoke on its own small database: create, migrate, seed, report."""
    db = os.environ.get("TEST_DATABASE_NAME", "test_firebreak") + "_runner"
    out = tmp_path / "results.json"
    env = dict(os.environ, BENCH_DATABASE_NAME=db)
    proc = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--incidents", "200", "--only", "seed", "--output", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["seed"]["incidents"] == 200
    assert results["seed"]["peak_rss_mb"] > 0
    assert "B6 seed_scale" in proc.stdout
