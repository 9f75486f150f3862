"""Thin API views: parse, resolve the incident through the visibility selector (404 for
missing and forbidden alike), check the action's role permission, call a service.

Object endpoints declare incidents.view_incident at the DRF layer and check the action
permission after the lookup, so a caller who may not see an incident learns nothing
(404), and one who may see it but not act gets 403."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from core.api.pagination import CursorPagination
from core.api.permissions import AUTHENTICATED, Rule
from core.errors import Forbidden, ValidationError
from incidents import selectors, services
from incidents.api import serializers as s
from incidents.filters import IncidentFilter
from incidents.models import Comment, Incident, IncidentUserObjectPermission, TimelineEvent
from incidents.permissions import is_manager_or_commander

VIEW = Rule(perm="incidents.view_incident")
VIEW_WRITE = Rule(perm="incidents.view_incident", scope="write")


def payload(request, field: str = "non_field_errors"):
    """request.data, with an oversized body answered as a 400 naming the field rather than
    escaping as Django's bare SuspiciousOperation page."""
    try:
        return request.data
    except RequestDataTooBig:
        raise ValidationError.for_field(field, "The request is too large; comments and texts are limited to 50,000 characters.") from None


def require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise Forbidden(f"Your role does not allow this (needs {perm}).")


class IncidentCursor(CursorPagination):
    ordering = ("-created_at", "-id")


class TimelineCursor(CursorPagination):
    ordering = ("at", "id")
    page_size = 100


class CommentCursor(CursorPagination):
    ordering = ("created_at", "id")


class NotificationCursor(CursorPagination):
    ordering = ("-created_at", "-id")


class IncidentObjectMixin:
    def get_incident(self, audit_read: bool = False) -> Incident:
        return selectors.incident_get_visible(user=self.request.user, pk=self.kwargs["pk"], audit_read=audit_read)  # type: ignore[attr-defined]


class IncidentListCreateApi(generics.ListCreateAPIView):
    """Incidents the caller may see, newest first; filters and full-text search (?q=)."""

    required_permissions = {"get": VIEW, "post": Rule(perm="incidents.add_incident")}
    serializer_class = s.IncidentOutput
    pagination_class = IncidentCursor
    filter_backends = [DjangoFilterBackend]
    filterset_class = IncidentFilter

    def get_queryset(self):
        return selectors.incident_list_visible(user=self.request.user)

    @extend_schema(request=s.IncidentCreateInput, responses={201: s.IncidentDetailOutput})
    def post(self, request, *args, **kwargs):
        data = s.IncidentCreateInput(data=payload(request))
        data.is_valid(raise_exception=True)
        incident = services.incident_create(actor=request.user, data=dict(data.validated_data))
        incident = selectors.incident_detail_prefetch(Incident.objects.filter(pk=incident.pk)).get()
        return Response(s.IncidentDetailOutput(incident).data, status=status.HTTP_201_CREATED)


