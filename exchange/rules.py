"""Pure rules of the CSV import: which column is which field, and how a CRM's text becomes a
typed value. No database here: the services hand these functions strings and lookups.

What a CRM export looks like, and what these rules accept:
- headers in a CRM's own words ("Opportunity Owner", "Deal - Value", "Create Date");
  `propose_mapping` matches them to our fields, a saved mapping of the source first;
- dates as ISO (2024-03-14, with or without a time), M/D/YYYY, D/M/YYYY or D.M.YYYY;
  whether 03/04/2024 is March or April is decided for the whole column
  (`guess_date_order`) and confirmed by the user — a column that cannot tell asks;
- amounts with currency symbols or codes and thousands separators ("$1,250.00",
  "1.250,00 €", "CHF 1'250.50"); whether the comma is the decimal mark is decided for the
  whole column too (`guess_decimal_comma`);
- text that a spreadsheet would run as a formula is kept as text (never evaluated), and
  the apostrophe our own export puts before such a cell is taken off again.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from salesops.cleaning import name_key
from salesops.columns import unsafe_cell

# --- the fields of each kind of import --------------------------------------------------


class ImportKind(StrEnum):
    PEOPLE = "people"
    ACCOUNTS = "accounts"
    PRODUCTS = "products"
    OPPORTUNITIES = "opportunities"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    # The column names CRMs use for it (compared after `normalise_header`).
    synonyms: tuple[str, ...] = ()
    required: bool = False


FIELDS: dict[ImportKind, tuple[Field, ...]] = {
    ImportKind.PEOPLE: (
        # A full name, or first and last name in columns of their own (HubSpot's users):
        # a row needs one of them (exchange.people.read_person).
        Field("name", "Full name", ("full name", "name", "user", "user name", "person",
                                    "employee", "display name")),
        Field("email", "Email", ("email", "e-mail", "email address", "work email", "mail")),
        Field("username", "Username", ("username", "login", "user id", "alias")),
        Field("role", "Role", ("role", "profile", "position type", "user role")),
        Field("team", "Team", ("team", "team name", "sales team", "group", "department",
                               "role hierarchy", "primary team")),
        Field("parent_team", "Parent team", ("parent team", "parent", "reports to team",
                                             "division", "region")),
        Field("manager", "Manager", ("manager", "manager email", "reports to",
                                     "line manager", "supervisor", "manager full name",
                                     "manager name", "reports to email")),
        Field("start_date", "Start date", ("start date", "started on", "hire date",
                                           "start", "joined", "date joined")),
        Field("active", "Active", ("active", "is active", "status", "enabled", "user status",
                                   "active user")),
        Field("first_name", "First name", ("first name", "given name", "firstname")),
        Field("last_name", "Last name", ("last name", "surname", "family name", "lastname")),
    ),
    ImportKind.ACCOUNTS: (
        Field("external_id", "External id", ("external id", "id", "account id",
                                             "company id", "record id", "organization id",
                                             "organisation id", "hs object id")),
        Field("name", "Name", ("name", "account name", "company name", "company",
                               "organization name", "organisation name", "organization"),
              required=True),
        Field("domain", "Domain", ("domain", "website", "company domain name", "web site",
                                   "url", "website url", "web address")),
        Field("industry", "Industry", ("industry", "sector", "vertical")),
        Field("employees", "Employees", ("employees", "number of employees",
                                         "employee count", "headcount", "size")),
        Field("country", "Country", ("country", "country region", "billing country",
                                     "country/region", "address country",
                                     "shipping country")),
    ),
    ImportKind.PRODUCTS: (
        Field("external_id", "External id", ("external id", "id", "product id",
                                             "product code", "sku", "record id", "code")),
        Field("name", "Name", ("name", "product name", "product", "title"), required=True),
        Field("family", "Family", ("family", "product family", "category", "line",
                                   "product line")),
        Field("list_price", "List price", ("list price", "price", "unit price",
                                           "standard price", "price per unit")),
        Field("currency", "Currency", ("currency", "currency code", "price currency",
                                       "product currency", "currency iso code")),
    ),
    ImportKind.OPPORTUNITIES: (
        Field("external_id", "External id", ("external id", "id", "opportunity id",
                                             "deal id", "record id", "hs object id",
                                             "opportunity 18 digit id"), required=True),
        Field("name", "Name", ("name", "opportunity name", "deal name", "title",
                               "deal title", "opportunity", "deal"), required=True),
        Field("account", "Account", ("account", "account name", "company",
                                     "company name", "associated company", "organization",
                                     "organisation", "organization name",
                                     "associated company name", "customer")),
        Field("account_external_id", "Account external id", ("account external id",
                                                             "account id", "company id",
                                                             "organization id",
                                                             "associated company id")),
        Field("owner", "Owner", ("owner", "opportunity owner", "deal owner", "owner name",
                                 "owner email", "sales rep", "assigned to", "user",
                                 "account executive", "rep", "owner id")),
        Field("product", "Product", ("product", "product name", "products", "line item")),
        Field("stage", "Stage", ("stage", "stage name", "deal stage", "pipeline stage",
                                 "opportunity stage", "sales stage", "phase", "sales phase")),
        Field("status", "Status", ("status", "deal status", "won lost", "outcome", "result")),
        Field("amount", "Amount", ("amount", "value", "deal value", "opportunity amount",
                                   "deal amount", "total", "total amount", "revenue",
                                   "amount converted", "expected revenue")),
        Field("currency", "Currency", ("currency", "amount currency",
                                       "opportunity currency", "deal currency",
                                       "currency iso code", "currency code")),
        Field("created_date", "Created date", ("created date", "created", "create date",
                                               "deal created", "created on", "createdate",
                                               "created time", "date created")),
        Field("close_date", "Close date", ("close date", "expected close date", "closedate",
                                           "close", "expected close", "closing date")),
        # When a won or lost deal really closed, where the file keeps it apart from the
        # expected close date (Pipedrive's "Deal closed on"); else the close date.
        Field("closed_date", "Closed on", ("closed on", "deal closed on", "closed date",
                                           "date closed", "close time", "closed time")),
        Field("loss_reason", "Loss reason", ("loss reason", "lost reason",
                                             "closed lost reason", "reason lost",
                                             "reason for loss", "lost because")),
        Field("next_step", "Next step", ("next step", "next steps", "next activity subject")),
        Field("next_step_date", "Next step date", ("next step date", "next activity date")),
        Field("forecast_category_on_move", "Forecast category on a move",
              ("forecast category on move",)),
    ),
}  # fmt: skip

DATE_FIELDS = frozenset(
    {"created_date", "close_date", "closed_date", "next_step_date", "start_date"}
)
AMOUNT_FIELDS = frozenset({"amount", "list_price"})

# A CRM's column-name decorations: Pipedrive prefixes the object ("Deal - Title").
_HEADER_PREFIXES = ("deal - ", "deal: ", "opportunity - ", "organization - ", "person - ")


def field_names(kind: ImportKind) -> tuple[str, ...]:
    return tuple(f.name for f in FIELDS[kind])


def required_fields(kind: ImportKind) -> tuple[str, ...]:
    return tuple(f.name for f in FIELDS[kind] if f.required)


def normalise_header(header: str) -> str:
    """How a column name compares: "Opportunity Owner" → "opportunity owner"; "Deal -
    Value" → "value"; "Amount (converted)" → "amount converted"; "StageName" (an API
    name) → "stage name"."""
    text = unicodedata.normalize("NFKC", header or "").strip()
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).casefold()
    for prefix in _HEADER_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
    text = text.replace("_", " ")
    text = re.sub(r"[^\w/]+", " ", text)
    return " ".join(text.split())


def propose_mapping(
    kind: ImportKind, header: Iterable[str], saved: Mapping[str, str] | None = None
) -> dict[str, str]:
    """{file column: our field, or "" to ignore it}. A column keeps the field a saved
    mapping of this source gave it; the others are matched by name and synonyms, each
    field taken at most once (the first column that matches it)."""
    columns = list(header)
    known = set(field_names(kind))
    saved = {c: f for c, f in (saved or {}).items() if f in known or f == ""}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        if column in saved:
            mapping[column] = saved[column]
            if saved[column]:
                taken.add(saved[column])
    synonyms = {
        normalise_header(word): f.name for f in FIELDS[kind] for word in (f.name, *f.synonyms)
    }
    for column in columns:
        if column in mapping:
            continue
        field = synonyms.get(normalise_header(column), "")
        if field and field not in taken:
            mapping[column] = field
            taken.add(field)
        else:
            mapping[column] = ""
    return mapping


# --- text -------------------------------------------------------------------------------


def clean_cell(value: str | None) -> str:
    """Trimmed text; the protective apostrophes our export puts before a formula-like cell
    or part of a cell (salesops.columns.safe_cell) are taken off, so export → import gives
    the same text."""
    text = (value or "").strip()
    # Only a cell with an apostrophe can be one of our export's safe cells.
    return unsafe_cell(text).strip() if "'" in text else text


def looks_like_formula(text: str) -> bool:
    """A cell a spreadsheet would run as a formula if it were exported as is."""
    return bool(text) and text[0] == "=" and len(text) > 1


# --- dates --------------------------------------------------------------------------------


class DateOrder(StrEnum):
    """How a column writes day and month when it uses slashes: 03/04/2024."""

    MDY = "mdy"  # US: March 4
    DMY = "dmy"  # most of Europe: 3 April


class CellError(ValueError):
    """A cell that is not what its column holds; the message says why, in words."""


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?:[ ,T].*)?$")
_DOT = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?:[ ,T].*)?$")
_YMD_SLASH = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T].*)?$")


@dataclass(frozen=True)
class DateGuess:
    """What a column's slashed dates say about their order.

    order: the order every slashed value fits when only one does; None when the column
    has no slashed dates, when both orders fit every value (ambiguous: the user must
    choose) or when no single order fits them all (conflicting: some rows are errors
    whichever is chosen).
    """

    order: DateOrder | None
    slashed: int
    ambiguous: bool
    conflicting: bool
    example: str = ""


def guess_date_order(values: Iterable[str]) -> DateGuess:
    first_over_12 = second_over_12 = slashed = 0
    example = ""
    for raw in values:
        match = _SLASH.match((raw or "").strip())
        if not match:
            continue
        slashed += 1
        a, b = int(match.group(1)), int(match.group(2))
        if a > 12:
            first_over_12 += 1
            example = example or raw.strip()
        if b > 12:
            second_over_12 += 1
            example = example or raw.strip()
    if not slashed:
        return DateGuess(None, 0, ambiguous=False, conflicting=False)
    if first_over_12 and second_over_12:
        return DateGuess(None, slashed, ambiguous=False, conflicting=True, example=example)
    if first_over_12:
        return DateGuess(DateOrder.DMY, slashed, ambiguous=False, conflicting=False)
    if second_over_12:
        return DateGuess(DateOrder.MDY, slashed, ambiguous=False, conflicting=False)
    return DateGuess(None, slashed, ambiguous=True, conflicting=False)


def _year(text: str) -> int:
    year = int(text)
    # Two-digit years: 00–69 are 2000s, 70–99 the 1900s (as spreadsheets read them).
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def parse_date(text: str, order: DateOrder | None) -> dt.date | None:
    """A date from one cell ("" → None). Raises CellError saying why a cell is not a
    date, e.g. "'31/02/2017' is not a date" or that the column's order is unknown."""
    text = (text or "").strip()
    if not text:
        return None
    if match := _ISO.match(text) or _YMD_SLASH.match(text):
        year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    elif match := _DOT.match(text):
        day, month, year = int(match.group(1)), int(match.group(2)), _year(match.group(3))
    elif match := _SLASH.match(text):
        a, b, year = int(match.group(1)), int(match.group(2)), _year(match.group(3))
        if order is None:
            raise CellError(
                f"'{text}' could be {a}/{b} either way: choose whether this column writes "
                "month/day/year or day/month/year."
            )
        month, day = (a, b) if order == DateOrder.MDY else (b, a)
    else:
        raise CellError(f"'{text}' is not a date (use YYYY-MM-DD, M/D/YYYY, D/M/YYYY or D.M.YYYY).")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise CellError(f"'{text}' is not a date.") from None


