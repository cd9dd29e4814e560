"""Qualification: scoring rules (pure), the service, voiding, and the gate's automatic milestone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import rules, services
from pipeline.models import (
    Milestone,
    MilestoneElementLevel,
    Qualification,
    QualificationElement,
    QualificationFramework,
    QualificationScore,
)
from salesops.exceptions import Conflict, GateNotMet, ValidationFailed
from tests.factories import MilestoneFactory, OpportunityFactory

# --- pure rules -------------------------------------------------------------------------


@given(st.lists(st.tuples(st.integers(1, 100), st.integers(0, 3)), min_size=1, max_size=12))
def test_weighted_score_is_a_percentage_between_0_and_100(pairs):
    pct = rules.weighted_score_pct(weighted_scores=pairs)
    assert Decimal(0) <= pct <= Decimal(100)
    if all(score == 3 for _, score in pairs):
        assert pct == Decimal("100.00")
    if all(score == 0 for _, score in pairs):
        assert pct == Decimal("0.00")


def test_weighted_score_weights_count():
    # Metrics weighted 3 at level 3, Champion weighted 1 at level 0 → 9 / 12 = 75 %
    assert rules.weighted_score_pct(weighted_scores=[(3, 3), (1, 0)]) == Decimal("75.00")
    assert rules.weighted_score_pct(weighted_scores=[(1, 1), (1, 2)]) == Decimal("50.00")
    assert rules.weighted_score_pct(weighted_scores=[]) == Decimal("0.00")


@pytest.mark.parametrize(
    ("score", "evidence", "source", "fields"),
    [
        (0, "", "", set()),
        (1, "", "", set()),
        (2, "", "", {"evidence", "source"}),
        (3, "CFO said so in writing", "", {"source"}),
        (3, "CFO said so in writing", "email", set()),
        (2, "ok", "call", {"evidence"}),
        (4, "x", "call", {"score"}),
        (-1, "", "", {"score"}),
        ("2", "fine", "call", {"score"}),
        (True, "", "", {"score"}),
        (2, "Said it twice", "fax", {"source"}),
    ],
)
def test_score_problems(score, evidence, source, fields):
    assert set(rules.score_problems(score=score, evidence=evidence, source=source)) == fields


@given(
    assessed=st.datetimes(
        min_value=dt.datetime(2020, 1, 1),
        max_value=dt.datetime(2030, 1, 1),
        timezones=st.just(dt.UTC),
    ),
    days=st.integers(1, 365),
    age_hours=st.integers(0, 400 * 24),
)
def test_qualification_validity_window(assessed, days, age_hours):
    now = assessed + dt.timedelta(hours=age_hours)
    valid = rules.qualification_is_valid(
        assessed_at=assessed, invalidated_at=None, validity_days=days, now=now
    )
    assert valid == (age_hours < days * 24)
    assert not rules.qualification_is_valid(
        assessed_at=assessed, invalidated_at=assessed, validity_days=days, now=assessed
    )


@pytest.mark.parametrize(
    ("change", "voids"),
    [
        ({"old_close": dt.date(2026, 11, 3), "new_close": dt.date(2026, 11, 30)}, False),
        ({"old_close": dt.date(2026, 11, 30), "new_close": dt.date(2026, 12, 1)}, True),
        ({"old_close": dt.date(2026, 12, 1), "new_close": dt.date(2026, 11, 1)}, False),
        ({"old_close": dt.date(2026, 12, 31), "new_close": dt.date(2027, 1, 1)}, True),
        ({"old_amount": Decimal(100), "new_amount": Decimal(120)}, False),
        ({"old_amount": Decimal(100), "new_amount": Decimal("120.01")}, True),
        ({"old_amount": Decimal(100), "new_amount": Decimal("79.99")}, True),
        ({"old_amount": Decimal(0), "new_amount": Decimal(1)}, True),
        ({"old_stage_order": 3, "new_stage_order": 2}, True),
        ({"old_stage_order": 2, "new_stage_order": 3}, False),
    ],
)
def test_void_reasons(change, voids):
    assert (rules.qualification_void_reason(**change) is not None) == voids


@given(
    old=st.decimals(min_value=1, max_value=10**9, places=2),
    factor=st.decimals(min_value=0, max_value=3, places=3),
)
def test_amount_voids_exactly_beyond_20_percent(old, factor):
    new = (old * factor).quantize(Decimal("0.01"))
    voided = rules.qualification_void_reason(old_amount=old, new_amount=new) is not None
    assert voided == (abs(new - old) > Decimal("0.2") * old)


# --- the service ----------------------------------------------------------------------------


@pytest.fixture
def bant(pipeline):
    framework = QualificationFramework.objects.get(name="BANT")
    pipeline.framework = framework
    pipeline.save(update_fields=["framework"])
    return {e.name: e for e in framework.elements.all()}


def all_scores(elements, score=1, **overrides):
    rows = []
    for name, element in elements.items():
        value = overrides.get(name, score)
        row = {"element": element.pk, "score": value}
        if value >= 2:
            row |= {"evidence": f"{name} confirmed on the call", "source": "call"}
        rows.append(row)
    return rows


def test_seeded_frameworks_have_their_real_elements(db):
    names = {
        f.name: list(f.elements.values_list("name", flat=True))
        for f in QualificationFramework.objects.all()
    }
    assert names["MEDDICC"] == [
        "Metrics",
        "Economic buyer",
        "Decision criteria",
        "Decision process",
        "Identify pain",
        "Champion",
        "Competition",
    ]
    assert names["BANT"] == ["Budget", "Authority", "Need", "Timeline"]
    assert names["SPICED"] == ["Situation", "Pain", "Impact", "Critical event", "Decision"]
    assert names["CHAMP"] == ["Challenges", "Authority", "Money", "Prioritization"]
    assert len(names["MEDDPICC"]) == 8 and "Paper process" in names["MEDDPICC"]
    assert all(e.guidance for e in QualificationElement.objects.all())


def test_create_scores_every_element(opportunity, rep, bant):
    q = services.qualification_create(
        opportunity_id=opportunity.pk, actor=rep, scores=all_scores(bant, 1, Budget=3, Need=2)
    )
    q.refresh_from_db()
    # (3 + 1 + 2 + 1) / 12 = 58.33 %
    assert q.score_pct == Decimal("58.33") and q.assessed_by == rep
    assert QualificationScore.objects.filter(qualification=q).count() == 4
    budget = q.scores.get(element=bant["Budget"])
    assert (budget.score, budget.source) == (3, "call")
    assert services.latest_valid_qualification(opportunity) == q


@pytest.mark.parametrize(
    "mutate",
    [
        lambda rows, other: rows[:-1],  # a missing element
        lambda rows, other: [*rows, dict(rows[0])],  # an element twice
        lambda rows, other: [*rows[:-1], {"element": other.pk, "score": 1}],  # other framework
        lambda rows, other: [{**rows[0], "score": 4}, *rows[1:]],
        lambda rows, other: [{**rows[0], "score": "2"}, *rows[1:]],
        lambda rows, other: [{**rows[0], "score": 2, "evidence": "", "source": ""}, *rows[1:]],
        lambda rows, other: [{**rows[0], "element": "abc"}, *rows[1:]],
        lambda rows, other: [],
    ],
)
def test_create_refusals_save_nothing(opportunity, rep, bant, mutate):
    other = QualificationFramework.objects.get(name="CHAMP").elements.first()
    with pytest.raises(ValidationFailed) as exc:
        services.qualification_create(
            opportunity_id=opportunity.pk, actor=rep, scores=mutate(all_scores(bant), other)
        )
    assert exc.value.details["scores"]
    assert Qualification.objects.count() == 0 and QualificationScore.objects.count() == 0


def test_create_refused_without_framework_or_when_closed(opportunity, rep, pipeline, bant):
    services.opportunity_close_lost(opportunity_id=opportunity.pk, actor=rep, loss_reason="Budget")
    with pytest.raises(Conflict):
        services.qualification_create(
            opportunity_id=opportunity.pk, actor=rep, scores=all_scores(bant)
        )
    pipeline.framework = None
    pipeline.save(update_fields=["framework"])
    fresh = OpportunityFactory(owner=rep, stage=pipeline.discover)
    with pytest.raises(Conflict) as exc:
        services.qualification_create(opportunity_id=fresh.pk, actor=rep, scores=[])
    assert exc.value.code == "no_framework"
    assert Qualification.objects.count() == 0


def test_history_keeps_every_qualification_and_the_latest_counts(opportunity, rep, bant):
    first = services.qualification_create(
        opportunity_id=opportunity.pk, actor=rep, scores=all_scores(bant, 1)
    )
    second = services.qualification_create(
        opportunity_id=opportunity.pk, actor=rep, scores=all_scores(bant, 3)
    )
    assert list(opportunity.qualifications.all()) == [second, first]
    assert services.latest_valid_qualification(opportunity) == second


def test_qualification_expires_after_the_stage_validity(opportunity, rep, bant, pipeline):
    q = services.qualification_create(
        opportunity_id=opportunity.pk, actor=rep, scores=all_scores(bant)
    )
    later = q.assessed_at + dt.timedelta(days=30, seconds=1)
    assert services.latest_valid_qualification(opportunity, now=later) is None
    pipeline.discover.qualification_validity_days = 45
    pipeline.discover.save(update_fields=["qualification_validity_days"])
    opportunity.refresh_from_db()
    assert services.latest_valid_qualification(opportunity, now=later) == q


@pytest.mark.parametrize(
    ("change", "voided"),
    [
        ("pushed", True),  # the close date pushed into a later month
        ({"close_date": "same month"}, False),  # moved within its month
        ({"amount": "12500"}, True),  # +25 %
        ({"amount": "11000"}, False),  # +10 %
        ({"next_step": "Call the CFO"}, False),
    ],
)
def test_changes_void_the_qualification_early(opportunity, rep, bant, change, voided):
    q = services.qualification_create(
        opportunity_id=opportunity.pk, actor=rep, scores=all_scores(bant)
    )
    month_start = opportunity.close_date.replace(day=1)
    if change == "pushed":
        change = {"close_date": (month_start + dt.timedelta(days=40)).isoformat()}
    elif change.get("close_date") == "same month":
        same = month_start if opportunity.close_date.day != 1 else month_start.replace(day=2)
        change = {"close_date": same.isoformat()}
    services.opportunity_update(opportunity_id=opportunity.pk, actor=rep, **change)
    q.refresh_from_db()
    assert (q.invalidated_at is not None) == voided
    assert (services.latest_valid_qualification(opportunity) is None) == voided
    if voided:
        assert q.invalidated_reason


def test_moving_back_a_stage_voids_it(rep, bant, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.qualify)
    q = services.qualification_create(opportunity_id=opp.pk, actor=rep, scores=all_scores(bant))
    services.opportunity_advance(opportunity_id=opp.pk, stage_id=pipeline.discover.pk, actor=rep)
    q.refresh_from_db()
    assert q.invalidated_reason == "The deal moved back a stage."


# --- the gate's automatic qualification milestone ---------------------------------------------


@pytest.fixture
def qualification_gate(pipeline, bant):
    """Qualify → Proposal needs a valid qualification ≥ 50 % with Authority ≥ 2."""
    Milestone.objects.filter(stage=pipeline.qualify).delete()
    milestone = MilestoneFactory(
        stage=pipeline.qualify,
        title="Qualified for a proposal",
        auto_check="qualification",
        min_qualification_score=50,
    )
    MilestoneElementLevel.objects.create(
        milestone=milestone, element=bant["Authority"], min_level=2
    )
    return milestone


def test_gate_refuses_without_a_good_enough_qualification(rep, pipeline, bant, qualification_gate):
    opp = OpportunityFactory(owner=rep, stage=pipeline.qualify)

    def advance():
        return services.opportunity_advance(
            opportunity_id=opp.pk, stage_id=pipeline.proposal.pk, actor=rep
        )

    with pytest.raises(GateNotMet) as exc:
        advance()
    [missing] = exc.value.details["missing"]
    assert missing["automatic"] and "No valid qualification" in missing["gaps"][0]

    services.qualification_create(
        opportunity_id=opp.pk, actor=rep, scores=all_scores(bant, 3, Authority=1)
    )
    with pytest.raises(GateNotMet) as exc:
        advance()
    assert exc.value.details["missing"][0]["gaps"] == [
        "Authority is 1 (identified); at least 2 is required."
    ]
    opp.refresh_from_db()
    assert opp.stage == pipeline.qualify

    services.qualification_create(
        opportunity_id=opp.pk, actor=rep, scores=all_scores(bant, 1, Authority=2)
    )
    with pytest.raises(GateNotMet) as exc:
        advance()
    assert "below the required 50 %" in exc.value.details["missing"][0]["gaps"][0]

    services.qualification_create(
        opportunity_id=opp.pk, actor=rep, scores=all_scores(bant, 2, Authority=3)
    )
    advance()
    opp.refresh_from_db()
    assert opp.stage == pipeline.proposal


def test_automatic_qualification_milestone_cannot_be_ticked(rep, pipeline, qualification_gate):
    opp = OpportunityFactory(owner=rep, stage=pipeline.qualify)
    with pytest.raises(Conflict):
        services.milestone_complete(
            opportunity_id=opp.pk, milestone_id=qualification_gate.pk, actor=rep
        )


def test_the_deal_points_at_its_newest_qualification(opportunity, rep, bant):
    assert opportunity.latest_qualification is None
    first = services.qualification_create(
        opportunity_id=opportunity.pk, actor=rep, scores=all_scores(bant, 1)
    )
    opportunity.refresh_from_db()
    assert opportunity.latest_qualification == first
    second = services.qualification_create(
        opportunity_id=opportunity.pk, actor=rep, scores=all_scores(bant, 2)
    )
    opportunity.refresh_from_db()
    assert opportunity.latest_qualification == second
