"""CRM exports made by the tests: the shapes of Salesforce, HubSpot and Pipedrive deal
exports and a messy one, from one list of true deals, so that what an import stores can
be compared with an independent computation on the same deals.

Deals run over the 15 months before `today`: won, lost and open; owners named by full
name (Salesforce, Pipedrive) or email (HubSpot); US dates (Salesforce, HubSpot's
M/D/YYYY) or ISO (Pipedrive); open deals with blanks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

OWNERS = (
    ("Ana", "Souza", "ana.souza@example.com"),
    ("Ben", "Okafor", "ben.okafor@example.com"),
    ("Chloé", "Durand", "chloe.durand@example.com"),
    ("Dmitri", "Ivanov", "dmitri.ivanov@example.com"),
)
ACCOUNTS = ("Acme Logistics GmbH", "Globex Corp", "Initech", "Umbrella Health", "Stark Retail",
            "Wayne Foods", "Hooli Cloud", "Vandelay Imports", "Müller & Söhne KG")  # fmt: skip
OPEN_STAGES = ("Discover", "Qualify", "Solution", "Proposal", "Negotiate")
PRODUCTS = ("Core platform", "Analytics add-on", "Onboarding services")


@dataclass(frozen=True)
class TrueDeal:
    external_id: str
    name: str
    account: str
    owner: tuple[str, str, str]
    stage: str  # one of OPEN_STAGES, or "Closed Won" / "Closed Lost"
    amount: Decimal | None
    created: dt.date
    close: dt.date | None
    loss_reason: str = ""
    product: str = ""

    @property
    def status(self) -> str:
        return {"Closed Won": "won", "Closed Lost": "lost"}.get(self.stage, "open")


def true_deals(today: dt.date, count: int = 240, seed: int = 7) -> list[TrueDeal]:
    rng = random.Random(seed)
    deals = []
    for n in range(1, count + 1):
        created = today - dt.timedelta(days=rng.randint(20, 460))
        outcome = rng.random()
        if outcome < 0.35:
            stage = "Closed Won"
        elif outcome < 0.65:
            stage = "Closed Lost"
        else:
            stage = rng.choice(OPEN_STAGES)
        if stage.startswith("Closed"):
            close = min(created + dt.timedelta(days=rng.randint(10, 150)), today)
        else:
            close = today + dt.timedelta(days=rng.randint(5, 120))
        blank = stage in OPEN_STAGES and n % 9 == 0
        deals.append(
            TrueDeal(
                external_id=f"006{n:07d}",
                name=f"{rng.choice(ACCOUNTS).split()[0]} deal {n}",
                account="" if blank else rng.choice(ACCOUNTS),
                owner=OWNERS[n % len(OWNERS)],
                stage=stage,
                amount=None if blank else Decimal(rng.randint(20, 900) * 250),
                created=created,
                close=None if blank else close,
                loss_reason="Went with a competitor" if stage == "Closed Lost" and n % 3 else "",
                product=PRODUCTS[n % 3] if n % 4 else "",
            )
        )
    return deals


def _us(day: dt.date | None) -> str:
    return f"{day.month}/{day.day}/{day.year}" if day else ""


def _amount_us(amount: Decimal | None) -> str:
    return f"{amount:,.2f}" if amount is not None else ""


def _write(header: list[str], rows: list[list[str]], *, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def salesforce(deals: list[TrueDeal]) -> bytes:
    """An opportunity report: owners by full name, US dates, amounts with separators."""
    header = ["Opportunity Owner", "Account Name", "Opportunity Name", "Stage", "Fiscal Period",
              "Amount", "Probability (%)", "Close Date", "Created Date", "Lead Source",
              "Opportunity ID", "Product Name", "Loss Reason"]  # fmt: skip
    rows = [
        [f"{d.owner[0]} {d.owner[1]}", d.account, d.name, d.stage, "Q?",
         _amount_us(d.amount), "50", _us(d.close), _us(d.created), "Web", d.external_id,
         d.product, d.loss_reason]
        for d in deals
    ]  # fmt: skip
    return _write(header, rows)


HUBSPOT_STAGES = {"Closed Won": "closedwon", "Closed Lost": "closedlost"}


def hubspot(deals: list[TrueDeal]) -> bytes:
    """A deals export: owners by email, internal stage names for closed deals."""
    header = ["Record ID", "Deal Name", "Deal Stage", "Close Date", "Deal owner", "Amount",
              "Create Date", "Pipeline", "Associated Company", "Closed Lost Reason"]  # fmt: skip
    rows = [
        [d.external_id, d.name, HUBSPOT_STAGES.get(d.stage, d.stage),
         f"{_us(d.close)} 09:30" if d.close else "", d.owner[2],
         f"{d.amount:.2f}" if d.amount is not None else "",
         f"{_us(d.created)} 14:02", "Sales Pipeline", d.account, d.loss_reason]
        for d in deals
    ]  # fmt: skip
    return _write(header, rows)


def pipedrive(deals: list[TrueDeal]) -> bytes:
    """Pipedrive: "Deal - " headers, ISO dates, status separate from the stage, the
    closing day in "Deal closed on"; semicolons and decimal commas (a European account)."""
    header = ["Deal - ID", "Deal - Title", "Deal - Value", "Deal - Currency",
              "Deal - Organization", "Deal - Owner", "Deal - Stage", "Deal - Status",
              "Deal - Deal created", "Deal - Expected close date", "Deal - Deal closed on",
              "Deal - Lost reason"]  # fmt: skip
    rows = []
    for d in deals:
        status = d.status
        stage = "Negotiate" if status != "open" else d.stage
        amount = ""
        if d.amount is not None:
            amount = f"{d.amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
        rows.append(
            [d.external_id, d.name, amount, "EUR", d.account,
             f"{d.owner[0]} {d.owner[1]}", stage, status, f"{d.created.isoformat()} 10:00:00",
             "" if status != "open" or not d.close else d.close.isoformat(),
             f"{d.close.isoformat()} 16:45:00" if status != "open" else "", d.loss_reason]
        )  # fmt: skip
    return _write(header, rows, delimiter=";")


# --- an independent computation on the true deals ----------------------------------------


def won_by_quarter(deals: list[TrueDeal]) -> dict[tuple[int, int], Decimal]:
    totals: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for d in deals:
        if d.status == "won":
            totals[(d.close.year, (d.close.month - 1) // 3 + 1)] += d.amount or Decimal(0)
    return dict(totals)


def win_rate_by_owner(deals: list[TrueDeal]) -> dict[str, tuple[int, int]]:
    """{owner email: (won, closed)}"""
    won: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    for d in deals:
        if d.status != "open":
            closed[d.owner[2]] += 1
            won[d.owner[2]] += d.status == "won"
    return {owner: (won[owner], closed[owner]) for owner in closed}


def messy() -> bytes:
    """A spreadsheet someone kept by hand: ISO, European and US dates mixed in one file
    (each column consistent), blank accounts on open deals, a stage nobody has, an id twice,
    a formula in a cell, a date that does not exist, thousands separators. Windows-1252."""
    header = "ID;Deal;Company;Owner;Phase;Value;Created;Close date;Lost because\r\n"
    rows = [
        "M-1;Ölwerk renewal;Müller & Söhne KG;Ana Souza;Discover;1.250,00;2026-01-15;31.03.2027;",
        'M-2;=HYPERLINK("http://x");Initech;ben.okafor@example.com;Qualify;900;2026-02-01;'
        "15.04.2027;",
        "M-3;No account yet;;Okafor, Ben;Proposal;;2026-03-01;;",
        "M-4;Mystery stage;Initech;Ana Souza;Pondering;500;2026-03-02;30.04.2027;",
        "M-1;Duplicate of line 2;Initech;Ana Souza;Discover;10;2026-03-03;30.04.2027;",
        "M-5;Impossible date;Initech;Ana Souza;Discover;10;2026-03-03;31.02.2027;",
        "M-6;Lost one;Globex Corp;Chloé Durand;Closed Lost;3.000,00;2025-06-01;01.09.2025;Price",
        "M-7;Won one;Globex Corp;Chloé Durand;Closed Won;12.500,50;2025-05-01;15.08.2025;",
    ]
    return (header + "\r\n".join(rows) + "\r\n").encode("cp1252")
