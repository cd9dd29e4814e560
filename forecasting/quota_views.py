"""/forecast/quotas/: the quotas of a fiscal month or quarter — every rep and every team —
in one grid that administrators and sales leaders edit (access.configures_sales_process)
and the others read within their scope (the API's rules: a manager their teams, a rep
their own).

Thin: the period from the query string (a bad one shows the current quarter and says
why, 422), the grid through a selector, the changed cells through ONE service call
(`quota_set_many`: all saved or none, a refusal per cell at its cell, what was typed
kept), then back to the period (PRG).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from forecasting import rules, selectors
from forecasting import services as forecasting_services
from forecasting.forms import QuotaGridForm
from salesops import access, organisation
from salesops.exceptions import PermissionDenied, ValidationFailed
from salesops.http import AuthenticatedRequest

INVALID = 422


def _period_choices(period: rules.Period) -> list[tuple[str, list[rules.Period]]]:
    """Quotas are set ahead: quarters from four back to four ahead, months from three back
    to twelve ahead, and the period shown when it is none of them."""
    calendar = forecasting_services.fiscal_calendar()
    today = forecasting_services.local_today()
    quarter = calendar.period_of(today, rules.PeriodKind.QUARTER)
    month = calendar.period_of(today, rules.PeriodKind.MONTH)
    quarters = [quarter.shifted(n) for n in range(-4, 5)]
    months = [month.shifted(n) for n in range(-3, 13)]
    if period not in quarters and period not in months:
        (quarters if period.kind is rules.PeriodKind.QUARTER else months).append(period)
    return [("Quarters", quarters), ("Months", months)]


def _summary(result: forecasting_services.QuotaChangesResult) -> str:
    parts = [
        f"{n} {what}"
        for n, what in (
            (result.created, "set"),
            (result.updated, "changed"),
            (result.deleted, "removed"),
        )
        if n
    ]
    return ", ".join(parts) if parts else "nothing changed"


@login_required
@require_http_methods(["GET", "POST"])
def quota_list(request: AuthenticatedRequest) -> HttpResponse:
    """GET: the grid of `period` (a label; default the current quarter). POST
    (administrators and sales leaders; anyone else 403): save the changed cells of the
    posted period; a refusal comes back at its cells with what was typed (422). Three
    queries for the grid however many rows."""
    user = request.user
    source = request.POST if request.method == "POST" else request.GET
    period_error = ""
    try:
        period = selectors.period_or_current(source.get("period") or None)
    except ValidationFailed as exc:
        period_error = exc.details.get("period", [exc.message])[0]
        period = selectors.period_or_current(None)
    grid = selectors.quota_grid_for(user, period)
    can_edit = access.configures_sales_process(user)
    status = INVALID if period_error else 200
    form = QuotaGridForm(grid=grid)
    refusal = ""
    if request.method == "POST":
        form = QuotaGridForm(request.POST, grid=grid)
        if not can_edit:
            refusal, status = forecasting_services.QUOTA_SETTERS, 403
        elif period_error:
            pass  # never save a bad period's cells into the current quarter
        elif form.is_valid():
            currency = organisation.current().default_currency
            try:
                result = forecasting_services.quota_set_many(
                    actor=user, period=period, changes=form.changes(currency)
                )
            except PermissionDenied as exc:
                refusal, status = exc.message, 403
            except ValidationFailed as exc:
                form.add_cell_errors(exc.details)
                refusal, status = exc.message, INVALID
            else:
                messages.success(request, f"Quotas of {period.label}: {_summary(result)}.")
                query = urlencode({"period": period.label})
                return redirect(f"{reverse('forecasting:quota_list')}?{query}")
        else:
            refusal, status = "Some cells are not valid: nothing was saved.", INVALID
    return render(
        request,
        "forecasting/quotas.html",
        {
            "grid": grid,
            "form": form,
            "people": form.cells(grid.people),
            "teams": form.cells(grid.teams),
            "can_edit": can_edit,
            "refusal": refusal,
            "period_error": period_error,
            "period_choices": _period_choices(grid.period),
            "default_currency": organisation.current().default_currency,
        },
        status=status,
    )
