"""HTML partials for the incident page (tasks and mitigations, stakeholder updates,
evidence), the evidence file and reveal endpoints, and the wellbeing page.

Each partial loads itself with an htmx GET, so the incident page only includes it.
htmx swaps only 2xx answers, so a refused form comes back as 200 with its errors
shown in place when htmx asked, and with the real 4xx status otherwise."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Team, User
from core.errors import ApplicationError, Forbidden, NotFound
from incidents import selectors_collab as sel
from incidents import services_collab as svc
from incidents.models import Incident
from incidents.models_collab import (
    OUTBOUND_AUDIENCES,
    Evidence,
    EvidenceKind,
    LegalBasis,
    MitigationKind,
    TaskStatus,
    UpdateAudience,
    UpdateStatus,
)
from incidents.selectors import incident_get_visible

# --- forms -----------------------------------------------------------------------------------


class _DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class TaskForm(forms.Form):
    title = forms.CharField(max_length=300)
    assignee = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True).order_by("username"), required=False)
    assignee_team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, label="or team")
    due_at = forms.DateTimeField(required=False, label="Due", widget=_DateTimeLocal(), input_formats=_DATETIME_FORMATS)


class TaskStatusForm(forms.Form):
    status = forms.ChoiceField(choices=TaskStatus.choices)
    version = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)


class MitigationForm(forms.Form):
    kind = forms.ChoiceField(choices=MitigationKind.choices)
    count = forms.IntegerField(min_value=0, max_value=2_000_000_000, initial=0)
    countries = forms.CharField(required=False, max_length=800, help_text="ISO codes, comma separated")
    detail = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    at = forms.DateTimeField(required=False, label="Took effect", widget=_DateTimeLocal(), input_formats=_DATETIME_FORMATS)


class InternalUpdateForm(forms.Form):
    subject = forms.CharField(max_length=300, required=False)
    body = forms.CharField(max_length=50_000, widget=forms.Textarea(attrs={"rows": 4}), label="Update")


class OutboundForm(forms.Form):
    audience = forms.ChoiceField(choices=[(a.value, a.label) for a in OUTBOUND_AUDIENCES])
    recipient = forms.CharField(max_length=300)
    subject = forms.CharField(max_length=300, required=False)
    body = forms.CharField(max_length=50_000, widget=forms.Textarea(attrs={"rows": 6}), label="Response")


class OutboundEditForm(forms.Form):
    version = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    recipient = forms.CharField(max_length=300)
    subject = forms.CharField(max_length=300, required=False)
    body = forms.CharField(max_length=50_000, widget=forms.Textarea(attrs={"rows": 6}), label="Response")


class SendForm(forms.Form):
    version = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    reference = forms.CharField(max_length=200, required=False, label="Their reference")


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(choices=EvidenceKind.choices)
    title = forms.CharField(max_length=300, required=False)
    url = forms.CharField(max_length=2000, required=False, label="URL")
    platform_id = forms.CharField(max_length=200, required=False, label="Platform id")
    sha256 = forms.CharField(max_length=64, required=False, label="SHA-256")
    captured = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Captured metadata (JSON)")
    file = forms.FileField(required=False)
    graphic = forms.BooleanField(required=False, label="Graphic (blur by default)")
    legal_basis = forms.ChoiceField(choices=LegalBasis.choices, initial=LegalBasis.NONE, label="Preserve for")


class WellbeingSettingsForm(forms.Form):
    daily_cap = forms.IntegerField(min_value=1, max_value=10_000, label="Daily reveal cap per reviewer")


# --- helpers ----------------------------------------------------------------------------------


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _apply_errors(form: forms.Form, exc: ApplicationError) -> None:
    placed = False
    for field, messages in exc.errors.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _status(request: HttpRequest, failed: int | None) -> int:
    if failed is None or _is_htmx(request):
        return 200
    return failed


def _partial(request: HttpRequest, template: str, context: dict[str, Any], failed: int | None = None) -> HttpResponse:
    response = render(request, template, context, status=_status(request, failed))
    if failed is None and request.method == "POST":
        # The incident page's timeline and core refresh on this event.
        response["HX-Trigger"] = "incident-changed"
    return response


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


# --- tasks and mitigations ---------------------------------------------------------------------


def _tasks_context(request: HttpRequest, incident: Incident, **extra: Any) -> dict[str, Any]:
    return {
        "incident": incident,
        "loaded": True,
        "tasks": list(sel.task_list(incident=incident)),
        "mitigations": list(sel.mitigation_list(incident=incident)),
        "task_form": extra.pop("task_form", None) or TaskForm(prefix="task"),
        "mitigation_form": extra.pop("mitigation_form", None) or MitigationForm(prefix="mit"),
        "statuses": TaskStatus.choices,
        "now": timezone.now(),
        "can_add_task": request.user.has_perm("incidents.add_task"),
        "can_change_task": request.user.has_perm("incidents.change_task"),
        "can_mitigate": request.user.has_perm("incidents.add_mitigationaction"),
        **extra,
    }


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def tasks_partial(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_get_visible(user=request.user, pk=pk)
    if request.method == "GET":
        return render(request, "incidents/_tasks.html", _tasks_context(request, incident))
    form = TaskForm(request.POST, prefix="task")
    failed = None
    if form.is_valid():
        try:
            svc.task_create(actor=request.user, incident=incident, **form.cleaned_data)
            form = TaskForm(prefix="task")
        except ApplicationError as exc:
            _apply_errors(form, exc)
            failed = exc.status_code
    else:
        failed = 400
    return _partial(request, "incidents/_tasks.html", _tasks_context(request, incident, task_form=form), failed)


@never_cache
@login_required
@require_POST
def task_status(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    task = sel.task_get_visible(user=request.user, incident_pk=pk, task_pk=task_pk)
    form = TaskStatusForm(request.POST)
    failed, error = None, ""
    if form.is_valid():
        try:
            svc.task_update(actor=request.user, task=task, **form.cleaned_data)
        except ApplicationError as exc:
            failed, error = exc.status_code, exc.message
    else:
        failed, error = 400, "Choose a status."
    ctx = _tasks_context(request, task.incident, task_error=error)
    return _partial(request, "incidents/_tasks.html", ctx, failed)


@never_cache
@login_required
@require_POST
def mitigation_create(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_get_visible(user=request.user, pk=pk)
    form = MitigationForm(request.POST, prefix="mit")
    failed = None
    if form.is_valid():
        try:
            svc.mitigation_record(actor=request.user, incident=incident, **form.cleaned_data)
            form = MitigationForm(prefix="mit")
        except ApplicationError as exc:
            _apply_errors(form, exc)
            failed = exc.status_code
    else:
        failed = 400
    ctx = _tasks_context(request, incident, mitigation_form=form)
    return _partial(request, "incidents/_tasks.html", ctx, failed)


# --- stakeholder updates ----------------------------------------------------------------------


def _updates_context(request: HttpRequest, incident: Incident, **extra: Any) -> dict[str, Any]:
    updates = list(sel.stakeholder_update_list(incident=incident))
    user = request.user
    can_approve = svc.can_approve_outbound(user)
    for update in updates:
        update.may_approve = can_approve and update.status == UpdateStatus.DRAFT and update.author_id != user.pk and update.is_outbound
        update.may_send = update.status == UpdateStatus.APPROVED
        update.may_edit = update.is_outbound and update.status != UpdateStatus.SENT
    return {
        "incident": incident,
        "loaded": True,
        "updates": updates,
        "subscribed": sel.is_subscribed(user=user, incident=incident),
        "internal_form": extra.pop("internal_form", None) or InternalUpdateForm(prefix="int"),
        "outbound_form": extra.pop("outbound_form", None) or OutboundForm(prefix="out"),
        "can_write": user.has_perm("incidents.add_stakeholderupdate"),
        "can_change": user.has_perm("incidents.change_stakeholderupdate"),
        **extra,
    }


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def updates_partial(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_get_visible(user=request.user, pk=pk)
    if request.method == "GET":
        return _partial(request, "incidents/_updates.html", _updates_context(request, incident))
    outbound = request.POST.get("form") == "outbound"
    form: forms.Form = OutboundForm(request.POST, prefix="out") if outbound else InternalUpdateForm(request.POST, prefix="int")
    failed = None
    if form.is_valid():
        data = dict(form.cleaned_data)
        audience = data.pop("audience", UpdateAudience.INTERNAL)
        try:
            svc.stakeholder_update_create(actor=request.user, incident=incident, audience=audience, **data)
            form = OutboundForm(prefix="out") if outbound else InternalUpdateForm(prefix="int")
        except ApplicationError as exc:
            _apply_errors(form, exc)
            failed = exc.status_code
    else:
        failed = 400
    key = "outbound_form" if outbound else "internal_form"
    return _partial(request, "incidents/_updates.html", _updates_context(request, incident, **{key: form}), failed)


@never_cache
@login_required
@require_POST
def subscription_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_get_visible(user=request.user, pk=pk)
    svc.subscription_set(actor=request.user, incident=incident, subscribed=request.POST.get("subscribe") == "1")
    return _partial(request, "incidents/_updates.html", _updates_context(request, incident))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def update_edit(request: HttpRequest, pk: int, uid: str) -> HttpResponse:
    update = sel.stakeholder_update_get_visible(user=request.user, incident_pk=pk, uid=uid)
    if request.method == "GET":
        form = OutboundEditForm(
            initial={"version": update.version, "recipient": update.recipient, "subject": update.subject, "body": update.body},
            prefix="edit",
        )
        return render(request, "incidents/_update_edit.html", {"incident": update.incident, "update": update, "form": form})
    form = OutboundEditForm(request.POST, prefix="edit")
    failed = None
    if form.is_valid():
        try:
            svc.stakeholder_update_edit(actor=request.user, update=update, **form.cleaned_data)
            return _partial(request, "incidents/_updates.html", _updates_context(request, update.incident))
        except ApplicationError as exc:
            _apply_errors(form, exc)
            failed = exc.status_code
    else:
        failed = 400
    ctx = {"incident": update.incident, "update": update, "form": form}
    response = render(request, "incidents/_update_edit.html", ctx, status=_status(request, failed))
    # The form targets the whole section for success; a refusal re-renders just its row.
    response["HX-Retarget"] = f"#update-{update.uid}"
    return response


@never_cache
@login_required
@require_POST
def update_approve(request: HttpRequest, pk: int, uid: str) -> HttpResponse:
    update = sel.stakeholder_update_get_visible(user=request.user, incident_pk=pk, uid=uid)
    failed, error = None, ""
    try:
        svc.stakeholder_update_approve(actor=request.user, update=update, version=_int_or_none(request.POST.get("version")))
    except ApplicationError as exc:
        failed, error = exc.status_code, exc.message
    ctx = _updates_context(request, update.incident, update_error=error)
    return _partial(request, "incidents/_updates.html", ctx, failed)


@never_cache
@login_required
@require_POST
def update_send(request: HttpRequest, pk: int, uid: str) -> HttpResponse:
    update = sel.stakeholder_update_get_visible(user=request.user, incident_pk=pk, uid=uid)
    form = SendForm(request.POST)
    failed, error = None, ""
    if form.is_valid():
        try:
            svc.stakeholder_update_send(actor=request.user, update=update, **form.cleaned_data)
        except ApplicationError as exc:
            failed, error = exc.status_code, exc.message
    else:
        failed, error = 400, "; ".join(str(e) for errs in form.errors.values() for e in errs)
    ctx = _updates_context(request, update.incident, update_error=error)
    return _partial(request, "incidents/_updates.html", ctx, failed)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- evidence ------------------------------------------------------------------------------------


def _evidence_context(request: HttpRequest, incident: Incident, **extra: Any) -> dict[str, Any]:
    csea = svc.is_csea(incident)
    form = extra.pop("form", None) or EvidenceForm(prefix="ev", initial={"kind": EvidenceKind.HASH_ONLY if csea else EvidenceKind.FILE})
    return {
        "incident": incident,
        "loaded": True,
        "items": list(sel.evidence_list(incident=incident)),
        "form": form,
        "csea": csea,
        "csea_refusal": svc.CSEA_REFUSAL,
        "max_bytes": svc.evidence_max_bytes(),
        "allowed_types": ", ".join(svc.ALLOWED_CONTENT_TYPES),
        "can_add": request.user.has_perm("incidents.add_evidence"),
        "can_delete": request.user.has_perm("incidents.delete_evidence"),
        **extra,
    }


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def evidence_partial(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_get_visible(user=request.user, pk=pk)
    if request.method == "GET":
        return render(request, "incidents/_evidence.html", _evidence_context(request, incident))
    form = EvidenceForm(request.POST, request.FILES, prefix="ev")
    failed = None
    if form.is_valid():
        data = dict(form.cleaned_data)
        upload = data.pop("file", None)
        try:
            svc.evidence_add(actor=request.user, incident=incident, upload=upload, **data)
            form = None
        except ApplicationError as exc:
            _apply_errors(form, exc)
            failed = exc.status_code
    else:
        failed = 400
    ctx = _evidence_context(request, incident, form=form)
    return _partial(request, "incidents/_evidence.html", ctx, failed)


@never_cache
@login_required
@require_GET
def evidence_item(request: HttpRequest, pk: int, uid: str) -> HttpResponse:
    """One item in its default (for graphic items: blurred) state."""
    evidence = sel.evidence_get_visible(user=request.user, incident_pk=pk, uid=uid)
    ctx = {"incident": evidence.incident, "item": evidence, "can_delete": request.user.has_perm("incidents.delete_evidence")}
    return render(request, "incidents/_evidence_item.html", ctx)


@never_cache
@login_required
@require_POST
def evidence_reveal(request: HttpRequest, pk: int, uid: str) -> HttpResponse:
    evidence = sel.evidence_get_visible(user=request.user, incident_pk=pk, uid=uid)
    base = {"incident": evidence.incident, "item": evidence, "can_delete": request.user.has_perm("incidents.delete_evidence")}
    try:
        svc.evidence_reveal(actor=request.user, evidence=evidence, confirm_break=request.POST.get("confirm_break") == "1")
    except svc.BreakRequired as exc:
        return render(request, "incidents/_evidence_break.html", {**base, **exc.extra, "message": exc.message})
    except ApplicationError as exc:
        return render(request, "incidents/_evidence_item.html", {**base, "error": exc.message}, status=_status(request, exc.status_code))
    return render(request, "incidents/_evidence_item.html", {**base, "revealed": True})


@never_cache
@login_required
@require_POST
def evidence_delete(request: HttpRequest, pk: int, uid: str) -> HttpResponse:
    evidence = sel.evidence_get_visible(user=request.user, incident_pk=pk, uid=uid)
    failed, error = None, ""
    try:
        svc.evidence_delete(actor=request.user, evidence=evidence)
    except ApplicationError as exc:
        failed, error = exc.status_code, exc.message
    ctx = _evidence_context(request, evidence.incident, evidence_error=error)
    return _partial(request, "incidents/_evidence.html", ctx, failed)


def evidence_file_response(request: HttpRequest, evidence: Evidence) -> HttpResponse:
    """The stored file, never through a public media URL. A graphic file is served only
    to someone whose reveal of it was logged within the reveal window."""
    if not evidence.file:
        raise NotFound("This evidence has no file.")
    if evidence.graphic and not sel.evidence_revealed_recently(user=request.user, evidence=evidence):
        raise Forbidden("This item is graphic: reveal it first (reveals are logged).")
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise NotFound("The stored file is missing.") from None
    inline = evidence.is_image or evidence.is_video
    response = FileResponse(
        handle,
        content_type=evidence.content_type or "application/octet-stream",
        as_attachment=not inline,
        filename=evidence.file_name or f"evidence-{evidence.uid}",
    )
    # Even an allowed type is rendered inert: no scripts, no plug-ins, no framing elsewhere.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return _no_store(response)


@never_cache
@login_required
@require_GET
def evidence_file(request: HttpRequest, pk: int, uid: str) -> HttpResponse:
    evidence = sel.evidence_get_visible(user=request.user, incident_pk=pk, uid=uid, audit_read=True)
    return evidence_file_response(request, evidence)


# --- wellbeing ------------------------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def wellbeing(request: HttpRequest) -> HttpResponse:
    user = request.user
    can_set = user.has_perm("incidents.change_wellbeingsettings")
    form = WellbeingSettingsForm(initial={"daily_cap": sel.wellbeing_daily_cap()})
    status, saved = 200, False
    if request.method == "POST":
        if not can_set:
            raise Forbidden("Only administrators set the daily cap.")
        form = WellbeingSettingsForm(request.POST)
        if form.is_valid():
            try:
                svc.wellbeing_settings_update(actor=user, daily_cap=form.cleaned_data["daily_cap"])
                saved = True
            except ApplicationError as exc:
                _apply_errors(form, exc)
                status = exc.status_code
        else:
            status = 400
    now = timezone.now()
    try:
        zone_name = zoneinfo.ZoneInfo(user.time_zone or "UTC").key
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone_name = "UTC"
    ctx = {
        "me": sel.exposure_for_user(user=user, now=now),
        "teams": sel.team_exposure(user=user, now=now),
        "can_see_teams": user.has_perm("incidents.view_team_exposure"),
        "can_set": can_set,
        "form": form,
        "saved": saved,
        "zone_name": zone_name,
    }
    return render(request, "incidents/wellbeing.html", ctx, status=status)
