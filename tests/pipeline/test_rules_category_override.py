"""category_on_stage_move: the pure decision behind "a stage move asks before overwriting a
manual forecast category"."""

from __future__ import annotations

import pytest

from pipeline.rules import CategoryOnMove, category_on_stage_move


def decide(current="commit", reason="Signed LOI", default="best_case", decision=None):
    return category_on_stage_move(
        current=current, override_reason=reason, stage_default=default, decision=decision
    )


@pytest.mark.parametrize("decision", [None, "keep", "follow"])
def test_without_override_the_category_follows_the_stage(decision):
    assert decide(current="pipeline", reason="", decision=decision) == CategoryOnMove(
        category="best_case", override_reason=""
    )


def test_override_against_another_default_needs_a_decision():
    outcome = decide()
    assert outcome.needs_decision
    # Undecided means unchanged: the caller refuses, it does not store anything.
    assert (outcome.category, outcome.override_reason) == ("commit", "Signed LOI")


def test_keep_keeps_category_and_reason():
    assert decide(decision="keep") == CategoryOnMove(
        category="commit", override_reason="Signed LOI"
    )


def test_follow_takes_the_default_and_clears_the_reason():
    assert decide(decision="follow") == CategoryOnMove(
        category="best_case", override_reason="", replaced_override=True
    )


@pytest.mark.parametrize("decision", [None, "keep", "follow"])
def test_override_equal_to_the_default_is_kept_without_a_question(decision):
    assert decide(current="best_case", decision=decision) == CategoryOnMove(
        category="best_case", override_reason="Signed LOI"
    )
