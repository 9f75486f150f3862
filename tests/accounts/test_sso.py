"""OpenID Connect sign-in against a local provider that issues real RS256-signed tokens:
the authorization-code flow with PKCE and nonce, group claims mapped to roles and
clearances, and every way a token can be wrong."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import Group
from django.test import override_settings

from accounts.models import Clearance, Compartment, ExternalIdentity, User
from accounts.services import clearance_grant
from config.env import group_map
from core.models import AuditEvent

pytestmark = pytest.mark.django_db

CLIENT_ID = "firebreak-web"
CLIENT_SECRET = "s3cret-client"  # noqa: S105 - the local provider's test secret


class Provider:
    """A small OpenID provider: /token, /userinfo and /jwks, with switches to misbehave."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.codes: dict[str, dict] = {}
        self.sign_with = self.key
        self.overrides: dict = {}
        self.alg = "RS256"
        self.token_status = 200
        self.userinfo_overrides: dict = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/jwks":
                    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key()))
                    jwk.update(kid=provider.kid, use="sig", alg="RS256")
                    return self._json(200, {"keys": [jwk]})
                if self.path == "/userinfo":
                    code = self.headers.get("Authorization", "").removeprefix("Bearer at-")
                    grant = provider.codes.get(code)
                    if grant is None:
                        return self._json(401, {"error": "invalid_token"})
                    claims = {k: v for k, v in grant["claims"].items() if k != "nonce"}
                    return self._json(200, {**claims, **provider.userinfo_overrides})
                return self._json(404, {})

            def do_POST(self):
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                field = {k: v[0] for k, v in form.items()}
                if provider.token_status != 200:
                    return self._json(provider.token_status, {"error": "server_error"})
                grant = provider.codes.pop(field.get("code", ""), None)
                if field.get("client_id") != CLIENT_ID or field.get("client_secret") != CLIENT_SECRET or grant is None:
                    return self._json(400, {"error": "invalid_grant"})
                verifier = field.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if challenge != grant["challenge"]:
                    return self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
                provider.codes[field["code"]] = grant  # the userinfo call still needs it
                now = int(time.time())
                claims = {"iss": provider.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, **grant["claims"], **provider.overrides}
                id_token = jwt.encode(claims, provider.sign_with, algorithm=provider.alg, headers={"kid": provider.kid})
                return self._json(200, {"access_token": f"at-{field['code']}", "id_token": id_token, "token_type": "Bearer"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.base
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def issue_code(self, authorize_url: str, **claims) -> tuple[str, str]:
        """What the provider does when the person signs in: a code for these claims,
        bound to the request's nonce and PKCE challenge; returns (code, state)."""
        query = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
        assert query["client_id"] == CLIENT_ID
        assert query["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"claims": {"nonce": query["nonce"], **claims}, "challenge": query["code_challenge"]}
        return code, query["state"]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider(settings):
    p = Provider()
    with override_settings(
        FIREBREAK_SSO_ENABLED=True,
        AUTHENTICATION_BACKENDS=[
            "axes.backends.AxesStandaloneBackend",
            "accounts.oidc.FirebreakOIDCBackend",
            "django.contrib.auth.backends.ModelBackend",
            "guardian.backends.ObjectPermissionBackend",
        ],
        OIDC_RP_CLIENT_ID=CLIENT_ID,
        OIDC_RP_CLIENT_SECRET=CLIENT_SECRET,
        OIDC_OP_ISSUER=p.issuer,
        OIDC_OP_AUTHORIZATION_ENDPOINT=f"{p.base}/authorize",
        OIDC_OP_TOKEN_ENDPOINT=f"{p.base}/token",
        OIDC_OP_USER_ENDPOINT=f"{p.base}/userinfo",
        OIDC_OP_JWKS_ENDPOINT=f"{p.base}/jwks",
        OIDC_PROVIDER_NAME="Acme SSO",
        OIDC_ROLE_MAP={"fb-managers": ["incident_manager"], "fb-leads": ["lead"]},
        OIDC_COMPARTMENT_MAP={"fb-csea": ["csea"]},
    ):
        yield p
    p.close()


@pytest.fixture
def csea(db):
    return Compartment.objects.create(slug="csea", name="CSEA")


def sign_in(client, provider, **claims):
    start = client.get("/accounts/sso/start/")
    assert start.status_code == 302, start
    assert start["Location"].startswith(f"{provider.base}/authorize?")
    code, state = provider.issue_code(start["Location"], **claims)
    return client.get("/accounts/sso/callback/", {"code": code, "state": state})


def signed_in_user(client):
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_first_sign_in_creates_the_user_with_mapped_role_and_clearance(client, provider, csea):
    response = sign_in(
        client,
        provider,
        sub="u-100",
        email="ana@example.org",
        email_verified=True,
        name="Ana Ruiz",
        preferred_username="ana",
        groups=["fb-managers", "fb-csea", "unmapped"],
        zoneinfo="Europe/Dublin",
    )

    assert response.status_code == 302 and response["Location"] == "/"
    user = signed_in_user(client)
    assert user.username == "ana" and user.display_name == "Ana Ruiz" and user.time_zone == "Europe/Dublin"
    assert not user.has_usable_password()
    assert set(user.groups.values_list("name", flat=True)) == {"incident_manager"}
    clearance = Clearance.objects.get(user=user, compartment=csea)
    assert clearance.source == "sso" and clearance.revoked_at is None
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject, identity.groups) == (provider.issuer, "u-100", ["fb-csea", "fb-managers", "unmapped"])
    assert AuditEvent.objects.filter(action="sso.create_user", object_id=str(user.pk)).count() == 1
    assert AuditEvent.objects.filter(action="sso.clearance_grant", object_id=str(clearance.pk)).count() == 1


def test_later_sign_in_follows_the_group_claim_but_keeps_clearances_granted_by_people(client, provider, csea, admin_user):
    sign_in(client, provider, sub="u-7", email="bo@example.org", groups=["fb-managers", "fb-csea"])
    user = signed_in_user(client)
    legal = Compartment.objects.create(slug="legal", name="Legal privileged")
    clearance_grant(actor=admin_user, user=user, compartment=legal, reason="Takedown litigation")
    client.logout()

    sign_in(client, provider, sub="u-7", email="bo@example.org", groups=["fb-leads"])

    assert signed_in_user(client) == user
    assert set(user.groups.values_list("name", flat=True)) == {"lead"}
    assert Clearance.objects.get(user=user, compartment=csea).revoked_at is not None
    assert Clearance.objects.get(user=user, compartment=legal).revoked_at is None
    assert User.objects.filter(email="bo@example.org").count() == 1


def test_a_verified_email_links_the_existing_local_account(client, provider, make_user):
    local = make_user("cara", email="cara@example.org")
    sign_in(client, provider, sub="idp-cara", email="CARA@example.org", email_verified=True, groups=[])
    assert signed_in_user(client) == local
    assert ExternalIdentity.objects.get(subject="idp-cara").user == local


def test_an_unverified_email_never_takes_over_a_local_account(client, provider, make_user):
    local = make_user("dan", email="dan@example.org")
    sign_in(client, provider, sub="idp-evil", email="dan@example.org", email_verified=False, groups=["fb-managers"])
    user = signed_in_user(client)
    assert user is not None and user != local
    assert not local.external_identities.exists()


def test_a_deactivated_user_cannot_sign_in(client, provider, make_user):
    sign_in(client, provider, sub="u-gone", email="gone@example.org", groups=[])
    user = signed_in_user(client)
    user.is_active = False
    user.save()
    client.logout()
    response = sign_in(client, provider, sub="u-gone", email="gone@example.org", groups=[])
    assert response["Location"] == "/accounts/login/?sso=failed"
    assert signed_in_user(client) is None


@pytest.mark.parametrize(
    "sabotage",
    [
        pytest.param(lambda p: setattr(p, "sign_with", rsa.generate_private_key(public_exponent=65537, key_size=2048)), id="bad-signature"),
        pytest.param(lambda p: p.overrides.update(aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda p: p.overrides.update(iss="https://evil.example"), id="wrong-issuer"),
        pytest.param(lambda p: p.overrides.update(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200), id="expired"),
        pytest.param(lambda p: p.overrides.update(nonce="replayed-nonce"), id="nonce-mismatch"),
        pytest.param(lambda p: setattr(p, "alg", "HS256") or setattr(p, "sign_with", CLIENT_SECRET), id="algorithm-swap"),
        pytest.param(lambda p: p.userinfo_overrides.update(sub="someone-else"), id="userinfo-subject-differs"),
        pytest.param(lambda p: setattr(p, "token_status", 500), id="provider-error"),
    ],
)
def test_a_bad_token_or_provider_fails_the_sign_in_with_a_message_not_a_500(client, provider, sabotage):
    sabotage(provider)
    response = sign_in(client, provider, sub="u-1", email="x@example.org", groups=["fb-managers"])

    assert response.status_code == 302 and response["Location"] == "/accounts/login/?sso=failed"
    assert signed_in_user(client) is None
    assert not User.objects.filter(email="x@example.org").exists()
    page = client.get(response["Location"]).content.decode()
    assert "Single sign-on did not complete" in page


def test_a_callback_with_a_forged_state_is_refused(client, provider):
    start = client.get("/accounts/sso/start/")
    code, _state = provider.issue_code(start["Location"], sub="u-2", groups=[])
    response = client.get("/accounts/sso/callback/", {"code": code, "state": "forged"})
    assert response.status_code == 400
    assert signed_in_user(client) is None


def test_login_page_offers_sso_only_when_configured(client, provider):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Acme SSO" in page and 'name="password"' in page


def test_without_configuration_sso_routes_answer_404_and_the_page_has_no_button(client):
    assert client.get("/accounts/sso/start/").status_code == 404
    assert client.get("/accounts/sso/callback/?code=a&state=b").status_code == 404
    assert "Sign in with" not in client.get("/accounts/login/").content.decode()


def test_group_map_parses_the_environment_format_and_refuses_malformed_entries():
    assert group_map("a=incident_manager; b = lead, analyst ;") == {"a": ["incident_manager"], "b": ["lead", "analyst"]}
    assert group_map("") == {}
    for bad in ("novalue", "=lead", "grp="):
        with pytest.raises(ValueError, match="idp-group=value"):
            group_map(bad)


def test_roles_group_names_used_by_the_map_exist():
    assert {"incident_manager", "lead"} <= set(Group.objects.values_list("name", flat=True))
