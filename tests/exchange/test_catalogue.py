"""The accounts and products imports' pure readers: domains, employees, list prices —
known answers, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.catalogue import (
    AccountRow,
    ProductRow,
    normalise_domain,
    parse_employees,
    read_account,
    read_product,
)
from exchange.rules import CellError


@pytest.mark.parametrize(
    ("cell", "domain"),
    [
        ("https://www.acme.com/about", "acme.com"),
        ("http://acme.com", "acme.com"),
        ("WWW.Acme.COM", "acme.com"),
        ("acme.com.", "acme.com"),
        ("shop.acme.co.uk:8080/path?q=1#x", "shop.acme.co.uk"),
        ("//cdn.acme.io", "cdn.acme.io"),
        ("https://user@portal.acme.de/", "portal.acme.de"),
        ("müller-söhne.de", "müller-söhne.de"),
        ("www2.acme.com", "www2.acme.com"),
        ("  acme.com  ", "acme.com"),
        ("", ""),
    ],
)
def test_domains_are_stored_bare(cell, domain):
    assert normalise_domain(cell) == domain


@pytest.mark.parametrize(
    "cell", ["acme", "not a domain", "http://", "https://-acme.com", "acme_corp.com", "10.0.0.1"]
)
def test_what_is_not_a_domain(cell):
    with pytest.raises(CellError):
        normalise_domain(cell)


@pytest.mark.parametrize(
    ("cell", "employees"),
    [
        ("1,200", 1200),
        ("1.200", 1200),
        ("1 200", 1200),
        ("1'200", 1200),
        ("1200", 1200),
        ("1200.0", 1200),
        ("1200,00", 1200),
        ("55,000", 55000),
        ("1.000", 1000),
        ("12,000,000", 12_000_000),
        ("0", 0),
        ("", None),
    ],
)
def test_employees_are_whole_numbers(cell, employees):
    assert parse_employees(cell) == employees


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("51-200", "is a range"),
        ("-5", "cannot be negative"),
        ("12.5", "not a whole number"),
        ("1200.000", "not a whole number"),
        ("many", "not a whole number"),
        ("99999999999", "too large"),
        ("１２", "not a whole number"),  # full-width digits are not ASCII
    ],
)
def test_what_is_not_a_number_of_employees(cell, why):
    with pytest.raises(CellError, match=why):
        parse_employees(cell)


def test_an_account_row_reads_with_every_problem_at_once():
    account = read_account(
        3,
        {
            "external_id": "0011",
            "name": "Acme GmbH",
            "domain": "https://www.acme.de/kontakt",
            "industry": "Logistics",
            "employees": "1,200",
            "country": "Germany",
        },
    )
    assert isinstance(account, AccountRow)
    assert (account.domain, account.employees) == ("acme.de", 1200)
    assert account.given == {"external_id", "name", "domain", "industry", "employees", "country"}

    problems = read_account(4, {"name": "", "domain": "acme", "employees": "lots"})
    assert {(p.line, p.field) for p in problems} == {(4, "name"), (4, "domain"), (4, "employees")}


def test_blank_cells_are_not_given():
    account = read_account(2, {"name": "Acme", "domain": "", "employees": ""})
    assert account.given == {"name"} and account.employees is None


def test_a_product_row_reads_its_price_like_an_amount():
    product = read_product(
        2, {"name": "Core platform", "list_price": "$12,500.00", "family": "Platform"},
        decimal_comma=False,
    )  # fmt: skip
    assert isinstance(product, ProductRow)
    assert (product.list_price, product.currency) == (Decimal("12500.00"), "USD")
    assert "currency" in product.given

    european = read_product(
        2, {"name": "Core", "list_price": "1.250,50 €", "currency": "chf"}, decimal_comma=True
    )
    # The currency column wins over the sign in the price.
    assert (european.list_price, european.currency) == (Decimal("1250.50"), "CHF")


def test_a_product_row_with_problems():
    problems = read_product(
        5, {"name": "", "list_price": "-3", "currency": "EURO"}, decimal_comma=False
    )
    assert {p.field for p in problems} == {"name", "list_price", "currency"}
    free = read_product(6, {"name": "Onboarding", "list_price": ""}, decimal_comma=False)
    assert (free.list_price, free.currency) == (None, "")


@pytest.mark.parametrize(
    ("kind", "header", "expected"),
    [
        ("accounts",
         ["Account ID", "Account Name", "Website", "Industry", "Employees", "Billing Country"],
         {"Account ID": "external_id", "Account Name": "name", "Website": "domain",
          "Industry": "industry", "Employees": "employees", "Billing Country": "country"}),
        ("accounts",
         ["Record ID", "Company name", "Company Domain Name", "Industry", "Number of Employees",
          "Country/Region", "Create Date"],
         {"Record ID": "external_id", "Company name": "name", "Company Domain Name": "domain",
          "Industry": "industry", "Number of Employees": "employees",
          "Country/Region": "country", "Create Date": ""}),
        ("accounts",
         ["Organization - ID", "Organization - Name", "Organization - Address - Country",
          "Organization - Owner"],
         {"Organization - ID": "external_id", "Organization - Name": "name",
          "Organization - Address - Country": "country", "Organization - Owner": ""}),
        ("products",
         ["Product Code", "Product Name", "Product Family", "List Price", "Product Currency",
          "Active"],
         {"Product Code": "external_id", "Product Name": "name", "Product Family": "family",
          "List Price": "list_price", "Product Currency": "currency", "Active": ""}),
        ("products",
         ["Record ID", "Name", "SKU", "Unit price", "Description"],
         {"Record ID": "external_id", "Name": "name", "SKU": "", "Unit price": "list_price",
          "Description": ""}),
    ],
    ids=["salesforce-accounts", "hubspot-companies", "pipedrive-organizations",
         "salesforce-products", "hubspot-products"],
)  # fmt: skip
def test_catalogue_headers_of_crms(kind, header, expected):
    from exchange.rules import ImportKind, propose_mapping

    assert propose_mapping(ImportKind(kind), header) == expected
