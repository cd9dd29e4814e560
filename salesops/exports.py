"""Streamed CSV downloads of records, in the canonical columns (salesops/columns.py).

Every export of records (people, accounts, products, opportunities — on pages and in the
API) is a `csv_stream(...)`: the rows come from an iterator over a database cursor and go
out in chunks, so a file of any size is written without holding it in memory. UTF-8 with a
byte-order mark, so spreadsheet programs detect the encoding of names with accents.

`csv_row` writes every line of every CSV export (the page tables of forecasting.exports
too): the one place where cells are made safe from formula injection and quoted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict, StreamingHttpResponse

from salesops import organisation
from salesops.columns import PEOPLE_COLUMNS, SPLIT_AT, Column, column_names, safe_cell
from salesops.models import User

# Rows per chunk handed to the server: one write per row made a 100,000-row file ~100,000
# tiny writes; a chunk of a few hundred rows is a few tens of KB.
ROWS_PER_CHUNK = 500
UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
# A cell with one of these is quoted: the split characters of every locale (not only our
# own ','), so a reader splitting at ';' or tab keeps a quoted first cell whole, and quotes.
_QUOTE_IF_IN = frozenset(SPLIT_AT + '"')


def csv_row(cells: Iterable[str]) -> str:
    """One line of a CSV file (',' between cells, CRLF at the end) from the cells' text.

    Every cell goes through `safe_cell` — nothing a spreadsheet would run as a formula, in
    any locale — and a plain number ("-1200.50") stays a number a spreadsheet can sum. A
    cell with , ; TAB, a line break or a quote is quoted, its quotes doubled."""
    cells = list(cells)
    written = []
    for position, cell in enumerate(cells):
        # A negative number that opens a row of several is written as text: a reader
        # splitting at another character than ours would read "-1200.50,=1+1,…" as one
        # cell, a formula. (Every export opens its rows with ids, names or dates.)
        text = safe_cell(cell, numbers=position > 0 or len(cells) == 1)
        if not _QUOTE_IF_IN.isdisjoint(text):
            text = '"' + text.replace('"', '""') + '"'
        written.append(text)
    # A row of one empty cell is "" — an empty line would be read as no row at all.
    return (",".join(written) if written != [""] else '""') + "\r\n"


def export_cell(value: Any) -> str:
    """One value as the text of an export cell: None empty, yes/no, amounts with two
    decimals and no separators, ISO dates. (`csv_row` makes text safe when writing it.)"""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        # A moment is exported as the organisation's day (a streamed response is written after
        # the middleware has given the request's time zone back: name the zone).
        return organisation.current().localtime(value).date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def csv_lines(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The file as text chunks: the byte-order mark and header first, then the rows."""
    yield "\ufeff" + csv_row(column_names(columns))
    chunk: list[str] = []
    for row in rows:
        chunk.append(csv_row(export_cell(value) for value in row))
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def export_filename(*parts: Any) -> str:
    """A download name from its parts, e.g. ("opportunities", "2026-11-25") →
    "opportunities_2026-11-25.csv": letters, digits, dots and dashes only."""
    cleaned = [UNSAFE_FILENAME.sub("-", str(p)).strip("-") for p in parts if p not in (None, "")]
    return "_".join(p for p in cleaned if p) + ".csv"


def csv_stream(
    filename: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """An attachment download of `rows` (values in the order of `columns`), streamed."""
    response = StreamingHttpResponse(
        csv_lines(columns, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The file reflects the moment it was asked for; never serve it from a cache.
    response["Cache-Control"] = "no-store"
    return response


def csv_link_query(query: QueryDict) -> str:
    """The query string of a list page's "Download CSV" link: the page's own filters, no
    page number, `format=csv` — the same view, the same filter parsing, every row."""
    link = query.copy()
    link.pop("page", None)
    link["format"] = "csv"
    return link.urlencode()


# --- people ---------------------------------------------------------------------------

_PEOPLE_VALUES = (
    "first_name", "last_name", "email", "username", "role", "team__name",
    "team__parent__name", "team__manager__email", "team__manager__username", "started_on",
    "is_active",
)  # fmt: skip


def people_rows(people: QuerySet[User]) -> Iterator[list[Any]]:
    """One row per person, in PEOPLE_COLUMNS order (one query, read in chunks)."""
    for (
        first, last, email, username, role, team, parent_team, manager_email,
        manager_username, started_on, is_active,
    ) in people.values_list(*_PEOPLE_VALUES).iterator(chunk_size=2000):  # fmt: skip
        yield [
            f"{first} {last}".strip(),  # User.get_full_name
            email,
            username,
            role,
            team,
            parent_team,
            manager_email or manager_username,
            started_on,
            is_active,
        ]


def people_export(people: QuerySet[User]) -> StreamingHttpResponse:
    return csv_stream(
        export_filename("people", organisation.current().today().isoformat()),
        PEOPLE_COLUMNS,
        people_rows(people),
    )
