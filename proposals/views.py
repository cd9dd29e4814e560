"""The proposal pages: list, review queue, the form with its live summary checklist, the
proposal page with its actions, and the printable proposal.

Every view is thin: read through a selector (outside the user's scope is a 404), validate
with a form, call ONE service, then redirect (PRG) or re-render with the service's error.
The one exception is "Save and submit for review": it saves the draft, then submits it —
two services, because a refused submission must still keep what the rep wrote.
Who may write, review or send and what a summary must say are the services' business;
the views only decide which buttons to show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pipeline import selectors as pipeline_selectors
from pipeline.models import Opportunity
from proposals import selectors, services
from proposals.forms import (
    BaseSectionFormSet,
    CommentForm,
    ProposalFilterForm,
    ProposalForm,
    ReviewForm,
    SummaryCheckForm,
    add_proposal_errors,
    sections_formset,
)
from proposals.models import Proposal, ProposalStatus
from salesops import access
from salesops.exceptions import ApplicationError, NotFound, StaleVersion, ValidationFailed
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest

if TYPE_CHECKING:
    from salesops.models import User

LIST_PAGE_SIZE = 50
# Re-rendered forms with errors answer 422; base.html tells htmx to swap 422 responses.
INVALID = 422


def _sees_others(user: User) -> bool:
    return not user.is_rep


def _is_reviewer(user: User) -> bool:
    return user.is_manager or user.sees_everything


# --- list and review queue -------------------------------------------------------------


@login_required
@require_GET
def proposal_list(request: AuthenticatedRequest) -> HttpResponse:
    """Proposals of the deals the user may see, filterable by status (and owner)."""
    user = request.user
    form = ProposalFilterForm(
        request.GET or None,
        owners=pipeline_selectors.assignable_owners_for(user),
        show_owner=_sees_others(user),
    )
    filters = form.selector_filters()
    page = Paginator(selectors.proposal_list_for(user, filters), LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "proposals/proposal_list.html",
        {
            "form": form,
            "page": page,
            "show_owner": _sees_others(user),
            "filtered": bool(filters),
        },
    )


@login_required
@require_GET
def review_queue(request: AuthenticatedRequest) -> HttpResponse:
    """Proposals waiting for the user's review, oldest submission first. A rep reviews
    nothing: they get a page saying who does (not a 403)."""
    user = request.user
    page = Paginator(selectors.review_queue_for(user), LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "proposals/review_queue.html",
        {"page": page, "is_reviewer": _is_reviewer(user)},
    )


# --- the live checklist ----------------------------------------------------------------


def _checklist(opp: Opportunity, text: str, checks: list | None = None) -> dict[str, Any]:
    """What the summary's checklist shows for `text` (or for `checks` a service returned)."""
    if checks is None and len(text) > services.MAX_SUMMARY:
        # Too long to be a summary: say so instead of checking ten pages on every keystroke.
        return {"checks": [], "too_long": True, "length": len(text), "limit": services.MAX_SUMMARY}
    if checks is None:
        checks = services.summary_checks(opportunity=opp, text=text)
    passed = sum(1 for c in checks if _passed(c))
    return {
        "checks": checks,
        "passed_count": passed,
        "all_passed": passed == len(checks),
        "too_long": False,
    }


def _passed(check) -> bool:
    return check["passed"] if isinstance(check, dict) else check.passed


@login_required
@require_POST
def check_summary(request: AuthenticatedRequest) -> HttpResponse:
    """The checklist of the summary typed so far (htmx, debounced). Reads only."""
    form = SummaryCheckForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Give the opportunity and the executive summary.")
    opp = pipeline_selectors.opportunity_get_for(request.user, form.cleaned_data["opportunity"])
    return render(
        request,
        "proposals/partials/summary_checks.html",
        {"checklist": _checklist(opp, form.cleaned_data["executive_summary"])},
    )


# --- the form: create and edit -----------------------------------------------------------


