"""The triage queue at /: a dense, filterable, keyboard-driven list of open incidents,
its polled rows partial (answered 304 while nothing changed), row actions and saved views."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, QueryDict
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Region
from core.errors import ApplicationError, ValidationError
from incidents import lifecycle
from incidents.forms import SavedViewForm, SeverityForm, TransitionForm, add_service_errors
from incidents.models import Channel, Incident, Severity, Status
from incidents.models_saved_views import SavedView
from incidents.queue_deadlines import deadlines_attach
from incidents.selectors import harm_category_list, incident_list_visible
from incidents.services import incident_assign_commander, incident_set_severity, incident_transition
from incidents.severity import severity_propose
from incidents.views._common import (
    FORM_ERROR_STATUS,
    assignable_users,
    is_htmx,
    render_partial,
    require_perm,
    visible_incident,
)

PAGE_SIZE = 50
MULTI_KEYS = ("status", "severity", "region", "channel")
SINGLE_KEYS = ("harm_category", "commander", "q")
VIEW_KEYS = (*MULTI_KEYS, *SINGLE_KEYS, "sort")
SORTS: dict[str, tuple[str, tuple[tuple[str, bool], ...]]] = {
    "severity": ("Severity, then newest", (("severity", False), ("created_at", True), ("id", True))),
    "newest": ("Newest first", (("created_at", True), ("id", True))),
    "oldest": ("Oldest first", (("created_at", False), ("id", False))),
    "updated": ("Recently changed", (("updated_at", True), ("id", True))),
}
DEFAULT_SORT = "severity"
BUILT_IN_VIEWS = (
    ("My incidents", "commander=me"),
    ("Unassigned SEV1/2", "commander=none&severity=1&severity=2"),
    ("Regulator orders", "channel=regulator_order"),
)


def _view_query(params: QueryDict) -> str:
    """The filter part of a query string, in a stable order (saved views, ETags, links)."""
    pairs = [(k, v) for k in VIEW_KEYS for v in params.getlist(k) if v.strip()]
    return urlencode(pairs)


def _filters(request: HttpRequest) -> QueryDict:
    params = request.GET
    filters = QueryDict(mutable=True)
    for key in MULTI_KEYS:
        values = [v for v in params.getlist(key) if v.strip()]
        if values:
            filters.setlist(key, values)
    for key in SINGLE_KEYS:
        value = params.get(key, "").strip()
        if key == "commander" and value == "me":
            value = str(request.user.pk)
        if value:
            filters[key] = value
    if "status" not in filters:
        filters["is_open"] = "true"
    return filters


def _ordering(request: HttpRequest) -> tuple[str, tuple[tuple[str, bool], ...]]:
    sort = request.GET.get("sort") or DEFAULT_SORT
    if sort not in SORTS:
        raise ValidationError.for_field("sort", f"Sort by one of: {', '.join(SORTS)}.")
    return sort, SORTS[sort][1]


def _encode_cursor(incident: Incident, keys: tuple[tuple[str, bool], ...]) -> str:
    values = []
    for field, _desc in keys:
        value = getattr(incident, field)
        values.append(value.isoformat() if isinstance(value, datetime) else value)
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _after_cursor(qs: QuerySet[Incident], cursor: str, keys: tuple[tuple[str, bool], ...]) -> QuerySet[Incident]:
    """Keyset pagination: rows strictly after the cursor's row in the chosen order."""
    bad = ValidationError.for_field("cursor", "This page link is not valid any more; start from the first page.")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(values, list) or len(values) != len(keys):
        raise bad
    parsed: list[Any] = []
    for (field, _desc), value in zip(keys, values, strict=True):
        if field.endswith("_at"):
            value = parse_datetime(value) if isinstance(value, str) else None
        elif not isinstance(value, int) or isinstance(value, bool):
            value = None
        if value is None:
            raise bad
        parsed.append(value)
    cond, prefix = Q(), Q()
    for (field, desc), value in zip(keys, parsed, strict=True):
        cond |= prefix & Q(**{f"{field}__{'lt' if desc else 'gt'}": value})
        prefix &= Q(**{field: value})
    return qs.filter(cond)


def _queue_qs(request: HttpRequest) -> QuerySet[Incident]:
    return incident_list_visible(user=request.user, filters=_filters(request))


