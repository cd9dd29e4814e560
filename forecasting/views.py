"""The forecasting pages: the leader dashboard (charts, drill-down to the deals behind every
number, CSV of every table), the rep's and manager's forecast page (the call form beside the
system's numbers, the team roll-up) and forecast meetings.

Every view is thin: read through a selector (outside the user's scope is a 404), validate
with a form, call ONE service, then redirect (PRG) or re-render with the service's error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from forecasting import rules, selectors
from forecasting import services as forecasting_services
from forecasting.exports import csv_filename, csv_response
from forecasting.forms import ForecastCallForm, MeetingEditForm, MeetingFilterForm, MeetingForm
from pipeline.models import ForecastCategory
from salesops.cleaning import query_int
from salesops.exceptions import ApplicationError, NotFound, ValidationFailed
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest

# Re-rendered forms with errors answer 422; base.html tells htmx to swap 422 responses.
INVALID = 422


# --- leader dashboard ---
# /forecast/dashboard/: the leader's (company) or manager's (their teams) dashboard of a
# period and a team — charts with the numbers in tables under them; every number links to
# /forecast/deals/, the deals behind it. Both pages download any of their tables with
# ?format=csv&table=<name>. A rep is sent to their forecast page (as coaching sends a rep
# away from the manager's forms); bad input is a 422 page saying what is wrong; a team or
# person outside the user's scope is a 404.

ACCURACY_PARTIAL = "forecasting/partials/accuracy_table.html"


def _dashboard_invalid(request: HttpRequest, exc: ValidationFailed, back: str) -> HttpResponse:
    """The 422 page: the error in words (each field's messages) and a way back."""
    problems = [
        message
        for messages_ in (exc.details or {}).values()
        for message in (messages_ if isinstance(messages_, list) else [messages_])
    ]
    return render(
        request,
        "forecasting/dashboard_invalid.html",
        {"message": exc.message, "problems": problems, "back": back},
        status=INVALID,
    )


def _scope_slug(team_id, owner_id=None, *, company: bool = False) -> str:
    if owner_id:
        return f"person-{owner_id}"
    if team_id:
        return f"team-{team_id}"
    return "company" if company else "my-scope"


@login_required
@require_GET
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    """The forecast dashboard: `period` (a label; default the current quarter), `team`
    (one of the user's teams; default all they see), `format=csv&table=<name>` (see
    forecasting.dashboard.DASHBOARD_TABLES). Reps are redirected to their forecast page."""
    from django.conf import settings as django_settings
    from django.template import TemplateDoesNotExist
    from django.template.loader import get_template

    from forecasting import dashboard as forecast_dashboard

    user = request.user
    if not forecast_dashboard.may_see_dashboard(user):
        messages.info(request, "The forecast dashboard is for managers and leaders.")
        return redirect("forecasting:home")
    back = reverse("forecasting:dashboard")
    try:
        dash = forecast_dashboard.dashboard_data(
            user, request.GET.get("period") or None, request.GET.get("team") or None
        )
    except ValidationFailed as exc:
        return _dashboard_invalid(request, exc, back)
    if request.GET.get("format") == "csv":
        table = request.GET.get("table", "")
        try:
            rows = forecast_dashboard.csv_table(dash, table)
        except ValidationFailed as exc:
            return _dashboard_invalid(request, exc, back)
        scope = _scope_slug(dash.scope.team_id, company=dash.scope.company)
        name = csv_filename("forecast-dashboard", dash.period.label, scope, table)
        return csv_response(name, rows)
    try:
        get_template(ACCURACY_PARTIAL)
        accuracy_partial = ACCURACY_PARTIAL
    except TemplateDoesNotExist:  # built by another part of issue 6
        accuracy_partial = None
    query = {"period": dash.period.label, "team": dash.scope.team_id or ""}
    return render(
        request,
        "forecasting/dashboard.html",
        {
            "dash": dash,
            "charts": forecast_dashboard.dashboard_charts(dash),
            "tables": forecast_dashboard.dashboard_tables(dash),
            "totals": forecast_dashboard.dashboard_totals(dash),
            "accuracy": dash.accuracy,
            "accuracy_partial": accuracy_partial,
            "csv_base": f"{back}?{urlencode(query)}&format=csv&table=",
            "snapshot_hour": django_settings.PIPELINE_SNAPSHOT_HOUR,
        },
    )


@login_required
@require_GET
def deals(request: AuthenticatedRequest) -> HttpResponse:
    """The deals behind one number of the dashboard (or of any forecast page): exactly one
    of `figure` (a summary figure; with `period`, `team`, `owner`), `change` (a
    week-over-week change; with `week`, `period`, `team`, `owner`) or `category` (a trend
    point: the `week`'s snapshot rows; with `period`, `team`, `owner`). Paginated (`page`);
    `format=csv&table=deals` downloads every row. Everyone in their own scope."""
    from forecasting import dashboard as forecast_dashboard

    q = request.GET
    user = request.user
    want_csv = q.get("format") == "csv"
    size = None if want_csv else forecast_dashboard.DEALS_PAGE_SIZE
    given = [name for name in ("figure", "change", "category") if q.get(name)]
    back = (
        reverse("forecasting:dashboard")
        if forecast_dashboard.may_see_dashboard(user)
        else reverse("forecasting:home")
    )
    try:
        if len(given) != 1:
            raise ValidationFailed(
                "Say which number to list: one of figure, change or category.",
                details={
                    "number": [
                        "Give exactly one of figure=<figure>, change=<change> (with week) "
                        "or category=<category> with week=<YYYY-MM-DD>."
                    ]
                },
            )
        common: dict[str, Any] = {"page": q.get("page"), "page_size": size}
        if given == ["figure"]:
            found = forecast_dashboard.figure_deals(
                user, q["figure"], q.get("period"), q.get("team"), q.get("owner"), **common
            )
        elif given == ["change"]:
            found = forecast_dashboard.change_deals(
                user, q["change"], q.get("period"), q.get("week"), q.get("team"),
                q.get("owner"), **common,
            )  # fmt: skip
        else:
            found = forecast_dashboard.snapshot_deals(
                user, q["category"], q.get("week"), q.get("period"), q.get("team"),
                q.get("owner"), **common,
            )  # fmt: skip
        if want_csv and q.get("table", "deals") != "deals":
            raise ValidationFailed(details={"table": ["This page has one table: table=deals."]})
    except ValidationFailed as exc:
        return _dashboard_invalid(request, exc, back)
    if want_csv:
        name = csv_filename(
            "forecast-deals",
            found.period.label,
            _scope_slug(found.team_id, found.owner_id, company=user.sees_everything),
            found.key,
            found.week.isoformat() if found.week else None,
        )
        return csv_response(name, forecast_dashboard.deals_csv_rows(found))
    if forecast_dashboard.may_see_dashboard(user):  # back to the same period and team
        scope = {"period": found.period.label, "team": found.team_id or ""}
        back = f"{back}?{urlencode(scope)}"
    query = q.copy()
    query.pop("page", None)
    return render(
        request,
        "forecasting/deals.html",
        {
            "found": found,
            "back": back,
            "query": query.urlencode(),
            "csv_url": f"?{query.urlencode()}&format=csv&table=deals",
        },
    )


# --- forecast pages and calls ---
# /forecast/: a rep's numbers beside their call form, their calls of the period; a
# manager's (or leader's) team roll-up — each rep's numbers and latest call, the sum of
# the calls — beside the team call form and the team's calls. POST /forecast/calls/ calls
# forecast_submit and redirects back (PRG), or re-renders the page with the errors.
# ?format=csv&table=rollup|calls downloads a table of the page (the calls: all of them).

FORECAST_TABLES = {"team": ("rollup", "calls"), "rep": ("calls",)}


def _calls_for_team(user) -> bool:
    """forecast_submit's split: a rep calls for themselves, everyone else for a team."""
    return not user.is_rep or user.is_superuser


def _period_choices(period: rules.Period) -> list[tuple[str, list[rules.Period]]]:
    """The periods the picker offers: quarters from two back to the next, months from two
    back to two ahead, and the period shown when it is none of them."""
    calendar = forecasting_services.fiscal_calendar()
    today = forecasting_services.local_today()
    quarter = calendar.period_of(today, rules.PeriodKind.QUARTER)
    month = calendar.period_of(today, rules.PeriodKind.MONTH)
    quarters = [quarter.shifted(n) for n in range(-2, 2)]
    months = [month.shifted(n) for n in range(-2, 3)]
    if period not in quarters and period not in months:
        (quarters if period.kind is rules.PeriodKind.QUARTER else months).append(period)
    return [("Quarters", quarters), ("Months", months)]


def _forecast_page(user, period_label, team_id, *, calls_limit=selectors.FORECAST_PAGE_CALLS):
    """The page's data and the period's error: a bad period label shows the current quarter
    with the parser's message. A team outside the user's scope is a 404 (a rep has none to
    pick)."""
    period_error = ""
    try:
        period = selectors.period_or_current(period_label)
    except ValidationFailed as exc:
        period_error = exc.details.get("period", [exc.message])[0]
        period = selectors.period_or_current(None)
    if _calls_for_team(user):
        page = selectors.team_forecast_page(user, period, team_id, calls_limit=calls_limit)
    elif team_id not in (None, ""):
        raise Http404("No such team.")
    else:
        page = selectors.rep_forecast_page(user, period, calls_limit=calls_limit)
    return page, period_error


def _call_form(user, page, data=None) -> ForecastCallForm:
    """The call form, prefilled with the user's latest call of the period; without one a
    rep's with the system's commit and best case (closed won included), a team's with the
    sum of its reps' calls (when any rep called), else the team's system numbers."""
    for_team = _calls_for_team(user)
    latest = page.my_latest_call if for_team else page.latest_call
    figures = page.totals if for_team else page.figures
    if latest is not None:
        initial = {"commit": latest.commit, "best_case": latest.best_case, "notes": latest.notes}
    elif for_team and page.reps_called:
        initial = {"commit": page.calls_sum_commit, "best_case": page.calls_sum_best_case}
    else:
        initial = {
            "commit": figures.commit_cumulative,
            "best_case": figures.best_case_cumulative,
        }
    return ForecastCallForm(data, initial=initial, for_team=for_team)


def _render_forecast(request, page, form, period_error="", status=200) -> HttpResponse:
    try:
        dashboard_url = reverse("forecasting:dashboard")
    except NoReverseMatch:  # the leader dashboard is not there yet
        dashboard_url = None
    return render(
        request,
        "forecasting/home.html",
        {
            "page": page,
            "form": form,
            "for_team": _calls_for_team(request.user),
            "period_error": period_error,
            "period_choices": _period_choices(page.period),
            "period_open": page.period.end > forecasting_services.local_today(),
            "dashboard_url": dashboard_url,
        },
        status=status,
    )


def _forecast_csv(page, table: str, for_team: bool) -> HttpResponse:
    if table not in FORECAST_TABLES["team" if for_team else "rep"]:
        raise Http404("No such table.")
    scope = f"team-{page.team.pk}" if for_team else "mine"
    name = csv_filename("forecast", page.period.label, scope, table)
    if table == "rollup":
        return csv_response(name, _rollup_csv_rows(page))
    return csv_response(name, _calls_csv_rows(page))


def _rollup_csv_rows(page):
    yield [
        "person", "closed_won", "commit", "best_case", "pipeline", "weighted_pipeline",
        "quota", "attainment_percent", "remaining", "coverage", "call_commit",
        "call_best_case", "call_currency", "call_submitted_at", "submitted_this_week",
        "currency",
    ]  # fmt: skip

    def numbers(f):
        return [
            f.closed_won, f.commit, f.best_case, f.pipeline, f.weighted_pipeline, f.quota,
            f.attainment_percent, f.remaining, f.coverage,
        ]  # fmt: skip

    for row in page.rows:
        yield [
            row.name,
            *numbers(row.figures),
            row.call_commit,
            row.call_best_case,
            row.call_currency,
            row.call_submitted_at,
            row.submitted_this_week,
            page.currency,
        ]
    yield [f"Total {page.team.name}", *numbers(page.totals), *[None] * 5, page.currency]
    yield [
        "Sum of the reps' calls", *[None] * 9, page.calls_sum_commit,
        page.calls_sum_best_case, page.currency, None, None, page.currency,
    ]  # fmt: skip


def _calls_csv_rows(page):
    yield [
        "submitted_at", "submitter", "level", "team", "period", "commit", "best_case",
        "currency", "notes", "adjustment_note", "status",
    ]  # fmt: skip
    for call in page.calls:
        yield [
            call.submitted_at,
            str(call.submitter),
            call.level,
            call.team.name if call.team_id else None,
            page.period.label,
            call.commit,
            call.best_case,
            call.currency,
            call.notes,
            call.adjustment_note,
            "latest" if call.next_id is None else "superseded",
        ]


@login_required
@require_GET
def forecast_home(request: AuthenticatedRequest) -> HttpResponse:
    """The signed-in person's forecast page (see above): `period` (a label; default the
    current quarter; a bad one shows the current quarter with the error, 422), `team` (the
    team shown to a manager or leader; outside their teams, or any for a rep: 404),
    `format=csv` with `table`. A fixed number of queries however many reps, deals, calls."""
    user = request.user
    want_csv = request.GET.get("format") == "csv"
    page, period_error = _forecast_page(
        user,
        request.GET.get("period"),
        request.GET.get("team"),
        calls_limit=None if want_csv else selectors.FORECAST_PAGE_CALLS,
    )
    if want_csv and not period_error:
        return _forecast_csv(page, request.GET.get("table", ""), _calls_for_team(user))
    return _render_forecast(
        request,
        page,
        _call_form(user, page),
        period_error,
        status=INVALID if period_error else 200,
    )


@login_required
@require_POST
def forecast_call_submit(request: AuthenticatedRequest) -> HttpResponse:
    """Submit a call (forecast_submit): a rep's own, or with `team` a team's. Success:
    back to the page of the period (and team) with a message. Refused: the page again with
    the errors on the form and what was typed (422; 403 when the service refuses the
    person, 409 for a period that is over); a team outside the user's scope is a 404."""
    user = request.user
    period_label = request.POST.get("period", "")
    team_id = request.POST.get("team") or None
    form = ForecastCallForm(request.POST, for_team=_calls_for_team(user))
    status = INVALID
    if form.is_valid():
        try:
            call = forecasting_services.forecast_submit(
                actor=user, period=period_label, team_id=team_id, **form.service_fields()
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            add_service_errors(form, exc)
            status = INVALID if isinstance(exc, ValidationFailed) else exc.status
        else:
            label = selectors.submission_period_label(call)
            whose = f"{call.team.name}'s" if call.team is not None else "Your"
            messages.success(
                request,
                f"{whose} call for {label} is saved: commit {call.commit:,.2f}, best case "
                f"{call.best_case:,.2f} {call.currency}.",
            )
            query = {"period": label} | ({"team": call.team_id} if call.team_id else {})
            return redirect(f"{reverse('forecasting:home')}?{urlencode(query)}")
    # A team the user may not pick is a 404 here too; a bad period shows the current one.
    page, period_error = _forecast_page(
        user, period_label, team_id if _calls_for_team(user) else None
    )
    return _render_forecast(request, page, form, period_error, status=status)


# --- forecast meetings ---
# /forecast/meetings/ (the list), /forecast/meetings/new/ (the form beside the numbers that
# will be frozen), /forecast/meetings/<pk>/ (the frozen numbers, deltas, changes, risks,
# the notes form; ?format=csv&table=figures|risks|changes downloads a table) and
# /forecast/meetings/<pk>/edit/. A rep reads the meetings they attended and is sent to the
# list from the form; the service refuses what a rep posts (403).

MEETING_PAGE_SIZE = 50
MEETING_FIGURES = (
    ("closed_won", "Closed won"),
    ("commit", "Commit"),
    ("best_case", "Best case"),
    ("pipeline", "Pipeline"),
    ("commit_cumulative", "Commit (cumulative)"),
    ("best_case_cumulative", "Best case (cumulative)"),
    ("pipeline_cumulative", "Pipeline (cumulative)"),
    ("open_pipeline", "Open pipeline"),
    ("weighted_pipeline", "Weighted pipeline"),
    ("quota", "Quota"),
    ("attainment_percent", "Attainment %"),
    ("remaining", "Remaining quota"),
    ("coverage", "Coverage"),
)
MEETING_CSV_TABLES = ("figures", "risks", "changes")


@login_required
@require_GET
def meeting_list(request: AuthenticatedRequest) -> HttpResponse:
    """The forecast meetings the user may see, latest first; filters period and team."""
    user = request.user
    teams = selectors.meeting_teams_for(user)
    form = MeetingFilterForm(request.GET or None, teams=teams)
    filters: dict = {}
    status = 200
    if form.is_bound and form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
    elif form.is_bound:
        status = INVALID
    try:
        rows = selectors.meetings_for(user, **filters)
    except ValidationFailed as exc:
        add_service_errors(form, exc)
        rows, status = selectors.meetings_for(user).none(), INVALID
    page = Paginator(rows, MEETING_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "forecasting/meeting_list.html",
        {
            "form": form,
            "page": page,
            "filtered": bool(filters),
            "can_hold": bool(teams),
            "show_team_filter": bool(teams),
            "rows": [(m, selectors.meeting_period_label(m)) for m in page.object_list],
        },
        status=status,
    )


def _meeting_form_state(request: AuthenticatedRequest, data=None):
    """The form of a new meeting with the chosen team's people, the team, the period
    whose numbers are shown and, when the period asked for is not one, why (the current
    quarter is shown instead)."""
    user = request.user
    teams = selectors.meeting_teams_for(user)
    source = data if data is not None else request.GET
    team_id = query_int(source.get("team"))
    team = next((t for t in teams if t.pk == team_id), teams[0] if teams else None)
    period_error = ""
    try:
        period = selectors.period_or_current((source.get("period") or "").strip() or None)
    except ValidationFailed as exc:
        period_error = exc.details.get("period", [exc.message])[0]
        period = selectors.period_or_current(None)
    people = selectors.meeting_attendee_candidates(team.pk) if team else []
    initial = {
        "period": period.label,
        "team": team.pk if team else None,
        "held_on": forecasting_services.local_today(),
        # Pre-ticked: the team's own people (members and managers), not every leader.
        "attendees": [p.pk for p in people if p.role != "leader" or p.pk == user.pk],
    }
    if data is None:
        for name in ("held_on", "notes"):
            if request.GET.get(name):
                initial[name] = request.GET.get(name)
    form = MeetingForm(
        data, initial=initial, teams=teams, people=people, periods=_period_choices(period)
    )
    return form, team, period, period_error


def _render_meeting_form(request, form, team, period, period_error="", status=200):
    """The form beside the numbers that would be frozen now. A period that is not one is
    said once, beside the field: a link's (`period_error`; the current quarter's numbers
    are shown) or a posted one (the form's error; no numbers)."""
    numbers = None
    if team is not None and not (form.is_bound and "period" in form.errors):
        numbers = selectors.meeting_numbers(request.user, period, team.pk)
    return render(
        request,
        "forecasting/meeting_form.html",
        {
            "form": form,
            "team": team,
            "period": period,
            "period_error": period_error,
            "numbers": numbers,
            "figure_rows": _figure_rows(numbers.figures, None) if numbers else [],
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request: AuthenticatedRequest) -> HttpResponse:
    """Record a forecast meeting: choose the team and period (the numbers that will be
    frozen are shown), date, attendees and notes."""
    user = request.user
    if request.method == "GET":
        if not selectors.meeting_teams_for(user):
            messages.info(request, "Forecast meetings are recorded by the team's manager.")
            return redirect("forecasting:meeting_list")
        form, team, period, period_error = _meeting_form_state(request)
        return _render_meeting_form(request, form, team, period, period_error)
    # A posted period that is not one is the form's error (said once, at the field).
    form, team, period, _ = _meeting_form_state(request, request.POST)
    if team is None:  # no team to pick: the service says why (a rep: 403)
        form.is_valid()
        try:
            forecasting_services.meeting_create(
                actor=user, period=period, team_id=request.POST.get("team")
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            add_service_errors(form, exc)
            status = INVALID if exc.status in (400, 409) else exc.status
            return _render_meeting_form(request, form, team, period, status=status)
    if not form.is_valid():
        return _render_meeting_form(request, form, team, period, status=INVALID)
    try:
        meeting = forecasting_services.meeting_create(actor=user, **form.service_fields())
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        add_service_errors(form, exc)
        status = INVALID if exc.status in (400, 409) else exc.status
        return _render_meeting_form(request, form, team, period, status=status)
    messages.success(request, f"Forecast meeting of {meeting.team} recorded.")
    return redirect("forecasting:meeting_detail", pk=meeting.pk)


def _figure_rows(figures: dict, deltas: dict | None) -> list[dict]:
    totals = figures.get("totals") or {}
    return [
        {
            "name": name,
            "label": label,
            "value": totals.get(name),
            "delta": (deltas or {}).get(name),
        }
        for name, label in MEETING_FIGURES
    ]


def _meeting_csv(meeting, table: str) -> HttpResponse:
    label = selectors.meeting_period_label(meeting)
    filename = csv_filename("forecast-meeting", meeting.team.name, label, meeting.held_on, table)
    if table == "figures":
        header = ["owner", *(name for name, _ in MEETING_FIGURES)]
        rows = [header]
        for row in meeting.figures.get("by_owner", []):
            rows.append([row["name"], *(row.get(name) for name, _ in MEETING_FIGURES)])
        totals = meeting.figures.get("totals", {})
        rows.append(["Total", *(totals.get(name) for name, _ in MEETING_FIGURES)])
        return csv_response(filename, rows)
    if table == "risks":
        rows = [["deal id", "deal", "owner", "forecast category", "amount", "currency",
                 "close date", "severity", "reasons"]]  # fmt: skip
        for r in meeting.risks:
            rows.append([
                r["opportunity_id"], r["name"], r["owner_name"], r["forecast_category"],
                r["amount"], r["currency"], r["close_date"], r["severity"],
                "; ".join(r["reasons"]),
            ])  # fmt: skip
        return csv_response(filename, rows)
    rows = [["change", "deal id", "deal", "currency", "delta", "amount before", "amount after",
             "close date before", "close date after"]]  # fmt: skip
    for group in meeting.changes.get("deals", []):
        for item in group["items"]:
            rows.append([
                group["label"], item["opportunity_id"], item["name"], item["currency"],
                item["delta"], item["amount_before"], item["amount_after"],
                item["close_date_before"], item["close_date_after"],
            ])  # fmt: skip
    return csv_response(filename, rows)


def _risk_rows(risks: list[dict]) -> list[dict]:
    """The frozen risks as the page shows them: the category's label, the close date as a
    date (the JSON keeps codes and ISO dates)."""
    labels: dict[str | None, str] = dict(ForecastCategory.choices)
    return [
        {
            **risk,
            "category_label": labels.get(risk.get("forecast_category"), ""),
            "close": dt.date.fromisoformat(risk["close_date"]) if risk.get("close_date") else None,
        }
        for risk in risks
    ]


def _render_meeting_detail(request: AuthenticatedRequest, meeting, *, edit_form=None, status=200):
    user = request.user
    can_change = forecasting_services.can_hold_forecast_meeting(user, meeting.team_id)
    if can_change and edit_form is None:
        edit_form = MeetingEditForm(
            initial={
                "held_on": meeting.held_on,
                "attendees": [u.pk for u in meeting.attendees.all()],
                "notes": meeting.notes,
            },
            people=_meeting_people(meeting),
        )
    previous, following = selectors.meeting_neighbours(user, meeting)
    changes = meeting.changes or {}
    return render(
        request,
        "forecasting/meeting_detail.html",
        {
            "meeting": meeting,
            "period_label": selectors.meeting_period_label(meeting),
            "figure_rows": _figure_rows(meeting.figures, changes.get("figure_deltas")),
            "risk_rows": _risk_rows(meeting.risks or []),
            "changes": changes,
            "change_groups": [g for g in changes.get("deals", []) if g["count"]],
            "previous": previous,
            "following": following,
            "can_change": can_change,
            "edit_form": edit_form,
            "edit_open": edit_form is not None and edit_form.is_bound,
            "csv_tables": MEETING_CSV_TABLES,
        },
        status=status,
    )


def _meeting_people(meeting) -> list:
    """Who may attend, plus the meeting's attendees who no longer may (kept, not lost)."""
    people = selectors.meeting_attendee_candidates(meeting.team_id)
    known = {p.pk for p in people}
    return people + [u for u in meeting.attendees.all() if u.pk not in known]


@login_required
@require_GET
def meeting_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A meeting: its frozen numbers with the deltas against the previous meeting, the deal
    changes, the risks, the notes; links to the previous and next meeting."""
    meeting = selectors.meeting_get_for(request.user, pk)
    if request.GET.get("format") == "csv":
        table = request.GET.get("table", "")
        if table not in MEETING_CSV_TABLES:
            return HttpResponse(
                f"Unknown table {table[:40]!r}: choose {', '.join(MEETING_CSV_TABLES)}.",
                status=INVALID,
                content_type="text/plain; charset=utf-8",
            )
        return _meeting_csv(meeting, table)
    return _render_meeting_detail(request, meeting)


@login_required
@require_POST
def meeting_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Change the notes, attendees or date (a manager of the team, or a leader). `version`
    (hidden) refuses overwriting someone else's change."""
    meeting = selectors.meeting_get_for(request.user, pk)
    form = MeetingEditForm(request.POST, people=_meeting_people(meeting))
    if not form.is_valid():
        return _render_meeting_detail(request, meeting, edit_form=form, status=INVALID)
    try:
        forecasting_services.meeting_update(
            actor=request.user,
            meeting_id=meeting.pk,
            expected_version=query_int(request.POST.get("version")),
            **form.service_fields(),
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        add_service_errors(form, exc)
        status = INVALID if exc.status in (400, 409) else exc.status
        return _render_meeting_detail(request, meeting, edit_form=form, status=status)
    messages.success(request, "Forecast meeting saved.")
    return redirect("forecasting:meeting_detail", pk=meeting.pk)
