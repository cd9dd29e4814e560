"""Logging an activity on the opportunity page, in its fold-out."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from pipeline import selectors, services
from pipeline.forms import ActivityForm
from pipeline.views.common import INVALID
from pipeline.views.opportunities import fold_out_form, render_detail
from salesops.exceptions import ApplicationError, NotFound
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest


@login_required
@require_http_methods(["GET", "POST"])
def activity_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """GET: the form (the fold-out's content; without htmx the page with it open)."""
    opp = selectors.opportunity_get_for(request.user, pk)
    form: ActivityForm | None
    if request.method == "GET":
        form = ActivityForm()
        return fold_out_form(
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
        return render_detail(request, opp, activity_form=form, status=status)
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
