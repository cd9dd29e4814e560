"""Numbers and their nouns agree in every message."""

from __future__ import annotations

import pytest

from salesops.text import counted


@pytest.mark.parametrize(
    ("number", "singular", "plural", "expected"),
    [
        (1, "required milestone", None, "1 required milestone"),
        (2, "required milestone", None, "2 required milestones"),
        (0, "deal", None, "0 deals"),
        (3, "opportunity", "opportunities", "3 opportunities"),
        (1, "opportunity", "opportunities", "1 opportunity"),
    ],
)
def test_counted(number, singular, plural, expected):
    assert counted(number, singular, plural) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "places", "expected"),
    [
        ("60500", "EUR", 2, "EUR 60,500.00"),
        # Half up, as people (and the `floatformat` filter) round — not to even.
        ("60500.5", "USD", 0, "USD 60,501"),
        ("60501.5", "USD", 0, "USD 60,502"),
        ("60500.49", "USD", 0, "USD 60,500"),
        ("0.005", "EUR", 2, "EUR 0.01"),
        (1234567.891, "", 2, "1,234,567.89"),
        ("n/a", "EUR", 2, "n/a"),
        (None, "EUR", 2, ""),
    ],
)
def test_money_is_written_one_way(amount, currency, places, expected):
    from salesops.text import money

    assert money(amount, currency, places) == expected
