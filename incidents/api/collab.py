"""API for tasks, mitigation actions, stakeholder updates, subscriptions, evidence and
reviewer exposure. Thin: parse, fetch through a visibility-scoped selector, call a service."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Team, User
from core.api.pagination import CursorPagination
from core.api.parsers import StrictJSONParser
from core.api.permissions import Rule
from incidents import selectors_collab as sel
from incidents import services_collab as svc
from incidents.models_collab import (
    Evidence,
    EvidenceKind,
    LegalBasis,
    MitigationAction,
    MitigationKind,
    StakeholderUpdate,
    Task,
    TaskStatus,
    UpdateAudience,
)
from incidents.selectors import incident_get_visible

VIEW = Rule(perm="incidents.view_incident")


def _parse(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class _Page(CursorPagination):
    ordering = ("-created_at", "-id")


class _OldestFirstPage(CursorPagination):
    ordering = ("created_at", "id")


class UserRef(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="__str__")


def _user_field(**kwargs: Any) -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True), allow_null=True, required=False, **kwargs)


# --- tasks ------------------------------------------------------------------------------------


class TaskOutput(serializers.ModelSerializer):
    assignee = UserRef(allow_null=True)
    assignee_team = serializers.SerializerMethodField()
    created_by = UserRef(allow_null=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "detail",
            "status",
            "assignee",
            "assignee_team",
            "due_at",
            "created_by",
            "created_at",
            "completed_at",
            "version",
        ]

    def get_assignee_team(self, task: Task) -> dict | None:
        team = task.assignee_team
        return {"id": team.pk, "name": team.name, "slug": team.slug} if team else None


class TaskCreateInput(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    detail = serializers.CharField(required=False, allow_blank=True, default="")
    assignee = _user_field()
    assignee_team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)
    due_at = serializers.DateTimeField(required=False, allow_null=True)


class TaskUpdateInput(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)
    title = serializers.CharField(max_length=300, required=False)
    detail = serializers.CharField(required=False, allow_blank=True)
    assignee = _user_field()
    assignee_team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)


class VersionInput(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)


class TaskListApi(APIView):
    pagination_class = _OldestFirstPage  # documents the list as paginated; get() paginates itself
    required_permissions = {"get": VIEW, "post": Rule(perm="incidents.add_task")}

    @extend_schema(responses=TaskOutput(many=True))
    def get(self, request, pk):
        incident = incident_get_visible(user=request.user, pk=pk)
        paginator = _OldestFirstPage()
        page = paginator.paginate_queryset(sel.task_list(incident=incident), request, view=self)
        return paginator.get_paginated_response(TaskOutput(page, many=True).data)

    @extend_schema(request=TaskCreateInput, responses={201: TaskOutput})
    def post(self, request, pk):
        incident = incident_get_visible(user=request.user, pk=pk)
        data = _parse(TaskCreateInput, request.data)
        task = svc.task_create(actor=request.user, incident=incident, **data)
        return Response(TaskOutput(task).data, status=status.HTTP_201_CREATED)


class TaskDetailApi(APIView):
    required_permissions = {"get": VIEW, "patch": Rule(perm="incidents.change_task")}

    @extend_schema(responses=TaskOutput)
    def get(self, request, pk, task_pk):
        return Response(TaskOutput(sel.task_get_visible(user=request.user, incident_pk=pk, task_pk=task_pk)).data)

    @extend_schema(request=TaskUpdateInput, responses=TaskOutput)
    def patch(self, request, pk, task_pk):
        task = sel.task_get_visible(user=request.user, incident_pk=pk, task_pk=task_pk)
        data = _parse(TaskUpdateInput, request.data, partial=True)
        task = svc.task_update(actor=request.user, task=task, **data)
        return Response(TaskOutput(task).data)


class TaskCompleteApi(APIView):
    required_permissions = {"post": Rule(perm="incidents.change_task")}

    @extend_schema(request=VersionInput, responses=TaskOutput)
    def post(self, request, pk, task_pk):
        task = sel.task_get_visible(user=request.user, incident_pk=pk, task_pk=task_pk)
        data = _parse(VersionInput, request.data)
        task = svc.task_complete(actor=request.user, task=task, **data)
        return Response(TaskOutput(task).data)


# --- mitigation actions ---------------------------------------------------------------------


class MitigationOutput(serializers.ModelSerializer):
    actor = UserRef(allow_null=True)

    class Meta:
        model = MitigationAction
        fields = ["id", "kind", "count", "countries", "detail", "at", "actor", "created_at"]


class MitigationInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=MitigationKind.choices)
    count = serializers.IntegerField(min_value=0, max_value=2_000_000_000, default=0)
    countries = serializers.ListField(child=serializers.CharField(max_length=2), required=False, default=list, max_length=250)
    detail = serializers.CharField(required=False, allow_blank=True, default="")
    at = serializers.DateTimeField(required=False, allow_null=True)


class MitigationListApi(APIView):
    pagination_class = _OldestFirstPage  # documents the list as paginated; get() paginates itself
    required_permissions = {"get": VIEW, "post": Rule(perm="incidents.add_mitigationaction")}

    @extend_schema(responses=MitigationOutput(many=True))
    def get(self, request, pk):
        incident = incident_get_visible(user=request.user, pk=pk)
        paginator = _OldestFirstPage()
        paginator.ordering = ("at", "id")
        page = paginator.paginate_queryset(sel.mitigation_list(incident=incident), request, view=self)
        return paginator.get_paginated_response(MitigationOutput(page, many=True).data)

    @extend_schema(request=MitigationInput, responses={201: MitigationOutput})
    def post(self, request, pk):
        incident = incident_get_visible(user=request.user, pk=pk)
        data = _parse(MitigationInput, request.data)
        action = svc.mitigation_record(actor=request.user, incident=incident, **data)
        return Response(MitigationOutput(action).data, status=status.HTTP_201_CREATED)


# --- stakeholder updates and subscriptions ---------------------------------------------------


class UpdateOutput(serializers.ModelSerializer):
    author = UserRef(allow_null=True)
    approved_by = UserRef(allow_null=True)
    sent_by = UserRef(allow_null=True)

    class Meta:
        model = StakeholderUpdate
        fields = [
            "uid",
            "audience",
            "recipient",
            "subject",
            "body",
            "body_html",
            "status",
            "author",
            "created_at",
            "version",
            "approved_by",
            "approved_at",
            "approved_hash",
            "sent_by",
            "sent_at",
            "sent_reference",
        ]


class UpdateCreateInput(serializers.Serializer):
    audience = serializers.ChoiceField(choices=UpdateAudience.choices)
    body = serializers.CharField(max_length=50_000)
    recipient = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    subject = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class UpdateEditInput(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)
    body = serializers.CharField(max_length=50_000, required=False)
    recipient = serializers.CharField(max_length=300, required=False)
    subject = serializers.CharField(max_length=300, required=False, allow_blank=True)


class UpdateSendInput(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1)
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class UpdateListApi(APIView):
    pagination_class = _Page  # documents the list as paginated; get() paginates itself
    required_permissions = {"get": VIEW, "post": Rule(perm="incidents.add_stakeholderupdate")}

    @extend_schema(responses=UpdateOutput(many=True))
    def get(self, request, pk):
        incident = incident_get_visible(user=request.user, pk=pk)
        paginator = _Page()
        page = paginator.paginate_queryset(sel.stakeholder_update_list(incident=incident), request, view=self)
        return paginator.get_paginated_response(UpdateOutput(page, many=True).data)

    @extend_schema(request=UpdateCreateInput, responses={201: UpdateOutput})
    def post(self, request, pk):
        incident = incident_get_visible(user=request.user, pk=pk)
        data = _parse(UpdateCreateInput, request.data)
        update = svc.stakeholder_update_create(actor=request.user, incident=incident, **data)
        return Response(UpdateOutput(update).data, status=status.HTTP_201_CREATED)


class UpdateDetailApi(APIView):
    required_permissions = {"get": VIEW, "patch": Rule(perm="incidents.change_stakeholderupdate")}

    @extend_schema(responses=UpdateOutput)
    def get(self, request, pk, uid):
        return Response(UpdateOutput(sel.stakeholder_update_get_visible(user=request.user, incident_pk=pk, uid=uid)).data)

    @extend_schema(request=UpdateEditInput, responses=UpdateOutput)
    def patch(self, request, pk, uid):
        update = sel.stakeholder_update_get_visible(user=request.user, incident_pk=pk, uid=uid)
        data = _parse(UpdateEditInput, request.data, partial=True)
        update = svc.stakeholder_update_edit(actor=request.user, update=update, **data)
        return Response(UpdateOutput(update).data)


class UpdateApproveApi(APIView):
    # Who may approve is decided by the service (Legal/Comms membership or the permission).
    required_permissions = {"post": VIEW}

    @extend_schema(request=VersionInput, responses=UpdateOutput)
    def post(self, request, pk, uid):
        update = sel.stakeholder_update_get_visible(user=request.user, incident_pk=pk, uid=uid)
        data = _parse(VersionInput, request.data)
        update = svc.stakeholder_update_approve(actor=request.user, update=update, **data)
        return Response(UpdateOutput(update).data)


class UpdateSendApi(APIView):
    required_permissions = {"post": Rule(perm="incidents.change_stakeholderupdate")}

    @extend_schema(request=UpdateSendInput, responses=UpdateOutput)
    def post(self, request, pk, uid):
        update = sel.stakeholder_update_get_visible(user=request.user, incident_pk=pk, uid=uid)
        data = _parse(UpdateSendInput, request.data)
        update = svc.stakeholder_update_send(actor=request.user, update=update, **data)
        return Response(UpdateOutput(update).data)


_SUBSCRIPTION = inline_serializer("Subscription", {"subscribed": serializers.BooleanField()})


class SubscriptionApi(APIView):
    """PUT subscribes the caller to the incident's status updates, DELETE unsubscribes."""

    required_permissions = {"get": VIEW, "put": VIEW, "delete": VIEW}

    @extend_schema(responses=_SUBSCRIPTION)
    def get(self, request, pk):
        incident = incident_get_visible(user=request.user, pk=pk)
        return Response({"subscribed": sel.is_subscribed(user=request.user, incident=incident)})

    @extend_schema(request=None, responses=_SUBSCRIPTION)
    def put(self, request, pk):
        incident = incident_get_visible(user=request.user, pk=pk)
        return Response({"subscribed": svc.subscription_set(actor=request.user, incident=incident, subscribed=True)})

    @extend_schema(request=None, responses={200: _SUBSCRIPTION})
    def delete(self, request, pk):
        incident = incident_get_visible(user=request.user, pk=pk)
        return Response({"subscribed": svc.subscription_set(actor=request.user, incident=incident, subscribed=False)})


