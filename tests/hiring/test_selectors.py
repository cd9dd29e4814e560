"""Who sees which candidate and scorecard — independence first — and the decision grid."""

from __future__ import annotations

import pytest

from hiring import selectors, services
from salesops.exceptions import NotFound
from salesops.models import AuditEvent
from tests.hiring.conftest import fill, schedule


def test_candidates_are_seen_by_recruiters_the_hiring_manager_and_their_interviewers(
    candidate, recruiter, admin_user, manager, other_manager, rep, leader, interviewer_a
):
    schedule(recruiter, candidate, interviewer_a, "Discovery")
    for sees in (recruiter, admin_user, manager, interviewer_a):
        assert list(selectors.candidate_list_for(sees)) == [candidate]
        assert selectors.candidate_for(sees, candidate.pk) == candidate
    for outsider in (rep, other_manager, leader):  # a rep, another team, even a leader
        assert not selectors.candidate_list_for(outsider).exists()
        with pytest.raises(NotFound):
            selectors.candidate_for(outsider, candidate.pk)
    viewed = AuditEvent.objects.filter(action="hiring.candidate_viewed", target_id=candidate.pk)
    assert viewed.count() == 4  # every view, by whom
    assert set(viewed.values_list("actor__username", flat=True)) == {
        recruiter.username, admin_user.username, manager.username, interviewer_a.username,
    }  # fmt: skip


def test_an_interviewer_sees_no_other_scorecard_until_they_submitted_their_own(
    candidate, recruiter, manager, interviewer_a, interviewer_b
):
    first = schedule(recruiter, candidate, interviewer_a, "Discovery")
    second = schedule(recruiter, candidate, interviewer_b, "Discovery")
    fill(interviewer_a, first, 5)
    services.scorecard_submit(actor=interviewer_a, interview_id=first.pk)
    fill(interviewer_b, second, 2, recommendation=2)  # a draft

    with pytest.raises(NotFound):  # B owes theirs: A's is hidden, as if it did not exist
        selectors.scorecard_for(interviewer_b, first.pk)
    assert [s.interview_id for s in selectors.scorecards_for(interviewer_b, candidate)] == [
        second.pk
    ]
    with pytest.raises(NotFound):  # a draft is its author's only
        selectors.scorecard_for(interviewer_a, second.pk)
    with pytest.raises(NotFound):
        selectors.scorecard_for(manager, second.pk)
    assert selectors.scorecard_for(manager, first.pk).interview_id == first.pk

    services.scorecard_submit(actor=interviewer_b, interview_id=second.pk)
    assert selectors.scorecard_for(interviewer_b, first.pk).recommendation == 4
    assert selectors.scorecard_for(interviewer_a, second.pk).recommendation == 2


def test_the_decision_grid_shows_who_said_what_and_where_they_disagree(
    candidate, recruiter, manager, interviewer_a, interviewer_b, rep
):
    first = schedule(recruiter, candidate, interviewer_a, "Discovery", "Coachability")
    second = schedule(recruiter, candidate, interviewer_b, "Discovery")
    fill(interviewer_a, first, 5, recommendation=5)
    services.scorecard_submit(actor=interviewer_a, interview_id=first.pk)
    grid = selectors.decision_grid_for(manager, candidate.pk)
    assert grid.pending == 1 and len(grid.columns) == 1

    fill(interviewer_b, second, 2, recommendation=2)
    services.scorecard_submit(actor=interviewer_b, interview_id=second.pk)
    grid = selectors.decision_grid_for(manager, candidate.pk)
    assert [c.recommendation for c in grid.columns] == ["Strong yes", "No"]
    lines = {line.name: line for line in grid.lines}
    assert lines["Discovery"].ratings == (5, 2) and lines["Discovery"].disagreement
    assert lines["Coachability"].ratings == (5, None) and not lines["Coachability"].disagreement
    assert {line.name for line in grid.unassessed} == {
        "Learning agility", "Customer first", "Past attainment",
    }  # fmt: skip
    # Discovery 3.5 (selling skill, weight 2), Coachability 5 (attitude, 3): 22 / 5.
    assert grid.weighted == pytest.approx(4.4)
    for not_deciding in (interviewer_a, rep):
        with pytest.raises(NotFound):
            selectors.decision_grid_for(not_deciding, candidate.pk)
