"""Reading one deal row of a CRM export into the values Salesops stores — pure, no database.

`read_deal` gets the row's cells by our field names and a `DealContext` of plain lookups
(the pipeline's stages, the value mappings the user confirmed, the people, the rules for
blanks) and returns a `DealRow`, or the row's problems — every one of them, each naming
its field, so the preview can say "line 214, close_date: '31/02/2017' is not a date".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from exchange.rules import (
    CellError,
    DateOrder,
    Status,
    clean_cell,
    looks_like_formula,
    parse_amount,
    parse_date,
    parse_status,
    stage_status_hint,
)
from salesops.cleaning import name_key, person_key

# The lengths the opportunity's columns hold (pipeline.models.Opportunity).
MAX_LENGTHS = {
    "external_id": 100,
    "name": 200,
    "account": 200,
    "account_external_id": 100,
    "product": 200,
    "next_step": 300,
}
UNKNOWN_ACCOUNT = "Unknown account"


class BlankRule:
    """What an open deal's blank cell becomes (the user picks in the preview)."""

    QUARTER_END = "quarter_end"  # close date: the last day of the current fiscal quarter
    UNKNOWN = "unknown"  # account: one account named "Unknown account"
    ZERO = "zero"  # amount: 0
    IMPORTER = "importer"  # owner: the person importing
    REJECT = "reject"  # the row is refused


@dataclass(frozen=True)
class StageInfo:
    id: int
    name: str
    order: int
    is_won: bool
    is_lost: bool


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    message: str


@dataclass
class DealContext:
    today: dt.date
    quarter_end: dt.date
    default_currency: str
    importer_id: int
    stages: dict[int, StageInfo]
    # name_key(a file's stage value) → stage id: the user's value mapping, then our names.
    stage_map: dict[str, int]
    # person_key/email/username (casefolded) → user id; None: two people share it
    people: dict[str, int | None]
    # a file's owner value (as written) → user id: the user's value mapping
    owner_map: dict[str, int] = field(default_factory=dict)
    date_orders: dict[str, DateOrder | None] = field(default_factory=dict)
    decimal_comma: bool = False
    blank_close_date: str = BlankRule.QUARTER_END
    blank_account: str = BlankRule.UNKNOWN
    blank_amount: str = BlankRule.ZERO
    blank_owner: str = BlankRule.IMPORTER
    source: str = ""

    def first_open_stage(self) -> StageInfo:
        return min(
            (s for s in self.stages.values() if not (s.is_won or s.is_lost)),
            key=lambda s: s.order,
        )

    def closed_stage(self, status: Status) -> StageInfo | None:
        wanted = [
            s for s in self.stages.values() if (s.is_won if status == Status.WON else s.is_lost)
        ]
        return min(wanted, key=lambda s: s.order) if wanted else None


@dataclass
class DealRow:
    line: int
    external_id: str
    name: str
    status: Status
    stage_id: int
    owner_id: int
    amount: Decimal
    currency: str
    close_date: dt.date
    created_on: dt.date | None
    closed_on: dt.date | None
    account_name: str = ""
    account_external_id: str = ""
    product_name: str = ""
    loss_reason: str = ""
    next_step: str = ""
    next_step_date: dt.date | None = None
    category_on_move: str = ""
    # Which fields a rule filled because the cell was blank (the owner is asked to fix them).
    gaps: tuple[str, ...] = ()
    # Which fields the file gives at all (mapped and not blank): an update changes only these.
    given: frozenset[str] = frozenset()
    warnings: list[str] = field(default_factory=list)


def owner_lookup_keys(value: str) -> list[str]:
    """How an owner cell is looked up among the people: as an email or username
    (casefolded), then as a full name in any order."""
    return [value.strip().casefold(), person_key(value)]


def _text(cells: Mapping[str, str], name: str, problems: list[str]) -> str:
    text = cells.get(name, "")
    limit = MAX_LENGTHS.get(name)
    if limit and len(text) > limit:
        problems.append(f"{name}: use at most {limit} characters (got {len(text)}).")
    return text


def _date(
    cells: Mapping[str, str], name: str, ctx: DealContext, problems: list[str]
) -> dt.date | None:
    try:
        return parse_date(cells.get(name, ""), ctx.date_orders.get(name))
    except CellError as exc:
        problems.append(f"{name}: {exc}")
        return None