# --- evidence ----------------------------------------------------------------------------------


class EvidenceOutput(serializers.ModelSerializer):
    created_by = UserRef(allow_null=True)
    file_url = serializers.SerializerMethodField()
    has_file = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = [
            "uid",
            "kind",
            "title",
            "url",
            "platform_id",
            "sha256",
            "captured",
            "has_file",
            "file_name",
            "content_type",
            "size",
            "file_url",
            "graphic",
            "legal_basis",
            "preservation_until",
            "created_by",
            "created_at",
        ]

    def get_has_file(self, evidence: Evidence) -> bool:
        return bool(evidence.file)

    def get_file_url(self, evidence: Evidence) -> str | None:
        if not evidence.file:
            return None
        return f"/api/v1/incidents/{evidence.incident_id}/evidence/{evidence.uid}/file/"


class EvidenceInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EvidenceKind.choices)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    url = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    platform_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    sha256 = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    captured = serializers.JSONField(required=False, default=dict)
    file = serializers.FileField(required=False, allow_empty_file=True, use_url=False)
    graphic = serializers.BooleanField(required=False, default=False)
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices, required=False, default=LegalBasis.NONE)


class RevealInput(serializers.Serializer):
    confirm_break = serializers.BooleanField(required=False, default=False)


class RevealOutput(serializers.Serializer):
    revealed_at = serializers.DateTimeField()
    file_url = serializers.CharField(allow_null=True)
    reveals_today = serializers.IntegerField()
    daily_cap = serializers.IntegerField()


