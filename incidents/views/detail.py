"""The incident page and its partials: header and actions (transitions, severity,
commander, edit with optimistic concurrency), timeline (polled, 304 while unchanged),
comments, people and access grants."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.errors import ApplicationError, Conflict
from incidents import lifecycle
from incidents.forms import (
    CommentForm,
    EditForm,
    GrantForm,
    KeyMomentForm,
    SeverityForm,
    TransitionForm,
    add_service_errors,
)
from incidents.models import Incident, Status
from incidents.permissions import is_manager_or_commander
from incidents.selectors import (
    comment_list,
    incident_detail_prefetch,
    incident_get_by_reference_visible,
    incident_get_visible,
    incident_grant_list,
    incident_list_visible,
    timeline_list,
)
from incidents.services import (
    comment_create,
    incident_assign_commander,
    incident_grant_access,
    incident_set_severity,
    incident_transition,
    incident_update,
    timeline_add_key_moment,
)
from incidents.severity import severity_propose
from incidents.views._common import (
    FORM_ERROR_STATUS,
    assignable_users,
    is_htmx,
    render_partial,
    require_perm,
    visible_incident,
)


def _detail_incident(request: HttpRequest, pk: Any) -> Incident:
    incident = visible_incident(request, pk)
    return incident_detail_prefetch(incident_list_visible(user=request.user)).get(pk=incident.pk)


def _core_context(request: HttpRequest, incident: Incident, **extra: Any) -> dict[str, Any]:
    proposal, reasons = severity_propose(data_or_incident=incident)
    user = request.user
    return {
        "incident": incident,
        "proposal": proposal,
        "proposal_reasons": reasons,
        "targets": [(t, Status(t).label) for t in lifecycle.allowed_targets(incident.status)],
        "target_values": list(lifecycle.allowed_targets(incident.status)),
        "can_change": user.has_perm("incidents.change_incident"),
        "can_transition": user.has_perm("incidents.transition_incident"),
        "commanders": assignable_users() if user.has_perm("incidents.change_incident") else [],
        "transition_form": extra.pop("transition_form", None) or TransitionForm(initial={"version": incident.version}),
        "severity_form": extra.pop("severity_form", None)
        or SeverityForm(initial={"severity": incident.severity, "version": incident.version}),
        "edit_form": extra.pop("edit_form", None) or EditForm.for_incident(incident),
        **extra,
    }


def _people_context(request: HttpRequest, incident: Incident, **extra: Any) -> dict[str, Any]:
    can_grant = is_manager_or_commander(request.user, incident)
    return {
        "incident": incident,
        "participants": incident.participant_links.select_related("user").order_by("added_at", "id"),
        "grants": incident_grant_list(incident=incident) if can_grant else [],
        "can_grant": can_grant,
        "grant_form": extra.pop("grant_form", None) or GrantForm(),
        **extra,
    }


def _comments_context(request: HttpRequest, incident: Incident, **extra: Any) -> dict[str, Any]:
    return {
        "incident": incident,
        "comments": comment_list(incident=incident),
        "can_comment": request.user.has_perm("incidents.add_comment"),
        "comment_form": extra.pop("comment_form", None) or CommentForm(prefix="comment"),
        **extra,
    }


def _timeline_order(request: HttpRequest) -> str:
    return "asc" if request.GET.get("order") == "asc" else "desc"


def _timeline_context(request: HttpRequest, incident: Incident, **extra: Any) -> dict[str, Any]:
    order = _timeline_order(request)
    events = timeline_list(incident=incident)
    if order == "desc":
        events = events.order_by("-at", "-id")
    return {
        "incident": incident,
        "events": events,
        "order": order,
        "can_comment": request.user.has_perm("incidents.add_comment"),
        "key_moment_form": extra.pop("key_moment_form", None) or KeyMomentForm(),
        **extra,
    }


@login_required
@require_GET
def incident_detail(request: HttpRequest, key: str) -> HttpResponse:
    if key.isdigit():
        incident = incident_get_visible(user=request.user, pk=key, audit_read=True)
    else:
        found = incident_get_by_reference_visible(user=request.user, reference=key)
        incident = incident_get_visible(user=request.user, pk=found.pk, audit_read=True)
    incident = incident_detail_prefetch(incident_list_visible(user=request.user)).get(pk=incident.pk)
    context = {
        **_core_context(request, incident),
        **_people_context(request, incident),
        **_comments_context(request, incident),
        **_timeline_context(request, incident),
    }
    return render(request, "incidents/incident_detail.html", context)


def _core_response(request: HttpRequest, pk: int, *, status: int = 200, **extra: Any) -> HttpResponse:
    if not is_htmx(request) and status == 200:
        return redirect("incidents:detail", key=str(pk))
    incident = _detail_incident(request, pk)
    template = "incidents/_incident_core.html" if is_htmx(request) else "incidents/incident_detail.html"
    context = _core_context(request, incident, **extra)
    if not is_htmx(request):
        context |= _people_context(request, incident) | _comments_context(request, incident) | _timeline_context(request, incident)
    return render_partial(request, template, context, status=status, trigger="incident-changed" if status == 200 else None)


def _status_of(exc: ApplicationError) -> int:
    return 409 if isinstance(exc, Conflict) else FORM_ERROR_STATUS


@login_required
@require_GET
def incident_core(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "incidents/_incident_core.html", _core_context(request, _detail_incident(request, pk)))


@login_required
@require_POST
def incident_transition_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = visible_incident(request, pk)
    require_perm(request, "incidents.transition_incident")
    form = TransitionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            incident_transition(
                actor=request.user,
                incident=incident,
                to=data["to"],
                reason=data["reason"],
                resolution_summary=data["resolution_summary"],
                version=data.get("version"),
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
            return _core_response(request, pk, status=_status_of(exc), transition_form=form, transition_error=exc.message)
        return _core_response(request, pk, notice=f"Status is now {Status(data['to']).label}.")
    return _core_response(request, pk, status=FORM_ERROR_STATUS, transition_form=form)


@login_required
@require_POST
def incident_severity_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = visible_incident(request, pk)
    require_perm(request, "incidents.change_incident")
    form = SeverityForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            incident_set_severity(
                actor=request.user, incident=incident, severity=data["severity"], reason=data["reason"], version=data.get("version")
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
            return _core_response(request, pk, status=_status_of(exc), severity_form=form)
        return _core_response(request, pk, notice=f"Severity is now SEV{data['severity']}.")
    return _core_response(request, pk, status=FORM_ERROR_STATUS, severity_form=form)


@login_required
@require_POST
def incident_commander_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = visible_incident(request, pk)
    require_perm(request, "incidents.change_incident")
    commander = request.POST.get("commander", "").strip()
    if commander == "me":
        commander = request.user.username
    try:
        incident_assign_commander(actor=request.user, incident=incident, user=commander or None)
    except ApplicationError as exc:
        return _core_response(request, pk, status=_status_of(exc), commander_error=exc.message)
    return _core_response(request, pk, notice="Commander assigned.")


@login_required
@require_POST
def incident_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = visible_incident(request, pk)
    require_perm(request, "incidents.change_incident")
    form = EditForm(request.POST, prefix="edit")
    if not form.is_valid():
        return _core_response(request, pk, status=FORM_ERROR_STATUS, edit_form=form, edit_open=True)
    try:
        incident_update(actor=request.user, incident=incident, data=form.service_data(), version=form.cleaned_data["version"])
    except Conflict:
        current = _detail_incident(request, pk)
        data = form.data.copy()
        data["edit-version"] = str(current.version)
        return _core_response(request, pk, status=409, edit_form=EditForm(data, prefix="edit"), edit_open=True, stale=current)
    except ApplicationError as exc:
        add_service_errors(form, exc)
        return _core_response(request, pk, status=FORM_ERROR_STATUS, edit_form=form, edit_open=True)
    return _core_response(request, pk, notice="Changes saved.")


def _timeline_etag(request: HttpRequest, incident: Incident) -> str:
    agg = timeline_list(incident=incident).order_by().aggregate(n=Count("id"), last=Max("id"))
    raw = f"{incident.pk}|{_timeline_order(request)}|{agg['n']}|{agg['last']}"
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


@login_required
@require_GET
def incident_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    incident = visible_incident(request, pk)
    etag = _timeline_etag(request, incident)
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = render(request, "incidents/_incident_timeline.html", _timeline_context(request, incident))
    response["ETag"] = etag
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def incident_key_moment(request: HttpRequest, pk: int) -> HttpResponse:
    incident = visible_incident(request, pk)
    require_perm(request, "incidents.add_comment")
    form = KeyMomentForm(request.POST)
    status = FORM_ERROR_STATUS
    if form.is_valid():
        try:
            timeline_add_key_moment(actor=request.user, incident=incident, summary=form.cleaned_data["summary"], at=form.cleaned_data["at"])
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            form, status = KeyMomentForm(), 200
    if not is_htmx(request) and status == 200:
        return redirect("incidents:detail", key=str(pk))
    return render(request, "incidents/_incident_timeline.html", _timeline_context(request, incident, key_moment_form=form), status=status)


@login_required
@require_GET
def incident_comments(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "incidents/_incident_comments.html", _comments_context(request, visible_incident(request, pk)))


@login_required
@require_POST
def incident_comment_create(request: HttpRequest, pk: int) -> HttpResponse:
    incident = visible_incident(request, pk)
    require_perm(request, "incidents.add_comment")
    form = CommentForm(request.POST, prefix="comment")
    status = FORM_ERROR_STATUS
    if form.is_valid():
        try:
            comment_create(actor=request.user, incident=incident, **form.cleaned_data)
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            form, status = CommentForm(prefix="comment"), 200
    if not is_htmx(request) and status == 200:
        return redirect("incidents:detail", key=str(pk))
    return render_partial(
        request,
        "incidents/_incident_comments.html",
        _comments_context(request, incident, comment_form=form),
        status=status,
        trigger="incident-changed" if status == 200 else None,
    )


@login_required
@require_POST
def incident_grant_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = visible_incident(request, pk)
    form = GrantForm(request.POST)
    status = FORM_ERROR_STATUS
    notice = None
    if form.is_valid():
        try:
            incident_grant_access(actor=request.user, incident=incident, user=form.cleaned_data["user"], reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            add_service_errors(form, exc)
            status = exc.status_code if exc.status_code == 403 else FORM_ERROR_STATUS
        else:
            notice = f"{form.cleaned_data['user']} can now see {incident.reference}."
            form, status = GrantForm(), 200
    if not is_htmx(request) and status == 200:
        return redirect("incidents:detail", key=str(pk))
    incident = _detail_incident(request, pk)
    return render_partial(
        request,
        "incidents/_incident_people.html",
        _people_context(request, incident, grant_form=form, notice=notice),
        status=status,
        trigger="incident-changed" if status == 200 else None,
    )
