"""How alike two summaries are: Jaccard similarity of their word shingles, with the
customers' names masked so a template reused for another customer still matches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from functools import lru_cache

from proposals.rules.names import NAME, Form, name_forms
from proposals.rules.text import words

# --- shingles and similarity ------------------------------------------------------------


def shingles_of(tokens: Sequence[str], size: int) -> set[tuple[str, ...]]:
    if len(tokens) < size:
        # A text shorter than one shingle is one shingle, so short texts still compare.
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def shingles(text: str, size: int = 3) -> set[tuple[str, ...]]:
    """The word shingles of `text`: the set of every run of `size` consecutive `words`.

    Tuples of tokens rather than hashes: readable in tests and stable across processes; the
    few hundred summaries compared per keystroke are cached (see `other_shingles`).
    A text with fewer than `size` words is a single shingle; an empty text has none.
    """
    if size < 1:
        raise ValueError("size must be at least 1.")
    return shingles_of(words(text), size)


def jaccard(a: Set[tuple[str, ...]], b: Set[tuple[str, ...]]) -> float:
    if not a or not b:
        return 0.0  # nothing to compare: an empty text is a copy of nothing
    common = len(a & b)  # iterates the smaller set: linear
    return common / (len(a) + len(b) - common)


def mask(tokens: Sequence[str], forms: Iterable[Form]) -> list[str]:
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
                masked.append(NAME)
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
    return jaccard(
        shingles_of(mask(words(a), forms), size), shingles_of(mask(words(b), forms), size)
    )


@lru_cache(maxsize=512)
def other_shingles(text: str, account_name: str, size: int) -> frozenset[tuple[str, ...]]:
    # The other summaries hardly change between keystrokes: tokenising a few hundred of them
    # on every keystroke would dominate the check, so their shingles are cached per process.
    return frozenset(shingles_of(mask(words(text), name_forms(account_name)), size))