# --- amounts -------------------------------------------------------------------------------

CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "₣": "CHF"}
_CODE = re.compile(r"\b([A-Za-z]{3})\b")
_SPACES = re.compile(r"[\s\u00a0\u2009\u202f']")
MAX_AMOUNT = Decimal("1e12")  # numeric(14, 2), as salesops.cleaning.clean_amount


def _bare_number(text: str) -> tuple[str, str | None]:
    """The number part of an amount cell and the currency it names, if any."""
    currency = None
    for symbol, code in CURRENCY_SYMBOLS.items():
        if symbol in text:
            currency = code
            text = text.replace(symbol, "")
    if match := _CODE.search(text):
        currency = match.group(1).upper()
        text = text[: match.start()] + text[match.end() :]
    return _SPACES.sub("", text), currency


def guess_decimal_comma(values: Iterable[str]) -> bool:
    """Whether a column writes the decimal mark as a comma (1.250,50 €). The first value
    that tells decides: both marks (the last one is the decimal mark), a comma or a dot
    before one or two final digits, or dots grouping thousands (1.250.000). A column where
    no value tells (1,250 or 1250) is read the US way."""
    for raw in values:
        number, _ = _bare_number(raw or "")
        if "." in number and "," in number:
            return number.rfind(",") > number.rfind(".")
        if re.search(r",\d{1,2}$", number):
            return True
        if re.search(r"\.\d{1,2}$", number):
            return False
        if re.fullmatch(r"\d{1,3}(\.\d{3})+", number):
            return True
    return False