def _page(request: HttpRequest, qs: QuerySet[Incident]) -> tuple[list[Incident], str | None]:
    _sort, keys = _ordering(request)
    qs = qs.order_by(*[f"-{f}" if desc else f for f, desc in keys])
    cursor = request.GET.get("cursor", "").strip()
    if cursor:
        qs = _after_cursor(qs, cursor, keys)
    rows = list(qs[: PAGE_SIZE + 1])
    next_cursor = _encode_cursor(rows[PAGE_SIZE - 1], keys) if len(rows) > PAGE_SIZE else None
    rows = rows[:PAGE_SIZE]
    deadlines_attach(rows)  # one query per registered provider (the SLA clocks), whatever the page size
    return rows, next_cursor


def _etag(request: HttpRequest, qs: QuerySet[Incident]) -> str:
    """Changes when a visible row changes, appears or leaves (max updated_at + count)."""
    agg = qs.order_by().aggregate(last=Max("updated_at"), n=Count("id"))
    last = agg["last"].isoformat() if agg["last"] else "-"
    raw = f"{request.user.pk}|{request.GET.urlencode()}|{agg['n']}|{last}"
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def _row_context(request: HttpRequest) -> dict[str, Any]:
    return {"perms_change": request.user.has_perm("incidents.change_incident"), "me": request.user}


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    error = None
    rows: list[Incident] = []
    next_cursor = None
    etag = ""
    status = 200
    try:
        qs = _queue_qs(request)
        rows, next_cursor = _page(request, qs)
        etag = _etag(request, qs)
    except ValidationError as exc:
        error, status = exc.message, 400
    params = request.GET
    query = _view_query(params)
    context = {
        "rows": rows,
        "next_cursor": next_cursor,
        "etag": etag,
        "error": error,
        "query": query,
        "params": params,
        "selected": {k: params.getlist(k) for k in MULTI_KEYS} | {k: params.get(k, "") for k in SINGLE_KEYS},
        "sort": params.get("sort") or DEFAULT_SORT,
        "sorts": [(k, label) for k, (label, _keys) in SORTS.items()],
        "statuses": Status.choices,
        "severities": Severity.choices,
        "channels": Channel.choices,
        "regions": Region.choices,
        "categories": harm_category_list(),
        "commanders": assignable_users(),
        "built_in_views": BUILT_IN_VIEWS,
        "saved_views": SavedView.objects.filter(user=request.user),
        "save_form": SavedViewForm(initial={"query": query}),
        **_row_context(request),
    }
    return render(request, "incidents/queue.html", context, status=status)


@login_required
@require_GET
def queue_rows(request: HttpRequest) -> HttpResponse:
    qs = _queue_qs(request)
    etag = _etag(request, qs)
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        rows, next_cursor = _page(request, qs)
        response = render(
            request,
            "incidents/_queue_rows.html",
            {
                "rows": rows,
                "next_cursor": next_cursor,
                "etag": etag,
                "query": _view_query(request.GET),
                "oob": True,
                **_row_context(request),
            },
        )
    response["ETag"] = etag
    response["Cache-Control"] = "no-store"
    return response


def _row_response(request: HttpRequest, pk: int, *, status: int = 200) -> HttpResponse:
    incident = visible_incident(request, pk)
    deadlines_attach([incident])
    return render(request, "incidents/_queue_row.html", {"incident": incident, **_row_context(request)}, status=status)


@login_required
@require_GET
def queue_row(request: HttpRequest, pk: int) -> HttpResponse:
    return _row_response(request, pk)


@login_required
@require_POST
def queue_assign_me(request: HttpRequest, pk: int) -> HttpResponse:
    incident = visible_incident(request, pk)
    require_perm(request, "incidents.change_incident")
    incident_assign_commander(actor=request.user, incident=incident, user=request.user)
    if not is_htmx(request):
        return redirect("incidents:queue")
    return _row_response(request, pk)


