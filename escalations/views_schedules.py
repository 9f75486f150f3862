"""Schedule pages: list, detail with who is on call now, a two-week timeline,
the override form and calendar feed links. Thin over the schedule selectors
and services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError, Forbidden, NotFound
from escalations import handoff, oncall, schedule_selectors, schedule_services
from escalations.models import ICalFeedToken, Schedule

TIMELINE_DAYS = 14


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise Forbidden(f"Your role does not allow this (needs {perm}).")


class OverrideForm(forms.Form):
    user = forms.ModelChoiceField(queryset=schedule_selectors.user_choices(), label="Who covers")
    start = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    end = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = schedule_selectors.user_choices()


class HandoffNoteForm(forms.Form):
    body = forms.CharField(
        label="Note for whoever is on call next",
        max_length=handoff.NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _apply_errors(form: forms.Form, exc: ApplicationError) -> None:
    placed = False
    for name, messages_ in exc.errors.items():
        target = name if name in form.fields else None
        for message in messages_:
            form.add_error(target, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@dataclass
class TimelineBlock:
    user: Any
    start: datetime
    end: datetime
    colour: int
    source: str
    to_midnight: bool = False


@dataclass
class TimelineRow:
    label: str
    kind: str
    days: list[list[TimelineBlock]] = field(default_factory=list)


def _timeline(schedule: Schedule, *, day_starts: list[datetime]) -> list[TimelineRow]:
    start, end = day_starts[0], day_starts[-1]
    final = schedule_selectors.schedule_shifts_between(schedule=schedule, start=start, end=end)
    layers = schedule_selectors.schedule_layer_shifts_between(schedule=schedule, start=start, end=end)
    rotation_names = dict(schedule.rotations.values_list("layer", "name"))
    all_shifts = [*final, *(s for items in layers.values() for s in items)]
    users = schedule_selectors._users_by_id(s.user_id for s in all_shifts)
    colours = {uid: i % 8 for i, uid in enumerate(sorted(users))}

    def bucket(shifts: list[oncall.Shift]) -> list[list[TimelineBlock]]:
        days: list[list[TimelineBlock]] = []
        for day_start, day_end in zip(day_starts, day_starts[1:], strict=False):
            cell = []
            for s in shifts:
                a, b = max(s.start, day_start), min(s.end, day_end)
                if b > a:
                    cell.append(
                        TimelineBlock(
                            user=users[s.user_id], start=a, end=b, colour=colours[s.user_id], source=s.source, to_midnight=b == day_end
                        )
                    )
            days.append(cell)
        return days

    rows = [
        TimelineRow(label=f"Layer {layer}: {rotation_names.get(layer, '')}", kind="layer", days=bucket(layers[layer]))
        for layer in sorted(layers, reverse=True)
    ]
    rows.append(TimelineRow(label="Overrides", kind="override", days=bucket([s for s in final if s.source == oncall.OVERRIDE])))
    rows.append(TimelineRow(label="On call (final)", kind="final", days=bucket(final)))
    return rows


def _day_starts(now: datetime, days: int) -> list[datetime]:
    """Local midnights in the viewer's zone; a DST day is 23 or 25 hours long."""
    tz = timezone.get_current_timezone()
    first = now.astimezone(tz).date()
    return [oncall.local_to_utc(datetime.combine(first + timedelta(days=i), datetime.min.time()), tz) for i in range(days + 1)]


def _detail_context(request, schedule: Schedule, **extra: Any) -> dict:
    now = timezone.now()
    day_starts = _day_starts(now, TIMELINE_DAYS)
    can_manage = request.user.has_perm("escalations.add_override")
    context = {
        "schedule": schedule,
        "rotations": schedule.rotations.all(),
        "oncall_groups": [(schedule, schedule_selectors.schedule_oncall_now(schedule=schedule, at=now))],
        "timeline": _timeline(schedule, day_starts=day_starts),
        "timeline_days": day_starts[:-1],
        "timeline_day_bounds": list(zip(day_starts[:-1], day_starts[1:], strict=True)),
        "overrides": schedule_selectors.override_list(schedule=schedule, start=now),
        "can_manage": can_manage,
        "form": OverrideForm() if can_manage else None,
        "feed_tokens": schedule_selectors.ical_token_list(user=request.user, schedule=schedule),
        "personal_tokens": schedule_selectors.ical_token_list(user=request.user, schedule=None),
        "now": now,
        "handoff_notes": handoff.handoff_notes_pending(schedule=schedule),
        "note_form": HandoffNoteForm(),
    }
    context.update(extra)
    return context


