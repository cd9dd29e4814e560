"""The check "restates a business issue and its value" needs the issue's key words AND
the value's (issue 16, item 7). An issue whose value is not mapped yet cannot be
restated: the check fails and says to map the value first. Pure: no database, no Django."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from proposals.rules import IssueFacts, SummaryContext, check_summary, key_words

TITLE = "Manual invoice matching costs 3 FTE"
VALUE = "Automated matching frees 2 FTE"
MAPPED = IssueFacts(TITLE, VALUE, amount="140,000 EUR")
UNMAPPED = IssueFacts(TITLE)  # "Our value: not mapped yet" on the opportunity page
UNMAPPED_WITH_AMOUNT = IssueFacts(TITLE, amount="140,000 EUR")  # a figure, no value in words
CTX = SummaryContext(account_name="Acme", issues=(MAPPED,))


def restates(text: str, *issues: IssueFacts):
    context = replace(CTX, issues=issues)
    return {c.code: c for c in check_summary(text, context)}["restates_issue"]


def test_the_reported_case_an_eight_word_sentence_and_an_unmapped_value_fails():
    text = "Acme suffers from manual invoice matching costs today."
    assert len(text.split()) == 8
    result = restates(text, UNMAPPED)
    assert not result.passed
    assert result.message == (
        "Mentions 'Manual invoice matching costs 3 FTE' but the value we offer against it is "
        "not mapped yet: map the value on the opportunity first, then restate it here."
    )


def test_an_amount_without_a_value_in_words_is_not_a_mapped_value():
    text = "Manual invoice matching costs 3 FTE; we save 140,000 EUR."
    result = restates(text, UNMAPPED_WITH_AMOUNT)
    assert not result.passed
    assert "not mapped yet: map the value on the opportunity first" in result.message


def test_no_mapped_issue_at_all_says_to_map_one_first():
    result = restates("Acme wants a better dashboard.", UNMAPPED, IssueFacts("Churn"))
    assert not result.passed
    assert result.message == (
        "No business issue of Acme has the value we offer against it mapped yet: map the "
        "value of 'Manual invoice matching costs 3 FTE', 'Churn' on the opportunity first, "
        "then restate it here."
    )


def test_the_empty_summary_says_to_map_first_when_nothing_is_mapped():
    result = restates("", UNMAPPED)
    assert result.message == (
        "The summary is empty: map the value of a business issue on the opportunity first."
    )


@pytest.mark.parametrize(
    ("text", "restated"),
    [
        # The title's words alone: the value's own words ("automated", "frees") or its
        # figures are missing. "matching" and "FTE" are the title's, so they do not count.
        ("Manual invoice matching costs 3 FTE.", False),
        ("Manual invoice matching costs 3 FTE; automated matching frees 2 FTE.", True),
        ("Manual invoice matching costs 3 FTE; automated, it frees people.", True),
        # Half the value's terms (automat, free, 2, 140000) are enough: two of four.
        ("Manual invoice matching costs 3 FTE; it frees 140,000 EUR a year.", True),
        ("Manual invoice matching costs 3 FTE; it saves 140,000 EUR a year.", False),
        # The value without the issue is not a restated issue either.
        ("Automated matching frees 2 FTE and 140,000 EUR.", False),
    ],
)
def test_a_mapped_issue_needs_its_title_and_its_value(text, restated):
    assert restates(text, MAPPED).passed is restated


def test_a_mapped_issue_restated_passes_although_another_is_unmapped():
    text = "Manual invoice matching costs 3 FTE; automated matching frees 2 FTE."
    result = restates(text, IssueFacts("Churn of key accounts"), MAPPED)
    assert result.passed
    assert result.message == (
        "Restates 'Manual invoice matching costs 3 FTE' and the value we mapped to it "
        "('Automated matching frees 2 FTE — 140,000 EUR')."
    )


def test_an_unmapped_issue_mentioned_points_to_the_mapped_ones():
    result = restates("Churn of key accounts hurts.", IssueFacts("Churn of key accounts"), MAPPED)
    assert not result.passed
    assert result.message == (
        "Mentions 'Churn of key accounts' but the value we offer against it is not mapped "
        "yet: map the value on the opportunity first, or restate an issue whose value is "
        "mapped: 'Manual invoice matching costs 3 FTE'."
    )


def test_mentioning_nothing_lists_only_the_issues_that_can_be_restated():
    result = restates("Acme wants a dashboard.", IssueFacts("Churn of key accounts"), MAPPED)
    assert result.message == (
        "Mentions no business issue of Acme; issues with a mapped value: "
        "'Manual invoice matching costs 3 FTE'."
    )


def test_an_amount_is_quantified_but_not_mapped():
    assert IssueFacts("Churn", amount="5,000 EUR").quantified
    assert not IssueFacts("Churn").quantified
    assert IssueFacts("Churn", "Retention playbook").mapped
    assert not IssueFacts("Churn", "  ", amount="5,000 EUR").mapped


# --- properties ---------------------------------------------------------------------------

VOCABULARY = [
    "invoice", "matching", "churn", "onboarding", "forecast", "pipeline", "warehouse",
    "picking", "errors", "audit", "compliance", "renewal", "margin", "pricing", "quotes",
    "approvals", "shipping", "returns", "tickets", "backlog", "automated", "faster", "fewer",
    "reduce", "frees", "cuts", "saves", "revenue", "hours", "people", "visibility",
]  # fmt: skip
NUMBERS = ["3", "12", "20%", "€140,000", "2.5m", "40k"]
TERMS = st.lists(st.sampled_from(VOCABULARY + NUMBERS), min_size=1, max_size=6)
TEXTS = st.lists(st.sampled_from([*VOCABULARY, *NUMBERS, "the", "and", "Acme"]), max_size=40)


@given(title=TERMS, amount=st.sampled_from(["", "140,000 EUR"]), text=TEXTS)
@settings(max_examples=200)
def test_an_unmapped_issue_is_never_restated(title, amount, text):
    issue = IssueFacts(" ".join(title), "  ", amount=amount)
    assert not restates(" ".join(text), issue).passed


@given(title=TERMS, value=TERMS, filler=TEXTS)
@settings(max_examples=200)
def test_the_issue_and_its_value_written_out_are_restated(title, value, filler):
    issue = IssueFacts(" ".join(title), " ".join(value))
    text = f"{' '.join(filler)}. {issue.title}. {issue.value}."
    assert restates(text, issue).passed


@given(title=TERMS, value=TERMS, filler=TEXTS)
@settings(max_examples=200)
def test_the_title_alone_never_restates_a_value_with_words_of_its_own(title, value, filler):
    issue = IssueFacts(" ".join(title), " ".join(value))
    own = set(key_words(issue.value)) - set(key_words(issue.title))
    assume(own)
    assume(not set(key_words(" ".join(filler))) & own)
    assume(all(n not in filler for n in NUMBERS if n in value))
    text = f"{' '.join(filler)}. {issue.title}."
    assert not restates(text, issue).passed


@given(title=TERMS, value=TERMS, text=TEXTS)
@settings(max_examples=200)
def test_an_unmapped_issue_beside_a_mapped_one_changes_nothing(title, value, text):
    mapped = IssueFacts(" ".join(title), " ".join(value))
    alone = restates(" ".join(text), mapped).passed
    assert restates(" ".join(text), IssueFacts("Churn of key accounts"), mapped).passed is alone
