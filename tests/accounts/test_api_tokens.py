from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from accounts.authentication import FAILURE_LIMIT
from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_revoke, token_digest
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_failure_counters():
    # The brake counts failures per address in Redis; each test starts from zero.
    cache.clear()
    yield
    cache.clear()


def make_token(user, scopes=("read",), days=30, name="script"):
    return api_token_create(actor=user, user=user, name=name, scopes=list(scopes), expires_in_days=days)


def test_a_valid_token_reads_me_and_records_last_use(api, responder):
    token, plaintext = make_token(responder)
    assert token.last_used_at is None

    response = api(token=plaintext).get("/api/v1/me/")

    assert response.status_code == 200, response.content
    assert response.json()["username"] == "responder"
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize(
    "presented",
    ["fbk_00000000_not-a-real-token", "not-even-our-format", "fbk_"],
)
def test_unknown_token_gets_401_with_bearer_challenge(api, presented):
    response = api(token=presented).get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Content-Type"] == "application/problem+json"
    assert "unknown, expired or revoked" in response.json()["detail"]


def test_token_with_right_prefix_but_wrong_secret_gets_401(api, responder):
    token, plaintext = make_token(responder)
    forged = f"fbk_{token.prefix}_{'x' * 43}"

    response = api(token=forged).get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_gets_401(api, responder):
    token, plaintext = make_token(responder)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api(token=plaintext).get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_gets_401(api, responder):
    token, plaintext = make_token(responder)
    assert api(token=plaintext).get("/api/v1/me/").status_code == 200
    api_token_revoke(actor=responder, token_id=token.pk)

    response = api(token=plaintext).get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_of_a_deactivated_user_gets_401(api, responder):
    _, plaintext = make_token(responder)
    responder.is_active = False
    responder.save(update_fields=["is_active"])

    assert api(token=plaintext).get("/api/v1/me/").status_code == 401


def test_anonymous_call_gets_401_with_bearer_challenge(api):
    response = api().get("/api/v1/tokens/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_malformed_authorization_header_gets_401(api):
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Bearer two parts")

    response = client.get("/api/v1/me/")

    assert response.status_code == 401
    assert "Bearer <token>" in response.json()["detail"]


def test_read_only_token_cannot_write_and_the_message_names_the_scope(api, responder):
    _, plaintext = make_token(responder, scopes=["read"])

    response = api(token=plaintext).post("/api/v1/tokens/", {"name": "x", "scopes": ["read"]}, format="json")

    assert response.status_code == 403
    assert "'write'" in response.json()["detail"]
    assert ApiToken.objects.filter(user=responder).count() == 1


@pytest.mark.parametrize("path", ["/api/v1/tokens/", "/api/v1/me/"])
def test_intake_only_token_cannot_read(api, responder, path):
    _, plaintext = make_token(responder, scopes=["intake"])

    response = api(token=plaintext).get(path)

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "'read'" in response.json()["detail"]


def test_repeated_bad_tokens_from_one_address_are_braked_with_429(api, responder):
    client = api(token="fbk_deadbeef_wrong")
    for _ in range(FAILURE_LIMIT):
        assert client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.7").status_code == 401

    braked = client.get("/api/v1/me/", REMOTE_ADDR="203.0.113.7")

    assert braked.status_code == 429
    assert int(braked["Retry-After"]) > 0
    assert "Too many failed token attempts" in braked.json()["detail"]
    # The brake is per address: a good token from elsewhere still works.
    _, plaintext = make_token(responder)
    assert api(token=plaintext).get("/api/v1/me/", REMOTE_ADDR="198.51.100.9").status_code == 200


def test_plaintext_is_never_stored_only_its_digest(api, responder):
    response = api(user=responder).post(
        "/api/v1/tokens/", {"name": "Alertmanager bridge", "scopes": ["read", "intake"], "expires_in_days": 30}, format="json"
    )
    assert response.status_code == 201, response.content
    plaintext = response.json()["token"]
    assert plaintext.startswith("fbk_")
    assert response["Cache-Control"] == "no-store"

    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.digest == token_digest(plaintext)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken WHERE id = %s", [token.pk])
        row = cursor.fetchone()
        cursor.execute("SELECT before::text, after::text FROM core_auditevent WHERE object_id = %s", [str(token.pk)])
        audit_rows = cursor.fetchall()
    stored = " ".join(str(v) for v in row)
    secret_part = plaintext.rsplit("_", 1)[1]
    assert plaintext not in stored and secret_part not in stored
    assert audit_rows and all(secret_part not in str(r) for r in audit_rows)
    assert AuditEvent.objects.filter(action="api_token.create", object_id=str(token.pk)).exists()


def test_list_shows_own_tokens_without_secrets(api, responder, reviewer):
    mine, _ = make_token(responder, name="mine")
    make_token(reviewer, name="theirs")

    response = api(user=responder).get("/api/v1/tokens/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [t["name"] for t in results] == ["mine"]
    assert results[0]["prefix"] == mine.prefix
    assert "token" not in results[0] and "digest" not in results[0]


@pytest.mark.parametrize("page_size", [1, 50])
def test_token_list_query_count_does_not_grow(api, responder, django_assert_num_queries, page_size):
    for i in range(60):
        make_token(responder, name=f"t{i}")
    client = api(user=responder)

    with django_assert_num_queries(1):
        response = client.get(f"/api/v1/tokens/?page_size={page_size}")

    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": ["read"]}, "name"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["root"]}, "scopes"),
        ({"name": "x", "scopes": ["read"], "expires_in_days": 0}, "expires_in_days"),
        ({"name": "x", "scopes": ["read"], "expires_in_days": 10_000}, "expires_in_days"),
        ({"name": "x", "scopes": ["admin"]}, "scopes"),
    ],
)
def test_bad_create_input_gets_400_naming_the_field(api, responder, body, field):
    response = api(user=responder).post("/api/v1/tokens/", body, format="json")

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert any(key.startswith(field) for key in response.json()["errors"])
    assert not ApiToken.objects.filter(user=responder).exists()


