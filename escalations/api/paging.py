"""Escalation policies, pages and acknowledgement over the API: thin views over
escalations.selectors and escalations.services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Team
from core.api.pagination import CursorPagination
from core.api.permissions import AUTHENTICATED, Rule
from core.errors import NotFound, ValidationError
from escalations.selectors import page_get_visible, page_list_visible, page_may_acknowledge, policy_get, policy_list
from escalations.services import page_acknowledge, policy_create, policy_delete, policy_update


class TargetIO(serializers.Serializer):
    kind = serializers.CharField()
    id = serializers.IntegerField()


class StepOutput(serializers.Serializer):
    order = serializers.IntegerField()
    wait_minutes = serializers.IntegerField()
    targets = serializers.SerializerMethodField()

    def get_targets(self, step) -> list[dict]:
        return [t.as_snapshot() for t in step.targets.all()]


class RuleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    max_severity = serializers.IntegerField()
    harm_category = serializers.CharField(source="harm_category.slug", allow_null=True, default=None)
    region = serializers.CharField()
    channel = serializers.CharField()
    priority = serializers.IntegerField()


class PolicyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    team = serializers.IntegerField(source="team_id", allow_null=True)
    repeat = serializers.IntegerField()
    version = serializers.IntegerField()
    active = serializers.BooleanField()
    steps = StepOutput(many=True)
    rules = RuleOutput(many=True)


class PolicyInput(serializers.Serializer):
    """Shape only; the service validates meaning and names the failing field."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    team = serializers.IntegerField(required=False, allow_null=True)
    repeat = serializers.IntegerField(required=False, min_value=0)
    active = serializers.BooleanField(required=False)
    steps = serializers.JSONField()
    rules = serializers.JSONField(required=False)


class PageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.SerializerMethodField()
    escalation = serializers.IntegerField(source="escalation_id")
    cycle = serializers.IntegerField()
    repeat = serializers.IntegerField()
    step = serializers.IntegerField()
    recipient = serializers.CharField(source="recipient.username")
    channel = serializers.CharField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.SerializerMethodField()

    def get_incident(self, page) -> dict:
        return {"id": page.incident_id, "reference": page.incident.reference, "severity": page.incident.severity}

    def get_acknowledged_by(self, page) -> str | None:
        return page.acknowledged_by.username if page.acknowledged_by else None


def _team(value) -> Team | None:
    if value is None:
        return None
    team = Team.objects.filter(pk=value).first()
    if team is None:
        raise ValidationError.for_field("team", f"Team {value} does not exist.")
    return team


def _parse(data, *, partial: bool = False) -> dict:
    parsed = PolicyInput(data=data, partial=partial)
    parsed.is_valid(raise_exception=True)
    values = dict(parsed.validated_data)
    if "team" in values:
        values["team"] = _team(values["team"])
    return values


class PolicyListCreateApi(APIView):
    pagination_class = CursorPagination  # documents the list as paginated; get() paginates itself
    required_permissions = {
        "get": Rule(perm="escalations.view_escalationpolicy"),
        "post": Rule(perm="escalations.add_escalationpolicy"),
    }

    @extend_schema(responses=PolicyOutput(many=True))
    def get(self, request):
        paginator = CursorPagination()
        paginator.ordering = "name"
        page = paginator.paginate_queryset(policy_list(), request, view=self)
        return paginator.get_paginated_response(PolicyOutput(page, many=True).data)

    @extend_schema(request=PolicyInput, responses={201: PolicyOutput})
    def post(self, request):
        values = _parse(request.data)
        active = values.pop("active", True)
        policy = policy_create(actor=request.user, **values)
        if not active:
            policy = policy_update(actor=request.user, policy=policy, active=False)
        return Response(PolicyOutput(policy_get(pk=policy.pk)).data, status=status.HTTP_201_CREATED)


class PolicyDetailApi(APIView):
    required_permissions = {
        "get": Rule(perm="escalations.view_escalationpolicy"),
        "patch": Rule(perm="escalations.change_escalationpolicy"),
        "put": Rule(perm="escalations.change_escalationpolicy"),
        "delete": Rule(perm="escalations.delete_escalationpolicy"),
    }

    @extend_schema(responses=PolicyOutput)
    def get(self, request, pk: int):
        return Response(PolicyOutput(policy_get(pk=pk)).data)

    @extend_schema(request=PolicyInput, responses=PolicyOutput)
    def put(self, request, pk: int):
        policy = policy_update(actor=request.user, policy=policy_get(pk=pk), **_parse(request.data))
        return Response(PolicyOutput(policy_get(pk=policy.pk)).data)

    @extend_schema(request=PolicyInput, responses=PolicyOutput)
    def patch(self, request, pk: int):
        policy = policy_update(actor=request.user, policy=policy_get(pk=pk), **_parse(request.data, partial=True))
        return Response(PolicyOutput(policy_get(pk=policy.pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        policy_delete(actor=request.user, policy=policy_get(pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PageListApi(APIView):
    """Your own pages; incident managers and leads see every page of incidents they can see."""

    pagination_class = CursorPagination  # documents the list as paginated; get() paginates itself
    required_permissions = {"get": AUTHENTICATED}

    @extend_schema(responses=PageOutput(many=True))
    def get(self, request):
        paginator = CursorPagination()
        page = paginator.paginate_queryset(page_list_visible(user=request.user), request, view=self)
        return paginator.get_paginated_response(PageOutput(page, many=True).data)


class PageDetailApi(APIView):
    required_permissions = {"get": AUTHENTICATED}

    @extend_schema(responses=PageOutput)
    def get(self, request, pk: int):
        return Response(PageOutput(page_get_visible(user=request.user, pk=pk)).data)


class PageAcknowledgeApi(APIView):
    """Only the recipient or a manager may acknowledge; anyone else gets 404."""

    required_permissions = {"post": AUTHENTICATED}

    @extend_schema(request=None, responses=PageOutput)
    def post(self, request, pk: int):
        page = page_get_visible(user=request.user, pk=pk)
        if not page_may_acknowledge(user=request.user, page=page):
            raise NotFound("No such page.")
        page = page_acknowledge(actor=request.user, page=page, via="api")
        return Response(PageOutput(page_get_visible(user=request.user, pk=page.pk)).data)
