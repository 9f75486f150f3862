"""SLA over the API: an incident's clocks with their history, SLA policies (read for the
roles that may view them, writes for admins) and "which policy applies to this sample,
and why". Thin over sla_views_support and sla_services."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Region
from core.api.pagination import CursorPagination
from core.api.permissions import Rule
from core.errors import Conflict, NotFound, ValidationError
from escalations import sla_views_support as support
from escalations.models import BusinessCalendar, SLAMetric, SLAPolicy, SLAStartFrom
from escalations.sla_policy_services import sla_policy_delete
from escalations.sla_services import sla_policy_save
from escalations.sla_views_support import POLICY_FLAGS
from incidents.models import Channel, Severity
from incidents.selectors import incident_get_visible

VIEW_INCIDENT = Rule(perm="incidents.view_incident")


def _seconds(value) -> int | None:
    return int(value.total_seconds()) if value is not None else None


# ---- an incident's clocks -------------------------------------------------------------


class SlaClockEventOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    actor = serializers.SerializerMethodField()
    data = serializers.JSONField()

    def get_actor(self, event) -> str | None:
        return event.actor.username if event.actor_id else None


class SlaLegalVersionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    effective_from = serializers.DateTimeField()
    effective_until = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.SerializerMethodField()
    description = serializers.CharField()

    def get_duration_seconds(self, version) -> int:
        return int(version.duration.total_seconds())


class SlaLegalClockOutput(serializers.Serializer):
    code = serializers.CharField()
    jurisdiction = serializers.CharField()
    instrument = serializers.CharField()
    trigger = serializers.CharField()
    citation = serializers.CharField()
    source_url = serializers.CharField()
    stop_condition = serializers.CharField()
    internal_target = serializers.BooleanField(help_text='True where the law says "promptly": the duration is our internal target.')


class SlaClockOutput(serializers.Serializer):
    id = serializers.IntegerField(source="clock.id")
    metric = serializers.CharField(source="clock.metric")
    metric_label = serializers.CharField(source="clock.get_metric_display")
    target_name = serializers.CharField(source="clock.name")
    target = serializers.IntegerField(source="clock.target_id", allow_null=True)
    policy = serializers.SerializerMethodField()
    cycle = serializers.IntegerField(source="clock.cycle")
    state = serializers.CharField(source="clock.state")
    paused = serializers.SerializerMethodField()
    pause_reason = serializers.CharField()
    started_at = serializers.DateTimeField(source="clock.started_at")
    due_at = serializers.DateTimeField(source="clock.due_at")
    warn_at = serializers.DateTimeField(source="clock.warn_at", allow_null=True)
    warned_at = serializers.DateTimeField(source="clock.warned_at", allow_null=True)
    breached_at = serializers.DateTimeField(source="clock.breached_at", allow_null=True)
    paused_at = serializers.DateTimeField(source="clock.paused_at", allow_null=True)
    stopped_at = serializers.DateTimeField(source="clock.stopped_at", allow_null=True)
    attained = serializers.BooleanField(source="clock.attained", allow_null=True)
    elapsed_seconds = serializers.SerializerMethodField(help_text="Business time counted so far, up to the response.")
    duration_seconds = serializers.SerializerMethodField()
    calendar = serializers.SerializerMethodField()
    matched_because = serializers.CharField(source="clock.matched_because")
    legal_clock = serializers.SerializerMethodField()
    legal_clock_version = serializers.SerializerMethodField()
    events = SlaClockEventOutput(many=True)

    def get_policy(self, row) -> dict | None:
        target = row.clock.target
        if target is None:
            return None
        return {"id": target.policy_id, "name": target.policy.name, "version": row.clock.policy_version}

    def get_paused(self, row) -> bool:
        return row.clock.state == "paused"

    def get_elapsed_seconds(self, row) -> int:
        return int(row.elapsed.total_seconds())

    def get_duration_seconds(self, row) -> int:
        return int(row.clock.duration.total_seconds())

    def get_calendar(self, row) -> dict | None:
        calendar = row.clock.calendar
        if calendar is None:
            return None
        return {"id": calendar.pk, "name": calendar.name, "time_zone": calendar.time_zone, "is_24x7": calendar.is_24x7}

    @extend_schema(responses=SlaLegalClockOutput)
    def get_legal_clock(self, row) -> dict | None:
        clock = row.legal_clock
        return SlaLegalClockOutput(clock).data if clock is not None else None

    @extend_schema(responses=SlaLegalVersionOutput)
    def get_legal_clock_version(self, row) -> dict | None:
        version = row.clock.legal_clock_version
        return SlaLegalVersionOutput(version).data if version is not None else None


class IncidentSlaOutput(serializers.Serializer):
    incident = serializers.IntegerField()
    reference = serializers.CharField()
    waiting_on_external = serializers.BooleanField()
    waiting_reason = serializers.CharField()
    clocks = SlaClockOutput(many=True)


class IncidentSlaApi(APIView):
    """Every SLA clock of the incident (all cycles) with its event history; 404 when the
    incident is not visible to the caller."""

    required_permissions = {"get": VIEW_INCIDENT}

    @extend_schema(responses=IncidentSlaOutput)
    def get(self, request, pk: int):
        incident = incident_get_visible(user=request.user, pk=pk)
        rows = support.clock_rows(incident=incident, now=timezone.now())
        body = {
            "incident": incident.pk,
            "reference": incident.reference,
            "waiting_on_external": incident.waiting_on_external,
            "waiting_reason": incident.waiting_reason,
            "clocks": rows,
        }
        return Response(IncidentSlaOutput(body).data)


# ---- policies -------------------------------------------------------------------------


class SlaTargetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    metric = serializers.CharField()
    name = serializers.CharField()
    duration_seconds = serializers.SerializerMethodField()
    legal_clock = serializers.CharField(source="legal_clock.code", allow_null=True, default=None)
    calendar = serializers.IntegerField(source="calendar_id", allow_null=True)
    warn_pct = serializers.IntegerField()
    pause_when_waiting = serializers.BooleanField()
    start_from = serializers.CharField()
    stop_condition = serializers.CharField()
    on_warning = serializers.JSONField()
    on_breach = serializers.JSONField()

    def get_duration_seconds(self, target) -> int | None:
        return _seconds(target.duration)


class SlaPolicyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    active = serializers.BooleanField()
    version = serializers.IntegerField()
    priority = serializers.IntegerField()
    channels = serializers.ListField(child=serializers.CharField())
    severities = serializers.ListField(child=serializers.IntegerField())
    regions = serializers.ListField(child=serializers.CharField())
    flags = serializers.ListField(child=serializers.CharField())
    harm_categories = serializers.SerializerMethodField()
    targets = SlaTargetOutput(many=True)
    updated_at = serializers.DateTimeField()

    def get_harm_categories(self, policy) -> list[str]:
        return sorted(c.slug for c in policy.harm_categories.all())


_ACTIONS_HELP = 'A list of "notify_commander", "propose_severity_raise" or {"page_policy": <escalation policy id>}.'


class SlaTargetInput(serializers.Serializer):
    metric = serializers.ChoiceField(choices=SLAMetric.choices, help_text="One target per metric in a policy.")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    duration_seconds = serializers.IntegerField(required=False, allow_null=True, min_value=-(10**10), max_value=10**10)
    legal_clock = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True)
    calendar = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62)
    warn_pct = serializers.IntegerField(required=False, min_value=-1000, max_value=1000)
    pause_when_waiting = serializers.BooleanField(required=False)
    start_from = serializers.ChoiceField(choices=SLAStartFrom.choices, required=False)
    stop_condition = serializers.CharField(max_length=300, required=False, allow_blank=True)
    on_warning = serializers.JSONField(required=False, help_text=_ACTIONS_HELP)
    on_breach = serializers.JSONField(required=False, help_text=_ACTIONS_HELP)


class SlaPolicyInput(serializers.Serializer):
    """Shape only; the service validates meaning and names the failing field."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)
    priority = serializers.IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1)
    version = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, help_text="Send it back to refuse a stale write (409)."
    )
    channels = serializers.ListField(child=serializers.ChoiceField(choices=Channel.choices), required=False, max_length=50)
    severities = serializers.ListField(child=serializers.ChoiceField(choices=Severity.choices), required=False, max_length=10)
    regions = serializers.ListField(child=serializers.ChoiceField(choices=Region.choices), required=False, max_length=50)
    flags = serializers.ListField(child=serializers.ChoiceField(choices=POLICY_FLAGS), required=False, max_length=10)
    harm_categories = serializers.ListField(child=serializers.SlugField(max_length=60), required=False, max_length=100)
    targets = SlaTargetInput(many=True, required=False, max_length=30)


