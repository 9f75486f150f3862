"""Integrations pages: an overview of mailboxes and webhook senders (admins) and the mail
quarantine (incident managers and admins): list, read the headers, release or discard."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from integrations import selectors, services
from integrations.models import MessageState


def _is_admin(user) -> bool:
    return user.is_superuser or user.groups.filter(name="admin").exists()


@login_required
@require_GET
def overview(request):
    if not _is_admin(request.user):
        raise PermissionDenied
    return render(
        request,
        "integrations/overview.html",
        {
            "mailboxes": list(selectors.mailbox_overview()),
            "sources": list(selectors.alert_source_overview()),
        },
    )


@login_required
@require_GET
def quarantine(request):
    state = request.GET.get("state", MessageState.QUARANTINED)
    show = state if state in MessageState.values else None
    rows = selectors.quarantine_list(user=request.user, state=show)[:200]
    return render(request, "integrations/quarantine.html", {"rows": rows, "state": show, "states": MessageState.choices})


@login_required
@require_GET
def quarantine_detail(request, pk: int):
    message = selectors.inbound_get(user=request.user, pk=pk)
    return render(
        request, "integrations/quarantine_detail.html", {"message": message, "can_decide": message.state == MessageState.QUARANTINED}
    )


@login_required
@require_POST
def quarantine_release(request, pk: int):
    message = selectors.inbound_get(user=request.user, pk=pk)
    message = services.inbound_release(actor=request.user, message=message)
    messages.success(request, f"Released into intake: {message.incident.reference if message.incident else ''}")
    return redirect("integrations:quarantine-detail", pk=message.pk)


@login_required
@require_POST
def quarantine_discard(request, pk: int):
    message = selectors.inbound_get(user=request.user, pk=pk)
    services.inbound_discard(actor=request.user, message=message, reason=request.POST.get("reason", ""))
    messages.success(request, "Discarded. The record stays in the list of decided messages.")
    return redirect("integrations:quarantine")
