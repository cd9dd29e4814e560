"""coaching.selectors: scope of assessments and the skills matrix with its trends."""

from __future__ import annotations

import pytest
from django.http import Http404

from coaching import selectors
from tests.coaching.conftest import assess
from tests.factories import TeamFactory, UserFactory


def test_assessments_scope(rep, teammate, manager, other_rep, other_manager, leader, skills):
    mine = assess(rep, skills[0], 2, by=manager)
    theirs = assess(teammate, skills[0], 3, by=manager)
    other = assess(other_rep, skills[0], 1, by=other_manager)
    assert list(selectors.assessments_for(rep)) == [mine]
    assert set(selectors.assessments_for(manager)) == {mine, theirs}
    assert set(selectors.assessments_for(leader)) == {mine, theirs, other}
    with pytest.raises(Http404):
        selectors.assessment_get_for(manager, other.pk)
    assert list(selectors.assessments_for(leader, {"team": other_rep.team_id})) == [other]


def _cell(matrix, rep, skill):
    row = next(r for r in matrix.rows if r.rep == rep)
    return next(c for c in row.cells if c.skill == skill)


def test_matrix_trends(rep, teammate, manager, skills):
    s0, s1, s2, s3 = skills[:4]
    assess(rep, s0, 2, by=manager, days_ago=40)
    assess(rep, s0, 3, by=manager, days_ago=10)  # up
    assess(rep, s1, 4, by=manager, days_ago=40)
    assess(rep, s1, 2, by=manager, days_ago=10)  # down
    assess(rep, s2, 3, by=manager, days_ago=40)
    assess(rep, s2, 1, by=manager, days_ago=90)  # older than the previous: ignored
    assess(rep, s2, 3, by=manager, days_ago=5)  # same
    assess(teammate, s0, 1, by=manager)  # new
    matrix = selectors.skills_matrix_for(manager)
    assert [r.rep for r in matrix.rows] == sorted([rep, teammate], key=lambda u: u.first_name)
    assert (_cell(matrix, rep, s0).level, _cell(matrix, rep, s0).trend) == (3, "up")
    assert (_cell(matrix, rep, s1).previous, _cell(matrix, rep, s1).trend) == (4, "down")
    assert _cell(matrix, rep, s2).trend == "same"
    assert _cell(matrix, rep, s3).level is None and _cell(matrix, rep, s3).trend == ""
    assert _cell(matrix, teammate, s0).trend == "new"
    assert len(matrix.rows[0].cells) == 8


def test_same_day_assessments_are_ordered_by_id(rep, manager, skills):
    assess(rep, skills[0], 4, by=manager)
    assess(rep, skills[0], 2, by=manager)
    cell = _cell(selectors.skills_matrix_for(manager), rep, skills[0])
    assert (cell.level, cell.previous, cell.trend) == (2, 4, "down")


def test_rep_sees_only_their_row(rep, teammate, skills):
    matrix = selectors.skills_matrix_for(rep)
    assert [r.rep for r in matrix.rows] == [rep] and matrix.teams == []
    with pytest.raises(Http404):
        selectors.skills_matrix_for(rep, rep.team_id)


def test_team_picker(manager, team_a, team_b, rep, other_rep, leader, skills):
    sub = TeamFactory(name="Team A1", parent=team_a)
    sub_rep = UserFactory(username="sub_rep", team=sub)
    matrix = selectors.skills_matrix_for(manager, team_a.pk)
    assert {t.name for t in matrix.teams} == {"Team A", "Team A1"}
    assert sub_rep in [r.rep for r in matrix.rows]
    with pytest.raises(Http404):
        selectors.skills_matrix_for(manager, team_b.pk)
    with pytest.raises(Http404):
        selectors.skills_matrix_for(manager, "x")
    assert [r.rep for r in selectors.skills_matrix_for(leader, team_b.pk).rows] == [other_rep]
