"""Monitoring webhooks: Prometheus Alertmanager (webhook payload version 4) and the
PagerDuty Events API v2 shape. Both take an API token with the `intake` scope as a Bearer
token; the PagerDuty endpoint also takes it as the body's `routing_key`, as PagerDuty
senders present it."""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig
from django.http.request import RawPostDataException
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import authentication, exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from accounts.authentication import BearerTokenAuthentication, authenticate_token
from core.api.permissions import Rule
from core.errors import ValidationError
from integrations import services

INTAKE = Rule(perm=None, scope="intake")
ALERTMANAGER_MAX_BYTES = 1024 * 1024
PAGERDUTY_MAX_BYTES = 512 * 1024  # PagerDuty's own limit for one event


class WebhookThrottle(SimpleRateThrottle):
    """Per intake key: a flapping alert rule cannot starve other senders."""

    scope = "integrations_webhook"
    rate = "600/min"

    def get_cache_key(self, request, view):
        token = getattr(request, "auth", None)
        ident = f"token-{token.prefix}" if getattr(token, "prefix", None) else f"user-{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class RoutingKeyAuthentication(authentication.BaseAuthentication):
    """The body's routing_key as the intake token, for senders that cannot set a header."""

    def authenticate(self, request):
        try:
            body = request._request.body
        except (RequestDataTooBig, RawPostDataException):
            return None  # too big, or a form body already parsed: not a PagerDuty sender
        if not body or len(body) > PAGERDUTY_MAX_BYTES:
            return None
        try:
            key = json.loads(body).get("routing_key")
        except (ValueError, AttributeError, UnicodeDecodeError):
            return None
        if not isinstance(key, str) or not key:
            return None
        return authenticate_token(request, key, unknown="The routing_key is not a valid intake key.")

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class RoutingKeyScheme(OpenApiAuthenticationExtension):
    """The OpenAPI document names the body's routing_key as an accepted credential."""

    target_class = RoutingKeyAuthentication
    name = "pagerDutyRoutingKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An intake-scope API token, as a Bearer header or as the body's routing_key (PagerDuty Events v2).",
        }


def _body(request, limit: int):
    try:
        raw = request._request.body
    except RequestDataTooBig:
        raise ValidationError.for_field("body", f"The request is larger than {limit:,} bytes.") from None
    except RawPostDataException:
        raise ValidationError.for_field("body", "Send the event as JSON (Content-Type: application/json).") from None
    if len(raw) > limit:
        raise ValidationError.for_field("body", f"The request is larger than {limit:,} bytes.")
    return request.data


def _token(request):
    token = getattr(request, "auth", None)
    if token is None or not hasattr(token, "prefix"):
        raise exceptions.PermissionDenied("Webhooks take an API token with the 'intake' scope, not a browser session.")
    return token


class WebhookOutput(serializers.Serializer):
    status = serializers.CharField(help_text="'success' when the event was taken")
    message = serializers.CharField()
    dedup_key = serializers.CharField()
    incident = serializers.DictField(allow_null=True, help_text="id, reference and status of the linked incident")
    created = serializers.BooleanField(help_text="A new incident was opened by this event")
    replayed = serializers.BooleanField(help_text="The same event was received before; nothing changed")


def _respond(outcome: services.AlertOutcome, code: int) -> Response:
    incident = outcome.incident
    body = {
        "status": "success",
        "message": outcome.message,
        "dedup_key": outcome.dedup_key,
        "incident": {"id": incident.pk, "reference": incident.reference, "status": incident.status} if incident else None,
        "created": outcome.created,
        "replayed": outcome.replayed,
    }
    return Response(WebhookOutput(body).data, status=code)


class AlertmanagerWebhookApi(generics.GenericAPIView):
    """Prometheus Alertmanager webhook receiver (payload version 4). A group (groupKey)
    opens one incident; later notifications for it are recorded on its timeline."""

    required_permissions = {"post": INTAKE}
    throttle_classes = [WebhookThrottle]
    serializer_class = WebhookOutput

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={
            201: WebhookOutput,
            200: WebhookOutput,
            400: OpenApiResponse(description="Bad shape; problem+json names the field (e.g. alerts[0].labels)"),
        },
        examples=[
            OpenApiExample(
                "firing", value={"version": "4", "status": "firing", "groupKey": '{}:{alertname="X"}', "alerts": []}, request_only=True
            )
        ],
    )
    def post(self, request):
        token = _token(request)
        outcome = services.alertmanager_receive(actor=request.user, token=token, payload=_body(request, ALERTMANAGER_MAX_BYTES))
        return _respond(outcome, status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)


class PagerDutyEnqueueApi(generics.GenericAPIView):
    """PagerDuty Events API v2 (`/v2/enqueue` shape): trigger, acknowledge, resolve by
    dedup_key. Answers 202 as PagerDuty does."""

    authentication_classes = [BearerTokenAuthentication, RoutingKeyAuthentication]
    required_permissions = {"post": INTAKE}
    throttle_classes = [WebhookThrottle]
    serializer_class = WebhookOutput

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={
            202: WebhookOutput,
            400: OpenApiResponse(description="Bad shape; problem+json names the field (e.g. payload.severity)"),
            404: OpenApiResponse(description="acknowledge/resolve for a dedup_key never triggered"),
        },
    )
    def post(self, request):
        token = _token(request)
        outcome = services.pagerduty_enqueue(actor=request.user, token=token, payload=_body(request, PAGERDUTY_MAX_BYTES))
        return _respond(outcome, status.HTTP_202_ACCEPTED)
