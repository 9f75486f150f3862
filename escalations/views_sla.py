"""SLA pages: the clock panel on the incident page (polled, 304 while unchanged), the
"waiting on an external party" flag set from it, and the policies page with the legal
clocks table and a "which policy applies, and why" check. Thin over sla_views_support,
the SLA selectors and the incidents' flag service."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Region
from core.errors import ApplicationError, Forbidden, ValidationError
from escalations import sla_views_support as support
from incidents.models import Channel, Incident, Severity
from incidents.selectors import harm_category_list, incident_get_visible
from incidents.services import incident_set_flags

FLAG_CHOICES = (
    ("minors_involved", "Minors involved"),
    ("imminent_risk", "Imminent risk"),
    ("media_interest", "Media interest"),
    ("regulatory", "Regulatory"),
)


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise Forbidden(f"Your role does not allow this (needs {perm}).")


def sla_panel_context(*, request: HttpRequest, incident: Incident, **extra: Any) -> dict[str, Any]:
    rows = support.clock_rows(incident=incident, now=timezone.now())
    return {
        "incident": incident,
        "sla_rows": rows,
        "sla_open": [r for r in rows if r.is_open],
        "can_set_waiting": request.user.has_perm("incidents.change_incident"),
        "request": request,
        **extra,
    }


@login_required
@require_GET
def incident_sla_panel(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_get_visible(user=request.user, pk=pk)
    context = sla_panel_context(request=request, incident=incident)
    etag = support.clocks_etag(incident=incident, rows=context["sla_rows"], user=request.user, tz=timezone.get_current_timezone_name())
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = render(request, "escalations/_sla_panel.html", context)
    response["ETag"] = etag
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def incident_sla_waiting(request: HttpRequest, pk: int) -> HttpResponse:
    """Set or clear "waiting on an external party"; clocks with pause_when_waiting pause or resume."""
    incident = incident_get_visible(user=request.user, pk=pk)
    _require(request, "incidents.change_incident")
    waiting = request.POST.get("waiting") == "on"
    reason = request.POST.get("reason", "").strip()
    error = ""
    status = 200
    try:
        incident = incident_set_flags(actor=request.user, incident=incident, flags={"waiting_on_external": waiting}, reason=reason)
    except ApplicationError as exc:
        error, status = exc.message, 422
    if request.headers.get("HX-Request") != "true":
        if error:
            raise ValidationError.for_field("reason", error)
        return redirect("incidents:detail", key=incident.reference)
    incident = incident_get_visible(user=request.user, pk=pk)
    response = render(
        request,
        "escalations/_sla_panel.html",
        sla_panel_context(request=request, incident=incident, waiting_error=error, waiting_reason=reason),
        status=status,
    )
    if not error:
        response["HX-Trigger"] = "incident-changed"
    return response


def _match_sample(request: HttpRequest) -> dict[str, Any] | None:
    params = request.GET
    if "check" not in params:
        return None
    return {
        "channel": params.get("channel", ""),
        "severity": params.get("severity", ""),
        "region": params.get("region", ""),
        "harm_category": params.get("harm_category", ""),
        "flags": [f for f in params.getlist("flags") if f],
    }


@login_required
@require_GET
def sla_policies(request: HttpRequest) -> HttpResponse:
    _require(request, "escalations.view_slapolicy")
    sample = _match_sample(request)
    match = None
    match_error = ""
    if sample is not None:
        try:
            match = support.policy_match_explain(sample)
        except ApplicationError as exc:
            match_error = exc.message
    context = {
        "policies": support.policy_list(),
        "legal_clocks": support.legal_clock_list(),
        "calendars": support.calendar_list(),
        "sample": sample or {},
        "match": match,
        "match_error": match_error,
        "channels": Channel.choices,
        "severities": Severity.choices,
        "regions": Region.choices,
        "categories": harm_category_list(),
        "flag_choices": FLAG_CHOICES,
        "can_edit": request.user.has_perm("escalations.change_slapolicy"),
        "now": timezone.now(),
    }
    return render(request, "escalations/sla_policies.html", context, status=400 if match_error else 200)