def parse_amount(text: str, *, decimal_comma: bool) -> tuple[Decimal | None, str | None]:
    """(amount, currency named in the cell) from one cell; ("", …) → (None, None).
    Raises CellError for text that is not a non-negative amount below 10¹²."""
    raw = (text or "").strip()
    if not raw:
        return None, None
    number, currency = _bare_number(raw)
    negative = number.startswith("(") and number.endswith(")")
    number = number.strip("()")
    # 1.250,50 → 1250.50; 1,250.50 → 1250.50
    number = number.replace(".", "").replace(",", ".") if decimal_comma else number.replace(",", "")
    try:
        amount = Decimal(number)
    except InvalidOperation:
        raise CellError(f"'{raw}' is not an amount.") from None
    if not amount.is_finite():
        raise CellError(f"'{raw}' is not an amount.")
    if negative or amount < 0:
        raise CellError(f"'{raw}': an amount cannot be negative.")
    if amount >= MAX_AMOUNT:
        raise CellError(f"'{raw}' is too large (at most 999,999,999,999.99).")
    return amount.quantize(Decimal("0.01")), currency


def parse_whole_number(text: str, *, maximum: int = 2_147_483_647) -> int | None:
    raw = (text or "").strip()
    if not raw:
        return None
    number = _SPACES.sub("", raw).replace(",", "").replace(".", "")
    if not number.isdigit():
        raise CellError(f"'{raw}' is not a whole number.")
    value = int(number)
    if value > maximum:
        raise CellError(f"'{raw}' is too large.")
    return value


