"""The canonical columns and the cell rules every export shares (no database)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.http import QueryDict
from hypothesis import given
from hypothesis import strategies as st

from forecasting import exports as forecasting_exports
from pipeline.columns import ACCOUNT_COLUMNS, OPPORTUNITY_COLUMNS, PRODUCT_COLUMNS
from salesops import exports
from salesops.columns import (
    PEOPLE_COLUMNS,
    Column,
    column_names,
    external_id_or_own,
    safe_cell,
    unsafe_cell,
)

FORMULA_CHARACTERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def test_the_canonical_columns():
    # The import (exchange) reads exactly these; changing them changes the file format.
    assert column_names(PEOPLE_COLUMNS) == (
        "name", "email", "username", "role", "team", "parent_team", "manager", "start_date",
        "active",
    )  # fmt: skip
    assert column_names(ACCOUNT_COLUMNS) == (
        "external_id", "name", "domain", "industry", "employees", "country",
    )  # fmt: skip
    assert column_names(PRODUCT_COLUMNS) == (
        "external_id", "name", "family", "list_price", "currency",
    )  # fmt: skip
    assert column_names(OPPORTUNITY_COLUMNS) == (
        "external_id", "name", "account", "account_external_id", "owner", "product", "stage",
        "status", "amount", "currency", "created_date", "close_date", "closed_date", "loss_reason",
        "next_step", "next_step_date",
    )  # fmt: skip
    for columns in (PEOPLE_COLUMNS, ACCOUNT_COLUMNS, PRODUCT_COLUMNS, OPPORTUNITY_COLUMNS):
        assert all(c.description.strip() for c in columns)  # each says what it means


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+49 30 1234", "'+49 30 1234"),
        ("-Discount", "'-Discount"),
        ("@handle", "'@handle"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturn", "'\rReturn"),
        ("'=already quoted", "''=already quoted"),
        ("Acme", "Acme"),
        ("'quoted", "'quoted"),
        ("a=b", "a=b"),
        ("", ""),
        ("-1200.50", "-1200.50"),  # a number, not a formula
        ("x;=1+1", "x;'=1+1"),  # a reader splitting at ';' would see "=1+1"
        ("a,-b\n@c", "a,'-b\n'@c"),
        ('x;"=1', "x;'\"=1"),  # a reader takes the quote off
        ("x; =1", "x; =1"),
    ],
)
def test_safe_cell(text, cell):
    assert safe_cell(text) == cell
    assert unsafe_cell(cell) == text


@given(st.text())
def test_unsafe_cell_gives_back_what_safe_cell_wrote(text):
    cell = safe_cell(text)
    assert not cell.startswith(FORMULA_CHARACTERS) or PLAIN_NUMBER.fullmatch(cell)
    assert unsafe_cell(cell) == text


def test_external_id_or_own():
    assert external_id_or_own("CRM-7", 12) == "CRM-7"
    assert external_id_or_own("", 12) == "salesops-12"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "yes"),
        (False, "no"),
        (Decimal("12500"), "12500.00"),
        (Decimal("1234567.5"), "1234567.50"),
        (Decimal("0.5"), "0.50"),
        (42, "42"),
        (dt.date(2026, 3, 1), "2026-03-01"),
        ("=cmd", "=cmd"),  # the text as it is: csv_row makes it safe when writing it
        ("Zoë", "Zoë"),
    ],
)
def test_export_cell(value, cell):
    assert exports.export_cell(value) == cell


def test_csv_lines_chunks_rows_and_starts_with_a_byte_order_mark(monkeypatch):
    monkeypatch.setattr(exports, "ROWS_PER_CHUNK", 2)
    chunks = list(
        exports.csv_lines(
            ACCOUNT_COLUMNS[:2], [["A-1", "Acme, Inc."], ["A-2", "=x"], ["A-3", None]]
        )
    )
    assert len(chunks) == 3  # the header, two rows, one row
    text = "".join(chunks)
    assert text.startswith("\ufeffexternal_id,name\r\n")
    assert list(csv.reader(io.StringIO(text[1:], newline=""))) == [
        ["external_id", "name"],
        ["A-1", "Acme, Inc."],
        ["A-2", "'=x"],
        ["A-3", ""],
    ]


def test_csv_link_query_keeps_the_filters_and_drops_the_page():
    query = QueryDict("status=open&page=3&search=a%26b")
    assert exports.csv_link_query(query) == "status=open&search=a%26b&format=csv"
    assert exports.csv_link_query(QueryDict("format=csv")) == "format=csv"


def test_export_filename():
    assert exports.export_filename("opportunities", "2026-11-25") == (
        "opportunities_2026-11-25.csv"
    )
    assert exports.export_filename("a b/../c", None) == "a-b-..-c.csv"


# --- CSV injection, read in any locale -----------------------------------------------------
# A spreadsheet splits a CSV file at its locale's list separator: ',' in some, ';' where the
# decimal mark is a comma, a tab when pasted. Whichever it splits at, no cell may start with
# a formula character unless it is a plain number.

HOSTILE = [
    "=1+1", "+1", "-1+1", "@SUM(1)", "\t=1", "\r=1", "x;=1+1", "x,=1+1", "x\t=1+1",
    "x;-2+3", 'say "hi"', 'x;"=1+1', "x;'=1+1", "two\nlines", "two\n=lines", "two\r\n@lines",
    "a;b,c\td", "x;\t=1", ";=1", "=1;", '"=1+1"', "'", "",
]  # fmt: skip


def hostile_rows() -> list[list]:
    """Each hostile text first in its row, between other cells and last, next to numbers
    (negative ones too) that must stay numbers."""
    rows: list[list] = []
    for text in HOSTILE:
        rows += [
            [text, "plain", Decimal("-1200.50")],
            ["plain", text, Decimal("-3.00"), 7],
            ["a;b", Decimal("-1200.50"), text, "-1200.00"],
        ]
    return rows


def formula_cells(text: str, delimiter: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [
        cell
        for row in reader
        for cell in row
        if cell.startswith(FORMULA_CHARACTERS) and not PLAIN_NUMBER.fullmatch(cell)
    ]


def written_by_every_export(rows: list[list]) -> list[str]:
    """The same rows written by both CSV writers: the streamed record exports
    (salesops.exports) and the page tables (forecasting.exports)."""
    columns = [Column(f"c{i}", "") for i in range(4)]
    streamed = "".join(exports.csv_lines(columns, rows))
    table = forecasting_exports.csv_response("t.csv", [column_names(columns), *rows])
    return [streamed.removeprefix("\ufeff"), table.content.decode("utf-8").removeprefix("\ufeff")]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_no_split_of_an_export_starts_a_cell_with_a_formula(delimiter):
    for text in written_by_every_export(hostile_rows()):
        assert formula_cells(text, delimiter) == []


def test_an_export_read_at_its_own_separator_gives_back_every_cell():
    rows = hostile_rows()
    for text in written_by_every_export(rows):
        read = list(csv.reader(io.StringIO(text, newline="")))[1:]
        assert [[unsafe_cell(cell) for cell in row] for row in read] == [
            [exports.export_cell(value) for value in row] for row in rows
        ]
        # Numbers are written as numbers: not quoted, no apostrophe — a spreadsheet sums them.
        assert all(row[-1] == "-1200.50" for row in read[0::3])
        assert all(row[2] == "-3.00" for row in read[1::3])
        assert all((row[1], row[3]) == ("-1200.50", "-1200.00") for row in read[2::3])
        assert '"-1200.50"' not in text and "'-1200.50" not in text


def test_a_cell_with_a_separator_of_any_locale_is_quoted():
    line = exports.csv_row(["x;=1+1", "x,1", "x\t1", 'say "hi"', "plain", "-5", "=1"])
    assert line == '"x;\'=1+1","x,1","x\t1","say ""hi""",plain,-5,\'=1\r\n'


