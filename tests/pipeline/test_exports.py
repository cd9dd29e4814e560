"""CSV exports of opportunities, accounts and products in the import's columns: every column
of every row checked against the records (computed here from the rows, not by the export
code), the current filters and the user's scope, formula injection, streaming with a fixed
number of queries — on the pages and in the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pipeline import exports
from pipeline.columns import ACCOUNT_COLUMNS, OPPORTUNITY_COLUMNS, PRODUCT_COLUMNS
from pipeline.models import Account, Opportunity, OpportunityStatus, Product
from salesops.columns import column_names, unsafe_cell
from tests.factories import (
    AccountFactory,
    OpportunityFactory,
    ProductFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil","x")'


def read_csv(response) -> tuple[list[str], list[dict[str, str]], list[list[str]]]:
    """(header, rows as dicts with `safe_cell` undone, raw rows) of a streamed CSV response."""
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    assert response.streaming, "an export is streamed"
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    data = b"".join(response.streaming_content)
    assert data.startswith("\ufeff".encode()), "UTF-8 with a byte-order mark"
    raw = list(csv.reader(io.StringIO(data.decode("utf-8")[1:], newline="")))
    header, body = raw[0], raw[1:]
    rows = [dict(zip(header, (unsafe_cell(cell) for cell in row), strict=True)) for row in body]
    return header, rows, body


def iso(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def own_id(external_id: str, pk: int) -> str:
    return external_id or f"salesops-{pk}"


# --- what the records say each row must be ------------------------------------------------


def expected_opportunity(o: Opportunity) -> dict[str, str]:
    zone = ZoneInfo(settings.TIME_ZONE)
    return {
        "external_id": own_id(o.external_id, o.pk),
        "name": o.name,
        "account": o.account.name,
        "account_external_id": own_id(o.account.external_id, o.account_id),
        "owner": o.owner.email or o.owner.username,
        "product": o.product.name if o.product_id else "",
        "stage": o.stage.name,
        "status": o.status,
        "amount": f"{o.amount:.2f}",
        "currency": o.currency,
        "created_date": o.created_at.astimezone(zone).date().isoformat(),
        "close_date": iso(o.close_date),
        "closed_date": o.closed_at.astimezone(zone).date().isoformat() if o.closed_at else "",
        "loss_reason": o.loss_reason,
        "next_step": o.next_step,
        "next_step_date": iso(o.next_step_date),
    }


def expected_account(a: Account) -> dict[str, str]:
    return {
        "external_id": own_id(a.external_id, a.pk),
        "name": a.name,
        "domain": a.domain,
        "industry": a.industry,
        "employees": "" if a.employees is None else str(a.employees),
        "country": a.country,
    }


def expected_product(p: Product) -> dict[str, str]:
    return {
        "external_id": own_id(p.external_id, p.pk),
        "name": p.name,
        "family": p.family,
        "list_price": "" if p.list_price is None else f"{p.list_price:.2f}",
        "currency": p.currency,
    }


# --- the records ------------------------------------------------------------------------


@pytest.fixture
def records(rep, teammate, manager, other_rep, pipeline):
    """Deals, accounts and products with every kind of value a column can hold: external
    ids and none, empty and missing values, text with commas, quotes, line breaks, accents
    and formula starts, closed won and lost deals, an owner without an email, a deal created
    late in the evening in UTC (the next day in the organisation's time zone)."""
    acme = AccountFactory(
        name="Acme Logistics GmbH",
        domain="acme.example",
        industry="Logistics",
        employees=1200,
        country="Germany",
        source="crm",
        external_id="ACC-1",
    )
    mueller = AccountFactory(name='Müller "Nord", Söhne', employees=None)
    formula_account = AccountFactory(name="+SUM(A1:A9)", country="Österreich")
    suite = ProductFactory(
        name="Analytics Suite", family="Platform", list_price=Decimal("12500.00"),
        currency="EUR", source="crm", external_id="P-1",
    )  # fmt: skip
    workshop = ProductFactory(name="Workshop", family="", list_price=None, currency="")
    ProductFactory(name="@Legacy", is_active=False, list_price=Decimal("0.50"), currency="USD")
    no_email = UserFactory(username="noemail", email="", team=rep.team)
    now = timezone.now()
    deals = [
        OpportunityFactory(
            owner=rep, stage=pipeline.discover, account=acme, product=suite,
            name="Acme, rollout \"phase 2\"", amount=Decimal("12500"), currency="EUR",
            source="crm", external_id="OPP-1", next_step="Call the CFO\nthen legal",
            next_step_date=dt.date(2026, 12, 3), close_date=dt.date(2027, 1, 31),
        ),
        OpportunityFactory(
            owner=teammate, stage=pipeline.qualify, account=mueller, name=FORMULA,
            amount=Decimal("0.5"), currency="CHF", close_date=dt.date(2026, 12, 31),
            created_at=dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC),
        ),
        OpportunityFactory(
            owner=no_email, stage=pipeline.won, account=formula_account, product=workshop,
            name="-Discount deal", status=OpportunityStatus.WON, closed_at=now,
            forecast_category="closed", close_date=dt.date(2026, 10, 15),
        ),
        OpportunityFactory(
            owner=other_rep, stage=pipeline.lost, account=acme, name="Lost to the incumbent",
            status=OpportunityStatus.LOST, closed_at=now, forecast_category="omitted",
            loss_reason="Price,\nand timing", close_date=dt.date(2026, 9, 1),
        ),
    ]  # fmt: skip
    return {"deals": deals, "accounts": [acme, mueller, formula_account]}


