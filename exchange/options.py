"""The choices a user confirms for one import, as typed values (parsed from the batch's JSON
and from forms, the API and the command alike)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from exchange.deals import BlankRule
from exchange.rules import DATE_FIELDS, DateOrder
from salesops.cleaning import query_int
from salesops.exceptions import ValidationFailed

BLANK_CHOICES = {
    "blank_close_date": (BlankRule.QUARTER_END, BlankRule.REJECT),
    "blank_account": (BlankRule.UNKNOWN, BlankRule.REJECT),
    "blank_amount": (BlankRule.ZERO, BlankRule.REJECT),
    "blank_owner": (BlankRule.IMPORTER, BlankRule.REJECT),
}


@dataclass(frozen=True)
class ImportOptions:
    pipeline_id: int | None = None
    # {field: "mdy" | "dmy"} for columns with slashed dates; absent: detected.
    date_orders: dict[str, DateOrder] = field(default_factory=dict)
    # None: detected from the column.
    decimal_comma: bool | None = None
    blank_close_date: str = BlankRule.QUARTER_END
    blank_account: str = BlankRule.UNKNOWN
    blank_amount: str = BlankRule.ZERO
    blank_owner: str = BlankRule.IMPORTER
    # Owners the file names but Salesops does not know become inactive reps.
    create_unknown_owners: bool = False
    # People: send the new users an invitation to set their password.
    invite: bool = True

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["date_orders"] = {k: v.value for k, v in self.date_orders.items()}
        return data


def parse_options(data: Mapping[str, Any] | None) -> ImportOptions:
    """Refuses (ValidationFailed, by option) anything but the documented values."""
    data = dict(data or {})
    errors: dict[str, list[str]] = {}
    pipeline_id = data.get("pipeline_id")
    if pipeline_id in ("", None):
        pipeline_id = None
    else:
        pipeline_id = query_int(pipeline_id)
        if pipeline_id is None:
            errors["pipeline_id"] = ["Choose a pipeline."]
    orders: dict[str, DateOrder] = {}
    for name, order in (data.get("date_orders") or {}).items():
        if name not in DATE_FIELDS:
            errors.setdefault("date_orders", []).append(f"'{name}' is not a date field.")
        elif order in ("", None):
            continue
        elif order not in DateOrder.__members__.values():
            errors.setdefault("date_orders", []).append(
                f"{name}: '{order}' is not mdy (month/day/year) or dmy (day/month/year)."
            )
        else:
            orders[name] = DateOrder(order)
    decimal_comma = data.get("decimal_comma")
    if decimal_comma in ("", None, "auto"):
        decimal_comma = None
    elif decimal_comma in (True, "true", "1", "yes", "comma"):
        decimal_comma = True
    elif decimal_comma in (False, "false", "0", "no", "dot"):
        decimal_comma = False
    else:
        errors["decimal_comma"] = ["Say whether amounts use a decimal comma (comma or dot)."]
    blanks = {}
    for name, choices in BLANK_CHOICES.items():
        value = data.get(name) or choices[0]
        if value not in choices:
            errors[name] = [f"Choose one of: {', '.join(choices)}."]
        blanks[name] = value
    if errors:
        raise ValidationFailed(details=errors)
    return ImportOptions(
        pipeline_id=pipeline_id,
        date_orders=orders,
        decimal_comma=decimal_comma,
        create_unknown_owners=data.get("create_unknown_owners") in (True, "true", "1", "on"),
        invite=data.get("invite", True) not in (False, "false", "0", "off"),
        **blanks,
    )
