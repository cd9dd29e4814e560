"""The canonical CSV columns of the shared kernel's records, and the cell rule of every export.

The import reads these columns and the export writes them, in this order, so that an
export imported into an empty database gives the same records. Each app defines the
columns of the records it owns (pipeline/columns.py: accounts, products, opportunities);
this module holds the people's and what every CSV export shares.

Values in every file: dates as ISO dates (YYYY-MM-DD), amounts as plain decimals with a
dot and two decimals (12500.00, no thousands separator, no currency sign), yes/no for
flags, an empty cell for "none".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of an import/export file: its header and what a cell of it means."""

    name: str
    description: str


def column_names(columns: Iterable[Column]) -> tuple[str, ...]:
    """The headers of `columns`, in order (the first row of a file)."""
    return tuple(column.name for column in columns)


# A record without an external id is exported with "salesops-<id>" as its external id, so
# that rows which refer to it (a deal's account) can name it and a re-import finds it again.
EXTERNAL_ID_PREFIX = "salesops-"


def external_id_or_own(external_id: str, pk: int) -> str:
    """The record's external id, else "salesops-<id>"."""
    return external_id or f"{EXTERNAL_ID_PREFIX}{pk}"


PEOPLE_COLUMNS: tuple[Column, ...] = (
    Column("name", "Full name (first name and last name)."),
    Column("email", "Email address."),
    Column("username", "Sign-in name."),
    Column("role", "rep, manager, leader or admin."),
    Column("team", "Name of the person's team; empty: no team."),
    Column("parent_team", "Name of the team's parent team; empty: a top-level team."),
    Column("manager", "Email of the team's manager (username when they have no email)."),
    Column("start_date", "First day in the role, YYYY-MM-DD; empty: not recorded."),
    Column("active", "yes, or no for a deactivated person."),
)


# --- the cell rule of every export ------------------------------------------------------

# A cell starting with one of these is run as a formula by spreadsheet programs (CSV or
# formula injection): a deal named "=HYPERLINK(...)" must stay text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Where some reader of the file may start a new cell or row: our ',' delimiter, the ';' of
# locales whose decimal mark is a comma, a tab (pasted or imported as tab-separated), and
# line breaks. A text cell "x;=1+1" is one cell to us but "x" and "=1+1" to a reader that
# splits at ';' — quoting the cell does not help when it is not the first of its row (that
# reader sees our opening quote in the middle of its cell), so the rule applies after every
# one of these too.
SPLIT_AT = ",;\t\r\n"
# A plain decimal number ("-1200.50", "42") is a number, not a formula: written as it is,
# so that a spreadsheet still sums it.
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_FORMULA = f"[{re.escape(''.join(FORMULA_START))}]"
_SPLIT = f"[{re.escape(SPLIT_AT)}]"
# Where the apostrophe goes: at the start of the cell, and after a split character, before
# text that starts like a formula once a reader takes off any quotes or apostrophes. After
# a split character at the very end of the cell too: a reader splitting there sees our
# closing quote open a quoted cell that runs across our line break — a cell starting "\r".
_AT_START = rf"""\A(?=['"]*{_FORMULA})"""
_AFTER_SPLIT = rf"""(?<={_SPLIT})(?=['"]*(?:{_FORMULA}|\Z))"""
_UNSAFE_START = re.compile(f"{_AT_START}|{_AFTER_SPLIT}")
# The apostrophe `safe_cell` put there (one more than the text had).
_OUR_APOSTROPHE = re.compile(
    rf"""\A'(?=['"]*{_FORMULA})|(?<={_SPLIT})'(?=['"]*(?:{_FORMULA}|\Z))"""
)


def safe_cell(text: str, *, numbers: bool = True) -> str:
    """`text` as a CSV cell that no spreadsheet runs as a formula, whatever character it
    splits cells at: where the cell, or a part of it after , ; TAB or a line break, starts
    with = + - @ TAB or CR (after any quotes or apostrophes), an apostrophe goes in front of
    that part ("=1" → "'=1", "x;=1" → "x;'=1"; spreadsheets show such a part as text), and
    after a split character that ends the cell ("x;" → "x;'"). A plain number ("-1200.50")
    is left as it is, unless `numbers` is False.

    Text that already has apostrophes there gets one more, so that `unsafe_cell` (the
    import's side) gives back exactly the original text."""
    if numbers and _PLAIN_NUMBER.fullmatch(text):
        return text
    return _UNSAFE_START.sub("'", text)


def unsafe_cell(text: str) -> str:
    """The inverse of `safe_cell`, for a file this app exported: drops the apostrophes
    `safe_cell` added, and leaves every other cell alone."""
    return _OUR_APOSTROPHE.sub("", text)
