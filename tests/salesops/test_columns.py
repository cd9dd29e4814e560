"""The canonical columns and the cell rules every export shares (no database)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.http import QueryDict
from hypothesis import given
from hypothesis import strategies as st

from pipeline.columns import ACCOUNT_COLUMNS, OPPORTUNITY_COLUMNS, PRODUCT_COLUMNS
from salesops import exports
from salesops.columns import (
    PEOPLE_COLUMNS,
    column_names,
    external_id_or_own,
    safe_cell,
    unsafe_cell,
)


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
    ],
)
def test_safe_cell(text, cell):
    assert safe_cell(text) == cell
    assert unsafe_cell(cell) == text


@given(st.text())
def test_unsafe_cell_gives_back_what_safe_cell_wrote(text):
    cell = safe_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
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
        ("=cmd", "'=cmd"),
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
