"""salesops.cleaning.query_int: the one reader of ids and versions typed in query strings
and hidden fields, and the pages that once turned such junk into a 500."""

from __future__ import annotations

import pytest

from salesops.cleaning import query_int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", 42),
        ("0", 0),
        (7, 7),
        ("9" * 18, int("9" * 18)),
        ("9" * 19, None),  # would overflow a bigint in the database
        ("¹", None),  # "¹".isdigit() is true, int("¹") raises
        ("١٢", None),  # Arabic-Indic digits: int() reads them, the database id never has them
        ("-1", None),
        ("1.5", None),
        (" 3", None),
        ("", None),
        (None, None),
        (True, None),
        ("x", None),
    ],
)
def test_query_int(value, expected):
    assert query_int(value) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/coaching/assessments/new/?rep=%C2%B9&skill=%C2%B9",  # "¹"
        "/coaching/reviews/?rep=99999999999999999999999",
        "/coaching/sessions/new/?rep=%C2%B9",
    ],
)
def test_junk_ids_in_coaching_query_strings_are_no_500(client, manager, url):
    client.force_login(manager)
    assert client.get(url).status_code == 200
