"""Pure checks of a proposal's executive summary — no Django, no database, stdlib only.

The rep sees the result as a live checklist while typing (every debounced keystroke) and
cannot submit the proposal until every check passes. So the checks must be fast (a few
hundred other summaries, texts up to ~100 kB, nothing quadratic), must never raise on any
text, and each failure must say in plain words what is missing.

All matching works on the same normalised word tokens (`words`): NFKC, case-folded,
possessive "'s" dropped, hyphens split, numbers kept whole ("€140,000", "20%", "1.2m").
Matching tokens rather than substrings gives word boundaries for free ("Acme" does not
match "Acmeology") and makes punctuation, case and extra spaces irrelevant.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

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
        return bool(_values_in(self.title) or _values_in(self.value) or _values_in(self.amount))

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


# --- tokens ---------------------------------------------------------------------------

_CURRENCY_SYMBOLS = "€$£¥₹"
_MULTIPLIERS: dict[str, Decimal] = {
    "k": Decimal(1_000),
    "thousand": Decimal(1_000),
    "m": Decimal(1_000_000),
    "mn": Decimal(1_000_000),
    "mio": Decimal(1_000_000),
    "million": Decimal(1_000_000),
    "bn": Decimal(1_000_000_000),
    "billion": Decimal(1_000_000_000),
}
# A number token starts with a digit or a currency symbol; a word token starts with a letter
# and may go on with digits ("q3", "b2b", "s4hana": identifiers, not quantities). The
# separators are unambiguous (a separator must be followed by digits), so there is no
# catastrophic backtracking on long runs of digits. Only "k"/"m" glued to the digits count
# as multipliers ("140k", "1.2m"); "3 m" is more likely metres than millions.
_TOKEN_RE = re.compile(
    r"""
    (?P<num>
        [€$£¥₹]?\s?\d+(?:[.,]\d+)*
        (?:\s?%|\s?(?:thousand|million|billion|mio|mn|bn)\b|[km]\b)?
        (?:\s?[€$£¥₹])?
    )
    | (?P<word>[^\W\d_][^\W_]*(?:'[^\W_]+)*)
    """,
    re.VERBOSE,
)
# Thousands grouped with (narrow) no-break or thin spaces, as in "140 000": join before NFKC,
# which would turn those spaces into ordinary ones and split the number.
_GROUP_SPACE_RE = re.compile(r"(?<=\d)[\u00a0\u202f\u2009](?=\d{3}(?!\d))")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'"})
_SPACE_RE = re.compile(r"\s+")


def _split(text: str) -> frozenset[str]:
    # Word lists below are written as prose-like strings: easier to read and extend.
    return frozenset(text.split())


def words(text: str) -> list[str]:
    """Normalised word tokens of `text`, in order.

    - NFKC and case-folded, so "MÜLLER", "Müller" and "mu\\u0308ller" are the same word;
    - words are runs of letters (any script), possibly followed by digits ("q3"); hyphens and
      other punctuation split words ("month-end" → "month", "end");
    - a possessive "'s"/"’s" is dropped ("Acme's" → "acme"), other apostrophes are kept
      ("o'brien");
    - numbers are kept whole with their currency, multiplier or percent sign, spaces removed:
      "€140,000", "€ 140,000" → "€140,000"; "20 %" → "20%"; "1.2m", "140k", "3 million" →
      "3million".

    Markup is just text: "<b>Acme</b>" gives "b", "acme", "b".
    """
    text = _GROUP_SPACE_RE.sub("", text)
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    tokens: list[str] = []
    for match in _TOKEN_RE.finditer(text):
        token = match.group()
        if match.lastgroup == "num":
            tokens.append(_SPACE_RE.sub("", token))
        else:
            tokens.append(token[:-2] if token.endswith("'s") and len(token) > 2 else token)
    return tokens


def word_count(text: str) -> int:
    """How many words the rep wrote, counted as an editor counts them.

    Whitespace-separated chunks with at least one letter or digit: "month-end" and "Acme's"
    are one word each, a lone "€", "%" or "—" is none, so "€ 140,000" and "20 %" are one.
    (`words` splits "month-end" in two for matching; the rep's count must not.)
    """
    text = _GROUP_SPACE_RE.sub("", text)
    return sum(1 for chunk in text.split() if any(c.isalnum() for c in chunk))


def _is_number(token: str) -> bool:
    return token[0].isdigit() or token[0] in _CURRENCY_SYMBOLS


# --- quantities ------------------------------------------------------------------------

# Spelled-out numbers are quantities too ("saves three FTE"). "one" is left out: it is
# mostly a pronoun ("one of the issues"), not a quantity.
_NUMBER_WORDS: dict[str, int] = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "dozen": 12, "hundred": 100, "thousand": 1_000, "million": 1_000_000,
    "billion": 1_000_000_000,
}  # fmt: skip
# A bare year after one of these words ("by 2026", "in Q3 2025", "end of 2024") is a date,
# not a quantified outcome.
_YEAR_CONTEXT = _split(
    "in by since until till from during before after through fy q1 q2 q3 q4 h1 h2 year early "
    "mid late january february march april may june july august september october november "
    "december jan feb mar apr jun jul aug sep sept oct nov dec"
)
_YEAR_OF_CONTEXT = _split(
    "end start beginning middle half quarter spring summer autumn fall winter"
)

Quantity = tuple[Decimal, bool]  # (value, is a percentage)


def parse_quantity(token: str) -> Quantity | None:
    """The value of a number token from `words`, or None if it is not one.

    Separators: when both "." and "," occur, the last one is the decimal point ("1.250,50",
    "1,250.50"); a separator that occurs more than once groups thousands ("1,250,000"); a
    single separator followed by exactly three digits groups thousands too ("140,000",
    "140.000") unless a multiplier follows ("1.250m" is 1.25 million); otherwise it is the
    decimal point ("2.5", "2,5"). Currency is ignored (amounts compare by value), a
    percentage stays distinct from a plain number ("20%" is not "20 FTE").
    """
    if token in _NUMBER_WORDS:
        return Decimal(_NUMBER_WORDS[token]), False
    if not token or not _is_number(token):
        return None
    body = token.strip(_CURRENCY_SYMBOLS)
    percent = body.endswith("%")
    body = body.rstrip("%")
    digits_end = len(body)
    while digits_end and not body[digits_end - 1].isdigit():
        digits_end -= 1
    digits, suffix = body[:digits_end], body[digits_end:]
    multiplier = _MULTIPLIERS.get(suffix, Decimal(1)) if suffix else Decimal(1)
    if suffix and suffix not in _MULTIPLIERS:
        return None
    separators = [c for c in digits if c in ".,"]
    if len(set(separators)) == 2:
        decimal_point = digits[max(digits.rfind("."), digits.rfind(","))]
        digits = digits.replace("," if decimal_point == "." else ".", "")
        digits = digits.replace(decimal_point, ".")
    elif len(separators) > 1:
        digits = digits.replace(separators[0], "")
    elif separators:
        head, tail = digits.split(separators[0])
        thousands = len(tail) == 3 and not suffix
        digits = head + tail if thousands else f"{head}.{tail}"
    try:
        return Decimal(digits) * multiplier, percent
    except InvalidOperation:  # e.g. digits of a script Decimal does not read
        return None


def _is_year(tokens: Sequence[str], i: int) -> bool:
    token = tokens[i]
    if not (len(token) == 4 and token.isascii() and token.isdigit() and 1900 <= int(token) <= 2100):
        return False
    before = tokens[i - 1] if i >= 1 else ""
    if before in _YEAR_CONTEXT:
        return True
    return before == "of" and i >= 2 and tokens[i - 2] in _YEAR_OF_CONTEXT


def _quantities(tokens: Sequence[str]) -> list[tuple[str, Quantity]]:
    found: list[tuple[str, Quantity]] = []
    for i, token in enumerate(tokens):
        if not (_is_number(token) or token in _NUMBER_WORDS) or _is_year(tokens, i):
            continue
        quantity = parse_quantity(token)
        if quantity is not None:
            found.append((token, quantity))
    return found


@lru_cache(maxsize=4_096)
def _values_in(text: str) -> frozenset[Quantity]:
    # Issue titles and values are re-read on every keystroke; they rarely change.
    return frozenset(quantity for _, quantity in _quantities(words(text)))


def quantities(text: str) -> list[str]:
    """The number, amount and percentage tokens of `text` that state a quantity.

    Years in a date context ("by 2026", "in Q3 2025") are not quantities; "Q3" itself is an
    identifier, not a number.
    """
    return [token for token, _ in _quantities(words(text))]


# --- key words of an issue --------------------------------------------------------------

# A small built-in English stop-word list: enough to keep filler out of an issue's key words.
STOP_WORDS = _split(
    """
    a about above across after again against all almost also am among an and any are around
    as at be because been before being below between both but by can cannot could currently
    did do does doing done down due during each either else etc even ever every few for from
    further get gets getting got had has have having he her here hers him his how however i
    if in into is it its just least less let lot lots many may me might more most much must
    my no nor not now of off on once one only or other our ours out over own per quite
    rather really same shall she should so some still such than that the their theirs them
    then there these they this those through thus to today too under until up upon us very
    via was we were what when where whether which while who whom whose why will with within
    without would yet you your yours
    """
)
_MIN_KEY_LETTERS = 3  # "it", "hr", "of": too short to say what an issue is about


@lru_cache(maxsize=16_384)
def stem(word: str) -> str:
    """A light English stemmer, so "invoices"/"invoice"/"invoicing" and "matching"/"matches"
    /"match" meet on the same stem ("invoic", "match").

    Deliberately small (no Porter): strip one plural -s, then one of -ing/-ed/-ly, then a
    final -e (or turn -y into -i). A stem keeps at least three letters. Stems are only ever
    compared with stems, so odd-looking ones ("compani") do no harm.
    """
    w = word

    def cut(suffix: str, replacement: str = "") -> bool:
        nonlocal w
        if w.endswith(suffix) and len(w) - len(suffix) + len(replacement) >= 3:
            w = w[: len(w) - len(suffix)] + replacement
            return True
        return False

    # "-es" needs no rule of its own: "matches" → "matche" → (final -e) "match".
    if not (cut("ies", "i") or cut("sses", "ss")) and not w.endswith(("ss", "us", "is")):
        cut("s")
    if cut("ing") or cut("ied", "i") or cut("ed"):
        # "shipping" → "shipp" → "ship"; "billing" keeps its "ll".
        if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "lszaeiou":
            w = w[:-1]
    else:
        cut("ly")
    if not cut("e"):
        cut("y", "i")
    return w


@lru_cache(maxsize=4_096)
def key_words(text: str) -> tuple[str, ...]:
    """The stems of the words that say what `text` is about, in order, without repeats.

    Numbers, spelled-out numbers, stop words and words of fewer than three letters are left
    out: numbers are compared as quantities, the rest carries no meaning on its own.
    """
    found: dict[str, None] = {}
    for token in words(text):
        if (
            _is_number(token)
            or token in STOP_WORDS
            or token in _NUMBER_WORDS
            or sum(c.isalpha() for c in token) < _MIN_KEY_LETTERS
        ):
            continue
        found.setdefault(stem(token), None)
    return tuple(found)


def _enough(keys: tuple[str, ...], stems: set[str]) -> bool:
    """At least half of the key words and at least two; all of them when there are 1–2."""
    needed = len(keys) if len(keys) <= 2 else math.ceil(len(keys) / 2)
    return sum(key in stems for key in keys) >= needed


# --- names ------------------------------------------------------------------------------

# Legal forms, as token sequences: "S.A." tokenises to ("s", "a").
_LEGAL_FORMS = frozenset(
    tuple(words(form))
    for form in _split(
        "GmbH mbH AG KG KGaA OHG GbR UG SE eV e.V. eG Inc Incorporated Corp Corporation Co "
        "Company Ltd Limited LLC L.L.C. LLP LP PLC P.L.C. Pty Pte SA S.A. SAS S.A.S. SARL "
        "S.à.r.l. SRL S.r.l. SpA S.p.A. SL S.L. BV B.V. NV N.V. Oy Oyj AB AS A/S ASA ApS KK K.K."
    )
)
# Words that describe the kind of business rather than name it: "Initech Global Solutions"
# is called "Initech" in prose.
_DESCRIPTORS = _split(
    "group holding holdings international intl global worldwide solutions services systems "
    "technologies technology software consulting partners industries enterprises labs "
    "ventures associates europe emea usa uk deutschland germany france"
)
# Single words too common to name a customer on their own ("General Systems" is not
# mentioned by "in general").
_GENERIC = _split(
    "general national united american european first new best smart digital advanced applied "
    "modern royal standard universal premier central north south east west city state data "
    "bank energy health media capital home market power service solution system business "
    "customer client company"
)
_HONORIFICS = _split("mr mrs ms miss dr prof sir dame herr frau")
_NAME_SUFFIXES = _split("jr sr ii iii iv phd md mba")
_MIN_NAME_LETTERS = 3
_NAME = "\x00name"  # placeholder for a customer's name in shingles; no token can equal it

Form = tuple[str, ...]


def _strip_legal_forms(tokens: Form) -> Form:
    stripped = True
    while stripped:
        stripped = False
        for size in (4, 3, 2, 1):
            if len(tokens) > size and tokens[-size:] in _LEGAL_FORMS:
                tokens, stripped = tokens[:-size], True
                break
    return tokens


def _distinctive(form: Form) -> bool:
    """Whether a shortened name still names someone: a word of ≥ 3 letters that is not a stop
    word, a legal form, a business descriptor or a generic word."""
    return any(
        sum(c.isalpha() for c in token) >= _MIN_NAME_LETTERS
        and token not in STOP_WORDS
        and (token,) not in _LEGAL_FORMS
        and token not in _DESCRIPTORS
        and token not in _GENERIC
        for token in form
    )


def _name_core(full: Form) -> Form:
    """The name without its legal form and a leading "the": how prose calls the company."""
    core = _strip_legal_forms(full)
    return core[1:] if core[:1] == ("the",) and len(core) > 1 else core


@lru_cache(maxsize=8_192)
def name_forms(account_name: str) -> tuple[Form, ...]:
    """The token sequences that name an account in a text, longest first.

    The full name always counts. Without its legal form ("Acme GmbH" → "acme", "Globex
    Corporation" → "globex") and a leading "the", and further without trailing business
    descriptors ("Initech Global Solutions" → "initech"), it counts only while it stays
    distinctive: a legal form alone ("GmbH"), a short ("HP" of "HP Inc.") or a common word
    ("General" of "General Systems") never names the customer.
    """
    full = tuple(words(account_name))
    if not full:
        return ()
    forms = [full]
    core = _name_core(full)
    short = core
    while len(short) > 1 and short[-1] in _DESCRIPTORS:
        short = short[:-1]
    for form in (core, short):
        if form not in forms and _distinctive(form):
            forms.append(form)
    return tuple(forms)


@lru_cache(maxsize=8_192)
def contact_forms(contact_name: str) -> tuple[Form, ...]:
    """A contact is named by the full name (without "Dr."/"Jr.") or the last name, when the
    last name has at least three letters and is not a stop word ("Will", "May")."""
    tokens = [t for t in words(contact_name) if t not in _HONORIFICS]
    while tokens and tokens[-1] in _NAME_SUFFIXES:
        tokens.pop()
    if not tokens:
        return ()
    forms = [tuple(tokens)]
    last = tokens[-1]
    if (
        len(tokens) > 1
        and sum(c.isalpha() for c in last) >= _MIN_NAME_LETTERS
        and last not in STOP_WORDS
    ):
        forms.append((last,))
    return tuple(forms)


Hit = tuple[int, int, int]  # (start, end, which name)


def _find(tokens: Sequence[str], forms: Iterable[tuple[Form, int]]) -> list[Hit]:
    """Every occurrence of every form, in one pass over the tokens (forms indexed by their
    first token, so thousands of account names cost a dict lookup per token)."""
    by_first: dict[str, list[tuple[Form, int]]] = {}
    for form, ident in forms:
        by_first.setdefault(form[0], []).append((form, ident))
    hits: list[Hit] = []
    n = len(tokens)
    for i, token in enumerate(tokens):
        for form, ident in by_first.get(token, ()):
            end = i + len(form)
            if end <= n and (len(form) == 1 or tuple(tokens[i:end]) == form):
                hits.append((i, end, ident))
    return hits


def _contains(outer: Form, inner: Form) -> bool:
    size = len(inner)
    return any(outer[i : i + size] == inner for i in range(len(outer) - size + 1))


# --- shingles and similarity ------------------------------------------------------------


def _shingles_of(tokens: Sequence[str], size: int) -> set[tuple[str, ...]]:
    if len(tokens) < size:
        # A text shorter than one shingle is one shingle, so short texts still compare.
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def shingles(text: str, size: int = 3) -> set[tuple[str, ...]]:
    """The word shingles of `text`: the set of every run of `size` consecutive `words`.

    Tuples of tokens rather than hashes: readable in tests and stable across processes; the
    few hundred summaries compared per keystroke are cached (see `_other_shingles`).
    A text with fewer than `size` words is a single shingle; an empty text has none.
    """
    if size < 1:
        raise ValueError("size must be at least 1.")
    return _shingles_of(words(text), size)


def _jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    if not a or not b:
        return 0.0  # nothing to compare: an empty text is a copy of nothing
    common = len(a & b)  # iterates the smaller set: linear
    return common / (len(a) + len(b) - common)


def _mask(tokens: Sequence[str], forms: Iterable[Form]) -> list[str]:
    """`tokens` with each occurrence of a name replaced by one placeholder token, longest
    name first, so "Initech Global Solutions" and "Globex" both become the same token."""
    by_first: dict[str, list[Form]] = {}
    for form in sorted(set(forms), key=len, reverse=True):
        by_first.setdefault(form[0], []).append(form)
    if not by_first:
        return list(tokens)
    masked: list[str] = []
    i, n = 0, len(tokens)
    while i < n:
        for form in by_first.get(tokens[i], ()):
            if tuple(tokens[i : i + len(form)]) == form:
                masked.append(_NAME)
                i += len(form)
                break
        else:
            masked.append(tokens[i])
            i += 1
    return masked


def similarity(a: str, b: str, size: int = 3, *, names: Iterable[str] = ()) -> float:
    """Jaccard similarity of the word shingles of `a` and `b`: 0 (nothing shared) to 1.

    Account `names` are replaced by one placeholder in both texts first, so a template with
    only the customer's name swapped stays at 1.0. Empty texts are 0.0 similar to anything.
    """
    if size < 1:
        raise ValueError("size must be at least 1.")
    forms = [form for name in names for form in name_forms(name)]
    return _jaccard(
        _shingles_of(_mask(words(a), forms), size), _shingles_of(_mask(words(b), forms), size)
    )


@lru_cache(maxsize=512)
def _other_shingles(text: str, account_name: str, size: int) -> frozenset[tuple[str, ...]]:
    # The other summaries hardly change between keystrokes: tokenising a few hundred of them
    # on every keystroke would dominate the check, so their shingles are cached per process.
    return frozenset(_shingles_of(_mask(words(text), name_forms(account_name)), size))


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
    """Restated: enough key words of the title (see `_enough`) AND enough of the value's
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
        return _enough(keys, stems)
    # A title of only numbers and filler ("3 FTE"?) can only be restated by its numbers; with
    # neither there is nothing to look for.
    numbers = _values_in(title)
    return not numbers or bool(numbers & values)


def _value_restated(issue: IssueFacts, stems: set[str], values: set[Quantity]) -> bool:
    """Restated by enough of the value's own terms (as many as `_enough` asks of key
    words): its key words and its figures (in the words or the amount), less those of the
    title — restating the issue must not pass for restating our value. A value that adds
    no term of its own is restated with the title."""
    title_keys = set(key_words(issue.title))
    own_keys = [key for key in key_words(issue.value) if key not in title_keys]
    own_numbers = (_values_in(issue.value) | _values_in(issue.amount)) - _values_in(issue.title)
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
            *(_values_in(i.title) | _values_in(i.value) | _values_in(i.amount) for i in quantified)
        )
        shown = next((token for token, value in found if value in recorded), found[0][0])
        return _check(code, True, f"States a quantified outcome ({shown}).")
    first = quantified[0]
    figures = _values_in(first.value) or _values_in(first.amount)
    example = first.shown_value if figures else first.title
    return _check(
        code, False, "States no quantified outcome: add a number, amount or percentage, e.g. "
        f"from {_quote([example])}.",
    )  # fmt: skip


def _check_not_a_copy(tokens: Sequence[str], context: SummaryContext) -> SummaryCheck:
    code = "not_a_copy"
    size = context.shingle_size
    own = _shingles_of(_mask(tokens, name_forms(context.account_name)), size)
    # The own name is masked here and each other customer's name in its summary, so a
    # template with the names swapped compares as identical. Ties name the first one.
    best, closest = 0.0, None
    for other in context.other_summaries:
        score = _jaccard(own, _other_shingles(other.text, other.account_name, size))
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
    own_core = _name_core(own_full)
    candidates: list[tuple[Form, int]] = []
    names: list[str] = []
    for name in dict.fromkeys(n.strip() for n in context.other_account_names if n.strip()):
        forms = name_forms(name)
        # Own "Acme" vs other "Acme Inc.": they differ only by legal form, the text cannot
        # tell them apart, and "Acme" in the text is the own customer.
        if not forms or _name_core(forms[0]) == own_core:
            continue
        # Own "Acme Corp" vs other "Acme": a form inside the own name names the own customer.
        forms = tuple(form for form in forms if not _contains(own_full, form))
        if forms:
            names.append(name)
            candidates.extend((form, len(names) - 1) for form in forms)
    # An occurrence inside one of the own names ("Logistics" in "Acme Logistics") is not a
    # mention of another customer.
    own_spans = [(start, end) for start, end, _ in own_hits]
    mentioned: dict[int, int] = {}
    for start, end, ident in _find(tokens, candidates):
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
    own_hits = _find(tokens, own_forms)
    stems = {stem(token) for token in set(tokens) if not _is_number(token)}
    found = _quantities(tokens)
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
