"""Coaching coverage and the coaching home page: the selectors (scope, windows, totals,
refusals), the page for a rep, a manager and a leader, and fixed query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coaching import selectors
from coaching.cadence import cadence_refresh
from coaching.models import CoachingSession
from salesops.exceptions import PermissionDenied, ValidationFailed
from salesops.models import Role
from tests.coaching import coverage_world
from tests.coaching.coverage_world import days_ago
from tests.factories import UserFactory

HOME = "/coaching/"
FIELDS = ("reps", "coached", "one_on_ones", "reviews", "items_due", "items_on_time")


@pytest.fixture
def world(rep, teammate, manager, other_rep, other_manager, team_a, leader):
    return coverage_world.build(rep, teammate, manager, other_rep, other_manager, team_a)


def counts(coverage) -> dict[int | None, tuple]:
    return {r.manager_id: tuple(getattr(r, f) for f in FIELDS) for r in coverage.rows}


def test_manager_sees_themselves_and_their_sub_teams_managers(world, manager):
    coverage = selectors.coverage_for(manager)
    assert counts(coverage) == {
        manager.pk: (2, 1, 1, 1, 3, 1),
        world.sub_manager.pk: (1, 0, 0, 0, 0, 0),
    }
    mine = next(r for r in coverage.rows if r.manager_id == manager.pk)
    assert mine.coached_share == 0.5 and mine.on_time_share == pytest.approx(1 / 3)
    assert coverage.totals.manager_id is None
    assert tuple(getattr(coverage.totals, f) for f in FIELDS) == (3, 1, 1, 1, 3, 1)
    assert (coverage.since, coverage.items_from) == (days_ago(29), days_ago(30))


def test_ninety_day_window(world, manager):
    coverage = selectors.coverage_for(manager, days=90)
    assert counts(coverage)[manager.pk] == (2, 1, 2, 2, 4, 2)


def test_leader_sees_every_manager_and_filters_by_team(world, leader, manager, other_manager):
    everyone = selectors.coverage_for(leader)
    assert counts(everyone) == {
        manager.pk: (2, 1, 1, 1, 3, 1),
        world.sub_manager.pk: (1, 0, 0, 0, 0, 0),
        other_manager.pk: (1, 1, 0, 0, 0, 0),
    }
    assert everyone.totals.reps == 4 and everyone.totals.coached == 2
    sub = selectors.coverage_for(leader, world.sub.pk)
    assert counts(sub) == {world.sub_manager.pk: (1, 0, 0, 0, 0, 0)}
    assert sub.team == world.sub


def test_a_team_outside_the_scope_is_a_404(world, manager, other_manager, team_b, leader):
    with pytest.raises(Http404):
        selectors.coverage_for(manager, team_b.pk)
    with pytest.raises(Http404):
        selectors.coverage_for(other_manager, world.sub.pk)
    for bad in ("abc", 10**20, -1):
        with pytest.raises(Http404):
            selectors.coverage_for(leader, bad)
    assert counts(selectors.coverage_for(manager, world.sub.pk)) == {
        world.sub_manager.pk: (1, 0, 0, 0, 0, 0)
    }


def test_a_rep_is_refused(world, rep):
    with pytest.raises(PermissionDenied):
        selectors.coverage_for(rep)


@pytest.mark.parametrize("days", [6, 366, 0, "30", True, None])
def test_days_outside_the_range_are_refused(world, manager, days):
    with pytest.raises(ValidationFailed) as exc:
        selectors.coverage_for(manager, days=days)
    assert "days" in exc.value.details


def test_a_manager_without_reps_gets_a_row_without_shares(world, leader, team_b, other_rep):
    other_rep.is_active = False
    other_rep.save(update_fields=["is_active"])
    row = next(r for r in selectors.coverage_for(leader).rows if r.manager_id == team_b.manager_id)
    assert (row.reps, row.coached_share, row.on_time_share) == (0, None, None)


def test_coverage_query_count_is_fixed(world, leader, manager, django_assert_num_queries):
    with django_assert_num_queries(2):  # teams, the aggregate
        selectors.coverage_for(leader)
    coverage_world.many_managers(25)
    with django_assert_num_queries(2):
        rows = selectors.coverage_for(leader).rows
    assert len(rows) == 28
    with django_assert_num_queries(3):  # managed teams, teams, the aggregate
        selectors.coverage_for(manager)


def test_one_on_ones_due_most_overdue_first(world, manager, rep, teammate):
    schedule = selectors.one_on_ones_due_for(manager)
    assert [r.rep_id for r in schedule] == [rep.pk, teammate.pk]
    assert schedule[0].overdue and schedule[0].days_overdue == 33
    assert not schedule[1].overdue and schedule[1].days_left == 11
    assert [r.rep_id for r in selectors.overdue_one_on_ones_for(manager)] == [rep.pk]
    assert selectors.next_one_on_one_for(rep).due_on == days_ago(33)
    assert selectors.next_one_on_one_for(manager) is None


def test_coaching_flags_in_scope(world, rep, teammate, manager, other_manager, leader):
    cadence_refresh()
    mine = {f.kind for f in selectors.coaching_flags_for(manager)}
    assert mine == {"one_on_one_overdue", "action_item_overdue"}
    assert selectors.coaching_flags_for(manager).count() == 3  # own, teammate's, sub's
    assert selectors.coaching_flags_for(leader).count() == 3
    assert selectors.coaching_flags_for(other_manager).count() == 0
    assert selectors.coaching_flags_for(rep).count() == 0
    assert [f.kind for f in selectors.coaching_flags_for(teammate)] == ["action_item_overdue"]
    assert selectors.coaching_flags_for(manager, "action_item_overdue").count() == 1
    assert [f.rep_id for f in selectors.my_coaching_flags(manager)] == [rep.pk]


# --- the page ---------------------------------------------------------------------------


def page(client, user, params=None):
    client.force_login(user)
    return client.get(HOME, params or {})


def test_navbar_points_at_the_coaching_home(client, rep):
    client.force_login(rep)
    body = client.get(reverse("pipeline:board")).content.decode()
    assert f'href="{HOME}" data-testid="nav-coaching"' in body


def test_rep_sees_their_next_1_1_items_and_flags(client, world, rep, teammate):
    cadence_refresh()
    body = page(client, rep).content.decode()
    assert 'data-testid="next-one-on-one"' in body and "overdue" in body
    assert days_ago(33).strftime("%b %Y") in body
    assert 'data-testid="coverage-table"' not in body and 'data-testid="coverage-card"' not in body
    assert 'data-testid="coaching-subnav"' in body
    body = page(client, teammate).content.decode()
    assert body.count('data-testid="home-item"') == 2  # Still open, Not due yet
    assert body.count('data-testid="coaching-flag"') == 1 and "Still open" in body


def test_manager_sees_coverage_overdue_reps_flags_and_items(client, world, manager, rep):
    cadence_refresh()
    response = page(client, manager)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="coverage-card"' in body and "50%" in body
    assert 'data-testid="coverage-table"' in body  # they have a sub-team's manager
    assert body.count('data-testid="overdue-rep"') == 1
    assert f'href="/coaching/sessions/new/?rep={rep.pk}"' in body
    assert body.count('data-testid="upcoming-rep"') == 1
    assert body.count('data-testid="coaching-flag"') == 1
    assert body.count('data-testid="home-item"') == 2  # the open items they set


def test_leader_sees_the_table_filter_and_window(client, world, leader, manager):
    body = page(client, leader).content.decode()
    assert body.count('data-testid="coverage-row"') == 3
    assert 'data-testid="coverage-total"' in body
    assert 'data-testid="coverage-filter"' in body
    body = page(client, leader, {"team": world.sub.pk, "days": 90}).content.decode()
    assert body.count('data-testid="coverage-row"') == 1
    assert '<option value="90" selected>' in body


def test_bad_window_is_a_422_with_the_error(client, world, leader):
    response = page(client, leader, {"days": "abc"})
    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-testid="days-error"' in body and "7 to 365" in body
    assert body.count('data-testid="coverage-row"') == 3  # the default window still shows


def test_team_outside_scope_is_a_404_on_the_page(client, world, manager, team_b):
    assert page(client, manager, {"team": team_b.pk}).status_code == 404
    assert page(client, manager, {"team": "x"}).status_code == 404


def _queries(client, user, params=None) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(HOME, params or {}).status_code == 200
    return len(ctx.captured_queries)


def _more_rows(who: str, user, world, n: int) -> None:
    """More of what `who`'s page lists: managers (leader), reps and items they set
    (manager), overdue action items and their flags (rep)."""
    coverage_world.many_managers(n)
    for i in range(n):
        if who == "manager":
            UserFactory(role=Role.REP, team=user.team, started_on=days_ago(20 + i))
            coverage_world.item(world.session, due_days_ago=i % 4, done_days_ago=None)
        elif who == "rep":
            session = CoachingSession.objects.create(
                manager=world.session.manager,
                rep=user,
                held_on=days_ago(1),
                focus_skill=world.skill,
            )
            coverage_world.item(session, due_days_ago=1 + i, done_days_ago=None)


@pytest.mark.parametrize(("who", "bound"), [("leader", 6), ("manager", 10), ("rep", 7)])
def test_home_query_count_is_fixed(client, world, who, bound, request):
    user = request.getfixturevalue(who)
    _more_rows(who, user, world, 1)
    cadence_refresh()
    small = _queries(client, user)
    _more_rows(who, user, world, 30)
    cadence_refresh()
    big = _queries(client, user)
    assert big == small == bound, (small, big)
