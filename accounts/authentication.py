from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.services import api_token_authenticate

FAILURE_LIMIT = 30  # per client address per minute; tokens bypass axes, so they get their own brake


def authenticate_token(request, plaintext: str, *, unknown: str):
    """(user, token) for a presented secret, behind a per-address brake on failures;
    ``unknown`` is the refusal a caller presenting a wrong secret reads."""
    failures = f"token-failures:{request.META.get('REMOTE_ADDR', 'unknown')}"
    if (cache.get(failures) or 0) >= FAILURE_LIMIT:
        raise exceptions.Throttled(wait=60, detail="Too many failed token attempts from this address; wait a minute.")
    token = api_token_authenticate(plaintext)
    if token is None:
        try:
            cache.incr(failures)
        except ValueError:
            cache.set(failures, 1, timeout=60)
        raise exceptions.AuthenticationFailed(unknown)
    return (token.user, token)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: expected 'Bearer <token>'.")
        try:
            plaintext = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("The token is not valid.") from exc
        return authenticate_token(request, plaintext, unknown="The token is unknown, expired or revoked.")

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Tells the OpenAPI document how personal API tokens are presented."""

    target_class = BearerTokenAuthentication
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (fbk_…) from the profile page or `manage.py create_api_token`.",
        }
