"""The insights pages: /insights/ (results, the top performers and their behaviour gaps,
suggestions, experiments; a rep sees their own results only) and the suggestion decisions.
Thin: the query string is parsed by insights.scope, reads go through insights.selectors,
writes through insights.services. Bad input is a 422 page saying what is wrong."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from forecasting.exports import csv_filename, csv_response
from insights import charts, rules, selectors, services
from insights.results import GROUPINGS, Results
from insights.scope import can_study_others, scope_from_query
from insights.templatetags.insights_tags import days, pct
from salesops import access
from salesops.exceptions import ApplicationError, ValidationFailed
from salesops.http import AuthenticatedRequest
from salesops.models import Team, User

INVALID = 422
# The page shows the clearest gaps; the API has them all.
GAPS_SHOWN = 10

GROUP_LABELS = {
    "rep": "Rep",
    "team": "Team",
    "product": "Product",
    "industry": "Industry",
    "size": "Account size",
}

SORTS = {
    "won_amount": lambda r: r.won_amount,
    "win_rate": lambda r: r.win_rate if r.win_rate is not None else -1,
    "closed": lambda r: r.closed,
    "created": lambda r: r.created,
    "cycle": lambda r: r.cycle_won_median if r.cycle_won_median is not None else 1e9,
    "attainment": lambda r: r.attainment if r.attainment is not None else -1,
    "label": lambda r: r.label.lower(),
}


def _invalid(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    problems = [
        f"{field}: {message}"
        for field, messages_ in (exc.details or {}).items()
        for message in (messages_ if isinstance(messages_, list) else [messages_])
    ]
    return render(
        request,
        "insights/invalid.html",
        {"message": exc.message, "problems": problems},
        status=INVALID if isinstance(exc, ValidationFailed) else exc.status,
    )


def _results_csv(table: Results) -> HttpResponse:
    header = [
        GROUP_LABELS[table.group_by],
        "Created",
        "Closed",
        "Won",
        "Lost",
        "Win rate",
        f"Won amount ({table.scope.currency})",
        "Average won",
        "Median won",
        "Median cycle won (days)",
        "Mean cycle won (days)",
        "Median cycle lost (days)",
        "Mean cycle lost (days)",
        "Quota",
        "Attainment",
    ]
    rows: list[Sequence[object]] = [header]
    for r in [*table.rows, table.total]:
        rows.append(
            [
                r.label,
                r.created,
                r.closed,
                r.won,
                r.lost,
                None if r.win_rate is None else round(r.win_rate, 4),
                r.won_amount,
                r.avg_won,
                r.median_won,
                None if r.cycle_won_median is None else round(r.cycle_won_median, 1),
                None if r.cycle_won_mean is None else round(r.cycle_won_mean, 1),
                None if r.cycle_lost_median is None else round(r.cycle_lost_median, 1),
                None if r.cycle_lost_mean is None else round(r.cycle_lost_mean, 1),
                r.quota,
                None if r.attainment is None else round(r.attainment, 4),
            ]
        )
    return csv_response(
        csv_filename("insights", table.group_by, table.scope.start, table.scope.end), rows
    )


@login_required
@require_GET
def home(request: AuthenticatedRequest) -> HttpResponse:
    """?start=&end=&team=&group_by=&rank_by=&min_closed=&sort=&format=csv. A rep sees their
    own results and stage flow; managers (their teams), leaders and admins see the study."""
    user = request.user
    group_by = request.GET.get("group_by") or "rep"
    rank_by = request.GET.get("rank_by") or "won_amount"
    sort = request.GET.get("sort") or "won_amount"
    try:
        if group_by not in GROUPINGS:
            raise ValidationFailed(
                details={"group_by": [f"Choose one of: {', '.join(GROUPINGS)}."]}
            )
        if sort.lstrip("-") not in SORTS:
            raise ValidationFailed(details={"sort": [f"Choose one of: {', '.join(SORTS)}."]})
        scope = scope_from_query(user, request.GET)
        if not can_study_others(user):
            group_by = "rep"
        table = selectors.results_for(user, scope, group_by=group_by)
        if request.GET.get("format") == "csv":
            return _results_csv(table)
        study = (
            selectors.study_for(user, scope, rank_by=rank_by) if can_study_others(user) else None
        )
    except ApplicationError as exc:
        return _invalid(request, exc)
    descending = not sort.startswith("-") and sort != "label"
    rows = sorted(table.rows, key=SORTS[sort.lstrip("-")], reverse=descending)
    query = {
        "start": scope.start.isoformat(),
        "end": scope.end.isoformat(),
        "team": scope.team_id or "",
        "rank_by": rank_by,
        "min_closed": scope.min_closed,
    }
    context: dict[str, Any] = {
        "scope": scope,
        "table": table,
        "rows": rows,
        "group_by": group_by,
        "group_label": GROUP_LABELS[group_by],
        "groupings": GROUP_LABELS,
        "rank_by": rank_by,
        "rankings": rules.RANKINGS,
        "sort": sort,
        "query": urlencode(query),
        "csv_url": reverse("insights:home")
        + "?"
        + urlencode({**query, "group_by": group_by, "format": "csv"}),
        "study": study,
        "teams": _teams_for(user),
        "studies_others": can_study_others(user),
    }
    if not can_study_others(user):
        context["my_figures"] = _my_figures(table)
    if study is not None:
        varying = [gap for gap in study.gaps if gap.varies]
        context["gap_charts"] = [(gap, charts.distribution(gap)) for gap in varying[:GAPS_SHOWN]]
        context["gaps_not_shown"] = len(varying) - len(context["gap_charts"])
        context["gaps_flat"] = len(study.gaps) - len(varying)
        context["suggestions"] = list(selectors.suggestion_list_for(user, status="open")[:20])
        context["decides_suggestions"] = access.configures_sales_process(user)
        context["experiments"] = selectors.experiment_list_for(user, scope)[:10]
    return render(request, "insights/home.html", context)


def _my_figures(table: Results) -> list[tuple[str, str]]:
    """A rep's own figures as cards (the table scrolls sideways on a phone)."""
    t = table.total
    return [
        ("Won / closed", f"{t.won} / {t.closed}"),
        ("Win rate", pct(t.win_rate)),
        (f"Won amount ({table.scope.currency})", f"{t.won_amount:,.0f}"),
        ("Median cycle, won", days(t.cycle_won_median)),
    ]


