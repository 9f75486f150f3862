from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.errors import ApplicationError, Conflict, NotFound
from incidents.models import Incident
from postmortems import forms, selectors, services
from postmortems.export import postmortem_markdown
from postmortems.markdown import render_markdown
from postmortems.models import PostMortemStatus
from postmortems.taxonomy import BLAMELESS_GUIDANCE, TEXT_SECTIONS, Section


def _apply_errors(form, exc: ApplicationError) -> None:
    placed = False
    for field, msgs in (exc.errors or {}).items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


@login_required
@require_GET
def postmortem_list(request):
    status = request.GET.get("status") or None
    if status not in PostMortemStatus.values:
        status = None
    postmortems = selectors.postmortem_list_visible(user=request.user, filters={"status": status, "owner": request.GET.get("owner")})
    return render(
        request,
        "postmortems/list.html",
        {
            "postmortems": postmortems[:200],
            "statuses": PostMortemStatus.choices,
            "status": status,
            "start_form": forms.StartForm(initial={"incident": request.GET.get("incident", "")[:40]})
            if request.user.has_perm(services.ADD_PERM)
            else None,
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def postmortem_start(request):
    form = forms.StartForm(request.POST)
    if form.is_valid():
        value = form.cleaned_data["incident"].strip()
        visible = Incident.objects.visible_to(request.user)
        incident = visible.filter(reference__iexact=value).first() or (visible.filter(pk=int(value)).first() if value.isdigit() else None)
        if incident is None:
            form.add_error("incident", "No such incident.")
        else:
            try:
                postmortem = services.postmortem_start(actor=request.user, incident=incident)
            except Conflict as exc:
                if (
                    "postmortem_id" in exc.extra
                    and selectors.postmortem_list_visible(user=request.user).filter(pk=exc.extra["postmortem_id"]).exists()
                ):
                    messages.info(request, exc.message)
                    return redirect("postmortems:detail", pk=exc.extra["postmortem_id"])
                _apply_errors(form, exc)
            else:
                messages.success(request, "Post-mortem started.")
                return redirect("postmortems:detail", pk=postmortem.pk)
    postmortems = selectors.postmortem_list_visible(user=request.user)
    return render(
        request,
        "postmortems/list.html",
        {"postmortems": postmortems[:200], "statuses": PostMortemStatus.choices, "start_form": form, "today": timezone.localdate()},
        status=400,
    )


def _detail_context(request, postmortem, **overrides) -> dict:
    user = request.user
    can_edit = postmortem.is_editable and (user.has_perm(services.CHANGE_PERM) or postmortem.owner_id == user.pk)
    comments_by_section: dict[str, list] = {}
    for comment in postmortem.comments.all():
        comments_by_section.setdefault(comment.section, []).append(comment)
    sections = [
        {"name": name, "label": Section(name).label, "text": getattr(postmortem, name), "comments": comments_by_section.get(name, [])}
        for name in TEXT_SECTIONS
    ]
    ctx = {
        "pm": postmortem,
        "incident": postmortem.incident,
        "sections": sections,
        "comments_by_section": comments_by_section,
        "can_edit": can_edit,
        "can_comment": user.has_perm(services.COMMENT_PERM) and postmortem.status != PostMortemStatus.PUBLISHED,
        "can_add_items": can_edit and user.has_perm("postmortems.add_actionitem"),
        "can_update_items": user.has_perm(services.ITEM_CHANGE_PERM),
        "transitions": services.transitions_available(user=user, postmortem=postmortem),
        "guidance": BLAMELESS_GUIDANCE,
        "sections_form": forms.SectionsForm(
            initial={"version": postmortem.version, "title": postmortem.title, **{n: getattr(postmortem, n) for n in TEXT_SECTIONS}}
        ),
        "factor_form": forms.FactorForm(auto_id="factor_%s"),
        "entry_form": forms.TimelineEntryForm(auto_id="entry_%s"),
        "item_form": forms.ActionItemForm(auto_id="item_%s"),
        "comment_form": forms.CommentForm(),
        "today": timezone.localdate(),
        "self_approval_blocked": postmortem.status == PostMortemStatus.IN_REVIEW
        and postmortem.owner_id == user.pk
        and user.has_perm(services.APPROVE_PERM)
        and services.policy_current().forbid_self_approval,
    }
    ctx.update(overrides)
    return ctx


@login_required
@require_GET
def postmortem_detail(request, pk: int):
    postmortem = selectors.postmortem_detail(user=request.user, pk=pk)
    services.postmortem_record_read(actor=request.user, postmortem=postmortem)
    return render(request, "postmortems/detail.html", _detail_context(request, postmortem))


@login_required
@require_POST
def postmortem_sections(request, pk: int):
    postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
    form = forms.SectionsForm(request.POST)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            services.postmortem_update(actor=request.user, postmortem=postmortem, version=form.cleaned_data["version"], data=data)
        except ApplicationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Sections saved.")
            return redirect("postmortems:detail", pk=pk)
    postmortem = selectors.postmortem_detail(user=request.user, pk=pk)
    return render(request, "postmortems/detail.html", _detail_context(request, postmortem, sections_form=form), status=400)


def _detail_form_post(request, pk: int, form, save, *, context_key: str, anchor):
    """A form posted from the post-mortem page: on success ``save(postmortem, data)`` and
    back to ``#anchor(data)``; otherwise the page again with the errors in place (400)."""
    postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
    if form.is_valid():
        try:
            save(postmortem, form.cleaned_data)
        except ApplicationError as exc:
            _apply_errors(form, exc)
        else:
            return redirect(f"/postmortems/{pk}/#{anchor(form.cleaned_data)}")
    postmortem = selectors.postmortem_detail(user=request.user, pk=pk)
    return render(request, "postmortems/detail.html", _detail_context(request, postmortem, **{context_key: form}), status=400)


@login_required
@require_POST
def postmortem_factor_add(request, pk: int):
    return _detail_form_post(
        request,
        pk,
        forms.FactorForm(request.POST, auto_id="factor_%s"),
        lambda postmortem, data: services.factor_add(actor=request.user, postmortem=postmortem, **data),
        context_key="factor_form",
        anchor=lambda data: "factors",
    )


@login_required
@require_POST
def postmortem_factor_remove(request, pk: int, factor_pk: int):
    postmortem = selectors.postmortem_detail(user=request.user, pk=pk)
    factor = next((f for f in postmortem.factors.all() if f.pk == factor_pk), None)
    if factor is None:
        raise NotFound("No such contributing factor.")
    services.factor_remove(actor=request.user, factor=factor)
    return redirect(f"/postmortems/{pk}/#factors")


@login_required
@require_POST
def postmortem_timeline_import(request, pk: int):
    postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
    added = services.postmortem_timeline_import(actor=request.user, postmortem=postmortem)
    messages.success(request, f"{added} new timeline event(s) imported." if added else "The timeline is up to date.")
    return redirect(f"/postmortems/{pk}/#timeline")


@login_required
@require_POST
def postmortem_timeline_add(request, pk: int):
    return _detail_form_post(
        request,
        pk,
        forms.TimelineEntryForm(request.POST, auto_id="entry_%s"),
        lambda postmortem, data: services.timeline_entry_add(actor=request.user, postmortem=postmortem, **data),
        context_key="entry_form",
        anchor=lambda data: "timeline",
    )


@login_required
@require_POST
def postmortem_timeline_edit(request, pk: int, entry_pk: int):
    postmortem = selectors.postmortem_detail(user=request.user, pk=pk)
    entry = next((e for e in postmortem.timeline_entries.all() if e.pk == entry_pk), None)
    if entry is None:
        raise NotFound("No such timeline entry.")
    services.timeline_entry_update(actor=request.user, entry=entry, text=request.POST.get("text", ""))
    return redirect(f"/postmortems/{pk}/#timeline")


def _items_response(request, pk: int, *, item_form=None, status: int = 200):
    postmortem = selectors.postmortem_detail(user=request.user, pk=pk)
    ctx = _detail_context(request, postmortem, **({"item_form": item_form} if item_form is not None else {}))
    if _is_htmx(request):
        return render(request, "postmortems/_action_items.html", ctx, status=status)
    return render(request, "postmortems/detail.html", ctx, status=status)


@login_required
@require_POST
def action_item_add(request, pk: int):
    postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
    form = forms.ActionItemForm(request.POST, auto_id="item_%s")
    if form.is_valid():
        data = dict(form.cleaned_data)
        data["owner"] = data["owner"].pk
        try:
            services.action_item_create(actor=request.user, postmortem=postmortem, data=data)
        except ApplicationError as exc:
            _apply_errors(form, exc)
        else:
            if _is_htmx(request):
                return _items_response(request, pk)
            return redirect(f"/postmortems/{pk}/#action-items")
    # htmx swaps only 2xx by default; a form with errors is still the content to show.
    return _items_response(request, pk, item_form=form, status=200 if _is_htmx(request) else 400)


@login_required
@require_POST
def action_item_update(request, pk: int, item_pk: int):
    postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
    item = selectors.action_item_get_visible(user=request.user, postmortem=postmortem, pk=item_pk)
    form = forms.ActionItemUpdateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(m for msgs in form.errors.values() for m in msgs))
    else:
        try:
            services.action_item_update(actor=request.user, item=item, data=form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    if _is_htmx(request):
        return _items_response(request, pk)
    return redirect(f"/postmortems/{pk}/#item-{item_pk}")


@login_required
@require_POST
def comment_add(request, pk: int):
    return _detail_form_post(
        request,
        pk,
        forms.CommentForm(request.POST),
        lambda postmortem, data: services.comment_add(actor=request.user, postmortem=postmortem, **data),
        context_key="comment_form",
        anchor=lambda data: f"section-{data['section']}",
    )


@login_required
@require_POST
def postmortem_transition(request, pk: int):
    postmortem = selectors.postmortem_get_visible(user=request.user, pk=pk)
    form = forms.TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Unknown action.")
        return redirect("postmortems:detail", pk=pk)
    try:
        services.postmortem_transition(actor=request.user, postmortem=postmortem, **form.cleaned_data)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        postmortem = selectors.postmortem_detail(user=request.user, pk=pk)
        return render(request, "postmortems/detail.html", _detail_context(request, postmortem), status=exc.status_code)
    messages.success(request, services.STEP_LABELS[form.cleaned_data["action"]] + ".")
    return redirect("postmortems:detail", pk=pk)


@login_required
@require_POST
def markdown_preview(request):
    text = next((request.POST[name] for name in TEXT_SECTIONS if name in request.POST), request.POST.get("body", ""))
    html = render_markdown(text) or '<p class="muted">Nothing to preview.</p>'
    return HttpResponse(html)


def _published(request, pk: int):
    postmortem = selectors.postmortem_detail(user=request.user, pk=pk)
    if postmortem.status != PostMortemStatus.PUBLISHED:
        raise Conflict("Only a published post-mortem can be exported.")
    return postmortem


@login_required
@require_GET
def postmortem_export_markdown(request, pk: int):
    postmortem = _published(request, pk)
    services.postmortem_record_read(actor=request.user, postmortem=postmortem, how="export")
    response = HttpResponse(postmortem_markdown(postmortem), content_type="text/markdown; charset=utf-8")
    slug = re.sub(r"[^A-Za-z0-9-]+", "-", postmortem.incident.reference).strip("-") or str(postmortem.pk)
    response["Content-Disposition"] = f'attachment; filename="postmortem-{slug}.md"'
    return response


@login_required
@require_GET
def postmortem_print(request, pk: int):
    postmortem = _published(request, pk)
    services.postmortem_record_read(actor=request.user, postmortem=postmortem, how="print")
    return render(request, "postmortems/print.html", _detail_context(request, postmortem))


@login_required
@require_GET
def action_item_list(request):
    overdue = request.GET.get("overdue") in ("1", "true")
    filters = {"overdue": overdue, "open": request.GET.get("open") in ("1", "true"), "owner": request.GET.get("owner")}
    items = selectors.action_item_list_visible(user=request.user, filters=filters).order_by("due_on", "id")
    return render(request, "postmortems/action_items.html", {"items": items[:500], "overdue": overdue, "today": timezone.localdate()})
