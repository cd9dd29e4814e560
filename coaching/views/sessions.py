"""The 1:1 session pages: the list, recording a 1:1, its page, editing it and adding an
action item to it.

The form opens with what the manager needs during the conversation: the previous 1:1's
open action items (ticked off right there) and the coaching guide of the chosen focus
skills, with the rep's latest levels. Choosing the rep or a skill re-renders that panel
(htmx GET of the same URL targeting #session-context; without JS, the "Show" button)."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coaching import focus_suggestions, selectors, services
from coaching import forms as coaching_forms
from coaching.views.common import INVALID
from salesops.cleaning import query_int
from salesops.exceptions import ApplicationError, Conflict, NotFound, ValidationFailed
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest

SESSION_PAGE_SIZE = 50
SESSION_CONTEXT_TARGET = "session-context"


@login_required
@require_GET
def session_list(request: AuthenticatedRequest) -> HttpResponse:
    """The 1:1s the user may see (a rep: their own), latest first; filter by rep."""
    user = request.user
    form = coaching_forms.SessionFilterForm(
        request.GET or None, reps=selectors.session_reps_for(user)
    )
    filters = form.selector_filters()
    page = Paginator(selectors.sessions_for(user, filters), SESSION_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "coaching/session_list.html",
        {
            "form": form,
            "page": page,
            "filtered": bool(filters),
            "can_hold": services.can_hold_one_on_ones(user),
            "show_rep_filter": not user.is_rep,
        },
    )


def _session_context(request: AuthenticatedRequest, form) -> dict:
    """The panel next to the form: the chosen rep's previous 1:1 and its open action
    items, their latest skill levels, and the guide of each chosen focus skill."""
    rep_id = query_int(form["rep"].value())
    rep = next((p for p in form.people if p.pk == rep_id), None)
    previous, follow_ups = selectors.follow_ups(request.user, rep) if rep else (None, [])
    levels = selectors.rep_latest_levels(rep) if rep else {}
    chosen: list = []
    for name in ("focus_skill", "second_focus_skill"):
        skill = next((s for s in form.skills if s.pk == query_int(form[name].value())), None)
        if skill is not None and skill not in chosen:
            chosen.append(skill)
    suggestion = focus_suggestions.suggest(rep.pk) if rep else None
    by_id = {s.pk: s for s in form.skills}
    suggested = [by_id[i] for i in (suggestion.skill_ids if suggestion else ()) if i in by_id]
    slots = ("focus_skill", "second_focus_skill")
    return {
        "context_rep": rep,
        "suggestion": suggestion,
        "suggested_skills": suggested,
        "suggested_query": "&".join(
            f"{slot}={s.pk}" for slot, s in zip(slots, suggested, strict=False)
        ),
        "previous": previous,
        "follow_ups": follow_ups,
        "guides": [{"skill": s, "latest": levels.get(s.pk)} for s in chosen],
        "rep_levels": [(s, levels.get(s.pk)) for s in form.skills] if rep else [],
    }


def _session_forms(request: AuthenticatedRequest, data=None):
    user = request.user
    initial: dict = {"held_on": timezone.localdate()}
    rows: list[dict] = []
    if data is None:
        # A GET may carry what was typed (the no-JS "Show" button) or a link's ?rep=&skill=.
        query = request.GET
        for name in ("rep", "focus_skill", "second_focus_skill"):
            if query_int(query.get(name)) is not None:
                initial[name] = query_int(query.get(name))
        if "focus_skill" not in initial and query_int(query.get("skill")) is not None:
            initial["focus_skill"] = query_int(query.get("skill"))
        # A new hire's first 1:1s: their weakest selling skills (hiring suggests them).
        suggestion = (
            focus_suggestions.suggest(initial["rep"])
            if "rep" in initial and "focus_skill" not in initial
            else None
        )
        if suggestion:
            slots = ("focus_skill", "second_focus_skill")
            initial.update(zip(slots, suggestion.skill_ids, strict=False))
        for name in ("held_on", "notes", "practice_assignment"):
            if query.get(name):
                initial[name] = query.get(name)
        for i in range(coaching_forms.SESSION_ITEM_ROWS):
            row = {f: query.get(f"items-{i}-{f}", "") for f in ("title", "owner", "due_on")}
            rows.append({k: v for k, v in row.items() if v})
        rows = rows if any(rows) else []
    form = coaching_forms.SessionForm(
        data,
        initial=initial,
        people=selectors.one_on_one_people_for(user),
        skills=selectors.skill_list(active_only=True),
        context_url=reverse("coaching:session_create"),
    )
    formset = coaching_forms.session_items_formset(data, initial=rows)
    return form, formset


def _render_session_form(
    request: AuthenticatedRequest, form, formset, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "coaching/session_form.html",
        {"form": form, "formset": formset, **_session_context(request, form)},
        status=status,
    )


def _split_item_errors(exc: ApplicationError) -> tuple[ApplicationError, object]:
    """The service's error without details["action_items"] (for the form), and those."""
    details = exc.details if isinstance(exc.details, dict) else {}
    shown = copy.copy(exc)
    shown.details = {k: v for k, v in details.items() if k != "action_items"}
    return shown, details.get("action_items")