def fresh_opportunities(**filters) -> list[Opportunity]:
    return list(
        Opportunity.objects.filter(**filters)
        .select_related("account", "owner", "product", "stage")
        .order_by("close_date", "id")
    )


# --- opportunities ----------------------------------------------------------------------

# The list opens on the open deals; every status is `status=all`, for the page and its CSV.
ALL_CSV = {"format": "csv", "status": "all"}


def test_opportunity_export_writes_every_column_of_every_deal(client, leader, records):
    client.force_login(leader)
    response = client.get(reverse("pipeline:opportunity_list"), ALL_CSV)
    header, rows, _ = read_csv(response)
    assert header == list(column_names(OPPORTUNITY_COLUMNS))
    assert rows == [expected_opportunity(o) for o in fresh_opportunities()]
    # The values as the import reads them, spelt out for the first deals by close date.
    by_name = {row["name"]: row for row in rows}
    acme = by_name['Acme, rollout "phase 2"']
    assert (acme["external_id"], acme["account_external_id"]) == ("OPP-1", "ACC-1")
    assert (acme["amount"], acme["product"], acme["next_step_date"]) == (
        "12500.00",
        "Analytics Suite",
        "2026-12-03",
    )
    late = by_name[FORMULA]
    assert late["created_date"] == "2026-03-02"  # 23:30 UTC is the next day in Berlin
    assert late["amount"] == "0.50" and late["product"] == ""
    assert late["external_id"] == f"salesops-{records['deals'][1].pk}"
    won = by_name["-Discount deal"]
    assert (won["status"], won["stage"], won["owner"]) == ("won", "Closed won", "noemail")
    assert by_name["Lost to the incumbent"]["loss_reason"] == "Price,\nand timing"


def test_text_cells_are_safe_from_formula_injection(client, leader, records):
    client.force_login(leader)
    _, _, raw = read_csv(client.get(reverse("pipeline:opportunity_list"), ALL_CSV))
    cells = {cell for row in raw for cell in row}
    assert "'" + FORMULA in cells and FORMULA not in cells
    assert "'-Discount deal" in cells and "'+SUM(A1:A9)" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    # Amounts and dates are not text: written as they are.
    assert "0.50" in cells


