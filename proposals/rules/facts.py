"""What the checks are handed and what they answer: the facts of the proposal's
opportunity (IssueFacts, OtherSummary, SummaryContext), one check's result (SummaryCheck)
and the checks in their fixed order (CHECK_LABELS, CHECK_CODES)."""

from __future__ import annotations

from dataclasses import dataclass

from proposals.rules.text import values_in

# --- facts handed in by the service ---------------------------------------------------


@dataclass(frozen=True)
class IssueFacts:
    """A recorded business issue of the customer and the value we mapped to it."""

    title: str  # e.g. "Manual invoice matching costs 3 FTE"
    # Our value in words, as mapped on the opportunity; blank: not mapped yet.
    value: str = ""  # e.g. "Save 2 FTE, about €140,000 a year"
    amount: str = ""  # the value quantified, e.g. "140,000 EUR" (a figure is not a mapping)

    @property
    def mapped(self) -> bool:
        """Whether the value we offer against the issue is mapped (in words)."""
        return bool(self.value.strip())

    @property
    def quantified(self) -> bool:
        """Whether the title, the value or its amount states a number, amount or percentage."""
        return bool(values_in(self.title) or values_in(self.value) or values_in(self.amount))

    @property
    def shown_value(self) -> str:
        """The value as the messages quote it: in words, then the amount."""
        return " — ".join(p for p in (self.value.strip(), self.amount.strip()) if p)


@dataclass(frozen=True)
class OtherSummary:
    """The executive summary of a proposal of another opportunity."""

    account_name: str  # the customer that other proposal was for
    text: str


@dataclass(frozen=True)
class SummaryContext:
    """What the checks know about the proposal's opportunity, and the configuration."""

    account_name: str
    contact_names: tuple[str, ...] = ()
    issues: tuple[IssueFacts, ...] = ()
    other_summaries: tuple[OtherSummary, ...] = ()  # proposals of OTHER opportunities
    other_account_names: tuple[str, ...] = ()  # other customers' names that may occur
    min_words: int = 60
    max_words: int = 400
    similarity_threshold: float = 0.8
    shingle_size: int = 3

    def __post_init__(self) -> None:
        # A wrong configuration is a programming error, not a rep's typo: fail loudly.
        if not 0 <= self.min_words <= self.max_words:
            raise ValueError("Need 0 <= min_words <= max_words.")
        if not 0 < self.similarity_threshold <= 1:
            raise ValueError("similarity_threshold must be in (0, 1].")
        if self.shingle_size < 1:
            raise ValueError("shingle_size must be at least 1.")


@dataclass(frozen=True)
class SummaryCheck:
    code: str  # stable, see CHECK_CODES
    label: str  # short label for the checklist
    passed: bool
    message: str  # plain words: what is fine or exactly what is missing


# Fixed order: the checklist renders them in this order and tests rely on it.
CHECK_LABELS: dict[str, str] = {
    "names_customer": "Names the customer",
    "restates_issue": "Restates a business issue and its value",
    "quantified_outcome": "States a quantified outcome",
    "not_a_copy": "Written for this customer, not copied",
    "no_other_customer": "Mentions no other customer",
    "length": "Sensible length",
}
CHECK_CODES: tuple[str, ...] = tuple(CHECK_LABELS)
