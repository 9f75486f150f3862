"""Schedules API: thin views over schedule_selectors and schedule_services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import CursorPagination
from core.api.permissions import PUBLIC, Rule
from core.errors import ValidationError
from escalations import ical, oncall, schedule_selectors, schedule_services
from escalations.models import Schedule

VIEW = Rule(perm="escalations.view_schedule")
MAX_SHIFTS_RANGE = timedelta(days=60)
DEFAULT_SHIFTS_RANGE = timedelta(days=7)


# -- serializers ------------------------------------------------------------------------


class ScheduleUserBrief(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    username = serializers.CharField()
    name = serializers.CharField(source="__str__")


class ScheduleTeamBrief(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()


@extend_schema_field({"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "example": "09:00"})
class HourMinuteField(serializers.TimeField):
    """A time of day as HH:MM, as rotations are entered."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class RotationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    layer = serializers.IntegerField()
    shift_unit = serializers.CharField()
    shift_length = serializers.IntegerField()
    handoff_time = HourMinuteField()
    start_date = serializers.DateField()
    restrictions = serializers.JSONField()
    members = serializers.SerializerMethodField()

    def get_members(self, rotation) -> list[dict]:
        return [ScheduleUserBrief(m.user).data for m in rotation.members.all()]


class ScheduleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    team = ScheduleTeamBrief(allow_null=True)
    time_zone = serializers.CharField()
    description = serializers.CharField()
    version = serializers.IntegerField()
    rotations = RotationOutput(many=True)


class ScheduleCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    time_zone = serializers.CharField(max_length=64)
    team = serializers.IntegerField(required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    rotations = serializers.ListField(child=serializers.DictField(), required=False, max_length=20)


class SchedulePatchInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    team = serializers.IntegerField(required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    version = serializers.IntegerField(required=False)


class RotationInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    members = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=100)
    shift_unit = serializers.CharField(max_length=10, required=False)
    shift_length = serializers.IntegerField(required=False)
    handoff_time = serializers.CharField(max_length=16, required=False)
    start_date = serializers.CharField(max_length=16, required=False)
    layer = serializers.IntegerField(required=False)
    restrictions = serializers.ListField(child=serializers.DictField(), required=False, max_length=20)


class ShiftOutput(serializers.Serializer):
    user = serializers.SerializerMethodField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    layer = serializers.IntegerField(allow_null=True)
    source = serializers.CharField()

    def get_user(self, shift) -> dict:
        return ScheduleUserBrief(self.context["users"][shift.user_id]).data


class OnCallOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    users = ScheduleUserBrief(many=True)


class OverrideOutput(serializers.Serializer):
    id = serializers.IntegerField()
    user = ScheduleUserBrief()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    reason = serializers.CharField()


class OverrideInput(serializers.Serializer):
    user = serializers.IntegerField()
    start = serializers.CharField(max_length=64)
    end = serializers.CharField(max_length=64)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


# -- helpers --------------------------------------------------------------------------


def parse_instant(raw: Any, field: str) -> datetime:
    """ISO 8601 with an offset. A '+' left unencoded in a query string arrives as a space."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 64:
        raise ValidationError.for_field(field, "Use an ISO 8601 date and time with an offset, e.g. 2026-03-29T09:00:00Z.")
    text = raw.strip()
    if " " in text and text.rsplit(" ", 1)[1][:2].isdigit() and "T" in text:
        text = "+".join(text.rsplit(" ", 1))
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError.for_field(field, f"'{raw}' is not an ISO 8601 date and time (e.g. 2026-03-29T09:00:00Z).") from None
    if value.tzinfo is None:
        raise ValidationError.for_field(field, "Give the time with its offset or Z for UTC.")
    if not 1971 <= value.year <= 2199:
        raise ValidationError.for_field(field, "Use a time between 1971 and 2199.")
    return value.astimezone(UTC)


def users_for(shifts: list[oncall.Shift]) -> dict[int, Any]:
    return schedule_selectors._users_by_id(s.user_id for s in shifts)


class ScheduleCursor(CursorPagination):
    ordering = ("name", "id")


class ScheduleObjectMixin:
    def get_schedule(self) -> Schedule:
        return schedule_selectors.schedule_get(pk=self.kwargs["pk"])  # type: ignore[attr-defined]


# -- views ----------------------------------------------------------------------------


class ScheduleListCreateApi(generics.ListAPIView):
    required_permissions = {"get": VIEW, "post": Rule(perm="escalations.add_schedule")}
    serializer_class = ScheduleOutput
    pagination_class = ScheduleCursor
    filter_backends: list = []

    def get_queryset(self):
        return schedule_selectors.schedule_list_detailed()

    @extend_schema(request=ScheduleCreateInput, responses={201: ScheduleOutput})
    def post(self, request):
        data = ScheduleCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = schedule_services.schedule_create(actor=request.user, **data.validated_data)
        schedule = schedule_selectors.schedule_get_detailed(pk=schedule.pk)
        return Response(ScheduleOutput(schedule).data, status=status.HTTP_201_CREATED)


class ScheduleDetailApi(ScheduleObjectMixin, APIView):
    required_permissions = {"get": VIEW, "patch": Rule(perm="escalations.change_schedule")}

    @extend_schema(responses=ScheduleOutput)
    def get(self, request, pk):
        return Response(ScheduleOutput(schedule_selectors.schedule_get_detailed(pk=pk)).data)

    @extend_schema(
        request=SchedulePatchInput,
        responses={200: ScheduleOutput, 409: OpenApiResponse(description="Stale version")},
        parameters=[OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False)],
    )
    def patch(self, request, pk):
        schedule = self.get_schedule()
        data = SchedulePatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version = fields.pop("version", None)
        if version is None and request.headers.get("If-Match"):
            version = request.headers["If-Match"].strip().strip('W/"').strip('"')
        schedule_services.schedule_update(actor=request.user, schedule=schedule, version=version, **fields)
        return Response(ScheduleOutput(schedule_selectors.schedule_get_detailed(pk=pk)).data)


class ScheduleOncallApi(ScheduleObjectMixin, APIView):
    required_permissions = {"get": VIEW}

    @extend_schema(
        parameters=[OpenApiParameter("at", OpenApiTypes.DATETIME, description="ISO 8601 with offset; default now")],
        responses=OnCallOutput,
    )
    def get(self, request, pk):
        schedule = self.get_schedule()
        raw = request.query_params.get("at")
        at = parse_instant(raw, "at") if raw is not None else timezone.now()
        users = schedule_selectors.schedule_oncall_at(schedule=schedule, at=at)
        return Response(OnCallOutput({"at": at, "users": users}).data)


class ScheduleShiftsApi(ScheduleObjectMixin, APIView):
    required_permissions = {"get": VIEW}

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, description="default now"),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="default start + 7 days; at most 60 days after start"),
        ],
        responses=inline_serializer("ShiftList", {"results": ShiftOutput(many=True)}),
    )
    def get(self, request, pk):
        schedule = self.get_schedule()
        raw_start, raw_end = request.query_params.get("start"), request.query_params.get("end")
        start = parse_instant(raw_start, "start") if raw_start is not None else timezone.now()
        end = parse_instant(raw_end, "end") if raw_end is not None else start + DEFAULT_SHIFTS_RANGE
        if end <= start:
            raise ValidationError.for_field("end", "The end must be after the start.")
        if end - start > MAX_SHIFTS_RANGE:
            raise ValidationError.for_field("end", "Ask for at most 60 days at a time.")
        shifts = schedule_selectors.schedule_shifts_between(schedule=schedule, start=start, end=end)
        return Response({"results": ShiftOutput(shifts, many=True, context={"users": users_for(shifts)}).data})


class ScheduleOverridesApi(ScheduleObjectMixin, APIView):
    required_permissions = {"get": VIEW, "post": Rule(perm="escalations.add_override")}

    @extend_schema(responses=inline_serializer("OverrideList", {"results": OverrideOutput(many=True)}))
    def get(self, request, pk):
        schedule = self.get_schedule()
        overrides = schedule_selectors.override_list(schedule=schedule, start=timezone.now() - timedelta(days=1))[:500]
        return Response({"results": OverrideOutput(overrides, many=True).data})

    @extend_schema(request=OverrideInput, responses={201: OverrideOutput})
    def post(self, request, pk):
        schedule = self.get_schedule()
        data = OverrideInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = schedule_selectors.user_get_active(pk=data.validated_data["user"])
        override = schedule_services.override_create(
            actor=request.user,
            schedule=schedule,
            user=user,
            start=parse_instant(data.validated_data["start"], "start"),
            end=parse_instant(data.validated_data["end"], "end"),
            reason=data.validated_data.get("reason", ""),
        )
        return Response(OverrideOutput(override).data, status=status.HTTP_201_CREATED)


class ScheduleOverrideDetailApi(ScheduleObjectMixin, APIView):
    required_permissions = {"delete": Rule(perm="escalations.delete_override")}

    @extend_schema(responses={204: None})
    def delete(self, request, pk, override_pk):
        override = schedule_selectors.override_get(schedule=self.get_schedule(), pk=override_pk)
        schedule_services.override_delete(actor=request.user, override=override)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScheduleRotationsApi(ScheduleObjectMixin, APIView):
    required_permissions = {"post": Rule(perm="escalations.add_rotation")}

    @extend_schema(request=RotationInput, responses={201: RotationOutput})
    def post(self, request, pk):
        schedule = self.get_schedule()
        data = RotationInput(data=request.data)
        data.is_valid(raise_exception=True)
        rotation = schedule_services.rotation_create(actor=request.user, schedule=schedule, **data.validated_data)
        return Response(
            RotationOutput(schedule_selectors.rotation_get(schedule=schedule, pk=rotation.pk)).data, status=status.HTTP_201_CREATED
        )


class ScheduleRotationDetailApi(ScheduleObjectMixin, APIView):
    required_permissions = {"patch": Rule(perm="escalations.change_rotation"), "delete": Rule(perm="escalations.delete_rotation")}

    @extend_schema(request=RotationInput, responses=RotationOutput)
    def patch(self, request, pk, rotation_pk):
        schedule = self.get_schedule()
        rotation = schedule_selectors.rotation_get(schedule=schedule, pk=rotation_pk)
        data = RotationInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        schedule_services.rotation_update(actor=request.user, rotation=rotation, **data.validated_data)
        return Response(RotationOutput(schedule_selectors.rotation_get(schedule=schedule, pk=rotation.pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk, rotation_pk):
        rotation = schedule_selectors.rotation_get(schedule=self.get_schedule(), pk=rotation_pk)
        schedule_services.rotation_delete(actor=request.user, rotation=rotation)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- iCalendar: authenticated by the secret in the URL, not by DRF -----------------------


def _ics_response(body: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=300"
    response["Referrer-Policy"] = "no-referrer"
    return response


class ScheduleICalApi(APIView):
    """One VEVENT per shift for the next 60 days. ?token= is a feed token for this schedule."""

    required_permissions = {"get": PUBLIC}
    authentication_classes: list = []

    @extend_schema(
        parameters=[OpenApiParameter("token", OpenApiTypes.STR, required=True)],
        responses={(200, "text/calendar"): OpenApiTypes.BINARY, 404: OpenApiResponse(description="Unknown or revoked token")},
    )
    def get(self, request, pk):
        schedule = schedule_selectors.schedule_get(pk=pk)
        schedule_selectors.ical_token_resolve(secret=request.query_params.get("token"), schedule=schedule)
        now = timezone.now()
        shifts = schedule_selectors.schedule_shifts_between(schedule=schedule, start=now, end=now + timedelta(days=ical.FEED_DAYS))
        body = ical.build_calendar(
            name=f"On call: {schedule.name}", items=[(schedule, s) for s in shifts], users=users_for(shifts), stamp=now
        )
        return _ics_response(body, f"schedule-{schedule.pk}.ics")


class MyShiftsICalApi(APIView):
    """The token owner's own shifts on every schedule, next 60 days."""

    required_permissions = {"get": PUBLIC}
    authentication_classes: list = []

    @extend_schema(
        parameters=[OpenApiParameter("token", OpenApiTypes.STR, required=True)],
        responses={(200, "text/calendar"): OpenApiTypes.BINARY, 404: OpenApiResponse(description="Unknown or revoked token")},
    )
    def get(self, request):
        token = schedule_selectors.ical_token_resolve(secret=request.query_params.get("token"), schedule=None)
        now = timezone.now()
        items = schedule_selectors.user_shifts_between(user=token.user, start=now, end=now + timedelta(days=ical.FEED_DAYS))
        body = ical.build_calendar(name=f"My on-call shifts ({token.user})", items=items, users={token.user.pk: token.user}, stamp=now)
        return _ics_response(body, "my-shifts.ics")
