"""The list of deals, the new opportunity form, and the opportunity page: its context
(the move panel, the milestones, the fold-outs), its edit form, and the re-render of the
page with a refused form or a fold-out open."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pipeline import exports, providers, selectors, services
from pipeline.forms import (
    AdvanceForm,
    BusinessIssueForm,
    CloseLostForm,
    CloseWonForm,
    OpportunityCreateForm,
    OpportunityEditForm,
    OpportunityFilterForm,
)
from pipeline.models import Opportunity, OpportunityStatus
from pipeline.views.common import INVALID, form_messages, sees_others
from salesops.exceptions import ApplicationError, NotFound, StaleVersion
from salesops.exports import csv_link_query
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest
from salesops.selectors import team_list_for

LIST_PAGE_SIZE = 50


@login_required
@require_GET
def opportunity_list(request: AuthenticatedRequest) -> HttpResponse | StreamingHttpResponse:
    """The deals the user may see, filtered — the open ones unless another status is
    chosen; `?format=csv` with the same filters downloads every one of them (not just the
    page) in the import's columns."""
    user = request.user
    form = OpportunityFilterForm(
        request.GET or None,
        owners=selectors.assignable_owners_for(user),
        stages=selectors.stage_list(),
        show_owner=sees_others(user),
        teams=team_list_for(user),
    )
    # Open deals unless another status is chosen: last year's closed deals are a filter away.
    filters = form.selector_filters()
    opportunities = selectors.opportunity_list_for(user, filters)
    if request.GET.get("format") == "csv":
        return exports.opportunity_export(opportunities)
    opportunities = selectors.opportunity_list_page_order(opportunities, form.status_choice())
    page = Paginator(opportunities, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "pipeline/opportunity_list.html",
        {
            "form": form,
            "page": page,
            "show_owner": sees_others(user),
            "csv_query": csv_link_query(request.GET),
            "status": form.status_choice(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    form = OpportunityCreateForm(
        request.POST or None,
        accounts=selectors.account_list(),
        owners=selectors.assignable_owners_for(user),
        show_owner=sees_others(user),
        products=selectors.product_choices(),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            opp = services.opportunity_create(
                actor=user,
                name=data["name"],
                account=data["account"],
                new_account_name=data["new_account_name"],
                amount=data["amount"],
                currency=data["currency"],
                close_date=data["close_date"],
                owner=data.get("owner"),
                next_step=data["next_step"],
                product=data["product"],
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Opportunity “{opp.name}” created in {opp.stage.name}.")
            return redirect("pipeline:opportunity_detail", pk=opp.pk)
    status = INVALID if form.is_bound and form.errors else 200
    return render(request, "pipeline/opportunity_form.html", {"form": form}, status=status)


# --- the opportunity page -------------------------------------------------------------


def _stage_path(opp: Opportunity, groups) -> list[dict[str, Any]]:
    """Open stages plus the one closing stage that matters (won, or lost when lost)."""
    lost = opp.status == OpportunityStatus.LOST
    path = []
    for group in groups:
        stage = group.stage
        if stage.is_lost and not lost:
            continue
        if stage.is_won and lost:
            continue
        if stage.pk == opp.stage_id:
            state = "current"
        elif lost or stage.order > opp.stage.order:
            state = "todo"
        else:
            state = "done"
        path.append({"stage": stage, "state": state})
    return path


def rows_by_id(groups) -> dict[int, selectors.MilestoneRow]:
    return {r.milestone.id: r for g in groups for r in g.seller_actions + g.buyer_commitments}


def panel_context(
    opp: Opportunity,
    user,
    groups,
    *,
    gate: dict | None = None,
    advance_form: AdvanceForm | None = None,
    lost_form: CloseLostForm | None = None,
    won_form: CloseWonForm | None = None,
    category_question: dict | None = None,
) -> dict[str, Any]:
    nxt = selectors.next_stage(opp) if opp.status == OpportunityStatus.OPEN else None
    stages = (
        selectors.stage_list(opp.pipeline_id)
        .filter(is_won=False, is_lost=False)
        .exclude(pk=opp.stage_id)
    )
    current = next(g for g in groups if g.stage.id == opp.stage_id)
    return {
        "opp": opp,
        "next_stage": nxt,
        "open_required": current.open_required,
        "gate": gate,
        "category_question": category_question,
        "advance_form": advance_form
        or AdvanceForm(initial={"stage": nxt, "version": opp.version}, stages=stages),
        "lost_form": lost_form or CloseLostForm(initial={"version": opp.version}),
        "won_form": won_form or CloseWonForm(initial={"version": opp.version}),
        # Every refusal of the advance and close-won forms, on top of the panel; the
        # close-lost form shows its own inside its collapse, next to the loss reason.
        "panel_errors": form_messages(advance_form) + form_messages(won_form),
        "lost_errors": form_messages(lost_form, skip=("loss_reason",)),
    }


def _detail_context(
    request: AuthenticatedRequest, opp: Opportunity, **forms: Any
) -> dict[str, Any]:
    user = request.user
    groups = selectors.milestones_by_stage(opp)
    current = next(g for g in groups if g.stage.id == opp.stage_id)
    panel = panel_context(
        opp,
        user,
        groups,
        gate=forms.pop("gate", None),
        advance_form=forms.pop("advance_form", None),
        lost_form=forms.pop("lost_form", None),
        won_form=forms.pop("won_form", None),
        category_question=forms.pop("category_question", None),
    )
    sections, section_context = providers.deal_sections(user, opp)
    return {
        **panel,
        "path": _stage_path(opp, groups),
        "current": current,
        "other_groups": [
            g
            for g in groups
            if g.stage.id != opp.stage_id and (g.seller_actions or g.buyer_commitments)
        ],
        "is_open": opp.status == OpportunityStatus.OPEN,
        "edit_form": forms.get("edit_form")
        or OpportunityEditForm(
            products=selectors.product_choices(opp.product_id),
            initial={
                "version": opp.version,
                "amount": opp.amount,
                "close_date": opp.close_date,
                "product": opp.product_id,
                "next_step": opp.next_step,
                "next_step_date": opp.next_step_date,
                "forecast_category": opp.forecast_category,
                "forecast_category_override_reason": opp.forecast_category_override_reason,
            },
        ),
        **issues_context(
            opp,
            issue_form=forms.get("issue_form"),
            editing=forms.get("issue_editing"),
            error=forms.get("issues_error", ""),
        ),
        "activities": selectors.activities_for(opp)[:50],
        # None: the fold-out fetches its form when opened (see partials/fold_out_form.html).
        "activity_form": forms.get("activity_form"),
        "history": selectors.history_for(opp),
        "stale": forms.get("stale"),
        "qualification": selectors.qualification_summary_for(opp),
        "open_flags": selectors.open_flags_for(opp),
        # The cards of the apps above the pipeline (proposals, coaching review).
        "deal_sections": sections,
        **section_context,
    }


@login_required
@require_GET
def opportunity_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    opp = selectors.opportunity_get_for(request.user, pk)
    return render(request, "pipeline/opportunity_detail.html", _detail_context(request, opp))


def render_detail(
    request: AuthenticatedRequest, opp, *, status: int = INVALID, **forms
) -> HttpResponse:
    return render(
        request,
        "pipeline/opportunity_detail.html",
        _detail_context(request, opp, **forms),
        status=status,
    )


@login_required
@require_POST
def opportunity_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    opp = selectors.opportunity_get_for(request.user, pk)
    products = selectors.product_choices(opp.product_id)
    form = OpportunityEditForm(request.POST, products=products, stored_close_date=opp.close_date)
    stale = None
    if form.is_valid():
        try:
            services.opportunity_update(
                opportunity_id=opp.pk,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                **form.service_changes(),
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except StaleVersion:
            # Keep what the user typed; show what is stored now; the next save is deliberate.
            opp = selectors.opportunity_get_for(request.user, pk)
            stale = opp
            data = request.POST.copy()
            data["version"] = str(opp.version)
            form = OpportunityEditForm(data, products=products, stored_close_date=opp.close_date)
            form.is_valid()
            form.add_error(
                None,
                "This opportunity was changed by someone else while you were "
                "editing. Your input is kept below; check the current values "
                "and save again to apply it.",
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Opportunity updated.")
            return redirect("pipeline:opportunity_detail", pk=opp.pk)
    return render_detail(request, opp, edit_form=form, stale=stale)


def fold_out_form(
    request: AuthenticatedRequest,
    opp: Opportunity,
    template: str,
    fragment: dict[str, Any],
    *,
    open_only: bool,
    **page_forms: Any,
) -> HttpResponse:
    """A fold-out's form, unbound: the fragment htmx puts into the opened fold-out
    (`template` with `fragment`), or without htmx the opportunity page with that fold-out
    open (`page_forms`, as `render_detail` takes them). A closed deal takes no new or
    changed business issue (`open_only`): it says so instead of offering a form."""
    if open_only and opp.status != OpportunityStatus.OPEN:
        if request.htmx:
            closed = '<p class="small text-secondary mt-2 mb-0">This deal is closed.</p>'
            return HttpResponse(closed)
        return redirect("pipeline:opportunity_detail", pk=opp.pk)
    if not request.htmx:
        return render_detail(request, opp, status=200, **page_forms)
    return render(request, template, {"opp": opp, **fragment})


def issues_context(
    opp: Opportunity,
    *,
    issue_form: BusinessIssueForm | None = None,
    editing: tuple[int, BusinessIssueForm] | None = None,
    error: str = "",
) -> dict[str, Any]:
    """The business-issues card: the issues, the edit form of the one being edited (a
    refused edit keeps what was typed, with its errors; the others' fold-outs fetch theirs
    when opened), the add form when it is open, and a refusal that belongs to no field
    (e.g. the deal was closed meanwhile)."""
    issues = list(selectors.business_issues_for(opp))
    if editing is not None and opp.status == OpportunityStatus.OPEN:
        for bi in issues:
            if editing[0] == bi.pk:
                bi.edit_form = editing[1]  # type: ignore[attr-defined]  # for the template only
    return {"issues": issues, "issue_form": issue_form, "issues_error": error}
