"""CSV downloads of the tables on the pages: one response builder every page reuses.

A page that offers `?format=csv&table=<name>` builds its rows (header first) from what it
already read and returns `csv_response(filename, rows)`. Money is written as a plain
decimal ("1234.50", no currency sign, no thousands separator) so a spreadsheet reads it as
a number; dates as ISO dates; None as an empty cell. The lines are written by the writer
every CSV export shares (salesops.exports.csv_row), which keeps text safe from formula
injection.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpResponse

from salesops.exports import csv_row

UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def csv_cell(value: Any) -> str:
    """One value as the text of a CSV cell (before `csv_row` makes it safe to write)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def csv_filename(*parts: Any) -> str:
    """A download name from its parts ("forecast", "2026-Q3", "team-7", "commit"), each
    reduced to letters, digits, dots and dashes, joined by "_", ending in ".csv"."""
    cleaned = [UNSAFE_FILENAME.sub("-", str(p)).strip("-") for p in parts if p not in (None, "")]
    return "_".join(p for p in cleaned if p) + ".csv"


def csv_response(filename: str, rows: Iterable[Sequence[Any]]) -> HttpResponse:
    """An attachment download of `rows` (the header row first), UTF-8 with a byte-order
    mark so that spreadsheet programs detect the encoding of names with accents."""
    body = "".join(csv_row(csv_cell(value) for value in row) for row in rows)
    response = HttpResponse("\ufeff" + body, content_type="text/csv; charset=utf-8")
    safe = UNSAFE_FILENAME.sub("-", filename).strip("-") or "export.csv"
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response