class IncidentDetailApi(IncidentObjectMixin, generics.GenericAPIView):
    required_permissions = {"get": VIEW, "patch": VIEW_WRITE}
    serializer_class = s.IncidentDetailOutput

    def _respond(self, incident: Incident) -> Response:
        incident = (
            selectors.incident_detail_prefetch(Incident.objects.filter(pk=incident.pk))
            .select_related("harm_category", "commander", "team", "compartment")
            .get()
        )
        visible = set(
            selectors.incident_list_visible(user=self.request.user)
            .filter(pk__in=[r.pk for r in incident.related.all()])
            .values_list("pk", flat=True)
        )
        return Response(s.IncidentDetailOutput(incident, context={"visible_related": visible}).data)

    @extend_schema(responses=s.IncidentDetailOutput)
    def get(self, request, pk):
        return self._respond(self.get_incident(audit_read=True))

    @extend_schema(
        request=s.IncidentUpdateInput,
        responses={200: s.IncidentDetailOutput, 409: OpenApiResponse(description="Stale version; `current` holds the current state")},
    )
    def patch(self, request, pk):
        incident = self.get_incident()
        require(request, "incidents.change_incident")
        data = s.IncidentUpdateInput(data=payload(request), partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version = fields.pop("version", None)
        incident = services.incident_update(actor=request.user, incident=incident, data=fields, version=version)
        return self._respond(incident)


class IncidentTransitionApi(IncidentObjectMixin, generics.GenericAPIView):
    required_permissions = {"post": VIEW_WRITE}
    serializer_class = s.IncidentTransitionInput

    @extend_schema(
        request=s.IncidentTransitionInput,
        responses={
            200: s.IncidentOutput,
            409: OpenApiResponse(description="Not allowed from the current status; `allowed` lists the moves"),
        },
    )
    def post(self, request, pk):
        incident = self.get_incident()
        require(request, "incidents.transition_incident")
        data = s.IncidentTransitionInput(data=payload(request))
        data.is_valid(raise_exception=True)
        incident = services.incident_transition(actor=request.user, incident=incident, **data.validated_data)
        return Response(s.IncidentOutput(incident).data)


class IncidentSeverityApi(IncidentObjectMixin, generics.GenericAPIView):
    required_permissions = {"post": VIEW_WRITE}
    serializer_class = s.IncidentSeverityInput

    @extend_schema(request=s.IncidentSeverityInput, responses=s.IncidentOutput)
    def post(self, request, pk):
        incident = self.get_incident()
        require(request, "incidents.change_incident")
        data = s.IncidentSeverityInput(data=payload(request))
        data.is_valid(raise_exception=True)
        incident = services.incident_set_severity(actor=request.user, incident=incident, **data.validated_data)
        return Response(s.IncidentOutput(incident).data)


class IncidentCommentsApi(IncidentObjectMixin, generics.ListCreateAPIView):
    required_permissions = {"get": VIEW, "post": VIEW_WRITE}
    serializer_class = s.IncidentCommentOutput
    pagination_class = CommentCursor

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Comment.objects.none()
        return selectors.comment_list(incident=self.get_incident())

    @extend_schema(request=s.IncidentCommentInput, responses={201: s.IncidentCommentOutput})
    def post(self, request, pk):
        incident = self.get_incident()
        require(request, "incidents.add_comment")
        data = s.IncidentCommentInput(data=payload(request, "body"))
        data.is_valid(raise_exception=True)
        comment = services.comment_create(actor=request.user, incident=incident, **data.validated_data)
        return Response(s.IncidentCommentOutput(comment).data, status=status.HTTP_201_CREATED)


class IncidentTimelineApi(IncidentObjectMixin, generics.ListCreateAPIView):
    """The append-only timeline; POST adds a key moment."""

    required_permissions = {"get": VIEW, "post": VIEW_WRITE}
    serializer_class = s.TimelineEventOutput
    pagination_class = TimelineCursor

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TimelineEvent.objects.none()
        return selectors.timeline_list(incident=self.get_incident())

    @extend_schema(request=s.IncidentKeyMomentInput, responses={201: s.TimelineEventOutput})
    def post(self, request, pk):
        incident = self.get_incident()
        require(request, "incidents.add_comment")
        data = s.IncidentKeyMomentInput(data=payload(request))
        data.is_valid(raise_exception=True)
        event = services.timeline_add_key_moment(
            actor=request.user, incident=incident, summary=data.validated_data["summary"], at=data.validated_data.get("at")
        )
        return Response(s.TimelineEventOutput(event).data, status=status.HTTP_201_CREATED)


class IncidentGrantsApi(IncidentObjectMixin, generics.GenericAPIView):
    """Named people granted access to this incident (commander or incident manager only)."""

    required_permissions = {"get": VIEW, "post": VIEW_WRITE, "delete": VIEW_WRITE}
    serializer_class = s.IncidentGrantOutput
    pagination_class = None
    queryset = IncidentUserObjectPermission.objects.none()

    @extend_schema(responses=s.IncidentGrantOutput(many=True))
    def get(self, request, pk):
        incident = self.get_incident()
        if not is_manager_or_commander(request.user, incident):
            raise Forbidden("Only the incident's commander or an incident manager can list access grants.")
        return Response(s.IncidentGrantOutput(selectors.incident_grant_list(incident=incident), many=True).data)

    @extend_schema(request=s.IncidentGrantInput, responses={201: s.IncidentGrantOutput})
    def post(self, request, pk):
        incident = self.get_incident()
        data = s.IncidentGrantInput(data=payload(request))
        data.is_valid(raise_exception=True)
        grant = services.incident_grant_access(actor=request.user, incident=incident, **data.validated_data)
        return Response(s.IncidentGrantOutput(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.IncidentGrantInput,
        parameters=[OpenApiParameter("user", OpenApiTypes.STR, description="User id or username (or send it in the body)")],
        responses={204: None},
    )
    def delete(self, request, pk):
        incident = self.get_incident()
        body = payload(request)
        target = body if isinstance(body, dict) and body.get("user") else {"user": request.query_params.get("user", "")}
        data = s.IncidentGrantInput(data=target)
        data.is_valid(raise_exception=True)
        services.incident_revoke_access(actor=request.user, incident=incident, user=data.validated_data["user"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class IncidentBreakGlassApi(generics.GenericAPIView):
    """An admin opens a restricted incident they are not cleared for, with a reason: a
    time-limited grant, audited, on the timeline, and the compartment's owners alerted."""

    # Admin-only: a token needs the admin scope, not just write (a leaked write token of an admin
    # must not open restricted incidents).
    required_permissions = {"post": Rule(perm="incidents.break_glass_incident", scope="admin")}
    serializer_class = s.IncidentBreakGlassInput

    @extend_schema(request=s.IncidentBreakGlassInput, responses={201: s.IncidentGrantOutput})
    def post(self, request, pk):
        incident = selectors.incident_get_for_break_glass(user=request.user, pk=pk)
        data = s.IncidentBreakGlassInput(data=payload(request))
        data.is_valid(raise_exception=True)
        grant = services.incident_break_glass(actor=request.user, incident=incident, reason=data.validated_data["reason"])
        return Response(s.IncidentGrantOutput(grant).data, status=status.HTTP_201_CREATED)


class IncidentDuplicatesApi(IncidentObjectMixin, generics.GenericAPIView):
    """Recent incidents that look like this one (same content, shared hashtag, similar title)."""

    required_permissions = {"get": VIEW}
    serializer_class = s.IncidentDuplicateOutput
    pagination_class = None
    queryset = Incident.objects.none()

    @extend_schema(responses=s.IncidentDuplicateOutput(many=True))
    def get(self, request, pk):
        incident = self.get_incident()
        found = services.incident_find_duplicates(
            data={
                "title": incident.title,
                "hashtags": incident.hashtags,
                "content_items": incident.content_items,
                "exclude_id": incident.pk,
            },
            user=request.user,
        )
        return Response(s.IncidentDuplicateOutput([{"incident": i, "reason": r} for i, r in found], many=True).data)


class IntakeThrottle(SimpleRateThrottle):
    """Per API key (or per signed-in user): one noisy partner cannot starve the others."""

    scope = "intake"

    def get_cache_key(self, request, view):
        token = getattr(request, "auth", None)
        ident = f"token-{token.prefix}" if getattr(token, "prefix", None) else f"user-{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class IntakeApi(generics.GenericAPIView):
    """File a report from any channel. Repeating a request with the same Idempotency-Key
    returns the first incident (200) instead of creating another (201)."""

    required_permissions = {"post": Rule(perm=None, scope="intake")}
    serializer_class = s.IncidentCreateInput
    throttle_classes = [IntakeThrottle]

    @extend_schema(
        request=s.IncidentCreateInput,
        parameters=[
            OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, description="Repeat-safe key for this report")
        ],
        responses={
            201: s.IntakeOutput,
            200: s.IntakeOutput,
            409: OpenApiResponse(description="The key was used with a different request"),
        },
    )
    def post(self, request):
        data = s.IncidentCreateInput(data=payload(request))
        data.is_valid(raise_exception=True)
        incident, created = services.intake_submit(
            actor=request.user,
            data=_plain(data.validated_data),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        body = {"id": incident.pk, "reference": incident.reference, "status": incident.status, "created": created}
        return Response(s.IntakeOutput(body).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _plain(value):
    """Validated data as plain JSON-able values, so the idempotency hash is stable."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class HarmCategoryListApi(generics.ListAPIView):
    required_permissions = {"get": AUTHENTICATED}
    serializer_class = s.HarmCategoryOutput
    pagination_class = None

    def get_queryset(self):
        return selectors.harm_category_list()


class NotificationListApi(generics.ListAPIView):
    """The caller's in-app notifications (only about incidents they can still see)."""

    required_permissions = {"get": AUTHENTICATED}
    serializer_class = s.IncidentNotificationOutput
    pagination_class = NotificationCursor

    def get_queryset(self):
        return selectors.notification_list_for_user(user=self.request.user)