# --- yes/no, status ---------------------------------------------------------------------------

_YES = frozenset({"yes", "y", "true", "1", "active", "enabled", "ja", "x"})
_NO = frozenset({"no", "n", "false", "0", "inactive", "disabled", "nein", ""})


def parse_yes_no(text: str, *, blank: bool = True) -> bool:
    key = (text or "").strip().casefold()
    if key == "":
        return blank
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise CellError(f"'{text}' is not yes or no.")


class Status(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


_STATUS_WORDS = {
    Status.OPEN: {"open", "in progress", "active", "pipeline"},
    Status.WON: {"won", "closed won", "closedwon", "closed/won", "win", "booked", "signed"},
    Status.LOST: {"lost", "closed lost", "closedlost", "closed/lost", "loss", "dead",
                  "disqualified", "no decision"},
}  # fmt: skip


def parse_status(text: str) -> Status | None:
    """open / won / lost in a CRM's words; "" → None (the stage decides)."""
    key = name_key(text).replace("-", " ").replace("_", " ")
    key = " ".join(key.split())
    if not key:
        return None
    for status, words in _STATUS_WORDS.items():
        if key in words:
            return status
    raise CellError(f"'{text}' is not a status (open, won or lost).")


def stage_status_hint(stage_value: str) -> Status | None:
    """What a CRM's stage name says about the outcome: "Closed Won" → won."""
    try:
        status = parse_status(stage_value)
    except CellError:
        return None
    return status if status != Status.OPEN else None
