"""Stage moves: advance, close won, close lost — from the opportunity page or the
board. One shape for every move: the form, one service, then a redirect, the gate's
refusal, the forecast category question, or the form's errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from pipeline import selectors, services
from pipeline.forms import AdvanceForm, CloseLostForm, CloseWonForm
from pipeline.models import Opportunity
from pipeline.views.board_page import board_after_move, board_move_dialog, board_owner_filter
from pipeline.views.common import INVALID
from pipeline.views.opportunities import panel_context, render_detail, rows_by_id
from salesops.exceptions import ApplicationError, Conflict, GateNotMet, NotFound, PermissionDenied
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest


def _gate_refused(
    request: AuthenticatedRequest,
    opp: Opportunity,
    exc: ApplicationError,
    *,
    action: str,
    board: bool = False,
    **forms,
) -> HttpResponse:
    """Re-render the advance panel (htmx), the board's move dialog (htmx from the board)
    or the page with what blocks the move."""
    groups = selectors.milestones_by_stage(opp)
    rows = rows_by_id(groups)
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
        return board_move_dialog(request, opp, forms["advance_form"], gate=gate)
    if request.htmx:
        context = panel_context(opp, request.user, groups, gate=gate, **forms)
        return render(request, "partials/advance_panel.html", context, status=INVALID)
    return render_detail(request, opp, gate=gate, **forms)


def _after_move(
    request: AuthenticatedRequest, opp: Opportunity, text: str, *, board: bool = False
) -> HttpResponse:
    if board:
        return board_after_move(request, opp, text)
    messages.success(request, text)
    url = reverse("pipeline:opportunity_detail", kwargs={"pk": opp.pk})
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _panel_error(
    request: AuthenticatedRequest, opp: Opportunity, form_name: str, form, *, board: bool = False
) -> HttpResponse:
    if board and request.htmx:
        return board_move_dialog(request, opp, form)
    if request.htmx:
        groups = selectors.milestones_by_stage(opp)
        context = panel_context(opp, request.user, groups, **{form_name: form})
        return render(request, "partials/advance_panel.html", context, status=INVALID)
    return render_detail(request, opp, **{form_name: form})


def _move(
    request: AuthenticatedRequest,
    opp: Opportunity,
    form,
    *,
    action: str,
    form_name: str,
    move: Callable[[dict[str, Any]], Opportunity],
    success: Callable[[Opportunity], str],
    board: bool = False,
) -> HttpResponse:
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
    request: AuthenticatedRequest,
    opp: Opportunity,
    exc: Conflict,
    *,
    form: AdvanceForm,
    board: bool = False,
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
        "owner_filter": board_owner_filter(request) if board else None,
    }
    if board and request.htmx:
        return board_move_dialog(request, opp, form, category_question=question)
    if request.htmx:
        groups = selectors.milestones_by_stage(opp)
        context = panel_context(opp, request.user, groups, category_question=question)
        return render(request, "partials/advance_panel.html", context, status=INVALID)
    return render_detail(request, opp, category_question=question)


@login_required
@require_POST
def opportunity_advance(request: AuthenticatedRequest, pk: int) -> HttpResponse:
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
def opportunity_close_won(request: AuthenticatedRequest, pk: int) -> HttpResponse:
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
def opportunity_close_lost(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    opp = selectors.opportunity_get_for(request.user, pk)
    return _move(
        request, opp, CloseLostForm(request.POST), action="close_lost", form_name="lost_form",
        move=lambda data: services.opportunity_close_lost(
            opportunity_id=opp.pk, actor=request.user,
            loss_reason=data["loss_reason"], expected_version=data["version"],
        ),
        success=lambda moved: "Closed as lost. The reason is recorded.",
    )  # fmt: skip