def test_the_page_exports_exactly_the_deals_of_its_filters(client, manager, records, pipeline):
    client.force_login(manager)
    params = {"status": "open", "search": "a"}
    listed = client.get(reverse("pipeline:opportunity_list"), params)
    shown = [o.name for o in listed.context["page"].object_list]
    assert shown  # the filters leave some deals, not all
    _, rows, _ = read_csv(
        client.get(reverse("pipeline:opportunity_list"), {**params, "format": "csv", "page": 1})
    )
    assert [row["name"] for row in rows] == shown
    # The page's CSV link carries the filters, without the page number.
    assert 'href="?status=open&amp;search=a&amp;format=csv"' in listed.content.decode()


def test_the_export_has_every_deal_not_one_page(client, rep, pipeline):
    OpportunityFactory.create_batch(57, owner=rep, stage=pipeline.discover)
    client.force_login(rep)
    _, rows, _ = read_csv(client.get(reverse("pipeline:opportunity_list"), {"format": "csv"}))
    assert len(rows) == 57


def test_the_export_keeps_to_the_users_scope(client, rep, manager, records):
    client.force_login(rep)
    _, rows, _ = read_csv(client.get(reverse("pipeline:opportunity_list"), ALL_CSV))
    assert [row["name"] for row in rows] == [o.name for o in fresh_opportunities(owner=rep)]
    client.force_login(manager)
    _, rows, _ = read_csv(client.get(reverse("pipeline:opportunity_list"), ALL_CSV))
    team = fresh_opportunities(owner__team=manager.team)
    assert [row["name"] for row in rows] == [o.name for o in team]
    assert "Lost to the incumbent" not in {row["name"] for row in rows}  # other team's


def test_team_filter_of_the_page_includes_sub_teams(client, leader, rep, other_rep, pipeline):
    north = TeamFactory(name="North", parent=rep.team)
    OpportunityFactory(owner=UserFactory(team=north), stage=pipeline.discover, name="North")
    OpportunityFactory(owner=rep, stage=pipeline.discover, name="A")
    OpportunityFactory(owner=other_rep, stage=pipeline.discover, name="B")
    client.force_login(leader)
    page = client.get(reverse("pipeline:opportunity_list"), {"team": rep.team_id})
    assert sorted(o.name for o in page.context["page"].object_list) == ["A", "North"]
    _, rows, _ = read_csv(
        client.get(reverse("pipeline:opportunity_list"), {"team": rep.team_id, "format": "csv"})
    )
    assert sorted(row["name"] for row in rows) == ["A", "North"]


def test_source_and_external_id_filters_on_the_page(client, rep, pipeline):
    OpportunityFactory(owner=rep, stage=pipeline.discover, name="H", source="hs", external_id="7")
    OpportunityFactory(owner=rep, stage=pipeline.discover, name="S", source="sf", external_id="7")
    client.force_login(rep)
    page = client.get(reverse("pipeline:opportunity_list"), {"source": "hs"})
    assert [o.name for o in page.context["page"].object_list] == ["H"]
    page = client.get(reverse("pipeline:opportunity_list"), {"external_id": "7"})
    assert sorted(o.name for o in page.context["page"].object_list) == ["H", "S"]
    assert "team" not in page.context["form"].fields  # a rep has no team to pick


def test_the_api_export_takes_the_lists_filters(leader, records, key_for):
    client = key_for(leader, ("read",))
    api = "/api/v1/opportunities/export.csv"
    _, rows, _ = read_csv(client.get(api, {"status": "open"}, HTTP_ACCEPT="text/csv"))
    assert rows == [expected_opportunity(o) for o in fresh_opportunities(status="open")]
    _, rows, _ = read_csv(client.get(api, {"source": "crm", "external_id": "OPP-1"}))
    assert [row["external_id"] for row in rows] == ["OPP-1"]
    listed = client.get("/api/v1/opportunities/", {"search": "acme"}).json()["results"]
    _, rows, _ = read_csv(client.get(api, {"search": "acme"}))
    assert [row["name"] for row in rows] == [row["name"] for row in listed]
    bad = client.get(api, {"team": "abc"}, HTTP_ACCEPT="text/csv")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid" and "team" in bad.json()["details"]


