"""The coaching home (cadence and coverage).

One page for everyone, /coaching/ (no separate /coaching/coverage/: the leader's coverage
table IS their coaching home). A rep: their next 1:1, their open action items and flags.
A manager: their coverage, their reps by 1:1 due date, their flags and the action items
they set. A leader: the coverage table per manager (team filter, 30/90-day window)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from coaching import selectors
from coaching.views.common import INVALID
from salesops.exceptions import ValidationFailed
from salesops.http import AuthenticatedRequest

HOME_LIST_LIMIT = 50
HOME_WINDOWS = (30, 90)


@login_required
@require_GET
def coaching_home(request: AuthenticatedRequest) -> HttpResponse:
    """The coaching home page (see above). `team` (a leader's or manager's filter; outside
    the user's teams: 404) and `days` (the window, 7–365; the page offers 30 and 90). A bad
    `days` shows the default window with the error, status 422. A fixed number of queries
    however many managers, reps, flags and items."""
    user = request.user
    context: dict = {
        "flags": list(selectors.my_coaching_flags(user)[:HOME_LIST_LIMIT]),
        "session_new_url": reverse("coaching:session_create"),
        "windows": HOME_WINDOWS,
        "list_limit": HOME_LIST_LIMIT,
        "today": timezone.localdate(),
    }
    status = 200
    if not (user.is_manager or user.sees_everything):
        context["next_one_on_one"] = selectors.next_one_on_one_for(user)
        context["items"] = list(selectors.my_open_action_items(user)[:HOME_LIST_LIMIT])
        return render(request, "coaching/home.html", context)
    raw_days = request.GET.get("days", "")
    days = selectors.COVERAGE_DEFAULT_DAYS
    if raw_days:
        try:
            days = int(raw_days)
        except ValueError:
            days = -1
    team = request.GET.get("team") or None
    try:
        coverage = selectors.coverage_for(user, team, days)
    except ValidationFailed as exc:
        context["days_error"] = exc.details.get("days", [exc.message])[0]
        status = INVALID
        coverage = selectors.coverage_for(user, team, selectors.COVERAGE_DEFAULT_DAYS)
    context["coverage"] = coverage
    context["mine"] = next((r for r in coverage.rows if r.manager_id == user.pk), None)
    if user.is_manager:
        schedule = selectors.one_on_ones_due_for(user)
        context["overdue"] = [r for r in schedule if r.overdue]
        context["upcoming"] = [r for r in schedule if not r.overdue]
        context["items_set"] = list(selectors.open_action_items_set_by(user)[:HOME_LIST_LIMIT])
    return render(request, "coaching/home.html", context, status=status)
