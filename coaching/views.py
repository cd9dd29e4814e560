"""The coaching pages: the skills framework (levels and coaching guides), the skills
matrix of a team, and the form a manager assesses a rep's skill with.

Every view is thin: read through a selector (outside the user's scope is a 404), validate
with a form, call ONE service, then redirect (PRG) or re-render with the service's error.
"""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coaching import focus_suggestions, selectors, services
from coaching import forms as coaching_forms
from coaching.forms import AssessmentForm
from salesops.cleaning import query_int
from salesops.exceptions import ApplicationError, Conflict, NotFound, ValidationFailed
from salesops.forms import add_service_errors

# Re-rendered forms with errors answer 422; base.html tells htmx to swap 422 responses.
INVALID = 422


@login_required
@require_GET
def skill_framework(request: HttpRequest) -> HttpResponse:
    """The skills framework: each active skill with its level descriptors and the coaching
    guide (questions, what good looks like, common mistakes)."""
    return render(
        request,
        "coaching/skill_framework.html",
        {
            "skills": list(selectors.skill_list(active_only=True)),
            "can_assess": services.can_assess(request.user),
        },
    )


@login_required
@require_GET
def skills_matrix(request: HttpRequest) -> HttpResponse:
    """Reps × skills of a team: the latest level of each, with the trend since the
    previous assessment. A rep sees their own row."""
    user = request.user
    matrix = selectors.skills_matrix_for(user, request.GET.get("team") or None)
    return render(
        request,
        "coaching/skills_matrix.html",
        {
            "matrix": matrix,
            "can_assess": services.can_assess(user),
            "levels": [1, 2, 3, 4, 5],
        },
    )


def _form(request: HttpRequest, data=None) -> AssessmentForm:
    people = list(selectors.assessable_people_for(request.user))
    skills = list(selectors.skill_list(active_only=True))
    initial = {"assessed_on": timezone.localdate()}
    for name in ("rep", "skill"):
        if (value := query_int(request.GET.get(name))) is not None:
            initial[name] = value
    form = AssessmentForm(data, initial=initial, people=people, skills=skills)
    form.skills = skills
    return form


def _chosen_skill(form: AssessmentForm):
    """The skill whose levels and guide the page shows next to the form."""
    raw = form["skill"].value()
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        return None
    return next((s for s in form.skills if s.pk == pk), None)


def _render(request: HttpRequest, form: AssessmentForm, status: int = 200) -> HttpResponse:
    skill = _chosen_skill(form)
    if skill is not None:
        # Each level says what it means for this skill, right where it is chosen.
        form.fields["level"].choices = [(n, f"{n} — {text}") for n, text in skill.levels]
    return render(
        request,
        "coaching/assessment_form.html",
        {"form": form, "skill": skill},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def assessment_create(request: HttpRequest) -> HttpResponse:
    """Assess a rep's skill. Reps assess nobody: they are sent to their matrix (GET), and
    the service refuses what they post (403)."""
    if request.method == "GET":
        if not services.can_assess(request.user):
            messages.info(request, "Skills are assessed by your manager; here are yours.")
            return redirect("coaching:matrix")
        return _render(request, _form(request))
    form = _form(request, request.POST)
    if not form.is_valid():
        return _render(request, form, status=INVALID)
    try:
        assessment = services.skill_assessment_create(actor=request.user, **form.service_fields())
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ValidationFailed as exc:
        add_service_errors(form, exc)
        return _render(request, form, status=INVALID)
    except ApplicationError as exc:
        add_service_errors(form, exc)
        return _render(request, form, status=exc.status)
    messages.success(
        request,
        f"{assessment.rep}: {assessment.skill.name} assessed at level {assessment.level}.",
    )
    url = reverse("coaching:matrix")
    # The rep's team is one the assessor may pick (they manage it, or lead everyone).
    team_id = assessment.rep.team_id
    return redirect(f"{url}?team={team_id}" if team_id else url)


# --- action items (shared by opportunity reviews and 1:1 sessions) ------------------------


@login_required
@require_POST
def action_item_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark an action item done (done=1) or open again (done=0). htmx gets the item's
    partial (templates/coaching/partials/action_item.html) back — with the refusal in it
    and status 422 when refused, so htmx swaps it in; a plain POST redirects to the review
    or 1:1 page with a message. Outside the user's scope: 404."""
    raw = request.POST.get("done", "")
    error = ""
    if raw not in ("0", "1"):
        error = "Say done=1 (done) or done=0 (open again)."
    else:
        try:
            services.action_item_set_done(actor=request.user, item_id=pk, done=raw == "1")
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            error = exc.message
    item = selectors.action_item_get_for(request.user, pk)
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"“{item.title}” {'done' if item.is_done else 'open again'}.")
        return redirect(services.action_item_link(item))
    return render(
        request,
        "coaching/partials/action_item.html",
        {"item": item, "error": error},
        status=INVALID if error else 200,
    )