def _parse(request, *, partial: bool) -> tuple[dict[str, Any], list[dict[str, Any]] | None, int | None]:
    parsed = SlaPolicyInput(data=request.data, partial=partial)
    parsed.is_valid(raise_exception=True)
    values = dict(parsed.validated_data)
    version = values.pop("version", None)
    targets = values.pop("targets", None)
    if targets is not None:
        targets = [_target_values(i, dict(t)) for i, t in enumerate(targets)]
    elif not partial:
        raise ValidationError.for_field("targets", "Give at least one target.")
    return values, targets, version


def _target_values(index: int, raw: dict[str, Any]) -> dict[str, Any]:
    """The API's names for the service's; a calendar that could not compute a due time is
    refused here, naming the target."""
    if "duration_seconds" in raw:
        seconds = raw.pop("duration_seconds")
        if seconds is not None and seconds <= 0:
            raise ValidationError.for_field(f"targets[{index}].duration", "The duration must be positive.")
        raw["duration"] = seconds
    calendar_id = raw.get("calendar")
    if calendar_id is not None:
        calendar = BusinessCalendar.objects.filter(pk=calendar_id).first()
        if calendar is not None:
            try:
                calendar.clean()
            except DjangoValidationError as exc:
                raise ValidationError.for_field(
                    f"targets[{index}].calendar", f"Calendar {calendar.name!r}: {' '.join(exc.messages)}"
                ) from None
    return raw


