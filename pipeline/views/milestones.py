"""An opportunity's milestones on its page: ticking one (with evidence where needed)
and the milestones panel, re-rendered when something outside it changed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from pipeline import selectors, services
from pipeline.forms import MilestoneToggleForm
from pipeline.models import OpportunityStatus
from pipeline.views.common import INVALID
from pipeline.views.opportunities import rows_by_id
from salesops.cleaning import query_int
from salesops.exceptions import ApplicationError, NotFound
from salesops.http import AuthenticatedRequest


@login_required
@require_POST
def milestone_toggle(request: AuthenticatedRequest, pk: int, milestone_id: int) -> HttpResponse:
    opp = selectors.opportunity_get_for(request.user, pk)
    form = MilestoneToggleForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "; ".join(m for msgs in form.errors.values() for m in msgs)  # type: ignore[misc]  # an ErrorList yields its messages as str; the stubs say ValidationError | str
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
    row = rows_by_id(groups).get(milestone_id)
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


@login_required
@require_GET
def milestones_panel(request: AuthenticatedRequest, pk: int) -> HttpResponse:
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
