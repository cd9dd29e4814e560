"""Qualifying a deal: scoring every element of its pipeline's framework."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from pipeline import selectors, services
from pipeline.forms import QualificationForm
from pipeline.models import OpportunityStatus
from pipeline.views.common import INVALID
from salesops.exceptions import ApplicationError, NotFound
from salesops.http import AuthenticatedRequest

# --- qualification -------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_qualify(request: AuthenticatedRequest, pk: int) -> HttpResponse:
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