def read_deal(line: int, cells: Mapping[str, str], ctx: DealContext) -> DealRow | list[Problem]:
    """The deal of one row (its cells as the file has them, by field), or every problem of
    the row (nothing of it is stored then). The helpers below get the cleaned cells."""
    errors: list[str] = []
    warnings: list[str] = []
    gaps: list[str] = []
    cells = {name: clean_cell(value) for name, value in cells.items()}  # once per cell
    given = frozenset(name for name, value in cells.items() if value)

    external_id = _text(cells, "external_id", errors)
    if not external_id:
        errors.append("external_id: every row needs the record's id in the CRM.")
    name = _text(cells, "name", errors)
    if not name:
        errors.append("name: the deal has no name.")
    for field_name in ("name", "account", "next_step"):
        if looks_like_formula(cells.get(field_name, "")):
            warnings.append(
                f"{field_name}: starts with '=' like a spreadsheet formula; kept as text."
            )

    stage, status = _stage_and_status(cells, ctx, errors)
    owner_id = _owner(cells, ctx, errors)
    amount, currency = _amount(cells, ctx, status, errors, gaps)
    created_on = _date(cells, "created_date", ctx, errors)
    close_date = _date(cells, "close_date", ctx, errors)
    closed_on = _date(cells, "closed_date", ctx, errors)
    next_step_date = _date(cells, "next_step_date", ctx, errors)

    if status != Status.OPEN:
        closed_on = closed_on or close_date
        close_date = close_date or closed_on
        if closed_on is None:
            if "close_date" in cells or "closed_date" in cells:
                errors.append(f"close_date: a {status.value} deal needs the date it closed.")
        elif closed_on > ctx.today:
            warnings.append(
                f"close_date: {status.value} on {closed_on:%Y-%m-%d}, after today; "
                "stored as closed today."
            )
            closed_on = ctx.today
    elif close_date is None and not cells.get("close_date", ""):
        if ctx.blank_close_date == BlankRule.QUARTER_END:
            close_date = ctx.quarter_end
            gaps.append("close_date")
        else:
            errors.append("close_date: an open deal needs a close date.")

    account_name = _text(cells, "account", errors)
    account_external_id = _text(cells, "account_external_id", errors)
    if not account_name and not account_external_id:
        if ctx.blank_account == BlankRule.UNKNOWN:
            account_name = UNKNOWN_ACCOUNT
            if status == Status.OPEN:
                gaps.append("account")
        else:
            errors.append("account: the deal names no account.")

    product_name = _text(cells, "product", errors)
    next_step = _text(cells, "next_step", errors)
    loss_reason = cells.get("loss_reason", "")
    if status == Status.LOST and not loss_reason:
        loss_reason = f"No reason given in {ctx.source or 'the import'}."
    category_on_move = cells.get("forecast_category_on_move", "").casefold()
    if category_on_move not in ("", "keep", "follow"):
        errors.append(f"forecast_category_on_move: '{category_on_move}' is not keep or follow.")

    if errors:
        return [Problem(line, e.split(":", 1)[0], e) for e in errors]
    assert stage is not None and owner_id is not None and close_date is not None
    assert amount is not None
    if created_on is not None:
        last = closed_on or ctx.today
        if created_on > last:
            warnings.append(
                f"created_date: {created_on:%Y-%m-%d} is after it "
                f"{'closed' if closed_on else 'was imported'}; stored as "
                f"{last:%Y-%m-%d}."
            )
            created_on = last
    return DealRow(
        line=line,
        external_id=external_id,
        name=name,
        status=status,
        stage_id=stage.id,
        owner_id=owner_id,
        amount=amount,
        currency=currency,
        close_date=close_date,
        created_on=created_on,
        closed_on=closed_on if status != Status.OPEN else None,
        account_name=account_name,
        account_external_id=account_external_id,
        product_name=product_name,
        loss_reason=loss_reason if status == Status.LOST else "",
        next_step=next_step,
        next_step_date=next_step_date,
        category_on_move=category_on_move,
        gaps=tuple(gaps),
        given=given,
        warnings=warnings,
    )


def _stage_and_status(
    cells: Mapping[str, str], ctx: DealContext, errors: list[str]
) -> tuple[StageInfo | None, Status]:
    """The stage comes from the file's stage value (through the user's mapping) and the
    status from the status column, else from the stage (a won stage means won)."""
    status_text = cells.get("status", "")
    try:
        status = parse_status(status_text)
    except CellError as exc:
        errors.append(f"status: {exc}")
        status = None
    stage_text = cells.get("stage", "")
    stage = None
    if stage_text:
        stage_id = ctx.stage_map.get(name_key(stage_text))
        if stage_id is not None:
            stage = ctx.stages[stage_id]
        elif (hint := stage_status_hint(stage_text)) is not None:
            stage = ctx.closed_stage(hint)
        else:
            errors.append(f"stage: '{stage_text}' is not mapped to a stage of the pipeline.")
    if status is None:
        if stage is not None and stage.is_won:
            status = Status.WON
        elif stage is not None and stage.is_lost:
            status = Status.LOST
        else:
            status = Status.OPEN
    if status == Status.OPEN:
        if stage is not None and (stage.is_won or stage.is_lost):
            errors.append(f"stage: '{stage_text}' is a closed stage but the status is open.")
        elif stage is None and not stage_text:
            stage = ctx.first_open_stage()
    else:
        closed = ctx.closed_stage(status)
        if closed is None:
            errors.append(f"status: the pipeline has no {status.value} stage.")
        stage = closed
    return stage, status


def _owner(cells: Mapping[str, str], ctx: DealContext, errors: list[str]) -> int | None:
    value = cells.get("owner", "")
    if not value:
        if ctx.blank_owner == BlankRule.IMPORTER:
            return ctx.importer_id
        errors.append("owner: the deal has no owner.")
        return None
    if value in ctx.owner_map:
        return ctx.owner_map[value]
    for key in owner_lookup_keys(value):
        if key in ctx.people:
            if ctx.people[key] is None:
                errors.append(
                    f"owner: more than one person is called '{value}'; choose who is meant "
                    "in the owner mapping."
                )
            return ctx.people[key]
    errors.append(f"owner: nobody called '{value}' (by email, username or full name).")
    return None


def _amount(
    cells: Mapping[str, str],
    ctx: DealContext,
    status: Status,
    errors: list[str],
    gaps: list[str],
) -> tuple[Decimal | None, str]:
    currency = cells.get("currency", "").upper()
    try:
        amount, named = parse_amount(cells.get("amount", ""), decimal_comma=ctx.decimal_comma)
    except CellError as exc:
        errors.append(f"amount: {exc}")
        return None, currency or ctx.default_currency
    currency = currency or (named or "") or ctx.default_currency
    if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
        errors.append(f"currency: '{currency}' is not a three-letter ISO code, e.g. EUR.")
    if amount is None:
        if status != Status.OPEN or ctx.blank_amount == BlankRule.ZERO:
            amount = Decimal("0.00")
            if status == Status.OPEN:
                gaps.append("amount")
        else:
            errors.append("amount: an open deal needs an amount.")
    return amount, currency
