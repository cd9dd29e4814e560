"""coaching.rules.review_agenda and review_risk: pure, table-driven, no database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest

from coaching import rules
from coaching.models import AgendaSource
from coaching.rules import (
    AmountChange,
    DateChange,
    DealSnapshot,
    OpenFlagFact,
    UnmetMilestone,
    review_agenda,
    review_risk,
)

AT = dt.datetime(2026, 11, 3, 10, 0, tzinfo=dt.UTC)
CRITICAL = OpenFlagFact("Close date passed", "critical", "The close date 1 Nov 2026 has passed.")
WARNING = OpenFlagFact("No customer activity", "warning", "No customer activity for 21 days.")
CURRENT = UnmetMilestone(stage="Qualify", title="Decision process mapped")
AUTOMATIC = UnmetMilestone(
    stage="Qualify",
    title="Qualified at 60% or more",
    lacks=("Qualification score 40% (needs 60%)", "Champion below 2"),
)
NEXT = UnmetMilestone(stage="Proposal", title="Budget confirmed", in_next_stage=True)
CLEAN = DealSnapshot(
    stage="Qualify",
    qualification_state="valid",
    element_scores=(("Metrics", 3), ("Champion", 2)),
    summary_state="passing",
)


def push(old: str, new: str, by: str = "Rita Rep") -> DateChange:
    return DateChange(dt.date.fromisoformat(old), dt.date.fromisoformat(new), AT, by)


def amount(old: str, new: str) -> AmountChange:
    return AmountChange(Decimal(old), Decimal(new), AT, "Rita Rep")


def test_sources_are_the_models_agenda_sources():
    sources = {
        rules.SOURCE_FLAG,
        rules.SOURCE_MILESTONE,
        rules.SOURCE_QUALIFICATION,
        rules.SOURCE_SUMMARY,
        rules.SOURCE_CLOSE_DATE,
        rules.SOURCE_AMOUNT,
    }
    assert sources == set(AgendaSource.values) - {AgendaSource.MANAGER}


AGENDA_CASES = [
    pytest.param(CLEAN, [], id="a deal without gaps has an empty agenda"),
    pytest.param(
        DealSnapshot(stage="Discover"),
        [
            ("qualification", "Not qualified yet: no qualification is on record"),
            ("executive_summary", "No executive summary yet: the deal has no proposal"),
        ],
        id="a new deal: not qualified, no proposal",
    ),
    pytest.param(
        DealSnapshot(**{**CLEAN.__dict__, "flags": (WARNING, CRITICAL)}),
        [
            ("flag", "Critical: Close date passed"),
            ("flag", "Warning: No customer activity"),
        ],
        id="flags: critical first whatever the input order",
    ),
    pytest.param(
        DealSnapshot(**{**CLEAN.__dict__, "unmet_milestones": (NEXT, CURRENT)}),
        [
            ("milestone", "“Decision process mapped” not met (current stage, Qualify)"),
            ("milestone", "“Budget confirmed” not met (next stage, Proposal)"),
        ],
        id="milestones: the current stage before the next",
    ),
    pytest.param(
        DealSnapshot(
            **{
                **CLEAN.__dict__,
                "element_scores": (("Economic buyer", 1), ("Metrics", 0), ("Pain", None)),
            }
        ),
        [
            (
                "qualification",
                "3 of 3 qualification elements below 2: Economic buyer, Metrics, Pain",
            ),
        ],
        id="the elements below 2 (or unscored) are one point naming them",
    ),
    pytest.param(
        DealSnapshot(
            **{**CLEAN.__dict__, "qualification_state": "expired", "element_scores": (("A", 3),)}
        ),
        [("qualification", "Qualification expired: its scores may no longer hold")],
        id="an expired qualification",
    ),
    pytest.param(
        DealSnapshot(
            **{
                **CLEAN.__dict__,
                "summary_state": "failing",
                "summary_failures": ("Name the customer.", "Quantify the outcome."),
            }
        ),
        [("executive_summary", "Executive summary fails 2 checks")],
        id="a failing executive summary",
    ),
    pytest.param(
        DealSnapshot(
            **{
                **CLEAN.__dict__,
                "reviewed_before": True,
                "close_date_changes": (
                    push("2026-10-12", "2026-10-31"),
                    push("2026-10-31", "2026-11-15"),
                    push("2026-11-15", "2026-11-30"),
                ),
            }
        ),
        [("close_date", "Close date pushed 3 times since the last review: 12 Oct → 30 Nov 2026")],
        id="three pushes are one point",
    ),
    pytest.param(
        DealSnapshot(
            **{
                **CLEAN.__dict__,
                "close_date_changes": (push("2026-12-20", "2027-01-31"),),
            }
        ),
        [
            (
                "close_date",
                "Close date pushed once since the deal was created: 20 Dec 2026 → 31 Jan 2027",
            )
        ],
        id="never reviewed: since the deal was created; years differ",
    ),
    pytest.param(
        DealSnapshot(
            **{
                **CLEAN.__dict__,
                "reviewed_before": True,
                "close_date_changes": (push("2026-11-30", "2026-11-15"),),
            }
        ),
        [("close_date", "Close date pulled in once since the last review: 30 Nov → 15 Nov 2026")],
        id="a close date pulled in",
    ),
    pytest.param(
        DealSnapshot(
            **{
                **CLEAN.__dict__,
                "reviewed_before": True,
                "close_date_changes": (
                    push("2026-11-30", "2026-12-15"),
                    push("2026-12-15", "2026-11-30"),
                ),
            }
        ),
        [("close_date", "Close date changed twice since the last review: 30 Nov → 30 Nov 2026")],
        id="pushed and back again",
    ),
    pytest.param(
        DealSnapshot(
            **{
                **CLEAN.__dict__,
                "reviewed_before": True,
                "amount_changes": (amount("120000", "100000"), amount("100000", "90000")),
            }
        ),
        [
            (
                "amount",
                "Amount changed twice since the last review: EUR 120,000 → EUR 90,000 (-25%)",
            )
        ],
        id="amount changes are one point with the net change",
    ),
]


@pytest.mark.parametrize(("snapshot", "expected"), AGENDA_CASES)
def test_review_agenda(snapshot, expected):
    assert [(p.source, p.title) for p in review_agenda(snapshot)] == expected


def test_the_agenda_is_ranked_blockers_then_stale_then_qualification_then_the_rest():
    snapshot = DealSnapshot(
        stage="Qualify",
        unmet_milestones=(NEXT, AUTOMATIC),
        qualification_state="expired",
        element_scores=(("Champion", 1), ("Metrics", 3)),
        flags=(WARNING, CRITICAL),
        summary_state="failing",
        summary_failures=("Name the customer.",),
        amount_changes=(amount("100", "200"),),
        close_date_changes=(push("2026-10-01", "2026-11-01"),),
    )
    assert [(p.source, p.title) for p in review_agenda(snapshot)] == [
        # what blocks the deal now
        ("flag", "Critical: Close date passed"),
        ("milestone", "“Qualified at 60% or more” not met (current stage, Qualify)"),
        # signs of a stale deal
        ("flag", "Warning: No customer activity"),
        ("close_date", "Close date pushed once since the deal was created: 1 Oct → 1 Nov 2026"),
        # weak qualification
        ("qualification", "Qualification expired: its scores may no longer hold"),
        ("qualification", "1 of 2 qualification elements below 2: Champion"),
        # the rest
        ("executive_summary", "Executive summary fails 1 check"),
        ("milestone", "“Budget confirmed” not met (next stage, Proposal)"),
        ("amount", "Amount changed once since the deal was created: EUR 100 → EUR 200 (+100%)"),
    ]


def test_a_close_date_pulled_in_is_not_a_stale_sign():
    pulled = DealSnapshot(
        **{**CLEAN.__dict__, "close_date_changes": (push("2026-11-30", "2026-11-15"),)}
    )
    assert [p.rank for p in review_agenda(pulled)] == [rules.RANK_CHANGES]


def test_rank_agenda_sorts_by_rank_and_keeps_ties_in_order():
    points = [
        rules.AgendaPoint("amount", "a", rank=rules.RANK_CHANGES),
        rules.AgendaPoint("qualification", "b", rank=rules.RANK_QUALIFICATION),
        rules.AgendaPoint("milestone", "c", rank=rules.RANK_GATE_BLOCKER),
        rules.AgendaPoint("qualification", "d", rank=rules.RANK_QUALIFICATION),
        rules.AgendaPoint("flag", "e", rank=rules.RANK_CRITICAL_FLAG),
    ]
    assert [p.title for p in rules.rank_agenda(points)] == ["e", "c", "b", "d", "a"]


def test_weak_elements_fold_into_one_point_listing_each():
    seven = (
        ("Metrics", 1),
        ("Economic buyer", 0),
        ("Decision criteria", 2),
        ("Decision process", None),
        ("Identify pain", 3),
        ("Champion", 1),
        ("Competition", 1),
    )
    snapshot = DealSnapshot(**{**CLEAN.__dict__, "element_scores": seven})
    points = review_agenda(snapshot)
    assert len(points) == 1
    assert points[0].title == (
        "5 of 7 qualification elements below 2: Metrics, Economic buyer, Decision process, "
        "Champion, Competition"
    )
    assert points[0].detail.splitlines() == [
        "Metrics: 1, identified only",
        "Economic buyer: 0, unknown",
        "Decision process: not scored",
        "Champion: 1, identified only",
        "Competition: 1, identified only",
        "For each: what has the customer said or sent that validates it?",
    ]
    assert rules.weak_elements(seven) == (
        ("Metrics", 1),
        ("Economic buyer", 0),
        ("Decision process", None),
        ("Champion", 1),
        ("Competition", 1),
    )


def test_no_weak_element_no_point():
    assert review_agenda(CLEAN) == []
    assert rules.weak_elements((("Metrics", 2), ("Champion", 3))) == ()


def test_a_long_list_of_weak_elements_fits_the_title_column():
    many = tuple((f"Element number {n} with a long name", 0) for n in range(30))
    snapshot = DealSnapshot(**{**CLEAN.__dict__, "element_scores": many})
    (point,) = review_agenda(snapshot)
    assert len(point.title) == rules.MAX_AGENDA_TITLE
    assert point.detail.count("\n") == 30  # every element is in the detail


@dataclass
class Item:
    source: str
    title: str


def agenda(generated: int, *, manager: int = 0) -> list[Item]:
    return [Item("milestone", f"g{n}") for n in range(1, generated + 1)] + [
        Item("manager", f"m{n}") for n in range(1, manager + 1)
    ]


FOLD_CASES = [
    pytest.param(agenda(0), [], [], id="an empty agenda"),
    pytest.param(agenda(5), ["g1", "g2", "g3", "g4", "g5"], [], id="five: nothing folded"),
    pytest.param(
        agenda(6), ["g1", "g2", "g3", "g4", "g5", "g6"], [], id="folding one saves nothing"
    ),
    pytest.param(
        agenda(8), ["g1", "g2", "g3", "g4", "g5"], ["g6", "g7", "g8"], id="the top five shown"
    ),
    pytest.param(
        agenda(8, manager=2),
        ["g1", "g2", "g3", "g4", "g5", "m1", "m2"],
        ["g6", "g7", "g8"],
        id="the manager's own points are never folded",
    ),
    pytest.param(
        agenda(3, manager=6),
        ["g1", "g2", "g3", "m1", "m2", "m3", "m4", "m5", "m6"],
        [],
        id="only generated points are folded",
    ),
]


@pytest.mark.parametrize(("items", "in_view", "folded"), FOLD_CASES)
def test_fold_agenda(items, in_view, folded):
    shown, hidden = rules.fold_agenda(items)
    assert ([i.title for i in shown], [i.title for i in hidden]) == (in_view, folded)


def test_the_demo_deal_folds_to_five_points_in_view():
    """A deal like the demo's: 6 unmet milestones, an expired qualification with 5 weak
    elements, no proposal — 13 points before, now 9 ranked, 5 in view."""
    snapshot = DealSnapshot(
        stage="Solution",
        unmet_milestones=(
            *(UnmetMilestone(stage="Solution", title=f"Solution {n}") for n in range(3)),
            *(
                UnmetMilestone(stage="Proposal", title=f"Proposal {n}", in_next_stage=True)
                for n in range(3)
            ),
        ),
        qualification_state="expired",
        element_scores=tuple((f"E{n}", 1 if n < 5 else 3) for n in range(7)),
        summary_state="no_proposal",
    )
    points = review_agenda(snapshot)
    shown, folded = rules.fold_agenda(points)
    assert len(points) == 9
    assert [p.source for p in shown] == [
        "milestone",
        "milestone",
        "milestone",
        "qualification",
        "qualification",
    ]
    assert len(folded) == 4


DETAIL_CASES = [
    pytest.param(
        DealSnapshot(**{**CLEAN.__dict__, "unmet_milestones": (AUTOMATIC,)}),
        "Still lacks: Qualification score 40% (needs 60%); Champion below 2.",
        id="an automatic milestone says what it lacks",
    ),
    pytest.param(
        DealSnapshot(**{**CLEAN.__dict__, "flags": (CRITICAL,)}),
        "The close date 1 Nov 2026 has passed.",
        id="a flag's detail is its explanation",
    ),
    pytest.param(
        DealSnapshot(
            **{
                **CLEAN.__dict__,
                "summary_state": "failing",
                "summary_failures": ("Name the customer.", "Quantify the outcome."),
            }
        ),
        "Name the customer.\nQuantify the outcome.",
        id="a failing summary lists its failed checks",
    ),
    pytest.param(
        DealSnapshot(
            **{**CLEAN.__dict__, "close_date_changes": (push("2026-10-12", "2026-10-31"),)}
        ),
        "12 Oct 2026 → 31 Oct 2026 on 3 Nov 2026 by Rita Rep",
        id="each push: old → new, when, by whom",
    ),
]


@pytest.mark.parametrize(("snapshot", "detail"), DETAIL_CASES)
def test_review_agenda_details(snapshot, detail):
    assert review_agenda(snapshot)[0].detail == detail


def test_titles_fit_the_agenda_item_column():
    long = OpenFlagFact("x" * 400, "warning", "")
    snapshot = DealSnapshot(**{**CLEAN.__dict__, "flags": (long,)})
    title = review_agenda(snapshot)[0].title
    assert len(title) == rules.MAX_AGENDA_TITLE
    assert title.endswith("…")


def test_agenda_never_contains_forecast_words():
    snapshot = DealSnapshot(
        stage="Qualify",
        flags=(CRITICAL,),
        amount_changes=(amount("100", "200"),),
    )
    text = " ".join(f"{p.title} {p.detail}" for p in review_agenda(snapshot)).lower()
    assert "commit" not in text
    assert "forecast" not in text


BASE = {
    "critical_flags": 0,
    "warning_flags": 0,
    "qualification_state": "valid",
    "weak_elements": 0,
    "amount": Decimal("0"),
    "team_average_amount": None,
    "days_since_review": 0,
}

RISK_CASES = [
    pytest.param({}, 0, (), id="nothing to review"),
    pytest.param(
        {"critical_flags": 1, "warning_flags": 2},
        50,
        ("1 critical and 2 warning flags open",),
        id="flags by severity",
    ),
    pytest.param({"critical_flags": 5}, 60, ("5 critical flags open",), id="flags are capped"),
    pytest.param(
        {"qualification_state": "none", "weak_elements": 3},
        25,
        ("Never qualified",),
        id="never qualified (no elements to count)",
    ),
    pytest.param(
        {"qualification_state": "expired", "weak_elements": 1},
        23,
        ("Qualification expired", "1 qualification element below 2"),
        id="expired and weak",
    ),
    pytest.param(
        {"amount": Decimal("30000"), "team_average_amount": Decimal("10000")},
        25,
        ("Value 3.0× the team's average open deal",),
        id="a big deal for the team",
    ),
    pytest.param(
        {"amount": Decimal("10000"), "team_average_amount": Decimal("10000")},
        10,
        ("Value near the team's average",),
        id="an average deal",
    ),
    pytest.param(
        {"amount": Decimal("10000"), "team_average_amount": Decimal("0")},
        0,
        (),
        id="no team average: value adds nothing",
    ),
    pytest.param({"days_since_review": None}, 30, ("Never reviewed",), id="never reviewed"),
    pytest.param(
        {"days_since_review": 45}, 15, ("Last reviewed 45 days ago",), id="reviewed long ago"
    ),
    pytest.param(
        {"days_since_review": 400}, 25, ("Last reviewed 400 days ago",), id="age is capped"
    ),
]


@pytest.mark.parametrize(("changes", "score", "reasons"), RISK_CASES)
def test_review_risk(changes, score, reasons):
    risk = review_risk(**{**BASE, **changes})
    assert (risk.score, risk.reasons) == (score, reasons)


def test_never_reviewed_weighs_more_than_any_time_since_a_review():
    never = review_risk(**{**BASE, "days_since_review": None})
    ages = [review_risk(**{**BASE, "days_since_review": d}).score for d in range(0, 2000, 7)]
    assert never.score > max(ages)


def test_reasons_biggest_contribution_first():
    risk = review_risk(
        **{**BASE, "critical_flags": 2, "days_since_review": None, "weak_elements": 1}
    )
    assert risk.reasons == (
        "2 critical flags open",
        "Never reviewed",
        "1 qualification element below 2",
    )
