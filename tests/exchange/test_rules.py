"""The import's pure rules: column names, dates, amounts, statuses — no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.rules import (
    FIELDS,
    CellError,
    DateOrder,
    ImportKind,
    Status,
    clean_cell,
    guess_date_order,
    guess_decimal_comma,
    normalise_header,
    parse_amount,
    parse_date,
    parse_status,
    parse_whole_number,
    parse_yes_no,
    propose_mapping,
)
from pipeline.columns import ACCOUNT_COLUMNS, OPPORTUNITY_COLUMNS, PRODUCT_COLUMNS
from salesops.columns import PEOPLE_COLUMNS, column_names, safe_cell

# --- columns ---


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        (ImportKind.PEOPLE, PEOPLE_COLUMNS),
        (ImportKind.ACCOUNTS, ACCOUNT_COLUMNS),
        (ImportKind.PRODUCTS, PRODUCT_COLUMNS),
        (ImportKind.OPPORTUNITIES, OPPORTUNITY_COLUMNS),
    ],
)
def test_our_own_export_maps_itself_column_for_column(kind, columns):
    """Export → import: every column the export writes is a field of the import, found by
    its own name."""
    header = column_names(columns)
    assert propose_mapping(kind, header) == {name: name for name in header}
    assert set(header) <= {f.name for f in FIELDS[kind]}


SALESFORCE = [
    "Opportunity Owner",
    "Account Name",
    "Opportunity Name",
    "Stage",
    "Fiscal Period",
    "Amount",
    "Probability (%)",
    "Close Date",
    "Created Date",
    "Opportunity ID",
]
SALESFORCE_API = [
    "Id",
    "AccountId",
    "Name",
    "StageName",
    "Amount",
    "CloseDate",
    "CreatedDate",
    "OwnerId",
    "CurrencyIsoCode",
]
HUBSPOT = [
    "Record ID",
    "Deal Name",
    "Deal Stage",
    "Close Date",
    "Deal owner",
    "Amount",
    "Create Date",
    "Pipeline",
    "Associated Company",
    "Closed Lost Reason",
]
PIPEDRIVE = ["Deal - ID", "Deal - Title", "Deal - Value", "Deal - Currency",
             "Deal - Organization", "Deal - Owner", "Deal - Stage", "Deal - Status",
             "Deal - Deal created", "Deal - Expected close date", "Deal - Deal closed on",
             "Deal - Lost reason"]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (SALESFORCE, {"Opportunity Owner": "owner", "Account Name": "account",
                      "Opportunity Name": "name", "Stage": "stage", "Amount": "amount",
                      "Close Date": "close_date", "Created Date": "created_date",
                      "Opportunity ID": "external_id", "Fiscal Period": "",
                      "Probability (%)": ""}),
        (SALESFORCE_API, {"Id": "external_id", "AccountId": "account_external_id",
                          "Name": "name", "StageName": "stage", "Amount": "amount",
                          "CloseDate": "close_date", "CreatedDate": "created_date",
                          "OwnerId": "owner", "CurrencyIsoCode": "currency"}),
        (HUBSPOT, {"Record ID": "external_id", "Deal Name": "name", "Deal Stage": "stage",
                   "Close Date": "close_date", "Deal owner": "owner", "Amount": "amount",
                   "Create Date": "created_date", "Pipeline": "",
                   "Associated Company": "account", "Closed Lost Reason": "loss_reason"}),
        (PIPEDRIVE, {"Deal - ID": "external_id", "Deal - Title": "name",
                     "Deal - Value": "amount", "Deal - Currency": "currency",
                     "Deal - Organization": "account", "Deal - Owner": "owner",
                     "Deal - Stage": "stage", "Deal - Status": "status",
                     "Deal - Deal created": "created_date",
                     "Deal - Expected close date": "close_date",
                     "Deal - Deal closed on": "closed_date", "Deal - Lost reason": "loss_reason"}),
    ],
    ids=["salesforce-report", "salesforce-api", "hubspot", "pipedrive"],
)  # fmt: skip
def test_crm_headers_are_recognised(header, expected):
    assert propose_mapping(ImportKind.OPPORTUNITIES, header) == expected


def test_a_saved_mapping_wins_and_a_field_is_taken_once():
    header = ["Owner", "Deal owner", "Stage"]
    assert propose_mapping(ImportKind.OPPORTUNITIES, header) == {
        "Owner": "owner", "Deal owner": "", "Stage": "stage",
    }  # fmt: skip
    saved = {"Deal owner": "owner", "Owner": ""}
    assert propose_mapping(ImportKind.OPPORTUNITIES, header, saved) == {
        "Owner": "", "Deal owner": "owner", "Stage": "stage",
    }  # fmt: skip


def test_header_normalisation():
    assert normalise_header("  Opportunity  Owner ") == "opportunity owner"
    assert normalise_header("Amount (converted)") == "amount converted"
    assert normalise_header("hs_object_id") == "hs object id"
    assert normalise_header("CloseDate") == "close date"


# --- dates ---


@pytest.mark.parametrize(
    ("values", "order", "ambiguous", "conflicting"),
    [
        (["3/14/2024", "4/1/2024"], DateOrder.MDY, False, False),
        (["14/3/2024", "1/4/2024"], DateOrder.DMY, False, False),
        (["3/4/2024", "5/6/2024"], None, True, False),
        (["3/14/2024", "14/3/2024"], None, False, True),
        (["2024-03-14", "14.03.2024"], None, False, False),
    ],
)
def test_the_date_order_is_decided_by_the_whole_column(values, order, ambiguous, conflicting):
    guess = guess_date_order(values)
    assert (guess.order, guess.ambiguous, guess.conflicting) == (order, ambiguous, conflicting)


@given(st.dates(min_value=dt.date(1971, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_every_date_format_reads_back(day):
    assert parse_date(day.isoformat(), None) == day
    assert parse_date(f"{day.month}/{day.day}/{day.year}", DateOrder.MDY) == day
    assert parse_date(f"{day.day:02d}/{day.month:02d}/{day.year}", DateOrder.DMY) == day
    assert parse_date(f"{day.day}.{day.month}.{day.year}", None) == day
    assert parse_date(f"{day.month}/{day.day}/{day.year} 9:30 AM", DateOrder.MDY) == day
    assert parse_date(f"{day.isoformat()}T10:00:00Z", None) == day


@pytest.mark.parametrize(
    ("text", "order", "message"),
    [
        ("31/02/2017", DateOrder.DMY, "'31/02/2017' is not a date."),
        ("3/4/2024", None, "could be 3/4 either way"),
        ("next Tuesday", DateOrder.MDY, "'next Tuesday' is not a date"),
        ("2024-13-01", None, "'2024-13-01' is not a date."),
    ],
)
def test_a_bad_date_says_why(text, order, message):
    with pytest.raises(CellError, match=message.replace("(", r"\(")):
        parse_date(text, order)


def test_two_digit_years_read_as_spreadsheets_do():
    assert parse_date("3/14/24", DateOrder.MDY) == dt.date(2024, 3, 14)
    assert parse_date("1.2.99", None) == dt.date(1999, 2, 1)
    assert parse_date("", DateOrder.MDY) is None


# --- amounts ---


@pytest.mark.parametrize(
    ("text", "decimal_comma", "amount", "currency"),
    [
        ("$1,250.00", False, "1250.00", "USD"),
        ("1.250,50 €", True, "1250.50", "EUR"),
        ("CHF 1'250.50", False, "1250.50", "CHF"),
        ("12500", False, "12500.00", None),
        ("12 500,00", True, "12500.00", None),
        ("EUR 3.5", False, "3.50", "EUR"),
        ("  ", False, None, None),
    ],
)
def test_amounts_in_a_crms_words(text, decimal_comma, amount, currency):
    value, named = parse_amount(text, decimal_comma=decimal_comma)
    assert value == (Decimal(amount) if amount else None)
    assert named == currency


@pytest.mark.parametrize("text", ["(1,200)", "-5", "abc", "1e30", "NaN", "1,000,000,000,000"])
def test_bad_amounts_are_refused(text):
    with pytest.raises(CellError):
        parse_amount(text, decimal_comma=False)


@pytest.mark.parametrize(
    ("values", "comma"),
    [
        (["1,250.00", "300"], False),
        (["1.250,00", "300"], True),
        (["1250,5"], True),
        (["1.250.000"], True),
        (["1,250", "99"], False),
        (["", "12"], False),
    ],
)
def test_the_decimal_mark_is_decided_by_the_column(values, comma):
    assert guess_decimal_comma(values) is comma


@given(st.decimals(min_value=0, max_value=Decimal("999999999999.99"), places=2))
def test_amounts_written_either_way_read_back(amount):
    us = f"{amount:,.2f}"
    eu = us.replace(",", "X").replace(".", ",").replace("X", ".")
    assert parse_amount(us, decimal_comma=False)[0] == amount
    assert parse_amount(eu, decimal_comma=True)[0] == amount


# --- status, yes/no, numbers, cells ---


@pytest.mark.parametrize(
    ("text", "status"),
    [("Won", Status.WON), ("closedwon", Status.WON), ("Closed Lost", Status.LOST),
     ("open", Status.OPEN), ("", None), ("closed-lost", Status.LOST)],
)  # fmt: skip
def test_statuses(text, status):
    assert parse_status(text) == status


def test_an_unknown_status_is_refused():
    with pytest.raises(CellError, match="is not a status"):
        parse_status("maybe")


def test_yes_no_and_whole_numbers():
    assert parse_yes_no("Yes") and not parse_yes_no("no") and parse_yes_no("")
    with pytest.raises(CellError):
        parse_yes_no("perhaps")
    assert parse_whole_number("1,200") == 1200 and parse_whole_number("") is None
    with pytest.raises(CellError):
        parse_whole_number("12.5k")


@given(st.text(max_size=40).filter(lambda text: text == text.strip()))
def test_our_exports_protective_apostrophe_comes_off(text):
    assert clean_cell(safe_cell(text)) == text


@pytest.mark.parametrize("text", ["x;=1+1", "Acme, -Discount", "a\n@b", "x;", "'=1", "-1200.50"])
def test_the_apostrophes_inside_a_cell_come_off_too(text):
    # Our export also puts one after a separator inside a cell ("x;'=1+1").
    assert clean_cell(safe_cell(text)) == text