# --- opportunity reviews -----------------------------------------------------------------
# The review queue (managers), the list, starting a review from a deal, and the review page.
# Each form on the review page posts to its own URL: htmx gets that section back (with
# field errors and status 422 when refused), a plain POST is redirected to the page (or
# the page is re-rendered, 422, with the errors).

REVIEW_PAGE_SIZE = 50
REVIEW_SECTIONS = ("agenda", "findings", "points", "actions")


@login_required
@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    """The reviews the user may see (a rep: of their deals), latest first; filters rep and
    status. An unknown filter value is ignored rather than refused: it is a link."""
    from django.core.paginator import Paginator

    from coaching.models import ReviewStatus

    user = request.user
    status = request.GET.get("status", "")
    filters = {
        "rep": query_int(request.GET.get("rep")),
        "status": status if status in ReviewStatus.values else None,
    }
    page = Paginator(selectors.reviews_for(user, filters), REVIEW_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "coaching/review_list.html",
        {
            "page": page,
            "people": list(selectors.review_people_for(user)) if not user.is_rep else [],
            "statuses": ReviewStatus.choices,
            "chosen": filters,
            "can_start": services.can_start_review(user),
        },
    )


@login_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    """The manager's review queue: their teams' open deals, riskiest first, with the reasons
    and a "Start review" button ("Reviewing now" when a review is open). A rep gets a page
    saying who reviews (not a 403). `team` outside the user's teams: 404."""
    user = request.user
    queue = selectors.review_queue_for(user, request.GET.get("team") or None)
    return render(
        request,
        "coaching/review_queue.html",
        {"queue": queue, "is_reviewer": services.can_start_review(user)},
    )


