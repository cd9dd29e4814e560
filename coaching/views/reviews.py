"""The opportunity review pages: the review queue (managers), the list, starting a review
from a deal, and the review page.

Each form on the review page posts to its own URL: htmx gets that section back (with
field errors and status 422 when refused), a plain POST is redirected to the page (or
the page is re-rendered, 422, with the errors)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from coaching import selectors, services
from coaching.forms import ActionItemForm, AgendaItemForm, CoachingPointForm, FindingForm
from coaching.models import ReviewStatus
from coaching.views.common import INVALID
from pipeline import selectors as pipeline_selectors
from salesops.cleaning import query_int
from salesops.exceptions import ApplicationError, NotFound, ValidationFailed
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest

REVIEW_PAGE_SIZE = 50
REVIEW_SECTIONS = ("agenda", "findings", "points", "actions")


@login_required
@require_GET
def review_list(request: AuthenticatedRequest) -> HttpResponse:
    """The reviews the user may see (a rep: of their deals), latest first; filters rep and
    status. An unknown filter value is ignored rather than refused: it is a link."""

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
def review_queue(request: AuthenticatedRequest) -> HttpResponse:
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
def review_start(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Start a review of the deal and open it. A refusal is a message on the page the
    button was on (the deal, or the queue); a review in progress is opened instead; a deal
    the user may not see is a 404."""

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


def _review_context(request: AuthenticatedRequest, review, **forms) -> dict:
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
def review_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
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
    request: AuthenticatedRequest,
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


def _review_write(request: AuthenticatedRequest, pk: int, section: str, form_name: str, form, call):
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
def review_agenda_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
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
def review_agenda_discussed(request: AuthenticatedRequest, pk: int, item_id: int) -> HttpResponse:
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
def review_finding_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
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
def review_point_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
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
def review_action_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
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
def review_complete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
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