class EvidenceListApi(APIView):
    pagination_class = _Page  # documents the list as paginated; get() paginates itself
    required_permissions = {"get": VIEW, "post": Rule(perm="incidents.add_evidence")}
    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]

    @extend_schema(responses=EvidenceOutput(many=True))
    def get(self, request, pk):
        incident = incident_get_visible(user=request.user, pk=pk)
        paginator = _Page()
        page = paginator.paginate_queryset(sel.evidence_list(incident=incident), request, view=self)
        return paginator.get_paginated_response(EvidenceOutput(page, many=True).data)

    @extend_schema(request={"multipart/form-data": EvidenceInput, "application/json": EvidenceInput}, responses={201: EvidenceOutput})
    def post(self, request, pk):
        incident = incident_get_visible(user=request.user, pk=pk)
        data = _parse(EvidenceInput, request.data)
        upload = data.pop("file", None)
        evidence = svc.evidence_add(actor=request.user, incident=incident, upload=upload, **data)
        return Response(EvidenceOutput(evidence).data, status=status.HTTP_201_CREATED)


class EvidenceDetailApi(APIView):
    required_permissions = {"get": VIEW, "delete": Rule(perm="incidents.delete_evidence")}

    @extend_schema(responses=EvidenceOutput)
    def get(self, request, pk, uid):
        return Response(EvidenceOutput(sel.evidence_get_visible(user=request.user, incident_pk=pk, uid=uid)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk, uid):
        evidence = sel.evidence_get_visible(user=request.user, incident_pk=pk, uid=uid)
        svc.evidence_delete(actor=request.user, evidence=evidence)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EvidenceRevealApi(APIView):
    """Log a reveal of graphic evidence; the file URL then serves it for a short while.
    Past the daily cap this answers 409 with break_required until confirm_break is sent."""

    required_permissions = {"post": VIEW}

    @extend_schema(request=RevealInput, responses=RevealOutput)
    def post(self, request, pk, uid):
        evidence = sel.evidence_get_visible(user=request.user, incident_pk=pk, uid=uid)
        data = _parse(RevealInput, request.data)
        view = svc.evidence_reveal(actor=request.user, evidence=evidence, **data)
        exposure = sel.exposure_for_user(user=request.user)
        return Response(
            {
                "revealed_at": view.at,
                "file_url": EvidenceOutput().get_file_url(evidence),
                "reveals_today": exposure["today"],
                "daily_cap": exposure["daily_cap"],
            }
        )


class EvidenceFileApi(APIView):
    required_permissions = {"get": VIEW}

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, pk, uid):
        from incidents.views_collab import evidence_file_response

        evidence = sel.evidence_get_visible(user=request.user, incident_pk=pk, uid=uid)
        return evidence_file_response(request, evidence)


# --- wellbeing -----------------------------------------------------------------------------------


class ExposureOutput(serializers.Serializer):
    today = serializers.IntegerField()
    week = serializers.IntegerField()
    daily_cap = serializers.IntegerField()
    remaining_today = serializers.IntegerField()
    day_start = serializers.DateTimeField()
    week_start = serializers.DateTimeField()


class WellbeingApi(APIView):
    required_permissions = {"get": VIEW}

    @extend_schema(
        responses=inline_serializer(
            "Wellbeing",
            {
                "me": ExposureOutput(),
                "teams": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request):
        me = sel.exposure_for_user(user=request.user)
        teams = [
            {"team": {"id": t["team"].pk, "name": t["team"].name}, "members": t["members"]} for t in sel.team_exposure(user=request.user)
        ]
        return Response({"me": ExposureOutput(me).data, "teams": teams})