def _teams_for(user: User) -> list[Team]:
    if user.sees_everything:
        return list(Team.objects.order_by("name"))
    if user.is_manager:
        return list(Team.objects.filter(pk__in=access.managed_team_ids(user)).order_by("name"))
    return []


@login_required
@require_POST
def suggestion_accept(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        found = selectors.suggestion_get_for(request.user, pk)
        done = services.suggestion_accept(suggestion_id=found.pk, actor=request.user)
    except ApplicationError as exc:
        if exc.status in (403, 404):
            return _invalid(request, exc)
        messages.error(request, exc.message)
        return redirect(f"{reverse('insights:home')}#suggestions")
    messages.success(
        request,
        f"Accepted: {done.title}. The stage's rules are now version "
        f"{done.rule_change.version if done.rule_change else '?'}.",
    )
    return redirect(f"{reverse('insights:home')}#suggestions")


@login_required
@require_POST
def suggestion_dismiss(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        found = selectors.suggestion_get_for(request.user, pk)
        services.suggestion_dismiss(
            suggestion_id=found.pk, actor=request.user, reason=request.POST.get("reason", "")
        )
    except ApplicationError as exc:
        if exc.status in (403, 404):
            return _invalid(request, exc)
        messages.error(request, f"Not dismissed: {exc.message} {_field_text(exc)}".strip())
        return redirect(f"{reverse('insights:home')}#suggestions")
    messages.success(request, "Suggestion dismissed.")
    return redirect(f"{reverse('insights:home')}#suggestions")


def _field_text(exc: ApplicationError) -> str:
    return " ".join(
        message
        for messages_ in (exc.details or {}).values()
        for message in (messages_ if isinstance(messages_, list) else [messages_])
    )