@login_required
@require_http_methods(["GET", "POST"])
def session_create(request: AuthenticatedRequest) -> HttpResponse:
    """Record a 1:1. Reps record none: they are sent to their 1:1s (GET), and the service
    refuses what they post (403). An htmx GET aimed at the context panel gets only it."""
    user = request.user
    if request.method == "GET":
        if not services.can_hold_one_on_ones(user):
            messages.info(request, "1:1s are recorded by your manager; here are yours.")
            return redirect("coaching:session_list")
        form, formset = _session_forms(request)
        if request.htmx and request.htmx.target == SESSION_CONTEXT_TARGET:
            return render(
                request, "coaching/partials/session_context.html", _session_context(request, form)
            )
        return _render_session_form(request, form, formset)
    form, formset = _session_forms(request, request.POST)
    form_ok, formset_ok = form.is_valid(), formset.is_valid()
    if not (form_ok and formset_ok):
        return _render_session_form(request, form, formset, status=INVALID)
    items, rows = formset.service_items(rep_id=form.cleaned_data["rep"], manager_id=user.pk)
    try:
        session = services.session_create(actor=user, **form.service_fields(), action_items=items)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        shown, item_errors = _split_item_errors(exc)
        if isinstance(item_errors, list) and all(isinstance(e, dict) for e in item_errors):
            formset.add_item_errors(item_errors, rows)
        elif item_errors:
            shown.details["action_items"] = item_errors
        add_service_errors(form, shown)
        status = INVALID if isinstance(exc, ValidationFailed | Conflict) else exc.status
        return _render_session_form(request, form, formset, status=status)
    messages.success(request, f"1:1 with {session.rep} on {session.held_on:%d %b %Y} recorded.")
    return redirect("coaching:session_detail", pk=session.pk)


def _edit_skills(session) -> list:
    """The active skills, plus the 1:1's own focus skills if deactivated since."""
    skills = list(selectors.skill_list(active_only=True))
    for skill in session.focus_skills:
        if skill not in skills:
            skills.append(skill)
    return skills


def _render_session_detail(
    request: AuthenticatedRequest,
    session,
    *,
    edit_form=None,
    item_form=None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    can_change = services.can_change_session(user, session)
    previous, follow_ups = selectors.follow_ups(user, session.rep, before=session)
    levels = selectors.rep_latest_levels(session.rep)
    if can_change and edit_form is None:
        edit_form = coaching_forms.SessionEditForm(
            initial={
                "focus_skill": session.focus_skill_id,
                "second_focus_skill": session.second_focus_skill_id,
                "notes": session.notes,
                "practice_assignment": session.practice_assignment,
            },
            skills=_edit_skills(session),
        )
    if can_change and item_form is None:
        item_form = coaching_forms.SessionActionItemForm()
    return render(
        request,
        "coaching/session_detail.html",
        {
            "session": session,
            "can_change": can_change,
            "previous": previous,
            "follow_ups": follow_ups,
            "guides": [{"skill": s, "latest": levels.get(s.pk)} for s in session.focus_skills],
            "edit_form": edit_form,
            "edit_open": edit_form is not None and edit_form.is_bound,
            "item_form": item_form,
            "version": services.session_version(session),
        },
        status=status,
    )


@login_required
@require_GET
def session_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A 1:1: notes, practice assignment, focus skills with their guide, its action items
    (ticked off in place) and the previous 1:1's open ones. Outside the user's scope: 404."""
    return _render_session_detail(request, selectors.session_get_for(request.user, pk))


@login_required
@require_POST
def session_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Change the notes, practice assignment or focus skills (the manager who held it, or
    a leader). `version` (hidden) refuses overwriting someone else's change."""
    session = selectors.session_get_for(request.user, pk)
    form = coaching_forms.SessionEditForm(request.POST, skills=_edit_skills(session))
    if not form.is_valid():
        return _render_session_detail(request, session, edit_form=form, status=INVALID)
    try:
        services.session_update(
            actor=request.user,
            session_id=session.pk,
            expected_version=query_int(request.POST.get("version")),
            **form.service_fields(),
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        add_service_errors(form, exc)
        status = INVALID if isinstance(exc, ValidationFailed) else exc.status
        return _render_session_detail(request, session, edit_form=form, status=status)
    messages.success(request, "1:1 saved.")
    return redirect("coaching:session_detail", pk=session.pk)


@login_required
@require_POST
def session_action_item_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Add an action item to a 1:1 (the manager who held it, or a leader). htmx gets the
    action-items card back (with the form's errors and 422 when refused)."""
    user = request.user
    session = selectors.session_get_for(user, pk)
    form = coaching_forms.SessionActionItemForm(request.POST)
    status = INVALID
    if form.is_valid():
        try:
            item = services.session_add_action_item(
                actor=user, session_id=session.pk, **form.service_fields(session)
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            add_service_errors(form, exc)
            status = INVALID if isinstance(exc, ValidationFailed) else exc.status
        else:
            status = 200
            if not request.htmx:
                messages.success(request, f"Action item “{item.title}” added.")
                return redirect("coaching:session_detail", pk=session.pk)
            form = coaching_forms.SessionActionItemForm()
    if request.htmx:
        session = selectors.session_get_for(user, session.pk)  # with the new item
        return render(
            request,
            "coaching/partials/session_action_items.html",
            {
                "session": session,
                "item_form": form,
                "can_change": services.can_change_session(user, session),
            },
            status=status,
        )
    return _render_session_detail(request, session, item_form=form, status=status)
