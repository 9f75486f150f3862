"""Login lockout (django-axes): five wrong passwords lock the username+address pair."""

import pytest
from django.conf import settings

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def someone():
    return UserFactory(username="someone")


def sign_in(client, username, password, ip="192.0.2.10"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_fails_limit_is_five():
    assert settings.AXES_FAILURE_LIMIT == 5


def test_wrong_passwords_show_the_form_error_until_the_limit(client, someone):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, "someone", "wrong-password")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()


def test_after_five_failures_even_the_right_password_is_locked_out(client, someone):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "someone", "wrong-password")

    response = sign_in(client, "someone", PASSWORD)

    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed sign-ins" in html
    assert "locked" in html
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_so_a_colleague_at_the_same_address_still_signs_in(client, someone):
    UserFactory(username="colleague")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "someone", "wrong-password")

    response = sign_in(client, "colleague", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_lockout_is_per_address_so_the_same_user_elsewhere_still_signs_in(client, someone):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "someone", "wrong-password", ip="192.0.2.10")

    response = sign_in(client, "someone", PASSWORD, ip="198.51.100.20")

    assert response.status_code == 302


def test_a_success_resets_the_counter(client, someone):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "someone", "wrong-password")
    assert sign_in(client, "someone", PASSWORD).status_code == 302
    client.post("/accounts/logout/")

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "someone", "wrong-password").status_code == 200

    assert sign_in(client, "someone", PASSWORD).status_code == 302
