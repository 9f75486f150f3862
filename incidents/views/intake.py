"""The intake form: channel first, per-channel fields, duplicate check and the severity
matrix's proposal while typing; one transaction for create (and merge into a duplicate)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from incidents.forms import IntakeForm, add_service_errors
from incidents.services import incident_find_duplicates, incident_merge, intake_submit
from incidents.severity import severity_propose
from incidents.views._common import FORM_ERROR_STATUS, require_perm, visible_incident


@login_required
def intake(request: HttpRequest) -> HttpResponse:
    require_perm(request, "incidents.add_incident")
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    if request.method == "GET":
        return render(request, "incidents/intake.html", {"form": IntakeForm(user=request.user)})
    form = IntakeForm(request.POST, user=request.user)
    if form.is_valid():
        merge_into = request.POST.get("merge_into", "").strip()
        try:
            with transaction.atomic():
                incident, _created = intake_submit(
                    actor=request.user, data=form.service_data(), idempotency_key=form.cleaned_data["idempotency_key"]
                )
                if merge_into:
                    require_perm(request, "incidents.change_incident")
                    into = visible_incident(request, merge_into)
                    incident_merge(
                        actor=request.user, duplicate=incident, into=into, reason=f"Reported again at intake as {incident.reference}"
                    )
        except ApplicationError as exc:
            if exc.status_code == 404:
                form.add_error(None, "The incident to merge into is not available any more; choose another or create a new one.")
            else:
                add_service_errors(form, exc)
        else:
            if merge_into:
                messages.success(request, f"Recorded as {incident.reference} and merged into {into.reference}.")
                return redirect("incidents:detail", key=into.reference)
            messages.success(request, f"{incident.reference} declared.")
            return redirect("incidents:detail", key=incident.reference)
    return render(request, "incidents/intake.html", {"form": form}, status=FORM_ERROR_STATUS)


def _typed(request: HttpRequest) -> dict:
    post = request.POST
    return {
        "title": post.get("title", "")[:300],
        "hashtags": post.get("hashtags", "")[:2000],
        "content_items": post.get("content_items", "")[:20_000],
    }


@login_required
@require_POST
def intake_duplicates(request: HttpRequest) -> HttpResponse:
    require_perm(request, "incidents.add_incident")
    found = incident_find_duplicates(data=_typed(request), user=request.user)
    return render(
        request,
        "incidents/_intake_duplicates.html",
        {"duplicates": found, "can_merge": request.user.has_perm("incidents.change_incident")},
    )


@login_required
@require_POST
def intake_proposal(request: HttpRequest) -> HttpResponse:
    require_perm(request, "incidents.add_incident")
    post = request.POST
    data = {
        "harm_category": post.get("harm_category", "")[:60],
        "reach_views": post.get("reach_views", "")[:20],
        **{k: post.get(k) in ("on", "true", "1") for k in ("minors_involved", "imminent_risk", "media_interest", "regulatory")},
    }
    channel = post.get("channel", "")
    data["regulatory"] = data["regulatory"] or channel == "regulator_order"
    data["media_interest"] = data["media_interest"] or channel == "media_inquiry"
    proposal, reasons = severity_propose(data_or_incident=data)
    return render(request, "incidents/_intake_proposal.html", {"proposal": proposal, "reasons": reasons})
