import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from accounts.models import Clearance, Compartment, Team, User

DEMO_PASSWORD = "firebreak-demo"


@pytest.fixture
def demo_settings(settings):
    settings.DEMO_PASSWORD = DEMO_PASSWORD
    return settings


@pytest.mark.django_db
def test_seed_demo_refuses_outside_the_development_settings(settings):
    assert not hasattr(settings, "DEMO_PASSWORD")
    with pytest.raises(CommandError, match="development settings"):
        call_command("seed_demo")
    assert not User.objects.filter(username="manager").exists()


@pytest.mark.django_db
def test_seed_demo_creates_the_demo_people_teams_and_compartments(demo_settings, rf):
    call_command("seed_demo", stdout=io.StringIO())

    for username, role in [
        ("manager", "incident_manager"),
        ("reviewer", "reviewer"),
        ("responder", "responder"),
        ("lead", "lead"),
        ("analyst", "analyst"),
        ("admin", "admin"),
    ]:
        user = authenticate(rf.post("/accounts/login/"), username=username, password=DEMO_PASSWORD)
        assert user is not None, username
        assert user.has_role(role)
        assert user.display_name
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert not User.objects.get(username="manager").is_superuser
    assert User.objects.filter(groups__name="responder").count() >= 13
    assert {"Europe/Dublin", "Asia/Singapore", "America/Los_Angeles", "America/Chicago"} <= set(
        User.objects.values_list("time_zone", flat=True)
    )

    assert set(Team.objects.values_list("name", flat=True)) >= {
        "Rapid Response Dublin",
        "Rapid Response Singapore",
        "Rapid Response US",
        "Public Policy",
        "Legal",
        "Comms",
        "Product",
        "Trust & Safety Engineering",
    }
    assert all(team.members.exists() for team in Team.objects.all())
    assert Team.objects.get(slug="rapid-response-singapore").time_zone == "Asia/Singapore"

    assert set(Compartment.objects.values_list("slug", flat=True)) >= {"csea", "usds", "legal-privileged"}
    assert all(c.owners.exists() for c in Compartment.objects.all())
    cleared = set(Clearance.objects.active().filter(compartment__slug="csea").values_list("user__username", flat=True))
    assert cleared == {"manager", "lead"}


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing(demo_settings):
    call_command("seed_demo", stdout=io.StringIO())
    manager = User.objects.get(username="manager")
    manager.set_password("a-password-the-manager-chose")
    manager.save()
    counts = {model: model.objects.count() for model in (User, Team, Compartment, Clearance)}

    call_command("seed_demo", stdout=io.StringIO())

    assert {model: model.objects.count() for model in (User, Team, Compartment, Clearance)} == counts
    assert User.objects.get(username="manager").check_password("a-password-the-manager-chose")
