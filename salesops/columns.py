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


def safe_cell(text: str) -> str:
    """`text` as a CSV cell that no spreadsheet runs as a formula: a cell starting with
    = + - @ TAB or CR gets a leading apostrophe (spreadsheets show it as text).

    Text that already starts with apostrophes before such a character gets one more, so
    that `unsafe_cell` (the import's side) gives back exactly the original text."""
    return "'" + text if text.lstrip("'").startswith(FORMULA_START) else text


def unsafe_cell(text: str) -> str:
    """The inverse of `safe_cell`, for a file this app exported: drops the apostrophe
    `safe_cell` added, and leaves every other cell alone."""
    if text.startswith("'") and text[1:].lstrip("'").startswith(FORMULA_START):
        return text[1:]
    return text