def _policy(pk: int) -> SLAPolicy:
    policy = support.policy_queryset().filter(pk=pk).first()
    if policy is None:
        raise NotFound("No such SLA policy.")
    return policy


class SlaPolicyCursor(CursorPagination):
    ordering = ("-priority", "name", "id")


class SlaPolicyListCreateApi(APIView):
    pagination_class = SlaPolicyCursor  # documents the list as paginated; get() paginates itself
    required_permissions = {
        "get": Rule(perm="escalations.view_slapolicy"),
        "post": Rule(perm="escalations.add_slapolicy"),
    }

    @extend_schema(responses=SlaPolicyOutput(many=True))
    def get(self, request):
        paginator = SlaPolicyCursor()
        page = paginator.paginate_queryset(support.policy_queryset(), request, view=self)
        return paginator.get_paginated_response(SlaPolicyOutput(page, many=True).data)

    @extend_schema(request=SlaPolicyInput, responses={201: SlaPolicyOutput})
    def post(self, request):
        values, targets, _version = _parse(request, partial=False)
        policy = sla_policy_save(actor=request.user, data=values, targets=targets)
        return Response(SlaPolicyOutput(_policy(policy.pk)).data, status=status.HTTP_201_CREATED)


class SlaPolicyDetailApi(APIView):
    required_permissions = {
        "get": Rule(perm="escalations.view_slapolicy"),
        "put": Rule(perm="escalations.change_slapolicy"),
        "patch": Rule(perm="escalations.change_slapolicy"),
        "delete": Rule(perm="escalations.delete_slapolicy"),
    }

    @extend_schema(responses=SlaPolicyOutput)
    def get(self, request, pk: int):
        return Response(SlaPolicyOutput(_policy(pk)).data)

    def _update(self, request, pk: int, *, partial: bool) -> Response:
        values, targets, version = _parse(request, partial=partial)
        with transaction.atomic():
            policy = SLAPolicy.objects.select_for_update().filter(pk=pk).first()
            if policy is None:
                raise NotFound("No such SLA policy.")
            if version is not None and version != policy.version:
                raise Conflict(
                    "Someone changed this policy meanwhile; reload it and apply your change again.", extra={"version": policy.version}
                )
            policy = sla_policy_save(actor=request.user, data=values, policy=policy, targets=targets)
        return Response(SlaPolicyOutput(_policy(policy.pk)).data)

    @extend_schema(request=SlaPolicyInput, responses=SlaPolicyOutput)
    def put(self, request, pk: int):
        return self._update(request, pk, partial=False)

    @extend_schema(request=SlaPolicyInput, responses=SlaPolicyOutput)
    def patch(self, request, pk: int):
        return self._update(request, pk, partial=True)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        sla_policy_delete(actor=request.user, policy=_policy(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SlaMatchCandidateOutput(serializers.Serializer):
    policy = serializers.IntegerField()
    name = serializers.CharField()
    matches = serializers.BooleanField()
    specificity = serializers.IntegerField()
    priority = serializers.IntegerField()
    reason = serializers.CharField()


class SlaMatchOutput(serializers.Serializer):
    sample = serializers.JSONField()
    policy = SlaPolicyOutput(allow_null=True)
    reason = serializers.CharField()
    candidates = SlaMatchCandidateOutput(many=True)


class SlaPolicyMatchApi(APIView):
    """Which active policy an incident with these attributes gets, and why (the most
    specific match wins; then priority, then the older policy)."""

    required_permissions = {"get": Rule(perm="escalations.view_slapolicy")}

    @extend_schema(
        parameters=[
            OpenApiParameter("channel", OpenApiTypes.STR, enum=Channel.values),
            OpenApiParameter("severity", OpenApiTypes.INT, enum=Severity.values),
            OpenApiParameter("region", OpenApiTypes.STR, enum=Region.values),
            OpenApiParameter("harm_category", OpenApiTypes.STR, description="Harm category slug"),
            OpenApiParameter("flags", OpenApiTypes.STR, many=True, enum=list(POLICY_FLAGS), description="Repeat for several."),
        ],
        responses=SlaMatchOutput,
    )
    def get(self, request):
        params = request.query_params
        flags = [f for raw in params.getlist("flags") for f in raw.split(",") if f]
        sample = {
            "channel": params.get("channel", ""),
            "severity": params.get("severity", ""),
            "region": params.get("region", ""),
            "harm_category": params.get("harm_category", ""),
            "flags": flags,
        }
        result = support.policy_match_explain(sample)
        return Response(SlaMatchOutput(result).data)