def test_a_negative_number_that_opens_a_row_is_written_as_text():
    # A reader splitting at ';' would read "-1200.50,=1+1,…" as one cell: a formula. (No
    # export opens a row with a number that can be negative: ids, names and dates come first.)
    text = exports.csv_row(["-1200.50", "=1+1", "x;=1"])
    assert next(csv.reader([text])) == ["'-1200.50", "'=1+1", "x;'=1"]
    assert next(csv.reader([text], delimiter=";")) == ["'-1200.50,'=1+1,\"x", "'=1\""]
    # Alone in its row, or after the first cell, it stays a number.
    assert exports.csv_row(["-1200.50"]) == "-1200.50\r\n"
    assert exports.csv_row(["42", "-1200.50"]) == "42,-1200.50\r\n"


@given(st.lists(st.text(alphabet=st.sampled_from(",;\t\r\n\"'=+-@ x1."), max_size=8), max_size=4))
def test_no_split_of_any_text_starts_a_cell_with_a_formula(texts):
    text = exports.csv_row(["plain", *texts]) + exports.csv_row([*texts, "plain"])
    for delimiter in (",", ";", "\t"):
        assert formula_cells(text, delimiter) == []
    read = list(csv.reader(io.StringIO(text, newline="")))
    assert [unsafe_cell(cell) for cell in read[0]] == ["plain", *texts]