def test_the_api_export_keeps_to_the_keys_scope(rep, records, key_for):
    _, rows, _ = read_csv(key_for(rep, ("read",)).get("/api/v1/opportunities/export.csv"))
    assert [row["name"] for row in rows] == [o.name for o in fresh_opportunities(owner=rep)]


def _queries_of_an_export(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params or {})
        b"".join(response.streaming_content)  # the rows are read while the file streams
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "path",
    [
        "/opportunities/",
        "/api/v1/opportunities/export.csv",
        "/accounts/",
        "/api/v1/accounts/export.csv",
        "/products/",
        "/api/v1/products/export.csv",
    ],
)
def test_export_query_count_does_not_grow_with_rows(
    client, manager, rep, pipeline, monkeypatch, key_for, path
):
    # Small chunks, so that many rows are several fetches from the cursor.
    monkeypatch.setattr(exports, "CHUNK_SIZE", 5)
    if path.startswith("/api/"):
        client = key_for(manager, ("read",))
    else:
        client.force_login(manager)
    params = {"format": "csv", "team": rep.team_id} if path == "/opportunities/" else {}
    if path == "/api/v1/opportunities/export.csv":
        params = {"team": rep.team_id, "status": "open"}
    OpportunityFactory(owner=rep, stage=pipeline.discover, product=ProductFactory())
    if "csv" not in path:
        params["format"] = "csv"
    _queries_of_an_export(client, path, params)  # an API key is stamped on its first use
    one = _queries_of_an_export(client, path, params)
    for _ in range(3):
        OpportunityFactory.create_batch(
            8, owner=rep, stage=pipeline.qualify, product=ProductFactory()
        )
    many = _queries_of_an_export(client, path, params)
    assert one == many
    assert many <= 8


# --- accounts and products --------------------------------------------------------------


def test_account_export_writes_every_column_of_every_account(client, rep, records):
    client.force_login(rep)  # everyone who signs in sees the accounts
    header, rows, _ = read_csv(client.get(reverse("pipeline:account_list"), {"format": "csv"}))
    assert header == list(column_names(ACCOUNT_COLUMNS))
    assert rows == [expected_account(a) for a in Account.objects.order_by("name", "id")]
    acme = next(row for row in rows if row["external_id"] == "ACC-1")
    assert acme == {
        "external_id": "ACC-1",
        "name": "Acme Logistics GmbH",
        "domain": "acme.example",
        "industry": "Logistics",
        "employees": "1200",
        "country": "Germany",
    }
    _, rows, _ = read_csv(
        client.get(reverse("pipeline:account_list"), {"search": "müller", "format": "csv"})
    )
    assert [row["name"] for row in rows] == ['Müller "Nord", Söhne']


def test_product_export_writes_every_column_of_every_product(client, rep, records, key_for):
    client.force_login(rep)
    header, rows, raw = read_csv(client.get(reverse("pipeline:product_list"), {"format": "csv"}))
    assert header == list(column_names(PRODUCT_COLUMNS))
    assert rows == [expected_product(p) for p in Product.objects.order_by("name", "id")]
    assert ["P-1", "Analytics Suite", "Platform", "12500.00", "EUR"] in raw
    assert "'@Legacy" in {cell for row in raw for cell in row}
    _, rows, _ = read_csv(
        key_for(rep, ("read",)).get("/api/v1/products/export.csv", {"active": "true"})
    )
    assert [row["name"] for row in rows] == ["Analytics Suite", "Workshop"]
    _, rows, _ = read_csv(key_for(rep, ("read",)).get("/api/v1/accounts/export.csv"))
    assert len(rows) == Account.objects.count()