@login_required
def schedule_list(request):
    _require(request, "escalations.view_schedule")
    now = timezone.now()
    schedules = list(schedule_selectors.schedule_list())
    rows = [(s, schedule_selectors.schedule_oncall_now(schedule=s, at=now)) for s in schedules]
    return render(request, "escalations/schedule_list.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def schedule_detail(request, pk: int):
    _require(request, "escalations.view_schedule")
    schedule = schedule_selectors.schedule_get_detailed(pk=pk)
    if request.method == "GET":
        return render(request, "escalations/schedule_detail.html", _detail_context(request, schedule))
    _require(request, "escalations.add_override")
    form = OverrideForm(request.POST)
    if form.is_valid():
        try:
            schedule_services.override_create(
                actor=request.user,
                schedule=schedule,
                user=form.cleaned_data["user"],
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            if exc.status_code != 400:
                raise
            _apply_errors(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['user']} now covers the chosen span.")
            return redirect("schedules:detail", pk=schedule.pk)
    schedule.refresh_from_db()
    return render(request, "escalations/schedule_detail.html", _detail_context(request, schedule, form=form))


@login_required
@require_POST
def handoff_note_create(request, pk: int):
    _require(request, "escalations.view_schedule")
    schedule = schedule_selectors.schedule_get_detailed(pk=pk)
    form = HandoffNoteForm(request.POST)
    if form.is_valid():
        try:
            handoff.handoff_notes_add(actor=request.user, schedule=schedule, body=form.cleaned_data["body"])
        except ApplicationError as exc:
            if exc.status_code != 400:
                raise
            _apply_errors(form, exc)
        else:
            messages.success(request, "Handoff note saved; the next person on call gets it at the shift change.")
            return redirect("schedules:detail", pk=schedule.pk)
    return render(request, "escalations/schedule_detail.html", _detail_context(request, schedule, note_form=form), status=400)


@login_required
@require_POST
def override_delete(request, pk: int, override_pk: int):
    _require(request, "escalations.delete_override")
    schedule = schedule_selectors.schedule_get(pk=pk)
    override = schedule_selectors.override_get(schedule=schedule, pk=override_pk)
    schedule_services.override_delete(actor=request.user, override=override)
    messages.success(request, "Override removed.")
    return redirect("schedules:detail", pk=schedule.pk)


@login_required
@require_POST
def feed_create(request, pk: int):
    _require(request, "escalations.view_schedule")
    schedule = schedule_selectors.schedule_get_detailed(pk=pk)
    personal = request.POST.get("kind") == "personal"
    _, secret = schedule_services.ical_token_create(actor=request.user, schedule=None if personal else schedule)
    path = reverse("api-my-shifts-ics") if personal else reverse("api-schedule-ics", args=[schedule.pk])
    url = request.build_absolute_uri(f"{path}?token={secret}")
    return render(
        request, "escalations/schedule_detail.html", _detail_context(request, schedule, new_feed_url=url, new_feed_personal=personal)
    )


@login_required
@require_POST
def feed_revoke(request, pk: int, token_pk: int):
    schedule = schedule_selectors.schedule_get(pk=pk)
    try:
        token = ICalFeedToken.objects.get(pk=token_pk, user=request.user, revoked_at__isnull=True)
    except ICalFeedToken.DoesNotExist:
        raise NotFound("No such feed link.") from None
    schedule_services.ical_token_revoke(actor=request.user, token=token)
    messages.success(request, "Feed link revoked; calendars using it stop updating.")
    return redirect("schedules:detail", pk=schedule.pk)
