"""The Django admin: reachable for admins (OTP off as in dev), the audit log read-only."""

import pytest
from django.test import override_settings

from accounts.services import api_token_create
from core.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_otp_off")]


@pytest.fixture
def _otp_off():
    with override_settings(FIREBREAK_ADMIN_OTP_REQUIRED=False):
        yield


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def audit_event(admin_user):
    token, _ = api_token_create(actor=admin_user, user=admin_user, name="ops", scopes=["read"])
    return AuditEvent.objects.get(action="api_token.create", object_id=str(token.pk))


def test_admin_index_lists_the_apps(admin_client):
    html = admin_client.get("/admin/").content.decode()

    assert "Accounts" in html
    assert "Audit events" in html


@pytest.mark.parametrize("path", ["/admin/accounts/user/", "/admin/accounts/apitoken/", "/admin/core/auditevent/"])
def test_admin_lists_load(admin_client, audit_event, path):
    assert admin_client.get(path).status_code == 200


def test_audit_event_is_read_only_in_the_admin(admin_client, audit_event):
    change = admin_client.get(f"/admin/core/auditevent/{audit_event.pk}/change/")
    assert change.status_code == 200
    html = change.content.decode()
    assert 'name="_save"' not in html
    assert "api_token.create" in html

    assert admin_client.get("/admin/core/auditevent/add/").status_code == 403
    assert admin_client.get(f"/admin/core/auditevent/{audit_event.pk}/delete/").status_code == 403
    posted = admin_client.post(f"/admin/core/auditevent/{audit_event.pk}/change/", {"action": "tampered"})
    assert posted.status_code == 403
    audit_event.refresh_from_db()
    assert audit_event.action == "api_token.create"


def test_api_token_digest_is_not_editable_in_the_admin(admin_client, admin_user):
    token, _ = api_token_create(actor=admin_user, user=admin_user, name="ops", scopes=["read"])

    html = admin_client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()

    assert 'name="digest"' not in html
    assert 'name="prefix"' not in html


def test_non_staff_cannot_open_the_admin(client, responder):
    client.force_login(responder)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
