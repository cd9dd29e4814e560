"""Results and the top-performer study on a hand-made team with known answers
(tests/insights/data.py): the numbers, who sees what, imported history, and the
suggestion the study draws."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from insights import selectors, services
from insights.models import Suggestion, SuggestionKind, SuggestionStatus
from insights.scope import scope_for
from pipeline.models import Milestone, Opportunity, OpportunityStatus
from salesops.exceptions import NotFound, PermissionDenied
from tests.factories import OpportunityFactory
from tests.insights.data import DEALS_PER_REP, REST_WINS, TOP_WINS, build_team


@pytest.fixture
def team8(pipeline, team_a, manager):
    return build_team(pipeline, team_a)


def test_results_per_rep_and_the_total(team8, leader):
    table = selectors.results_for(leader, scope_for(leader), group_by="rep")
    rows = {int(r.key): r for r in table.rows}
    top, other = rows[team8.top[0].pk], rows[team8.rest[0].pk]
    assert (top.created, top.closed, top.won, top.lost) == (8, 8, TOP_WINS, 2)
    assert top.won_amount == Decimal("300000.00") and top.median_won == Decimal("50000.00")
    assert top.win_rate == pytest.approx(0.75)
    assert top.win_rate_interval.contains(0.75)
    assert top.cycle_won_median == pytest.approx(30.0) and top.cycle_lost_mean == pytest.approx(30)
    assert (other.won, other.lost, other.won_amount) == (REST_WINS, 5, Decimal("30000.00"))
    assert [r.key for r in table.rows[:2]] == [str(u.pk) for u in team8.top] or {
        r.key for r in table.rows[:2]
    } == {str(u.pk) for u in team8.top}  # the largest won amounts first
    total = table.total
    assert total.closed == 8 * DEALS_PER_REP
    assert total.won == 2 * TOP_WINS + 6 * REST_WINS
    assert total.won_amount == Decimal("780000.00")


def test_stage_flow_from_history(team8, leader):
    flow = {f.stage: f for f in selectors.results_for(leader, scope_for(leader)).stage_flow}
    assert (flow["Discover"].entered, flow["Discover"].advanced) == (64, 64)
    proposal = flow["Proposal"]
    assert (proposal.entered, proposal.advanced, proposal.lost) == (64, 30, 34)
    assert proposal.median_days == pytest.approx(10.0)


def test_results_by_team_industry_and_size(team8, leader, team_a):
    scope = scope_for(leader)
    by_team = selectors.results_for(leader, scope, group_by="team").rows
    assert [(r.label, r.closed) for r in by_team] == [(team_a.name, 64)]
    by_industry = selectors.results_for(leader, scope, group_by="industry").rows
    assert [(r.label, r.won) for r in by_industry] == [("Energy", 30)]
    by_size = selectors.results_for(leader, scope, group_by="size").rows
    assert [r.label for r in by_size] == ["250–999 employees"]


def test_a_rep_sees_only_their_own_row_and_no_study(team8):
    rep = team8.rest[0]
    table = selectors.results_for(rep, scope_for(rep))
    assert [r.key for r in table.rows] == [str(rep.pk)]
    with pytest.raises(PermissionDenied):
        selectors.study_for(rep, scope_for(rep))
    with pytest.raises(PermissionDenied):
        selectors.results_for(rep, scope_for(rep), group_by="team")
    with pytest.raises(NotFound):
        scope_for(rep, team_id=rep.team_id)


def test_a_manager_studies_only_their_teams(team8, other_manager, team_a):
    with pytest.raises(NotFound):
        scope_for(other_manager, team_id=team_a.pk)
    table = selectors.results_for(other_manager, scope_for(other_manager))
    assert table.rows == [] and table.total.closed == 0


def test_the_top_group_and_the_first_gap(team8, leader):
    study = selectors.study_for(leader, scope_for(leader))
    assert set(study.group.top) == {u.pk for u in team8.top}
    assert len(study.group.rest) == 6 and study.group.too_few == ()
    gap = next(g for g in study.gaps if g.key == f"milestone:{team8.optional.pk}")
    assert (gap.top_value, gap.rest_value) == (1.0, pytest.approx(6 / 18))
    assert (gap.top_reps, gap.rest_reps, gap.deals) == (2, 6, 30)
    assert gap.enough_data and gap.distinguishable and gap.favours_top
    assert gap.effect.estimate == pytest.approx(1.0 - 6 / 18)  # δ of shares: their difference
    assert study.first_gap == gap  # the clearest gap ranks first


def test_min_closed_lists_reps_with_too_few_deals(team8, leader):
    study = selectors.study_for(leader, scope_for(leader, min_closed=9))
    assert study.group.top == () and len(study.group.too_few) == 8
    assert all(not g.enough_data for g in study.gaps)


def test_an_empty_range_has_no_numbers_and_no_gaps(team8, leader):
    day = timezone.localdate() + dt.timedelta(days=10)
    scope = scope_for(leader, start=day, end=day)
    table = selectors.results_for(leader, scope)
    assert table.rows == [] and table.total.closed == 0 and table.total.win_rate is None
    assert selectors.study_for(leader, scope).gaps == []


def test_imported_history_counts_in_results_not_in_behaviours(team8, leader, pipeline):
    rep = team8.rest[0]
    closed = timezone.now() - dt.timedelta(days=40)
    OpportunityFactory(
        owner=rep,
        stage=pipeline.stages.get(is_won=True),
        status=OpportunityStatus.WON,
        closed_at=closed,
        created_at=closed - dt.timedelta(days=60),
        imported_at=timezone.now(),
        amount=Decimal("5000.00"),
    )
    row = next(
        r for r in selectors.results_for(leader, scope_for(leader)).rows if r.key == str(rep.pk)
    )
    assert (row.won, row.won_amount) == (REST_WINS + 1, Decimal("35000.00"))
    study = selectors.study_for(leader, scope_for(leader))
    advances = study.behaviours["advances_met"].per_rep[rep.pk]
    assert advances.deals == DEALS_PER_REP  # the imported deal is not among them


def test_refresh_suggests_requiring_the_milestone_once(team8, leader, admin_user):
    first = services.suggestions_refresh()
    assert (first.created, first.updated) == (1, 0)
    suggestion = Suggestion.objects.get()
    assert suggestion.kind == SuggestionKind.REQUIRE_MILESTONE
    assert suggestion.proposal == {"milestone": team8.optional.pk}
    assert "2 vs 6 reps, 30 deals" in suggestion.evidence["sentence"]
    second = services.suggestions_refresh()
    assert (second.created, second.updated, Suggestion.objects.count()) == (0, 1, 1)

    services.suggestion_dismiss(suggestion_id=suggestion.pk, actor=admin_user, reason="Not now.")
    services.suggestions_refresh()
    assert Suggestion.objects.filter(status=SuggestionStatus.OPEN).count() == 0


def test_accepting_opens_an_experiment(team8, leader, admin_user):
    services.suggestions_refresh()
    services.suggestion_accept(suggestion_id=Suggestion.objects.get().pk, actor=admin_user)
    experiments = selectors.experiment_list_for(leader, scope_for(leader))
    assert len(experiments) == 1
    experiment = experiments[0]
    assert experiment.stage == "Proposal" and experiment.version == 2
    # Every deal entered Proposal before the change; none after: too few to tell yet.
    assert experiment.after.entered == 0
    assert {c.verdict for c in experiment.comparisons} == {"too_few"}
    assert Opportunity.objects.count() == 64


def test_milestones_the_system_checks_are_not_behaviours(team8, leader, pipeline):
    Milestone.objects.filter(pk=team8.optional.pk).update(auto_check="business_issue_mapped")
    study = selectors.study_for(leader, scope_for(leader))
    assert f"milestone:{team8.optional.pk}" not in study.behaviours
    assert any(key.startswith("milestone:") for key in study.behaviours)
