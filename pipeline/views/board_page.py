"""The board: one column per stage of a pipeline, its cards and their moves. A move
from the board is posted to opportunity_advance (`moves`) and answered here: the columns
again, or the move dialog with what blocks it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET
from django_htmx.http import reswap, retarget, trigger_client_event

from pipeline import selectors
from pipeline.forms import AdvanceForm, BoardFilterForm
from pipeline.models import Opportunity, Pipeline
from pipeline.views.common import INVALID, form_messages, sees_others
from salesops.http import AuthenticatedRequest
from salesops.links import url_for_each
from salesops.models import User

BOARD_CARDS_PER_COLUMN = 20


def _board_filter_form(user: User, data: Mapping[str, Any]) -> BoardFilterForm:
    return BoardFilterForm(
        data or None,
        pipelines=selectors.pipeline_list().filter(is_active=True).prefetch_related(None),
        owners=selectors.assignable_owners_for(user),
        show_owner=sees_others(user),
    )


def _board_columns(
    user: User, pipeline: Pipeline | None, filters: dict[str, Any]
) -> list[selectors.BoardColumn]:
    columns = (
        selectors.board_for(user, pipeline, filters, per_column=BOARD_CARDS_PER_COLUMN)
        if pipeline
        else []
    )
    detail_url = url_for_each("pipeline:opportunity_detail")
    advance_url = url_for_each("pipeline:opportunity_advance")
    show_owners = sees_others(user)
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
            card.detail_url = detail_url(card.pk)  # type: ignore[attr-defined]  # for the template only
            card.advance_url = advance_url(card.pk)  # type: ignore[attr-defined]  # for the template only
    return columns


@login_required
@require_GET
def board(request: AuthenticatedRequest) -> HttpResponse:
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


# --- moves from the board ------------------------------------------------------------
# A card dropped on another column (or moved with its "Move…" control) posts to
# opportunity_advance with board=1: the same form, service and gate as the opportunity
# page; only the response differs. Without htmx the fallbacks are the page's own.


def board_owner_filter(request: AuthenticatedRequest) -> int | None:
    """The owner filter the board was showing, validated like the board's own form."""
    form = _board_filter_form(request.user, {"owner": request.POST.get("owner", "")})
    form.is_valid()
    owner = None if "owner" in form.errors else form.cleaned_data.get("owner")
    return owner.pk if owner else None


def board_after_move(request: AuthenticatedRequest, opp: Opportunity, text: str) -> HttpResponse:
    owner = board_owner_filter(request)
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


def board_move_dialog(
    request: AuthenticatedRequest,
    opp: Opportunity,
    form: AdvanceForm,
    *,
    gate: dict[str, Any] | None = None,
    category_question: dict[str, Any] | None = None,
) -> HttpResponse:
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
            "owner_filter": board_owner_filter(request),
        },
        status=INVALID,
    )
    retarget(response, "#board-move-content")
    reswap(response, "innerHTML")
    return trigger_client_event(response, "board-move-refused", after="swap")