def _triage_context(request: HttpRequest, incident: Incident, **extra: Any) -> dict[str, Any]:
    proposal, reasons = severity_propose(data_or_incident=incident)
    return {
        "incident": incident,
        "proposal": proposal,
        "proposal_reasons": reasons,
        "severities": Severity.choices,
        "targets": [(t, Status(t).label) for t in lifecycle.allowed_targets(incident.status)],
        "severity_form": extra.pop("severity_form", None)
        or SeverityForm(initial={"severity": incident.severity, "version": incident.version}),
        "transition_form": extra.pop("transition_form", None) or TransitionForm(initial={"version": incident.version}),
        "focus": request.GET.get("focus", "severity"),
        "can_change": request.user.has_perm("incidents.change_incident"),
        "can_transition": request.user.has_perm("incidents.transition_incident"),
        **extra,
    }


@login_required
def queue_triage(request: HttpRequest, pk: int) -> HttpResponse:
    """The inline triage panel for one row: severity (with the matrix proposal) and status."""
    incident = visible_incident(request, pk)
    if request.method == "GET":
        return render(request, "incidents/_queue_triage.html", _triage_context(request, incident))
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    action = request.POST.get("action")
    if action == "severity":
        require_perm(request, "incidents.change_incident")
        form: SeverityForm | TransitionForm = SeverityForm(request.POST)
        key = "severity_form"
    elif action == "transition":
        require_perm(request, "incidents.transition_incident")
        form = TransitionForm(request.POST)
        key = "transition_form"
    else:
        raise ValidationError.for_field("action", "Choose severity or transition.")
    status = FORM_ERROR_STATUS
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "severity":
                incident_set_severity(
                    actor=request.user, incident=incident, severity=data["severity"], reason=data["reason"], version=data.get("version")
                )
            else:
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
            status = exc.status_code if exc.status_code == 409 else FORM_ERROR_STATUS
        else:
            incident = visible_incident(request, pk)
            deadlines_attach([incident])
            return render_partial(
                request,
                "incidents/_queue_triage_done.html",
                {"incident": incident, "action": action, **_row_context(request)},
                trigger="queue-changed",
            )
    incident = visible_incident(request, pk)
    return render(request, "incidents/_queue_triage.html", _triage_context(request, incident, **{key: form}), status=status)


@login_required
@require_POST
def queue_bulk_assign(request: HttpRequest) -> HttpResponse:
    """Assign several incidents to one commander: all of them, or none when one is refused."""
    require_perm(request, "incidents.change_incident")
    raw_ids = request.POST.getlist("ids")
    commander = request.POST.get("commander", "").strip()
    if commander == "me":
        commander = request.user.username
    errors: list[str] = []
    if not raw_ids:
        errors.append("Select incidents first (x toggles the selected row).")
    if not commander:
        errors.append("Choose who to assign them to.")
    done: list[Incident] = []
    if not errors:
        label = ""
        try:
            with transaction.atomic():
                for raw in raw_ids[:PAGE_SIZE]:
                    label = ""
                    incident = visible_incident(request, raw)
                    label = f"{incident.reference}: "
                    done.append(incident_assign_commander(actor=request.user, incident=incident, user=commander))
        except ApplicationError as exc:
            done = []
            errors.append(f"{label}{exc.message} Nothing was assigned.")
    status = FORM_ERROR_STATUS if errors else 200
    if not is_htmx(request):
        for error in errors:
            messages.error(request, error)
        if not errors:
            messages.success(request, f"Assigned {len(done)} incidents to {commander}.")
        return redirect("incidents:queue")
    return render_partial(
        request,
        "incidents/_queue_bulk_result.html",
        {"errors": errors, "done": done, "commander": commander},
        status=status,
        trigger=None if errors else "queue-changed",
    )


@login_required
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("incidents:queue")
    query = _view_query(QueryDict(form.cleaned_data["query"]))
    try:
        with transaction.atomic():
            SavedView.objects.create(user=request.user, name=form.cleaned_data["name"].strip(), query=query)
    except IntegrityError:
        messages.error(request, "You already have a view with this name.")
        return redirect(f"/?{query}")
    messages.success(request, "View saved.")
    return redirect(f"/?{query}")


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    deleted, _ = SavedView.objects.filter(user=request.user, pk=pk).delete()
    if not deleted:
        return render(request, "core/error.html", {"title": "Not found", "message": "No such saved view."}, status=404)
    messages.success(request, "View deleted.")
    return redirect("incidents:queue")
