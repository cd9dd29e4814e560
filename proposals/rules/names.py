"""Names in a text: the forms a customer's or a contact's name takes in prose (legal
forms, descriptors and honorifics dropped) and where they occur among the tokens."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from proposals.rules.text import STOP_WORDS, split, words

# --- names ------------------------------------------------------------------------------

# Legal forms, as token sequences: "S.A." tokenises to ("s", "a").
_LEGAL_FORMS = frozenset(
    tuple(words(form))
    for form in split(
        "GmbH mbH AG KG KGaA OHG GbR UG SE eV e.V. eG Inc Incorporated Corp Corporation Co "
        "Company Ltd Limited LLC L.L.C. LLP LP PLC P.L.C. Pty Pte SA S.A. SAS S.A.S. SARL "
        "S.à.r.l. SRL S.r.l. SpA S.p.A. SL S.L. BV B.V. NV N.V. Oy Oyj AB AS A/S ASA ApS KK K.K."
    )
)
# Words that describe the kind of business rather than name it: "Initech Global Solutions"
# is called "Initech" in prose.
_DESCRIPTORS = split(
    "group holding holdings international intl global worldwide solutions services systems "
    "technologies technology software consulting partners industries enterprises labs "
    "ventures associates europe emea usa uk deutschland germany france"
)
# Single words too common to name a customer on their own ("General Systems" is not
# mentioned by "in general").
_GENERIC = split(
    "general national united american european first new best smart digital advanced applied "
    "modern royal standard universal premier central north south east west city state data "
    "bank energy health media capital home market power service solution system business "
    "customer client company"
)
_HONORIFICS = split("mr mrs ms miss dr prof sir dame herr frau")
_NAME_SUFFIXES = split("jr sr ii iii iv phd md mba")
_MIN_NAME_LETTERS = 3
NAME = "\x00name"  # placeholder for a customer's name in shingles; no token can equal it

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


def name_core(full: Form) -> Form:
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
    core = name_core(full)
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


def find(tokens: Sequence[str], forms: Iterable[tuple[Form, int]]) -> list[Hit]:
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


def contains(outer: Form, inner: Form) -> bool:
    size = len(inner)
    return any(outer[i : i + size] == inner for i in range(len(outer) - size + 1))
