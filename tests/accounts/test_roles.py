import pytest
from django.contrib.auth.models import Group


@pytest.mark.django_db
def test_every_role_exists_as_a_group():
    names = set(Group.objects.values_list("name", flat=True))
    assert {"incident_manager", "reviewer", "responder", "lead", "analyst", "viewer", "admin"} <= names


@pytest.mark.django_db
def test_admin_role_holds_every_permission():
    from django.contrib.auth.models import Permission

    assert Group.objects.get(name="admin").permissions.count() == Permission.objects.count()
