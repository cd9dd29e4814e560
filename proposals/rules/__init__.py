"""Pure checks of a proposal's executive summary — no Django, no database, stdlib only.

The rep sees the result as a live checklist while typing (every debounced keystroke) and
cannot submit the proposal until every check passes. So the checks must be fast (a few
hundred other summaries, texts up to ~100 kB, nothing quadratic), must never raise on any
text, and each failure must say in plain words what is missing.

All matching works on the same normalised word tokens (`words`): NFKC, case-folded,
possessive "'s" dropped, hyphens split, numbers kept whole ("€140,000", "20%", "1.2m").
Matching tokens rather than substrings gives word boundaries for free ("Acme" does not
match "Acmeology") and makes punctuation, case and extra spaces irrelevant.

By topic: what the checks are handed and answer (`facts`), a text's tokens, quantities
and key words (`text`), customers' and contacts' names (`names`), how alike two summaries
are (`similarity`) and the checks themselves (`checks`). Callers read
`from proposals import rules`; the names they use are re-exported here.
"""

from proposals.rules.checks import check_summary, failed_checks
from proposals.rules.facts import (
    CHECK_CODES,
    CHECK_LABELS,
    IssueFacts,
    OtherSummary,
    SummaryCheck,
    SummaryContext,
)
from proposals.rules.names import Form, Hit, contact_forms, name_forms
from proposals.rules.similarity import shingles, similarity
from proposals.rules.text import (
    STOP_WORDS,
    Quantity,
    key_words,
    parse_quantity,
    quantities,
    stem,
    word_count,
    words,
)

__all__ = [
    "CHECK_CODES",
    "CHECK_LABELS",
    "STOP_WORDS",
    "Form",
    "Hit",
    "IssueFacts",
    "OtherSummary",
    "Quantity",
    "SummaryCheck",
    "SummaryContext",
    "check_summary",
    "contact_forms",
    "failed_checks",
    "key_words",
    "name_forms",
    "parse_quantity",
    "quantities",
    "shingles",
    "similarity",
    "stem",
    "word_count",
    "words",
]