def test_a_token_cannot_mint_a_broader_token(api, responder):
    _, plaintext = make_token(responder, scopes=["read", "write"])

    response = api(token=plaintext).post("/api/v1/tokens/", {"name": "wider", "scopes": ["intake"]}, format="json")

    assert response.status_code == 403
    assert "intake" in response.json()["detail"]
    narrower = api(token=plaintext).post("/api/v1/tokens/", {"name": "narrower", "scopes": ["read"]}, format="json")
    assert narrower.status_code == 201


def test_revoke_through_the_api(api, responder):
    token, plaintext = make_token(responder)

    response = api(user=responder).post(f"/api/v1/tokens/{token.pk}/revoke/")

    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert response.json()["is_active"] is False
    assert api(token=plaintext).get("/api/v1/me/").status_code == 401


def test_someone_elses_token_cannot_be_revoked_and_looks_missing(api, responder, reviewer):
    theirs, plaintext = make_token(reviewer)

    response = api(user=responder).post(f"/api/v1/tokens/{theirs.pk}/revoke/")
    missing = api(user=responder).post("/api/v1/tokens/999999/revoke/")

    assert response.status_code == missing.status_code == 404
    assert response.json()["detail"] == missing.json()["detail"]
    assert api(token=plaintext).get("/api/v1/me/").status_code == 200


def test_create_api_token_command_prints_the_token_once(responder, capsys, api):
    call_command("create_api_token", "responder", "--scope", "read", "--scope", "write", "--name", "cron", "--days", "7")

    out, err = capsys.readouterr()
    plaintext = out.strip()
    token = ApiToken.objects.get(user=responder)
    assert token.name == "cron" and token.scopes == ["read", "write"]
    assert token.digest == token_digest(plaintext)
    assert 6 <= (token.expires_at - timezone.now()).days <= 7
    assert "not shown again" in err
    assert api(token=plaintext).get("/api/v1/me/").status_code == 200


def test_create_api_token_command_rejects_unknown_user_and_bad_days(responder):
    with pytest.raises(CommandError, match="No active user"):
        call_command("create_api_token", "nobody", "--scope", "read")
    with pytest.raises(CommandError, match="between 1 and"):
        call_command("create_api_token", "responder", "--scope", "read", "--days", "0")
    assert not ApiToken.objects.exists()
