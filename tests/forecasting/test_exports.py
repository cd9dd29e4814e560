"""forecasting.exports: the CSV download every page reuses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from forecasting.exports import csv_cell, csv_filename, csv_response


def test_cells_are_plain_values():
    assert csv_cell(Decimal("1234.50")) == "1234.50"  # a plain decimal, no separators
    assert csv_cell(Decimal("-12000")) == "-12000"  # a negative number stays a number
    assert csv_cell(Decimal("1E+3")) == "1000"
    assert csv_cell(None) == ""
    assert csv_cell(True) == "yes"
    assert csv_cell(7) == "7"
    assert csv_cell(dt.date(2026, 8, 10)) == "2026-08-10"
    moment = dt.datetime(2026, 8, 10, 9, 30, 5, 123, tzinfo=ZoneInfo("UTC"))
    assert csv_cell(moment) == "2026-08-10T09:30:05+00:00"


def test_text_that_a_spreadsheet_would_run_stays_text():
    hostile = ("=1+1", "+CMD", "-2+3", "@SUM(A1)", "\tx", "x;=1")
    response = csv_response("t.csv", [hostile, ["Acme = good", Decimal("-12000"), "-1.5"]])
    assert response.content.decode("utf-8") == (
        "\ufeff'=1+1,'+CMD,'-2+3,'@SUM(A1),\"'\tx\",\"x;'=1\"\r\n"
        "Acme = good,-12000,-1.5\r\n"  # numbers stay numbers, also as text (stored figures)
    )


def test_filenames_are_safe():
    assert (
        csv_filename("forecast", "2026-Q3", "team-7", "commit")
        == "forecast_2026-Q3_team-7_commit.csv"
    )
    assert csv_filename("a b/c", None, "", 'x"y') == "a-b-c_x-y.csv"


def test_the_response_is_an_attachment_with_a_header_row():
    response = csv_response('bad "name".csv', [["Name", "Amount"], ["Zoë", Decimal("10.00")]])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="bad-name-.csv"'
    assert response.content.decode("utf-8") == "\ufeffName,Amount\r\nZoë,10.00\r\n"
