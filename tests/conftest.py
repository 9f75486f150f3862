import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from tests.accounts.factories import UserFactory


@pytest.fixture
def make_user(db):
    def make(username=None, role=None, **kwargs):
        user = UserFactory(**({"username": username} if username else {}), **kwargs)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def manager(make_user):
    return make_user("manager", role="incident_manager")


@pytest.fixture
def reviewer(make_user):
    return make_user("reviewer", role="reviewer")


@pytest.fixture
def responder(make_user):
    return make_user("responder", role="responder")


@pytest.fixture
def lead(make_user):
    return make_user("lead", role="lead")


@pytest.fixture
def admin_user(make_user):
    return make_user("admin", role="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def api():
    """api(user) → an APIClient signed in as user (session), api() → anonymous."""

    def make(user=None, token=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        if token is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make
