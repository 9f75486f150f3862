"""HTML for paging: the signed-link acknowledgement, the notification bell and list,
and the engine status page for admins. Thin: selectors read, services write."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import Conflict, Forbidden, NotFound, ValidationError
from escalations import engine
from escalations.models import PageState
from escalations.selectors import page_get_visible, page_list_open_for_user, page_may_acknowledge
from escalations.services import page_acknowledge, page_from_ack_token
from incidents.selectors import notification_list_for_user


def _page_headline(page) -> str:
    incident = page.incident
    return f"SEV{incident.severity} incident {incident.reference} needs you"


@never_cache
@require_http_methods(["GET", "POST"])
def page_ack_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirmation (mail scanners prefetch links); only the POST acknowledges.
    The link itself identifies the recipient, so no sign-in is needed; it carries no
    incident detail beyond severity and reference."""
    try:
        page = page_from_ack_token(token)
    except ValidationError as exc:
        return render(request, "escalations/ack_link.html", {"error": exc.message}, status=400)
    context = {"page_obj": page, "headline": _page_headline(page), "token": token}
    if page.state == PageState.ACKNOWLEDGED:
        context["already"] = page
        return render(request, "escalations/ack_link.html", context)
    if request.method == "POST":
        try:
            page = page_acknowledge(actor=page.recipient, page=page, via="link")
        except Conflict as exc:
            context["conflict"] = exc.message
            return render(request, "escalations/ack_link.html", context, status=409)
        context["done"] = page
    return render(request, "escalations/ack_link.html", context)


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    pages = page_list_open_for_user(user=request.user)
    notifications = list(notification_list_for_user(user=request.user)[:50])
    return render(request, "escalations/notifications.html", {"pages": pages, "notifications": notifications})


def _bell_state(request: HttpRequest) -> tuple[int, int, str]:
    open_pages = page_list_open_for_user(user=request.user, limit=100)
    unread = notification_list_for_user(user=request.user, unread_only=True)
    unread_count = unread.count()
    newest = unread.order_by("-id").values_list("id", flat=True).first() or 0
    key = f"{len(open_pages)}:{unread_count}:{newest}:{open_pages[0].pk if open_pages else 0}"
    return len(open_pages), unread_count, '"' + hashlib.sha256(key.encode()).hexdigest()[:16] + '"'


@login_required
@require_GET
def notification_bell(request: HttpRequest) -> HttpResponse:
    """Polled by htmx every 10 s: a 304 when nothing changed since the last poll."""
    open_pages, unread, etag = _bell_state(request)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        response = render(request, "escalations/_bell.html", {"open_pages": open_pages, "unread": unread})
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
@require_POST
def page_acknowledge_view(request: HttpRequest, pk: int) -> HttpResponse:
    page = page_get_visible(user=request.user, pk=pk)
    if not page_may_acknowledge(user=request.user, page=page):
        raise NotFound("No such page.")
    try:
        page_acknowledge(actor=request.user, page=page, via="app")
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Acknowledged {page.incident.reference}. Further pages for this escalation are stopped.")
    return redirect("paging:notifications")


@login_required
@require_GET
def engine_status_view(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("core.view_engineheartbeat"):
        raise Forbidden("The engine status page is for admins.")
    status = engine.engine_status(timezone.now())
    return render(request, "escalations/engine_status.html", {"status": status})
