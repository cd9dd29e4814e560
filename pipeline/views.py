"""The pipeline pages: board, list, new opportunity and the opportunity page.

Every view is thin: read through a selector (which enforces who sees what — outside
the user's scope is a 404), validate with a form, call ONE service, then redirect or
re-render a partial for htmx. A service's ApplicationError is shown on the page,
never turned into a 500.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import (
    HttpResponseClientRedirect,
    reswap,
    retarget,
    trigger_client_event,
)

from pipeline import exports, providers, selectors, services
from pipeline.forms import (
    ActivityForm,
    AdvanceForm,
    BoardFilterForm,
    BusinessIssueForm,
    CloseLostForm,
    CloseWonForm,
    MilestoneToggleForm,
    OpportunityCreateForm,
    OpportunityEditForm,
    OpportunityFilterForm,
    QualificationForm,
)
from pipeline.models import Opportunity, OpportunityStatus
from salesops.cleaning import query_int
from salesops.exceptions import (
    ApplicationError,
    Conflict,
    GateNotMet,
    NotFound,
    PermissionDenied,
    StaleVersion,
)
from salesops.exports import csv_link_query
from salesops.forms import add_service_errors
from salesops.links import url_for_each
from salesops.selectors import team_list_for

BOARD_CARDS_PER_COLUMN = 20
LIST_PAGE_SIZE = 50
# Re-rendered forms with errors answer 422; base.html tells htmx to swap 422 responses.
INVALID = 422


def _sees_others(user) -> bool:
    return not user.is_rep


# --- board and list ----------------------------------------------------------------


def _board_filter_form(user, data) -> BoardFilterForm:
    return BoardFilterForm(
        data or None,
        pipelines=selectors.pipeline_list().filter(is_active=True).prefetch_related(None),
        owners=selectors.assignable_owners_for(user),
        show_owner=_sees_others(user),
    )


def _board_columns(user, pipeline, filters: dict) -> list[selectors.BoardColumn]:
    columns = (
        selectors.board_for(user, pipeline, filters, per_column=BOARD_CARDS_PER_COLUMN)
        if pipeline
        else []
    )
    detail_url = url_for_each("pipeline:opportunity_detail")
    advance_url = url_for_each("pipeline:opportunity_advance")
    show_owners = _sees_others(user)
    for i, column in enumerate(columns):
        column.hidden = max(0, column.count - len(column.cards))
        column.show_owners = show_owners
        # Every card of a column offers the same other stages, the next column first: the
        # options are written once per column, not per card (a column's cards are all in
        # its stage).
        next_stage_id = columns[i + 1].stage.pk if i + 1 < len(columns) else None
        column.move_targets = [c.stage for c in columns if c is not column]
        column.move_options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (stage.pk, mark_safe(" selected") if stage.pk == next_stage_id else "", stage.name)
                for stage in column.move_targets
            ),
        )
        for card in column.cards:
            card.detail_url = detail_url(card.pk)
            card.advance_url = advance_url(card.pk)
    return columns


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    user = request.user
    # The switcher needs names only, not the prefetched stages and milestones.
    pipelines = [p for p in selectors.pipeline_list().prefetch_related(None) if p.is_active]
    form = _board_filter_form(user, request.GET)
    pipeline, filters = None, {}
    if form.is_bound and form.is_valid():
        pipeline = form.cleaned_data.get("pipeline")
        if form.cleaned_data.get("owner"):
            filters["owner"] = form.cleaned_data["owner"].pk
    pipeline = pipeline or (pipelines[0] if pipelines else None)
    return render(
        request,
        "pipeline/board.html",
        {
            "form": form,
            "pipelines": pipelines,
            "pipeline": pipeline,
            "columns": _board_columns(user, pipeline, filters),
            "owner_filter": filters.get("owner"),
        },
    )


@login_required
@require_GET
def opportunity_list(request: HttpRequest) -> HttpResponse:
    """The deals the user may see, filtered — the open ones unless another status is
    chosen; `?format=csv` with the same filters downloads every one of them (not just the
    page) in the import's columns."""
    user = request.user
    form = OpportunityFilterForm(
        request.GET or None,
        owners=selectors.assignable_owners_for(user),
        stages=selectors.stage_list(),
        show_owner=_sees_others(user),
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
            "show_owner": _sees_others(user),
            "csv_query": csv_link_query(request.GET),
            "status": form.status_choice(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = OpportunityCreateForm(
        request.POST or None,
        accounts=selectors.account_list(),
        owners=selectors.assignable_owners_for(user),
        show_owner=_sees_others(user),
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


def _rows_by_id(groups) -> dict[int, selectors.MilestoneRow]:
    return {r.milestone.id: r for g in groups for r in g.seller_actions + g.buyer_commitments}


def _panel_context(
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


def form_messages(form, *, skip: tuple[str, ...] = ()) -> list[str]:
    """Every error of a bound `form` (None: none), hidden fields' included, so a refusal
    is never silent. A hidden field's message says which field it is about."""
    if form is None or not form.is_bound:
        return []
    messages_ = []
    for name, errors in form.errors.items():
        if name in skip:
            continue
        field = form.fields.get(name)
        hidden = field is not None and field.widget.is_hidden
        label = (field.label or name.replace("_", " ").capitalize()) if hidden else ""
        messages_ += [f"{label}: {e}" if label else e for e in errors]
    return messages_


def _detail_context(request: HttpRequest, opp: Opportunity, **forms: Any) -> dict[str, Any]:
    user = request.user
    groups = selectors.milestones_by_stage(opp)
    current = next(g for g in groups if g.stage.id == opp.stage_id)
    panel = _panel_context(
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
        **_issues_context(
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
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opp = selectors.opportunity_get_for(request.user, pk)
    return render(request, "pipeline/opportunity_detail.html", _detail_context(request, opp))


def _render_detail(request, opp, *, status: int = INVALID, **forms) -> HttpResponse:
    return render(
        request,
        "pipeline/opportunity_detail.html",
        _detail_context(request, opp, **forms),
        status=status,
    )


@login_required
@require_POST
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
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
    return _render_detail(request, opp, edit_form=form, stale=stale)


@login_required
@require_POST
def milestone_toggle(request: HttpRequest, pk: int, milestone_id: int) -> HttpResponse:
    opp = selectors.opportunity_get_for(request.user, pk)
    form = MilestoneToggleForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "; ".join(m for msgs in form.errors.values() for m in msgs)
    else:
        try:
            if form.cleaned_data["done"]:
                services.milestone_complete(
                    opportunity_id=opp.pk,
                    milestone_id=milestone_id,
                    actor=request.user,
                    evidence=form.cleaned_data["evidence"],
                )
            else:
                services.milestone_uncomplete(
                    opportunity_id=opp.pk, milestone_id=milestone_id, actor=request.user
                )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            error = (exc.details.get("evidence") or [exc.message])[0]
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("pipeline:opportunity_detail", pk=opp.pk)
    groups = selectors.milestones_by_stage(opp)
    row = _rows_by_id(groups).get(milestone_id)
    if row is None:
        raise Http404("No such milestone in this opportunity's pipeline.")
    current = next(g for g in groups if g.stage.id == opp.stage_id)
    context = {
        "opp": opp,
        "row": row,
        "error": error,
        "is_open": opp.status == OpportunityStatus.OPEN,
        # Where the row is shown: the page's list, the page's gate, or the board's dialog.
        "location": request.POST.get("location")
        if request.POST.get("location") in ("gate", "board")
        else "main",
        # The typed evidence is kept when it was refused.
        "evidence_value": request.POST.get("evidence", "") if error else "",
        "open_required": current.open_required,
    }
    if opp.imported_at is not None and context["location"] != "board":
        # Its import_incomplete flag changed with the milestone: the page's card follows.
        context["attention_oob"] = True
        context["open_flags"] = selectors.open_flags_for(opp)
    return render(
        request,
        "partials/milestone_toggle_response.html",
        context,
        status=INVALID if error else 200,
    )


def _gate_refused(
    request, opp, exc: ApplicationError, *, action: str, board: bool = False, **forms
) -> HttpResponse:
    """Re-render the advance panel (htmx), the board's move dialog (htmx from the board)
    or the page with what blocks the move."""
    groups = selectors.milestones_by_stage(opp)
    rows = _rows_by_id(groups)
    missing = [rows[m["id"]] for m in exc.details.get("missing", []) if m["id"] in rows]
    for detail in exc.details.get("missing", []):
        if detail.get("gaps") and detail["id"] in rows:
            # What an automatic milestone lacks, as the service said it when refusing.
            rows[detail["id"]].gaps = list(detail["gaps"])
    form = next(iter(forms.values()), None)
    gate = {
        "message": exc.message,
        "missing": missing,
        # Only the service knows who may override; a refused rep override never offers it.
        "can_override": bool(exc.details.get("can_override"))
        and not isinstance(exc, PermissionDenied),
        "action": action,
        "target_stage": exc.details.get("target_stage"),
        "refused_override": isinstance(exc, PermissionDenied),
        "board": board,
        # A refused override reason (e.g. only spaces): said under it, what was typed kept.
        "override_error": (exc.details.get("override_reason") or [""])[0],
        "override_value": form.data.get("override_reason", "") if form is not None else "",
    }
    if board and request.htmx:
        return _board_move_dialog(request, opp, forms["advance_form"], gate=gate)
    if request.htmx:
        context = _panel_context(opp, request.user, groups, gate=gate, **forms)
        return render(request, "partials/advance_panel.html", context, status=INVALID)
    return _render_detail(request, opp, gate=gate, **forms)


def _after_move(request, opp: Opportunity, text: str, *, board: bool = False) -> HttpResponse:
    if board:
        return _board_after_move(request, opp, text)
    messages.success(request, text)
    url = reverse("pipeline:opportunity_detail", kwargs={"pk": opp.pk})
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _panel_error(request, opp, form_name: str, form, *, board: bool = False) -> HttpResponse:
    if board and request.htmx:
        return _board_move_dialog(request, opp, form)
    if request.htmx:
        groups = selectors.milestones_by_stage(opp)
        context = _panel_context(opp, request.user, groups, **{form_name: form})
        return render(request, "partials/advance_panel.html", context, status=INVALID)
    return _render_detail(request, opp, **{form_name: form})


# --- moves from the board ------------------------------------------------------------
# A card dropped on another column (or moved with its "Move…" control) posts to
# opportunity_advance with board=1: the same form, service and gate as the opportunity
# page; only the response differs. Without htmx the fallbacks are the page's own.


def _board_owner_filter(request) -> int | None:
    """The owner filter the board was showing, validated like the board's own form."""
    form = _board_filter_form(request.user, {"owner": request.POST.get("owner", "")})
    form.is_valid()
    owner = None if "owner" in form.errors else form.cleaned_data.get("owner")
    return owner.pk if owner else None


def _board_after_move(request, opp: Opportunity, text: str) -> HttpResponse:
    owner = _board_owner_filter(request)
    if not request.htmx:
        messages.success(request, text)
        query = f"?pipeline={opp.pipeline_id}" + (f"&owner={owner}" if owner else "")
        return redirect(reverse("pipeline:board") + query)
    response = render(
        request,
        "partials/board_columns.html",
        {
            "pipeline": opp.pipeline,
            "columns": _board_columns(request.user, opp.pipeline, {"owner": owner}),
            "owner_filter": owner,
            "moved_id": opp.pk,
            "status_message": text,
        },
    )
    return trigger_client_event(response, "board-moved", after="swap")


def _board_move_dialog(
    request,
    opp,
    form: AdvanceForm,
    *,
    gate: dict | None = None,
    category_question: dict | None = None,
):
    """The board's move dialog: what blocks the move (the gate, with the controls to
    complete it), the forecast category question, or why the move was refused. The card
    stays in its column."""
    errors = form_messages(form)
    response = render(
        request,
        "partials/board_move.html",
        {
            "opp": opp,
            "target": form.cleaned_data.get("stage"),  # _move validated the form
            "gate": gate,
            "category_question": category_question,
            "errors": errors,
            "owner_filter": _board_owner_filter(request),
        },
        status=INVALID,
    )
    retarget(response, "#board-move-content")
    reswap(response, "innerHTML")
    return trigger_client_event(response, "board-move-refused", after="swap")


def _move(request, opp, form, *, action: str, form_name: str, move, success, board: bool = False):
    """One shape for every stage move: validate the form, call the one service, then
    redirect — or show what blocks the move (the gate panel) or the form's errors.
    `board`: the move came from the board, which answers with its own partials."""
    if form.is_valid():
        try:
            moved = move(form.cleaned_data)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except (GateNotMet, PermissionDenied) as exc:
            if "missing" not in exc.details:
                add_service_errors(form, exc)
            else:
                return _gate_refused(
                    request, opp, exc, action=action, board=board, **{form_name: form}
                )
        except Conflict as exc:
            if exc.code != services.CATEGORY_DECISION_CODE:
                add_service_errors(form, exc)
            else:
                return _category_question(request, opp, exc, form=form, board=board)
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            return _after_move(request, moved, success(moved), board=board)
    return _panel_error(request, opp, form_name, form, board=board)


# --- pipeline: category override on stage moves ---
# A move that would change a forecast category the rep set by hand is refused by the
# service with a question; the page, the board (htmx or not) show it as a small form that
# re-submits the same move with the answer and what the user had entered.


def _category_question(
    request, opp: Opportunity, exc: Conflict, *, form: AdvanceForm, board: bool = False
) -> HttpResponse:
    question = {
        "message": exc.message,
        "choices": exc.details.get("choices", []),
        "target_stage": exc.details.get("target_stage"),
        "target_stage_name": exc.details.get("target_stage_name", ""),
        # A manager's gate override reason travels with the answer: the move it belongs
        # to has not been made yet.
        "override_reason": form.cleaned_data.get("override_reason", ""),
        "board": board,
        "owner_filter": _board_owner_filter(request) if board else None,
    }
    if board and request.htmx:
        return _board_move_dialog(request, opp, form, category_question=question)
    if request.htmx:
        groups = selectors.milestones_by_stage(opp)
        context = _panel_context(opp, request.user, groups, category_question=question)
        return render(request, "partials/advance_panel.html", context, status=INVALID)
    return _render_detail(request, opp, category_question=question)


@login_required
@require_POST
def opportunity_advance(request: HttpRequest, pk: int) -> HttpResponse:
    opp = selectors.opportunity_get_for(request.user, pk)
    stages = selectors.stage_list(opp.pipeline_id).filter(is_won=False, is_lost=False)
    board = request.POST.get("board") == "1"  # the board answers with its own partials
    return _move(
        request, opp, AdvanceForm(request.POST, stages=stages),
        action="advance", form_name="advance_form",
        move=lambda data: services.opportunity_advance(
            opportunity_id=opp.pk, stage_id=data["stage"].pk, actor=request.user,
            override_reason=data["override_reason"], expected_version=data["version"],
            forecast_category_on_move=data["forecast_category_on_move"] or None,
        ),
        success=lambda moved: (
            f"Moved “{moved.name}” to {moved.stage.name}." if board
            else f"Moved to {moved.stage.name}."
        ),
        board=board,
    )  # fmt: skip


@login_required
@require_POST
def opportunity_close_won(request: HttpRequest, pk: int) -> HttpResponse:
    opp = selectors.opportunity_get_for(request.user, pk)
    return _move(
        request, opp, CloseWonForm(request.POST), action="close_won", form_name="won_form",
        move=lambda data: services.opportunity_close_won(
            opportunity_id=opp.pk, actor=request.user,
            override_reason=data["override_reason"], expected_version=data["version"],
        ),
        success=lambda moved: "Closed as won. Congratulations!",
    )  # fmt: skip


@login_required
@require_POST
def opportunity_close_lost(request: HttpRequest, pk: int) -> HttpResponse:
    opp = selectors.opportunity_get_for(request.user, pk)
    return _move(
        request, opp, CloseLostForm(request.POST), action="close_lost", form_name="lost_form",
        move=lambda data: services.opportunity_close_lost(
            opportunity_id=opp.pk, actor=request.user,
            loss_reason=data["loss_reason"], expected_version=data["version"],
        ),
        success=lambda moved: "Closed as lost. The reason is recorded.",
    )  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def business_issue_create(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the add form (the fold-out's content; without htmx the page with it open)."""
    opp = selectors.opportunity_get_for(request.user, pk)
    if request.method == "GET":
        form = BusinessIssueForm()
        return _fold_out_form(
            request,
            opp,
            "partials/business_issue_form.html",
            {"issue_form": form},
            open_only=True,
            issue_form=form,
        )
    form = BusinessIssueForm(request.POST)
    if form.is_valid():
        try:
            services.business_issue_create(
                opportunity_id=opp.pk, actor=request.user, **form.cleaned_data
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            if not request.htmx:
                messages.success(request, "Business issue added.")
                return redirect("pipeline:opportunity_detail", pk=opp.pk)
            return _issues_card(request, opp, status=200)
    if not request.htmx:
        return _render_detail(request, opp, issue_form=form)
    return _issues_card(request, opp, status=INVALID, issue_form=form)


def _fold_out_form(
    request: HttpRequest,
    opp: Opportunity,
    template: str,
    fragment: dict[str, Any],
    *,
    open_only: bool,
    **page_forms: Any,
) -> HttpResponse:
    """A fold-out's form, unbound: the fragment htmx puts into the opened fold-out
    (`template` with `fragment`), or without htmx the opportunity page with that fold-out
    open (`page_forms`, as `_render_detail` takes them). A closed deal takes no new or
    changed business issue (`open_only`): it says so instead of offering a form."""
    if open_only and opp.status != OpportunityStatus.OPEN:
        if request.htmx:
            closed = '<p class="small text-secondary mt-2 mb-0">This deal is closed.</p>'
            return HttpResponse(closed)
        return redirect("pipeline:opportunity_detail", pk=opp.pk)
    if not request.htmx:
        return _render_detail(request, opp, status=200, **page_forms)
    return render(request, template, {"opp": opp, **fragment})


# --- business issues: edited and deleted in place ---------------------------------------


def _issue_prefix(issue_id: int) -> str:
    return f"issue-{issue_id}"  # one edit form per issue on the page: ids stay unique


def _issues_context(
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
                bi.edit_form = editing[1]
    return {"issues": issues, "issue_form": issue_form, "issues_error": error}


def _issue_edit_form(issue) -> BusinessIssueForm:
    """One issue's edit form, prefilled with what is stored."""
    return BusinessIssueForm(
        prefix=_issue_prefix(issue.pk),
        initial={
            "issue": issue.issue,
            "impact": issue.impact,
            "our_value": issue.our_value,
            "quantified_value": issue.quantified_value,
        },
    )


def _issues_card(request, opp: Opportunity, *, status: int, **context: Any) -> HttpResponse:
    response = render(
        request,
        "partials/business_issues.html",
        {
            "opp": opp,
            "is_open": opp.status == OpportunityStatus.OPEN,
            **_issues_context(opp, **context),
        },
        status=status,
    )
    if status == 200:
        # An automatic milestone may now be met (or no longer): the milestone panel and
        # its summary refresh on this event.
        response["HX-Trigger"] = "business-issues-changed"
    return response


def _issue_changed(request, opp: Opportunity, text: str) -> HttpResponse:
    if not request.htmx:
        messages.success(request, text)
        return redirect(
            reverse("pipeline:opportunity_detail", kwargs={"pk": opp.pk}) + "#business-issues"
        )
    return _issues_card(request, opp, status=200)


def _issue_refused(request, opp: Opportunity, **context: Any) -> HttpResponse:
    if not request.htmx:
        names = {"editing": "issue_editing", "error": "issues_error"}
        return _render_detail(request, opp, **{names[k]: v for k, v in context.items()})
    return _issues_card(request, opp, status=INVALID, **context)


def _issue_of(request: HttpRequest, opp: Opportunity, issue_id: int):
    issue = selectors.business_issue_get_for(request.user, issue_id)  # outside scope: 404
    if issue.opportunity_id != opp.pk:
        raise Http404("No such business issue on this opportunity.")
    return issue


@login_required
@require_http_methods(["GET", "POST"])
def business_issue_edit(request: HttpRequest, pk: int, issue_id: int) -> HttpResponse:
    """Change one business issue in place, e.g. map our value to one recorded without it.
    GET: its edit form, prefilled (the fold-out's content)."""
    opp = selectors.opportunity_get_for(request.user, pk)
    issue = _issue_of(request, opp, issue_id)
    if request.method == "GET":
        form = _issue_edit_form(issue)
        return _fold_out_form(
            request,
            opp,
            "partials/business_issue_edit_form.html",
            {"bi": issue, "edit_form": form},
            open_only=True,
            issue_editing=(issue.pk, form),
        )
    form = BusinessIssueForm(request.POST, prefix=_issue_prefix(issue.pk))
    error = ""
    if form.is_valid():
        try:
            services.business_issue_update(
                business_issue_id=issue.pk, actor=request.user, **form.cleaned_data
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            if any(field in form.fields for field in exc.details):
                add_service_errors(form, exc)
            else:
                error = exc.message  # not about a field: said on top of the card
        else:
            return _issue_changed(request, opp, "Business issue updated.")
    return _issue_refused(request, opp, editing=(issue.pk, form), error=error)


@login_required
@require_POST
def business_issue_delete(request: HttpRequest, pk: int, issue_id: int) -> HttpResponse:
    """Delete one business issue (the page asks for a confirmation first)."""
    opp = selectors.opportunity_get_for(request.user, pk)
    issue = _issue_of(request, opp, issue_id)
    try:
        services.business_issue_delete(business_issue_id=issue.pk, actor=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        return _issue_refused(request, opp, error=exc.message)
    return _issue_changed(request, opp, "Business issue deleted.")


@login_required
@require_http_methods(["GET", "POST"])
def activity_create(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the form (the fold-out's content; without htmx the page with it open)."""
    opp = selectors.opportunity_get_for(request.user, pk)
    if request.method == "GET":
        form = ActivityForm()
        return _fold_out_form(
            request,
            opp,
            "partials/activity_form.html",
            {"activity_form": form},
            open_only=False,
            activity_form=form,
        )
    form = ActivityForm(request.POST)
    if form.is_valid():
        try:
            services.activity_log(opportunity_id=opp.pk, actor=request.user, **form.cleaned_data)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            if not request.htmx:
                messages.success(request, "Activity logged.")
                return redirect("pipeline:opportunity_detail", pk=opp.pk)
            form = None  # logged: the fold-out closes and fetches a fresh form when opened
    status = INVALID if form is not None and form.errors else 200
    if not request.htmx:
        return _render_detail(request, opp, activity_form=form, status=status)
    return render(
        request,
        "partials/activities.html",
        {
            "opp": opp,
            "activities": selectors.activities_for(opp)[:50],
            "activity_form": form,
        },
        status=status,
    )


@login_required
@require_GET
def milestones_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The current stage's milestones, re-rendered when something outside them changed;
    with ?stage=<id>, that stage's milestones alone (another stage's, fetched when its
    section is first opened)."""
    opp = selectors.opportunity_get_for(request.user, pk)
    groups = selectors.milestones_by_stage(opp)
    if "stage" in request.GET:
        stage_id = query_int(request.GET["stage"])
        group = next((g for g in groups if g.stage.id == stage_id), None)
        if group is None:
            raise Http404("No such stage in this deal's pipeline.")
        context = {"opp": opp, "group": group, "is_open": opp.status == OpportunityStatus.OPEN}
        return render(request, "partials/milestone_group.html", context)
    current = next(g for g in groups if g.stage.id == opp.stage_id)
    return render(
        request,
        "partials/milestones_panel.html",
        {
            "opp": opp,
            "current": current,
            "other_groups": [
                g
                for g in groups
                if g.stage.id != opp.stage_id and (g.seller_actions or g.buyer_commitments)
            ],
            "is_open": opp.status == OpportunityStatus.OPEN,
            # The move panel's "N required milestones still open" follows (out of band).
            "open_required": current.open_required,
            "summary_oob": opp.status == OpportunityStatus.OPEN,
        },
    )


# --- qualification -------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_qualify(request: HttpRequest, pk: int) -> HttpResponse:
    """Score every element of the deal's framework: one row per element with its guidance
    and the current score as the starting value. One service call; a refusal keeps every
    row as typed and puts each message next to its row (422)."""
    opp = selectors.opportunity_get_for(request.user, pk)
    elements = selectors.framework_elements_for(opp)
    latest = selectors.qualification_history_for(opp).first()
    form = QualificationForm(
        request.POST if request.method == "POST" else None,
        elements=elements,
        latest_scores=selectors.qualification_scores_for(latest),
    )
    if request.method == "POST" and form.is_valid():
        try:
            qualification = services.qualification_create(
                opportunity_id=opp.pk,
                actor=request.user,
                scores=form.service_scores(),
                note=form.cleaned_data["note"],
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request,
                f"Qualified at {qualification.score_pct:.0f} %. Valid for "
                f"{services.qualification_validity_days(opp.stage)} days.",
            )
            return redirect(
                reverse("pipeline:opportunity_detail", kwargs={"pk": opp.pk}) + "#qualification"
            )
    return render(
        request,
        "pipeline/qualify.html",
        {
            "opp": opp,
            "form": form,
            "latest": latest,
            "is_open": opp.status == OpportunityStatus.OPEN,
            "validity_days": services.qualification_validity_days(opp.stage),
        },
        status=INVALID if form.is_bound and form.errors else 200,
    )
