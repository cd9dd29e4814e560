"""Reading one row of an accounts or a products export — pure, no database.

`read_account` and `read_product` turn a row's cells (by our field names) into the values
Salesops stores, or every problem of the row, each naming its field. A CRM writes:
- web domains as addresses ("https://www.acme.com/about", "WWW.Acme.com") — stored as
  the bare domain ("acme.com");
- numbers of employees with thousands separators ("1,200", "1.200", "1 200") or as a
  spreadsheet's float ("1200.0");
- list prices like amounts (exchange.rules.parse_amount: "$1,250.00", "1.250,00 €").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

from exchange.deals import Problem
from exchange.rules import CellError, clean_cell, looks_like_formula, parse_amount

MAX_EMPLOYEES = 2_147_483_647  # Account.employees, a PostgreSQL integer

ACCOUNT_LENGTHS = {"external_id": 100, "name": 200, "domain": 200, "industry": 100,
                   "country": 100}  # fmt: skip
PRODUCT_LENGTHS = {"external_id": 100, "name": 200, "family": 100}

_LABEL = re.compile(r"^(?!-)[\w-]{1,63}(?<!-)$")
_THOUSANDS = re.compile(r"^\d{1,3}([,.\s\u00a0\u202f']\d{3})+$")


def normalise_domain(text: str) -> str:
    """The bare web domain of a cell: "https://www.acme.com/about" → "acme.com",
    "WWW.Acme.COM." → "acme.com", "shop.acme.co.uk:8080" → "shop.acme.co.uk"; "" → "".
    Raises CellError for text that is not a domain or address."""
    raw = (text or "").strip()
    if not raw:
        return ""
    candidate = raw if "://" in raw or raw.startswith("//") else f"//{raw}"
    try:
        host = urlsplit(candidate).hostname or ""
    except ValueError:
        host = ""
    host = host.strip().rstrip(".").casefold()
    if host.startswith("www."):
        host = host[4:]
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or "_" in host:
        raise CellError(f"'{raw}' is not a web domain (e.g. acme.com).")
    if labels[-1].isdigit():
        raise CellError(f"'{raw}' is an IP address, not a web domain.")
    return host


def parse_employees(text: str) -> int | None:
    """A number of employees: "1,200", "1.200", "1 200", "1200" and a spreadsheet's
    "1200.0" are 1200; "" → None. Raises CellError for anything else (a range such as
    "51-200" included: say which number to keep)."""
    raw = (text or "").strip()
    if not raw:
        return None
    number = raw
    if _THOUSANDS.match(number):  # 1,200 · 1.200 · 1 200: three digits after a mark
        number = re.sub(r"\D", "", number)
    elif re.fullmatch(r"\d+[.,]0{1,2}", number):  # a spreadsheet's 1200.0
        number = re.split(r"[.,]", number)[0]
    if number.startswith("-") and number[1:].strip().isdigit():
        raise CellError(f"'{raw}': a number of employees cannot be negative.")
    if not number.isascii() or not number.isdigit():
        if re.fullmatch(r"\d[\d,.]*\s*[-–]\s*\d[\d,.]*", raw):
            raise CellError(f"'{raw}' is a range; give one whole number of employees.")
        raise CellError(f"'{raw}' is not a whole number of employees.")
    value = int(number)
    if value > MAX_EMPLOYEES:
        raise CellError(f"'{raw}' is too large for a number of employees.")
    return value


def _text(
    cells: Mapping[str, str], name: str, limits: Mapping[str, int], problems: list[str]
) -> str:
    text = clean_cell(cells.get(name))
    limit = limits.get(name)
    if limit and len(text) > limit:
        problems.append(f"{name}: use at most {limit} characters (got {len(text)}).")
    return text


def _given(cells: Mapping[str, str]) -> frozenset[str]:
    return frozenset(name for name, value in cells.items() if clean_cell(value))


# --- accounts ---------------------------------------------------------------------------


@dataclass
class AccountRow:
    line: int
    external_id: str
    name: str
    domain: str
    industry: str
    employees: int | None
    country: str
    # Which fields the file gives (mapped and not blank): an update changes only these.
    given: frozenset[str] = frozenset()
    warnings: list[str] = field(default_factory=list)


def read_account(line: int, cells: Mapping[str, str]) -> AccountRow | list[Problem]:
    """The account of one row, or every problem of the row."""
    errors: list[str] = []
    warnings: list[str] = []
    external_id = _text(cells, "external_id", ACCOUNT_LENGTHS, errors)
    name = _text(cells, "name", ACCOUNT_LENGTHS, errors)
    if not name:
        errors.append("name: the account has no name.")
    elif looks_like_formula(name):
        warnings.append("name: starts with '=' like a spreadsheet formula; kept as text.")
    try:
        domain = normalise_domain(clean_cell(cells.get("domain")))
    except CellError as exc:
        errors.append(f"domain: {exc}")
        domain = ""
    if len(domain) > ACCOUNT_LENGTHS["domain"]:
        errors.append(f"domain: use at most {ACCOUNT_LENGTHS['domain']} characters.")
    industry = _text(cells, "industry", ACCOUNT_LENGTHS, errors)
    country = _text(cells, "country", ACCOUNT_LENGTHS, errors)
    try:
        employees = parse_employees(clean_cell(cells.get("employees")))
    except CellError as exc:
        errors.append(f"employees: {exc}")
        employees = None
    if errors:
        return [Problem(line, e.split(":", 1)[0], e) for e in errors]
    return AccountRow(
        line=line,
        external_id=external_id,
        name=name,
        domain=domain,
        industry=industry,
        employees=employees,
        country=country,
        given=_given(cells),
        warnings=warnings,
    )


# --- products ---------------------------------------------------------------------------


@dataclass
class ProductRow:
    line: int
    external_id: str
    name: str
    family: str
    list_price: Decimal | None
    currency: str
    given: frozenset[str] = frozenset()
    warnings: list[str] = field(default_factory=list)


def read_product(
    line: int, cells: Mapping[str, str], *, decimal_comma: bool
) -> ProductRow | list[Problem]:
    """The product of one row, or every problem of the row. The currency is the
    currency column's, else the one the price names ("$1,250.00" → USD), else none."""
    errors: list[str] = []
    warnings: list[str] = []
    external_id = _text(cells, "external_id", PRODUCT_LENGTHS, errors)
    name = _text(cells, "name", PRODUCT_LENGTHS, errors)
    if not name:
        errors.append("name: the product has no name.")
    elif looks_like_formula(name):
        warnings.append("name: starts with '=' like a spreadsheet formula; kept as text.")
    family = _text(cells, "family", PRODUCT_LENGTHS, errors)
    try:
        list_price, named = parse_amount(
            clean_cell(cells.get("list_price")), decimal_comma=decimal_comma
        )
    except CellError as exc:
        errors.append(f"list_price: {exc}")
        list_price, named = None, None
    currency = clean_cell(cells.get("currency")).upper() or (named or "")
    if currency and (len(currency) != 3 or not (currency.isascii() and currency.isalpha())):
        errors.append(f"currency: '{currency}' is not a three-letter ISO code, e.g. EUR.")
    given = _given(cells)
    if currency and "currency" not in given:
        given |= {"currency"}
    if errors:
        return [Problem(line, e.split(":", 1)[0], e) for e in errors]
    return ProductRow(
        line=line,
        external_id=external_id,
        name=name,
        family=family,
        list_price=list_price,
        currency=currency,
        given=given,
        warnings=warnings,
    )
