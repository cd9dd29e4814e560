from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from pipeline import rules

S = rules.StageSpec
M = rules.MilestoneSpec
STAGES = [
    S(1, 1, "Discover"),
    S(2, 2, "Qualify"),
    S(3, 3, "Proposal"),
    S(4, 4, "Won", is_won=True),
    S(5, 5, "Lost", is_lost=True),
]
MILESTONES = [
    M(11, 1, "a", "seller_action"),
    M(12, 1, "b", "buyer_commitment"),
    M(21, 2, "c", "buyer_commitment"),
    M(31, 3, "d", "seller_action", required=False),
    M(32, 3, "e", "seller_action"),
]


def missing(current, target, met=()):
    return [
        m.id
        for m in rules.missing_milestones(
            stages=STAGES,
            milestones=MILESTONES,
            current=STAGES[current - 1],
            target=STAGES[target - 1],
            met_ids=set(met),
        )
    ]


def test_forward_one_stage_needs_current_stage_required_milestones():
    assert missing(1, 2) == [11, 12]
    assert missing(1, 2, met={11}) == [12]
    assert missing(1, 2, met={11, 12}) == []


def test_skipping_stages_needs_every_skipped_stage():
    assert missing(1, 3, met={11, 12}) == [21]
    assert missing(1, 4, met={11, 12, 21}) == [32]


def test_optional_milestones_never_block():
    assert 31 not in missing(3, 4)


def test_backwards_and_lost_need_nothing():
    assert missing(3, 1) == []
    assert missing(1, 5) == []


@given(
    current=st.integers(1, 3),
    target=st.integers(1, 5),
    met=st.sets(st.sampled_from([11, 12, 21, 31, 32])),
)
def test_missing_is_required_unmet_and_between_stages(current, target, met):
    result = missing(current, target, met)
    by_id = {m.id: m for m in MILESTONES}
    for mid in result:
        m = by_id[mid]
        assert m.required and mid not in met
        assert current <= m.stage_id < target
    # completing everything reported clears the gate
    assert missing(current, target, set(met) | set(result)) == []


def test_evidence_problem():
    assert rules.evidence_problem(requires_evidence=True, evidence="  ") is not None
    assert (
        rules.evidence_problem(requires_evidence=True, evidence="CFO said yes on the call") is None
    )
    assert rules.evidence_problem(requires_evidence=False, evidence="") is None


def test_stage_health_thresholds():
    assert rules.stage_health(days=5, warn_days=14, rot_days=30) == "ok"
    assert rules.stage_health(days=14, warn_days=14, rot_days=30) == "warn"
    assert rules.stage_health(days=30, warn_days=14, rot_days=30) == "rot"
    assert rules.stage_health(days=999, warn_days=None, rot_days=None) == "ok"


def test_days_in_stage_never_negative():
    now = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
    assert rules.days_in_stage(stage_entered_at=now + dt.timedelta(days=1), now=now) == 0
    assert rules.days_in_stage(stage_entered_at=now - dt.timedelta(days=3, hours=2), now=now) == 3


def test_auto_check_business_issue_mapped():
    assert rules.auto_check_met(auto_check="business_issue_mapped", mapped_business_issues=1)
    assert not rules.auto_check_met(auto_check="business_issue_mapped", mapped_business_issues=0)
