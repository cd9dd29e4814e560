"""Words for numbers in messages — "1 milestone", "3 milestones", never "milestone(s)" —
and money written one way everywhere: "EUR 60,500.00"."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """`number` and the noun that agrees with it ("1 deal was", use the verb yourself).
    `plural` for the irregular ones; otherwise an "s" is added."""
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"


def money(amount: Decimal | int | float | str | None, currency: str = "", places: int = 2) -> str:
    """ "EUR 60,500.00": the currency first, thousands grouped, `places` decimals. A value
    that is not a number (a history row written before amounts were numbers) is returned
    as it is; None as ""."""
    if amount is None or amount == "":
        return ""
    try:
        number = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    if number.is_finite():
        # Half up, as people round (and as the `floatformat` filter does): 0.5 → 1.
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{number:,.{places}f}"
    return f"{currency} {text}" if currency else text