@login_required
@require_POST
def review_start(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a review of the deal and open it. A refusal is a message on the page the
    button was on (the deal, or the queue); a review in progress is opened instead; a deal
    the user may not see is a 404."""
    from django.utils.http import url_has_allowed_host_and_scheme

    from pipeline import selectors as pipeline_selectors

    opp = pipeline_selectors.opportunity_get_for(request.user, pk)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("pipeline:opportunity_detail", args=[opp.pk])
    try:
        review = services.review_start(actor=request.user, opportunity_id=opp.pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
        current = exc.details.get("review") if isinstance(exc.details, dict) else None
        if exc.code == "review_in_progress" and isinstance(current, int):
            return redirect("coaching:review_detail", pk=current)
        return redirect(back)
    count = review.agenda_items.count()
    messages.success(
        request,
        f"Review of {opp.name} started: {count} agenda point{'s' if count != 1 else ''} "
        "from the deal's gaps.",
    )
    return redirect("coaching:review_detail", pk=review.pk)


def _owner_choices(review) -> list[tuple]:
    return [(review.rep, f"{review.rep} (rep)"), (review.manager, f"{review.manager} (manager)")]


def _chosen_guide_skill(skills: list, raw) -> object | None:
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        return None
    return next((s for s in skills if s.pk == pk), None)


def _review_context(request: HttpRequest, review, **forms) -> dict:
    from coaching.forms import ActionItemForm, AgendaItemForm, CoachingPointForm, FindingForm

    skills = list(selectors.skill_list(active_only=True))
    point_form = forms.get("point_form") or CoachingPointForm(skills=skills)
    agenda = selectors.review_agenda_layout(review)
    return {
        "review": review,
        "opp": review.opportunity,
        "agenda": agenda,
        # ?agenda=all (after ticking a folded point without JavaScript) unfolds the rest.
        "agenda_open": request.GET.get("agenda") == "all",
        "can_change": services.can_change_review(request.user, review),
        "agenda_form": forms.get("agenda_form") or AgendaItemForm(),
        "finding_form": forms.get("finding_form") or FindingForm(),
        "point_form": point_form,
        "action_form": forms.get("action_form")
        or ActionItemForm(people=_owner_choices(review), initial={"owner": review.rep_id}),
        "skills": skills,
        "guide_skill": _chosen_guide_skill(skills, point_form["skill"].value()),
        "today": timezone.localdate(),
    }


@login_required
@require_GET
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The review: the generated agenda (source badge, discussed), findings, coaching points
    (skill picker with the skill's coaching guide), action items, Complete. The rep reads
    it; the manager holding it (or a leader) writes while it is in progress. htmx asking
    for the guide of a skill (?guide=<id>) gets that partial only."""
    review = selectors.review_get_for(request.user, pk)
    if request.htmx and "guide" in request.GET:
        skills = list(selectors.skill_list(active_only=True))
        return render(
            request,
            "coaching/partials/review_skill_guide.html",
            {"guide_skill": _chosen_guide_skill(skills, request.GET.get("skill"))},
        )
    return render(request, "coaching/review_detail.html", _review_context(request, review))


def _section_response(
    request: HttpRequest,
    pk: int,
    section: str,
    *,
    status: int = 200,
    refusal: str = "",
    unfold_item: int | None = None,
    **forms,
) -> HttpResponse:
    """After a write (or a refusal): htmx gets the section, a plain POST the page (a
    success is redirected, PRG). `refusal` is shown on top of the section: once the review
    is frozen (or the user may not change it) its forms are gone, so not on the form. The
    agenda's fold stays open when `unfold_item` (the point just ticked) is in it."""
    review = selectors.review_get_for(request.user, pk)
    context = _review_context(request, review, **forms)
    context.update(refusal=refusal, refused_section=section if refusal else "")
    if any(item.pk == unfold_item for item in context["agenda"].folded):
        context["agenda_open"] = True
    if request.htmx:
        return render(request, f"coaching/partials/review_{section}.html", context, status=status)
    if status == 200:
        return redirect(f"{reverse('coaching:review_detail', args=[pk])}#{section}")
    return render(request, "coaching/review_detail.html", context, status=status)


def _review_write(request: HttpRequest, pk: int, section: str, form_name: str, form, call):
    """Validate `form`, call the service (`call(form)`), answer with the section."""
    if not form.is_valid():
        return _section_response(request, pk, section, status=INVALID, **{form_name: form})
    try:
        call(form)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ValidationFailed as exc:
        add_service_errors(form, exc)
        return _section_response(request, pk, section, status=INVALID, **{form_name: form})
    except ApplicationError as exc:
        # htmx swaps only 2xx and 422 (base.html): a refusal must be seen where it happened.
        status = INVALID if request.htmx else exc.status
        return _section_response(
            request, pk, section, status=status, refusal=exc.message, **{form_name: form}
        )
    return _section_response(request, pk, section)


@login_required
@require_POST
def review_agenda_add(request: HttpRequest, pk: int) -> HttpResponse:
    from coaching.forms import AgendaItemForm

    selectors.review_get_for(request.user, pk)  # 404 before anything else
    return _review_write(
        request,
        pk,
        "agenda",
        "agenda_form",
        AgendaItemForm(request.POST),
        lambda f: services.agenda_item_add(actor=request.user, review_id=pk, **f.cleaned_data),
    )


@login_required
@require_POST
def review_agenda_discussed(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    """Tick an agenda point discussed (discussed=1) or not (0). htmx gets the agenda."""
    review = selectors.review_get_for(request.user, pk)
    if item_id not in {i.pk for i in review.agenda_items.all()}:
        raise Http404("No such agenda item in this review.")
    raw = request.POST.get("discussed", "")
    error, status = "", 200
    if raw not in ("0", "1"):
        error, status = "Say discussed=1 or discussed=0.", INVALID
    else:
        try:
            services.agenda_item_set_discussed(
                actor=request.user, item_id=item_id, discussed=raw == "1"
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            # htmx swaps only 2xx and 422 (base.html); a plain POST gets the real status.
            error, status = exc.message, INVALID if request.htmx else exc.status
    if not error and not request.htmx:
        folded = {i.pk for i in selectors.review_agenda_layout(review).folded}
        unfold = "?agenda=all" if item_id in folded else ""
        return redirect(f"{reverse('coaching:review_detail', args=[pk])}{unfold}#agenda")
    return _section_response(
        request, pk, "agenda", status=status, refusal=error, unfold_item=item_id
    )


@login_required
@require_POST
def review_finding_add(request: HttpRequest, pk: int) -> HttpResponse:
    from coaching.forms import FindingForm

    selectors.review_get_for(request.user, pk)
    return _review_write(
        request,
        pk,
        "findings",
        "finding_form",
        FindingForm(request.POST),
        lambda f: services.review_finding_add(
            actor=request.user, review_id=pk, text=f.cleaned_data["text"]
        ),
    )


@login_required
@require_POST
def review_point_add(request: HttpRequest, pk: int) -> HttpResponse:
    from coaching.forms import CoachingPointForm

    selectors.review_get_for(request.user, pk)
    form = CoachingPointForm(request.POST, skills=list(selectors.skill_list(active_only=True)))
    return _review_write(
        request,
        pk,
        "points",
        "point_form",
        form,
        lambda f: services.review_coaching_point_add(
            actor=request.user,
            review_id=pk,
            skill_id=f.cleaned_data["skill"],
            text=f.cleaned_data["text"],
        ),
    )


@login_required
@require_POST
def review_action_add(request: HttpRequest, pk: int) -> HttpResponse:
    from coaching.forms import ActionItemForm

    review = selectors.review_get_for(request.user, pk)
    form = ActionItemForm(request.POST, people=_owner_choices(review))
    return _review_write(
        request,
        pk,
        "actions",
        "action_form",
        form,
        lambda f: services.review_action_item_add(
            actor=request.user, review_id=pk, **f.service_fields()
        ),
    )


@login_required
@require_POST
def review_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Complete the review (the rep is notified with the action items). With agenda points
    not discussed the page asks first (409): it lists them, and completes on the confirming
    POST (confirm=1). Another refusal is shown on the review page with its status (403 not
    yours, 409 already completed)."""
    review = selectors.review_get_for(request.user, pk)
    try:
        services.review_complete(
            actor=request.user, review_id=pk, confirm=request.POST.get("confirm") == "1"
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        context = _review_context(request, review)
        if exc.code == "undiscussed_points":
            context["undiscussed"] = exc.details["undiscussed"]  # the confirm step says it
        else:
            messages.error(request, exc.message)
        return render(request, "coaching/review_detail.html", context, status=exc.status)
    messages.success(request, "Review completed: the rep has been sent the action items.")
    return redirect("coaching:review_detail", pk=pk)


# --- coaching home (cadence and coverage) ------------------------------------------------
# One page for everyone, /coaching/ (no separate /coaching/coverage/: the leader's coverage
# table IS their coaching home). A rep: their next 1:1, their open action items and flags.
# A manager: their coverage, their reps by 1:1 due date, their flags and the action items
# they set. A leader: the coverage table per manager (team filter, 30/90-day window).

HOME_LIST_LIMIT = 50
HOME_WINDOWS = (30, 90)


@login_required
@require_GET
def coaching_home(request: HttpRequest) -> HttpResponse:
    """The coaching home page (see above). `team` (a leader's or manager's filter; outside
    the user's teams: 404) and `days` (the window, 7–365; the page offers 30 and 90). A bad
    `days` shows the default window with the error, status 422. A fixed number of queries
    however many managers, reps, flags and items."""
    user = request.user
    context: dict = {
        "flags": list(selectors.my_coaching_flags(user)[:HOME_LIST_LIMIT]),
        "session_new_url": reverse("coaching:session_create"),
        "windows": HOME_WINDOWS,
        "list_limit": HOME_LIST_LIMIT,
        "today": timezone.localdate(),
    }
    status = 200
    if not (user.is_manager or user.sees_everything):
        context["next_one_on_one"] = selectors.next_one_on_one_for(user)
        context["items"] = list(selectors.my_open_action_items(user)[:HOME_LIST_LIMIT])
        return render(request, "coaching/home.html", context)
    raw_days = request.GET.get("days", "")
    days = selectors.COVERAGE_DEFAULT_DAYS
    if raw_days:
        try:
            days = int(raw_days)
        except ValueError:
            days = -1
    team = request.GET.get("team") or None
    try:
        coverage = selectors.coverage_for(user, team, days)
    except ValidationFailed as exc:
        context["days_error"] = exc.details.get("days", [exc.message])[0]
        status = INVALID
        coverage = selectors.coverage_for(user, team, selectors.COVERAGE_DEFAULT_DAYS)
    context["coverage"] = coverage
    context["mine"] = next((r for r in coverage.rows if r.manager_id == user.pk), None)
    if user.is_manager:
        schedule = selectors.one_on_ones_due_for(user)
        context["overdue"] = [r for r in schedule if r.overdue]
        context["upcoming"] = [r for r in schedule if not r.overdue]
        context["items_set"] = list(selectors.open_action_items_set_by(user)[:HOME_LIST_LIMIT])
    return render(request, "coaching/home.html", context, status=status)


# --- 1:1 sessions ---
# The form opens with what the manager needs during the conversation: the previous 1:1's
# open action items (ticked off right there) and the coaching guide of the chosen focus
# skills, with the rep's latest levels. Choosing the rep or a skill re-renders that panel
# (htmx GET of the same URL targeting #session-context; without JS, the "Show" button).

SESSION_PAGE_SIZE = 50
SESSION_CONTEXT_TARGET = "session-context"


@login_required
@require_GET
def session_list(request: HttpRequest) -> HttpResponse:
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


def _session_context(request: HttpRequest, form) -> dict:
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


def _session_forms(request: HttpRequest, data=None):
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


def _render_session_form(request: HttpRequest, form, formset, status: int = 200) -> HttpResponse:
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
def session_create(request: HttpRequest) -> HttpResponse:
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
    request: HttpRequest,
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
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A 1:1: notes, practice assignment, focus skills with their guide, its action items
    (ticked off in place) and the previous 1:1's open ones. Outside the user's scope: 404."""
    return _render_session_detail(request, selectors.session_get_for(request.user, pk))


@login_required
@require_POST
def session_edit(request: HttpRequest, pk: int) -> HttpResponse:
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
def session_action_item_add(request: HttpRequest, pk: int) -> HttpResponse:
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