def _render_form(
    request: AuthenticatedRequest,
    *,
    opp: Opportunity,
    proposal: Proposal | None,
    form: ProposalForm,
    formset: BaseSectionFormSet,
    checklist: dict[str, Any] | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    if checklist is None:
        checklist = _checklist(opp, form["executive_summary"].value() or "")
    action_url = (
        reverse("proposals:edit", args=[proposal.pk])
        if proposal
        else reverse("proposals:create", args=[opp.pk])
    )
    return render(
        request,
        "proposals/proposal_form.html",
        {
            "opp": opp,
            "proposal": proposal,
            "form": form,
            "formset": formset,
            "checklist": checklist,
            "action_url": action_url,
            "max_sections": services.MAX_SECTIONS,
            **extra,
        },
        status=status,
    )


def _add_section(
    request: AuthenticatedRequest, *, opp: Opportunity, proposal: Proposal | None
) -> HttpResponse:
    """The same form with one more, empty section; nothing is saved, nothing refused."""
    formset = sections_formset(request.POST, add=True)
    if formset.forms:
        formset.forms[-1].fields["heading"].widget.attrs["autofocus"] = True
    if request.htmx:
        return render(
            request,
            "proposals/partials/sections.html",
            {
                "formset": formset,
                "action_url": request.path,
                "max_sections": services.MAX_SECTIONS,
            },
        )
    form = ProposalForm(initial={name: request.POST.get(name) for name in ProposalForm.base_fields})
    return _render_form(request, opp=opp, proposal=proposal, form=form, formset=formset)


def _save(
    request: AuthenticatedRequest, *, opp: Opportunity, proposal: Proposal | None
) -> HttpResponse:
    """Create or update the draft; with action=submit, then submit it for review. A refused
    submission re-renders the form of the saved draft, with everything as typed."""
    if "add_section" in request.POST:
        return _add_section(request, opp=opp, proposal=proposal)
    user = request.user
    submit = request.POST.get("action") == "submit"
    form = ProposalForm(request.POST)
    formset = sections_formset(request.POST)
    valid = form.is_valid()
    valid = formset.is_valid() and valid  # both, so every error shows at once
    if not valid:
        return _render_form(
            request, opp=opp, proposal=proposal, form=form, formset=formset, status=INVALID
        )
    fields, sections = form.service_fields(), formset.service_sections()
    current = None
    try:
        if proposal is None:
            proposal = services.proposal_create(
                actor=user, opportunity_id=opp.pk, **fields, sections=sections
            )
        else:
            proposal = services.proposal_update(
                actor=user,
                proposal_id=proposal.pk,
                expected_revision=form.cleaned_data["revision"],
                **fields,
                sections=sections,
            )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except StaleVersion:
        # Only an update checks a revision, so there is a proposal: it is not a creation.
        assert proposal is not None
        # Keep what the user typed; the next save is deliberate.
        proposal = selectors.proposal_get_for(user, proposal.pk)
        form, formset = _rebound(request, proposal)
        form.add_error(
            None,
            "This proposal was changed by someone else while you were editing (now: "
            f"{proposal.get_status_display().lower()}). Your input is kept below; check it "
            "against the proposal and save again to apply it.",
        )
    except ApplicationError as exc:
        add_proposal_errors(form, formset, exc)
        if isinstance(exc.details, dict) and isinstance(exc.details.get("proposal"), int):
            # The version in progress that the rep should continue with.
            current = exc.details["proposal"]
    else:
        if not submit:
            messages.success(request, f"Draft of version {proposal.number} saved.")
            return redirect("proposals:detail", pk=proposal.pk)
        try:
            proposal = services.proposal_submit(actor=user, proposal_id=proposal.pk)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            # The draft is saved: from now on the form edits it.
            form, formset = _rebound(request, proposal)
            add_proposal_errors(form, formset, exc)
            checks = exc.details.get("checks") if isinstance(exc.details, dict) else None
            return _render_form(
                request,
                opp=opp,
                proposal=proposal,
                form=form,
                formset=formset,
                checklist=_checklist(opp, proposal.executive_summary, checks) if checks else None,
                status=INVALID,
                saved_not_submitted=True,
            )
        messages.success(
            request,
            f"Version {proposal.number} submitted for review; your reviewer has been notified.",
        )
        return redirect("proposals:detail", pk=proposal.pk)
    return _render_form(
        request,
        opp=opp,
        proposal=proposal,
        form=form,
        formset=formset,
        status=INVALID,
        current_id=current,
    )


def _rebound(
    request: AuthenticatedRequest, proposal: Proposal
) -> tuple[ProposalForm, BaseSectionFormSet]:
    """The form and sections as posted, at the proposal's current revision."""
    data = request.POST.copy()
    data["revision"] = str(proposal.revision)
    form, formset = ProposalForm(data), sections_formset(data)
    form.is_valid()
    formset.is_valid()
    return form, formset


@login_required
@require_http_methods(["GET", "POST"])
def proposal_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    opp = pipeline_selectors.opportunity_get_for(request.user, pk)
    if request.method == "POST":
        return _save(request, opp=opp, proposal=None)
    # Only the owner writes proposals, and one at a time: send everyone else where they
    # can act instead of showing a form the service would refuse. (The service decides.)
    if refusal := services.create_refusal(request.user, opp):
        messages.info(request, refusal.message)
        current = refusal.details.get("proposal")
        if current is None:
            return redirect("pipeline:opportunity_detail", pk=opp.pk)
        # The version in progress: its form if it can be edited, else its page.
        blocked = services.edit_refusal(
            request.user, selectors.proposal_get_for(request.user, current)
        )
        return redirect("proposals:detail" if blocked else "proposals:edit", current)
    return _render_form(
        request,
        opp=opp,
        proposal=None,
        form=ProposalForm(initial=ProposalForm.initial_for(opp)),
        formset=sections_formset(),
    )


@login_required
@require_http_methods(["GET", "POST"])
def proposal_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    proposal = selectors.proposal_get_for(request.user, pk)
    opp = proposal.opportunity
    if request.method == "POST":
        return _save(request, opp=opp, proposal=proposal)
    if refusal := services.edit_refusal(request.user, proposal):
        messages.info(request, refusal.message)
        return redirect("proposals:detail", pk=proposal.pk)
    return _render_form(
        request,
        opp=opp,
        proposal=proposal,
        form=ProposalForm(initial=ProposalForm.initial_from(proposal)),
        formset=sections_formset(sections=proposal.sections.all()),
    )


# --- the proposal page -------------------------------------------------------------------


def _detail_context(
    request: AuthenticatedRequest, proposal: Proposal, **forms: Any
) -> dict[str, Any]:
    user = request.user
    opp = proposal.opportunity
    is_owner = user.pk == opp.owner_id
    manages_owner = not is_owner and access.manages(user, opp.owner)
    can_review = manages_owner and proposal.status == ProposalStatus.IN_REVIEW
    comment_form: CommentForm | None = forms.get("comment_form")
    sections_of = list(proposal.sections.all())
    failed_section = comment_form.section_id() if comment_form is not None else None
    if failed_section not in {s.pk for s in sections_of}:
        failed_section = None  # not one of these sections: shown with the general comments

    def form_for(section_id: int | None) -> CommentForm:
        if comment_form is not None and failed_section == section_id:
            return comment_form
        return CommentForm(initial={"section": section_id})

    by_section: dict[int | None, list] = {}
    for comment in proposal.comments.all():
        by_section.setdefault(comment.section_id, []).append(comment)
    sections = [
        {"section": s, "comments": by_section.get(s.pk, []), "comment_form": form_for(s.pk)}
        for s in sections_of
    ]
    return {
        "proposal": proposal,
        "page_url": _detail_url(proposal),  # where a refused action's answer belongs
        "opp": opp,
        "is_owner": is_owner,
        "can_comment": is_owner or manages_owner,
        "can_review": can_review,
        "can_delete": is_owner
        and proposal.status == ProposalStatus.DRAFT
        and proposal.submitted_at is None,
        "checklist": _checklist(opp, proposal.executive_summary),
        "sections": sections,
        "general_comments": by_section.get(None, []),
        "general_comment_form": form_for(None),
        "review_form": forms.get("review_form")
        or (ReviewForm(items=selectors.checklist_items()) if can_review else None),
        "reviews": list(proposal.reviews.all()),
        "versions": list(selectors.proposals_of_opportunity(opp.pk)),
        "action_error": forms.get("action_error"),
    }


@login_required
@require_GET
def proposal_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    proposal = selectors.proposal_get_for(request.user, pk)
    return render(request, "proposals/proposal_detail.html", _detail_context(request, proposal))


def _render_detail(request: AuthenticatedRequest, proposal: Proposal, **forms: Any) -> HttpResponse:
    return render(
        request,
        "proposals/proposal_detail.html",
        _detail_context(request, proposal, **forms),
        status=INVALID,
    )


def _action(
    request: AuthenticatedRequest,
    pk: int,
    call: Callable[[Proposal], Any],
    success: Callable[[Any, Proposal], tuple[str, str]],
) -> HttpResponse:
    """One shape for the page's buttons: call the one service, then redirect with
    `success(result, proposal)` → (message, url), or show the page again with the refusal."""
    proposal = selectors.proposal_get_for(request.user, pk)
    try:
        result = call(proposal)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        return _render_detail(request, proposal, action_error=exc)
    text, url = success(result, proposal)
    messages.success(request, text)
    return redirect(url)


def _detail_url(proposal: Proposal) -> str:
    return reverse("proposals:detail", args=[proposal.pk])


@login_required
@require_POST
def proposal_submit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _action(
        request, pk,
        lambda p: services.proposal_submit(actor=request.user, proposal_id=p.pk),
        lambda p, _: (
            f"Version {p.number} submitted for review; your reviewer has been notified.",
            _detail_url(p),
        ),
    )  # fmt: skip


@login_required
@require_POST
def proposal_mark_sent(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _action(
        request, pk,
        lambda p: services.proposal_mark_sent(actor=request.user, proposal_id=p.pk),
        lambda p, _: (
            f"Version {p.number} marked as sent. It no longer changes: to change it, "
            "create a new version.",
            _detail_url(p),
        ),
    )  # fmt: skip


@login_required
@require_POST
def proposal_new_version(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _action(
        request, pk,
        lambda p: services.proposal_new_version(actor=request.user, proposal_id=p.pk),
        lambda p, source: (
            f"Version {p.number} created as a draft, copied from version {source.number}.",
            reverse("proposals:edit", args=[p.pk]),
        ),
    )  # fmt: skip


@login_required
@require_POST
def proposal_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _action(
        request, pk,
        lambda p: services.proposal_delete(actor=request.user, proposal_id=p.pk),
        lambda _, p: (
            f"Draft of version {p.number} deleted.",
            reverse("pipeline:opportunity_detail", args=[p.opportunity_id]) + "#proposals",
        ),
    )  # fmt: skip


def _review(request: AuthenticatedRequest, pk: int, *, approve: bool) -> HttpResponse:
    proposal = selectors.proposal_get_for(request.user, pk)
    form = ReviewForm(request.POST, items=selectors.checklist_items())
    if form.is_valid():
        review = services.proposal_approve if approve else services.proposal_request_changes
        try:
            review(
                actor=request.user,
                proposal_id=proposal.pk,
                comment=form.cleaned_data["comment"],
                checked_items=form.cleaned_data["checklist"],
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        except ApplicationError as exc:
            # Not theirs to review (or no longer in review): nothing on the form to fix.
            return _render_detail(request, proposal, action_error=exc)
        else:
            done = f"Version {proposal.number} approved." if approve else "Changes requested."
            messages.success(request, f"{done} {proposal.opportunity.owner} has been notified.")
            return redirect("proposals:detail", pk=proposal.pk)
    return _render_detail(request, proposal, review_form=form)


@login_required
@require_POST
def proposal_approve(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _review(request, pk, approve=True)


@login_required
@require_POST
def proposal_request_changes(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _review(request, pk, approve=False)


@login_required
@require_POST
def proposal_comment(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    proposal = selectors.proposal_get_for(request.user, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        section_id = form.cleaned_data["section"]
        try:
            services.proposal_comment_add(
                actor=request.user,
                proposal_id=proposal.pk,
                body=form.cleaned_data["body"],
                section_id=section_id,
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ValidationFailed as exc:
            add_service_errors(form, exc)
        except ApplicationError as exc:
            return _render_detail(request, proposal, action_error=exc)
        else:
            messages.success(request, "Comment added.")
            anchor = f"#section-{section_id}" if section_id else "#comments"
            return redirect(_detail_url(proposal) + anchor)
    return _render_detail(request, proposal, comment_form=form)


# --- print ---------------------------------------------------------------------------------


@login_required
@require_GET
def proposal_print(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The proposal as the customer reads it, for the browser's "Save as PDF"."""
    proposal = selectors.proposal_get_for(request.user, pk)
    return render(
        request,
        "proposals/proposal_print.html",
        {
            "proposal": proposal,
            "opp": proposal.opportunity,
            "is_final": proposal.status in (ProposalStatus.APPROVED, ProposalStatus.SENT),
        },
    )
