"""The checks of an executive summary (check_summary), each a SummaryCheck that says in
plain words what is fine or what is missing, and the failed ones (failed_checks)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from proposals.rules.facts import (
    CHECK_CODES,
    CHECK_LABELS,
    IssueFacts,
    SummaryCheck,
    SummaryContext,
)
from proposals.rules.names import Form, Hit, contact_forms, contains, find, name_core, name_forms
from proposals.rules.similarity import jaccard, mask, other_shingles, shingles_of
from proposals.rules.text import (
    Quantity,
    enough,
    is_number,
    key_words,
    stem,
    token_quantities,
    values_in,
    word_count,
    words,
)

# --- the checks -------------------------------------------------------------------------


def _check(code: str, passed: bool, message: str) -> SummaryCheck:
    return SummaryCheck(code=code, label=CHECK_LABELS[code], passed=passed, message=message)


def _quote(texts: Iterable[str]) -> str:
    return ", ".join(f"'{t.strip()}'" for t in texts)


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _pct(value: float) -> str:
    # Rounded down, so a summary that passes never shows the limit itself as its similarity.
    return f"{math.floor(value * 100 + 1e-9)}%"


def _customer(context: SummaryContext) -> str:
    return context.account_name.strip() or "the customer"


def _range(context: SummaryContext) -> str:
    return f"{context.min_words}–{context.max_words} words"


def _check_names_customer(context: SummaryContext, own_hits: list[Hit]) -> SummaryCheck:
    code = "names_customer"
    customer = _customer(context)
    contacts = [c.strip() for c in context.contact_names if c.strip()]
    # ident 0 is the account, 1.. the contacts; the account itself is the better answer.
    if any(ident == 0 for _, _, ident in own_hits):
        return _check(code, True, f"Names {customer}.")
    if own_hits:
        contact = contacts[min(own_hits)[2] - 1]
        return _check(code, True, f"Names {contact}, a contact of {customer}.")
    if contacts:
        return _check(
            code, False, f"Does not name the customer: mention {customer} or a contact "
            f"({', '.join(contacts)}).",
        )  # fmt: skip
    return _check(code, False, f"Does not name the customer: mention {customer}.")


def _check_restates_issue(
    context: SummaryContext, stems: set[str], values: set[Quantity]
) -> SummaryCheck:
    """Restated: enough key words of the title (see `enough`) AND enough of the value's
    own terms (see `_value_restated`). An issue whose value is not mapped yet cannot be
    restated: there is no value to restate. One restated issue is enough."""
    code = "restates_issue"
    customer = _customer(context)
    issues = [issue for issue in context.issues if issue.title.strip()]
    if not issues:
        return _check(
            code, False, f"No business issue of {customer} is recorded: record the customer's "
            "business issues on the opportunity first.",
        )  # fmt: skip
    mapped = [issue for issue in issues if issue.mapped]
    half_restated: IssueFacts | None = None
    unmapped_restated: IssueFacts | None = None
    for issue in issues:
        if not _title_restated(issue.title, stems, values):
            continue
        if not issue.mapped:
            unmapped_restated = unmapped_restated or issue
        elif _value_restated(issue, stems, values):
            return _check(
                code, True, f"Restates {_quote([issue.title])} and the value we mapped to "
                f"it ({_quote([issue.shown_value])}).",
            )  # fmt: skip
        else:
            half_restated = half_restated or issue
    if half_restated is not None:
        return _check(
            code, False, f"Mentions {_quote([half_restated.title])} but not the value we mapped "
            f"to it: {_quote([half_restated.shown_value])}.",
        )  # fmt: skip
    if unmapped_restated is not None:
        then = (
            f"or restate an issue whose value is mapped: {_quote(i.title for i in mapped)}"
            if mapped
            else "then restate it here"
        )
        return _check(
            code, False, f"Mentions {_quote([unmapped_restated.title])} but the value we offer "
            f"against it is not mapped yet: map the value on the opportunity first, {then}.",
        )  # fmt: skip
    if not mapped:
        return _check(
            code, False, f"No business issue of {customer} has the value we offer against it "
            f"mapped yet: map the value of {_quote(i.title for i in issues)} on the "
            "opportunity first, then restate it here.",
        )  # fmt: skip
    listed = "recorded issues" if len(mapped) == len(issues) else "issues with a mapped value"
    return _check(
        code, False, f"Mentions no business issue of {customer}; {listed}: "
        f"{_quote(i.title for i in mapped)}.",
    )  # fmt: skip


def _title_restated(title: str, stems: set[str], values: set[Quantity]) -> bool:
    keys = key_words(title)
    if keys:
        return enough(keys, stems)
    # A title of only numbers and filler ("3 FTE"?) can only be restated by its numbers; with
    # neither there is nothing to look for.
    numbers = values_in(title)
    return not numbers or bool(numbers & values)


def _value_restated(issue: IssueFacts, stems: set[str], values: set[Quantity]) -> bool:
    """Restated by enough of the value's own terms (as many as `enough` asks of key
    words): its key words and its figures (in the words or the amount), less those of the
    title — restating the issue must not pass for restating our value. A value that adds
    no term of its own is restated with the title."""
    title_keys = set(key_words(issue.title))
    own_keys = [key for key in key_words(issue.value) if key not in title_keys]
    own_numbers = (values_in(issue.value) | values_in(issue.amount)) - values_in(issue.title)
    terms = len(own_keys) + len(own_numbers)
    if not terms:
        return True
    needed = terms if terms <= 2 else math.ceil(terms / 2)
    return sum(key in stems for key in own_keys) + len(own_numbers & values) >= needed


def _check_quantified(context: SummaryContext, found: list[tuple[str, Quantity]]) -> SummaryCheck:
    code = "quantified_outcome"
    quantified = [issue for issue in context.issues if issue.quantified]
    if not quantified:
        return _check(
            code, True, "No recorded business issue is quantified, so no number is required."
        )
    if found:
        # Show the figure that restates an issue's figure if there is one: it is the outcome.
        recorded = set().union(
            *(values_in(i.title) | values_in(i.value) | values_in(i.amount) for i in quantified)
        )
        shown = next((token for token, value in found if value in recorded), found[0][0])
        return _check(code, True, f"States a quantified outcome ({shown}).")
    first = quantified[0]
    figures = values_in(first.value) or values_in(first.amount)
    example = first.shown_value if figures else first.title
    return _check(
        code, False, "States no quantified outcome: add a number, amount or percentage, e.g. "
        f"from {_quote([example])}.",
    )  # fmt: skip


def _check_not_a_copy(tokens: Sequence[str], context: SummaryContext) -> SummaryCheck:
    code = "not_a_copy"
    size = context.shingle_size
    own = shingles_of(mask(tokens, name_forms(context.account_name)), size)
    # The own name is masked here and each other customer's name in its summary, so a
    # template with the names swapped compares as identical. Ties name the first one.
    best, closest = 0.0, None
    for other in context.other_summaries:
        score = jaccard(own, other_shingles(other.text, other.account_name, size))
        if score > best:
            best, closest = score, other
    limit = f"{context.similarity_threshold * 100:g}%"
    if closest is not None and best >= context.similarity_threshold:
        other_customer = closest.account_name.strip() or "another customer"
        return _check(
            code, False, f"Reads like a copy of the summary for {other_customer} "
            f"({_pct(best)} similar, the limit is {limit}): write it for {_customer(context)}.",
        )  # fmt: skip
    if not context.other_summaries:
        return _check(code, True, "No other proposal's summary to compare with.")
    return _check(
        code, True, f"Written for this customer: the closest other proposal's summary is "
        f"{_pct(best)} similar (limit {limit}).",
    )  # fmt: skip


def _check_no_other_customer(
    tokens: Sequence[str], context: SummaryContext, own_hits: list[Hit]
) -> SummaryCheck:
    code = "no_other_customer"
    own_forms = name_forms(context.account_name)
    own_full = own_forms[0] if own_forms else ()
    own_core = name_core(own_full)
    candidates: list[tuple[Form, int]] = []
    names: list[str] = []
    for name in dict.fromkeys(n.strip() for n in context.other_account_names if n.strip()):
        forms = name_forms(name)
        # Own "Acme" vs other "Acme Inc.": they differ only by legal form, the text cannot
        # tell them apart, and "Acme" in the text is the own customer.
        if not forms or name_core(forms[0]) == own_core:
            continue
        # Own "Acme Corp" vs other "Acme": a form inside the own name names the own customer.
        forms = tuple(form for form in forms if not contains(own_full, form))
        if forms:
            names.append(name)
            candidates.extend((form, len(names) - 1) for form in forms)
    # An occurrence inside one of the own names ("Logistics" in "Acme Logistics") is not a
    # mention of another customer.
    own_spans = [(start, end) for start, end, _ in own_hits]
    mentioned: dict[int, int] = {}
    for start, end, ident in find(tokens, candidates):
        if any(s <= start and end <= e for s, e in own_spans):
            continue
        mentioned.setdefault(ident, start)
    if not mentioned:
        return _check(code, True, "Mentions no other customer.")
    found = [names[i] for i in sorted(mentioned, key=mentioned.__getitem__)]
    if len(found) == 1:
        return _check(
            code, False, f"Mentions {found[0]}, another customer — a leftover from another "
            "proposal?",
        )  # fmt: skip
    return _check(
        code, False, f"Mentions {_and(found)}, other customers — leftovers from other proposals?"
    )


def _check_length(count: int, context: SummaryContext) -> SummaryCheck:
    code = "length"
    if count < context.min_words:
        return _check(code, False, f"Too short: {count} words; write {_range(context)}.")
    if count > context.max_words:
        return _check(code, False, f"Too long: {count} words; keep it to {_range(context)}.")
    return _check(code, True, f"{count} words, within {_range(context)}.")


def _empty_checks(context: SummaryContext) -> list[SummaryCheck]:
    customer = _customer(context)
    if any(issue.title.strip() and issue.mapped for issue in context.issues):
        restate = f"restate a business issue of {customer} and the value we mapped to it."
    elif any(issue.title.strip() for issue in context.issues):
        restate = "map the value of a business issue on the opportunity first."
    else:
        restate = "record the customer's business issues on the opportunity first."
    messages = {
        "names_customer": f"The summary is empty: name {customer}.",
        "restates_issue": f"The summary is empty: {restate}",
        "quantified_outcome": "The summary is empty: state the outcome, with a number where "
        "the business issue has one.",
        "not_a_copy": f"The summary is empty: write it for {customer}.",
        "no_other_customer": "The summary is empty: write it first.",
        "length": f"The summary is empty: write {_range(context)}.",
    }
    return [_check(code, False, messages[code]) for code in CHECK_CODES]


def check_summary(text: str, context: SummaryContext) -> list[SummaryCheck]:
    """All six checks of the executive summary `text`, always in the order of CHECK_CODES.

    The text is tokenised once and every check works on those tokens. A text without a
    single word (empty, whitespace, punctuation) fails every check.
    """
    tokens = words(text)
    if not tokens:
        return _empty_checks(context)
    own_forms = [(form, 0) for form in name_forms(context.account_name)]
    for i, contact in enumerate((c.strip() for c in context.contact_names if c.strip()), 1):
        own_forms.extend((form, i) for form in contact_forms(contact))
    own_hits = find(tokens, own_forms)
    stems = {stem(token) for token in set(tokens) if not is_number(token)}
    found = token_quantities(tokens)
    values = {quantity for _, quantity in found}
    return [
        _check_names_customer(context, own_hits),
        _check_restates_issue(context, stems, values),
        _check_quantified(context, found),
        _check_not_a_copy(tokens, context),
        _check_no_other_customer(tokens, context, own_hits),
        _check_length(word_count(text), context),
    ]


def failed_checks(checks: list[SummaryCheck]) -> list[SummaryCheck]:
    """The checks that block submitting, in checklist order."""
    return [check for check in checks if not check.passed]
