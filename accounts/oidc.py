"""OpenID Connect sign-in through mozilla-django-oidc, with what its defaults leave out:
the ID token's audience, issuer and expiry are verified, users are matched on
(issuer, subject) rather than on an email address, and the provider's group claim
sets roles and compartment clearances (``accounts.services.sso_sign_in``).

Enabled only when ``OIDC_RP_CLIENT_ID`` is set; local accounts keep working beside it."""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts import services
from core.errors import ApplicationError

logger = logging.getLogger(__name__)


class FirebreakOIDCBackend(OIDCAuthenticationBackend):
    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        try:
            alg = jwt.get_unverified_header(payload).get("alg")
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation("The ID token is not a JWS.") from exc
        if alg != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"The ID token is signed with {alg!r}, not {self.OIDC_RP_SIGN_ALGO!r}.")
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[alg],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                leeway=settings.OIDC_CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token rejected: {exc}") from exc

    def authenticate(self, request, **kwargs):
        try:
            return super().authenticate(request, **kwargs)
        except (SuspiciousOperation, requests.RequestException, ValueError, KeyError) as exc:
            # A bad token, a provider that is down or answers garbage: the sign-in fails
            # with a message on the login page, never a 500.
            logger.warning("single sign-on failed: %s", exc)
            return None

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]):
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if str(userinfo.get("sub")) != str(payload.get("sub")):
                raise SuspiciousOperation("The userinfo subject differs from the ID token's.")
            claims = {**userinfo, **payload}
        try:
            return services.sso_sign_in(
                issuer=settings.OIDC_OP_ISSUER,
                claims=claims,
                role_map=settings.OIDC_ROLE_MAP,
                compartment_map=settings.OIDC_COMPARTMENT_MAP,
                groups_claim=settings.OIDC_GROUPS_CLAIM,
            )
        except ApplicationError as exc:
            logger.warning("single sign-on refused: %s", exc)
            return None
