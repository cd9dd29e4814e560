"""A text as the checks read it: its normalised word tokens (`words`), the quantities
it states (numbers, amounts, percentages; not years of a date) and the key words of an
issue (stems without stop words)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from functools import lru_cache

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


def split(text: str) -> frozenset[str]:
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


def is_number(token: str) -> bool:
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
_YEAR_CONTEXT = split(
    "in by since until till from during before after through fy q1 q2 q3 q4 h1 h2 year early "
    "mid late january february march april may june july august september october november "
    "december jan feb mar apr jun jul aug sep sept oct nov dec"
)
_YEAR_OF_CONTEXT = split("end start beginning middle half quarter spring summer autumn fall winter")

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
    if not token or not is_number(token):
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


def token_quantities(tokens: Sequence[str]) -> list[tuple[str, Quantity]]:
    found: list[tuple[str, Quantity]] = []
    for i, token in enumerate(tokens):
        if not (is_number(token) or token in _NUMBER_WORDS) or _is_year(tokens, i):
            continue
        quantity = parse_quantity(token)
        if quantity is not None:
            found.append((token, quantity))
    return found


@lru_cache(maxsize=4_096)
def values_in(text: str) -> frozenset[Quantity]:
    # Issue titles and values are re-read on every keystroke; they rarely change.
    return frozenset(quantity for _, quantity in token_quantities(words(text)))


def quantities(text: str) -> list[str]:
    """The number, amount and percentage tokens of `text` that state a quantity.

    Years in a date context ("by 2026", "in Q3 2025") are not quantities; "Q3" itself is an
    identifier, not a number.
    """
    return [token for token, _ in token_quantities(words(text))]


# --- key words of an issue --------------------------------------------------------------

# A small built-in English stop-word list: enough to keep filler out of an issue's key words.
STOP_WORDS = split(
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
            is_number(token)
            or token in STOP_WORDS
            or token in _NUMBER_WORDS
            or sum(c.isalpha() for c in token) < _MIN_KEY_LETTERS
        ):
            continue
        found.setdefault(stem(token), None)
    return tuple(found)


def enough(keys: tuple[str, ...], stems: set[str]) -> bool:
    """At least half of the key words and at least two; all of them when there are 1–2."""
    needed = len(keys) if len(keys) <= 2 else math.ceil(len(keys) / 2)
    return sum(key in stems for key in keys) >= needed
