"""Export → import gives the same records: people (with their team tree and managers),
accounts, products and opportunities written by our own CSV exports, deleted, and
imported again."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from exchange import services
from pipeline.columns import ACCOUNT_COLUMNS, OPPORTUNITY_COLUMNS, PRODUCT_COLUMNS
from pipeline.exports import account_rows, opportunity_rows, product_rows
from pipeline.models import Account, Opportunity, Product
from salesops.columns import PEOPLE_COLUMNS
from salesops.exports import csv_lines, people_rows
from salesops.models import Role, Team, User
from tests.factories import (
    AccountFactory,
    OpportunityFactory,
    ProductFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def exported(columns, rows) -> bytes:
    return "".join(csv_lines(columns, rows)).encode()


def run(actor, kind: str, content: bytes):
    batch = services.batch_upload(
        actor=actor, kind=kind, source="salesops", file_name=f"{kind}.csv", content=content
    )
    return services.batch_start(actor=actor, batch_id=batch.pk, background=False)


def people_snapshot() -> list[tuple]:
    return sorted(
        (
            u.username, u.get_full_name(), u.email, u.role,
            u.team.name if u.team else "",
            u.team.parent.name if u.team and u.team.parent else "",
            u.team.manager.username if u.team and u.team.manager else "",
            u.started_on, u.is_active,
        )
        for u in User.objects.select_related("team__parent", "team__manager")
    )  # fmt: skip


def test_people_and_their_teams_come_back_the_same(admin_user):
    sales = TeamFactory(name="Sales")
    enterprise = TeamFactory(name="Enterprise", parent=sales)
    smb = TeamFactory(name="SMB", parent=sales)
    leader = UserFactory(username="lee", email="lee@acme.io", role=Role.LEADER, team=sales)
    mia = UserFactory(username="mia", email="mia@acme.io", role=Role.MANAGER, team=enterprise,
                      started_on=dt.date(2021, 4, 1))  # fmt: skip
    max_ = UserFactory(username="max", email="max@acme.io", role=Role.MANAGER, team=smb)
    for team, manager in ((sales, leader), (enterprise, mia), (smb, max_)):
        team.manager = manager
        team.save()
    UserFactory(username="ana", email="ana@acme.io", team=enterprise,
                started_on=dt.date(2025, 2, 3))  # fmt: skip
    UserFactory(username="gone", email="gone@acme.io", team=smb, is_active=False)
    UserFactory(username="nomail", email="", team=smb, first_name="No", last_name="Mail Person")
    before = people_snapshot()
    content = exported(PEOPLE_COLUMNS, people_rows(User.objects.order_by("username")))

    User.objects.exclude(pk=admin_user.pk).delete()
    Team.objects.update(parent=None)
    Team.objects.all().delete()

    batch = run(admin_user, "people", content)
    assert batch.counts["rejected"] == 0, batch.problems
    assert batch.counts["created"] == 6 and batch.counts["unchanged"] == 1  # the admin
    assert people_snapshot() == before

    again = run(admin_user, "people", content)
    assert again.counts["unchanged"] == 7 and again.counts["created"] == 0
    assert people_snapshot() == before


def test_accounts_and_products_come_back_the_same(admin_user):
    AccountFactory(name="Acme GmbH", domain="acme.de", industry="Logistics", employees=1200,
                   country="Germany", source="sf", external_id="001A")  # fmt: skip
    AccountFactory(name='=HYPERLINK("x")', domain="", employees=None)  # a formula stays text
    AccountFactory(name="Müller & Söhne KG", domain="mueller.de", country="Österreich")
    ProductFactory(name="Core platform", list_price=Decimal("12500.00"), currency="EUR")
    ProductFactory(name="Services", family="", list_price=None, currency="")

    def accounts():
        return sorted(Account.objects.values_list("name", "domain", "industry", "employees",
                                                  "country"))  # fmt: skip

    def products():
        return sorted(Product.objects.values_list("name", "family", "list_price", "currency"))

    account_file = exported(ACCOUNT_COLUMNS, account_rows(Account.objects.order_by("id")))
    product_file = exported(PRODUCT_COLUMNS, product_rows(Product.objects.order_by("id")))
    before = (accounts(), products())
    Account.objects.all().delete()
    Product.objects.all().delete()

    assert run(admin_user, "accounts", account_file).counts["created"] == 3
    assert run(admin_user, "products", product_file).counts["created"] == 2
    assert (accounts(), products()) == before
    assert run(admin_user, "accounts", account_file).counts["unchanged"] == 3
    assert run(admin_user, "products", product_file).counts["unchanged"] == 2


def test_opportunities_come_back_the_same(admin_user, import_pipeline, sellers):
    """Deals of every kind — open in several stages, won, lost with a reason written on
    two lines, with and without product, account external ids and none — exported with
    their accounts and products, everything deleted, the three files imported again."""
    stages = {s.name: s for s in import_pipeline.stages.all()}
    ana, ben = sellers["ana.souza@example.com"], sellers["ben.okafor@example.com"]
    acme = AccountFactory(name="Acme GmbH", source="sf", external_id="001A")
    globex = AccountFactory(name="Globex Corp")
    core = ProductFactory(name="Core platform", list_price=Decimal("100.00"), currency="EUR")
    local = ZoneInfo("Europe/Berlin")

    def at(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(12), tzinfo=local)

    OpportunityFactory(
        name="Open in Proposal", owner=ana, account=acme, stage=stages["Proposal"],
        product=core, amount=Decimal("25000.50"), currency="USD",
        close_date=dt.date(2027, 3, 31), created_at=at(dt.date(2026, 6, 2)),
        next_step="Send the MSA", next_step_date=dt.date(2026, 12, 1),
        source="sf", external_id="006X",
    )  # fmt: skip
    OpportunityFactory(
        name="Won last spring", owner=ben, account=globex, stage=stages["Closed won"],
        status="won", forecast_category="closed", amount=Decimal("12000.00"),
        close_date=dt.date(2026, 4, 15), created_at=at(dt.date(2026, 1, 10)),
        closed_at=at(dt.date(2026, 4, 17)),
    )  # fmt: skip
    OpportunityFactory(
        name='=HYPERLINK("x") lost', owner=ana, account=globex, stage=stages["Closed lost"],
        status="lost", forecast_category="omitted", loss_reason="Price,\nand timing",
        close_date=dt.date(2025, 11, 30), created_at=at(dt.date(2025, 8, 1)),
        closed_at=at(dt.date(2025, 11, 28)), amount=Decimal("0.50"),
    )  # fmt: skip
    OpportunityFactory(
        name="Open in Discover", owner=ben, account=acme, stage=stages["Discover"],
        close_date=dt.date(2027, 1, 31), created_at=at(dt.date(2026, 11, 20)),
    )  # fmt: skip

    def deals() -> list[tuple]:
        return sorted(
            (
                o.name, o.account.name, o.owner.email, o.product.name if o.product else "",
                o.stage.name, o.status, o.amount, o.currency,
                o.created_at.astimezone(local).date(), o.close_date,
                o.closed_at.astimezone(local).date() if o.closed_at else None, o.loss_reason,
                o.next_step, o.next_step_date, o.forecast_category,
            )
            for o in Opportunity.objects.select_related("account", "owner", "product", "stage")
        )  # fmt: skip

    before = deals()
    files = {
        "accounts": exported(ACCOUNT_COLUMNS, account_rows(Account.objects.order_by("id"))),
        "products": exported(PRODUCT_COLUMNS, product_rows(Product.objects.order_by("id"))),
        "opportunities": exported(
            OPPORTUNITY_COLUMNS, opportunity_rows(Opportunity.objects.order_by("id"), tz=local)
        ),
    }
    Opportunity.objects.all().delete()
    Account.objects.all().delete()
    Product.objects.all().delete()

    for kind in ("accounts", "products", "opportunities"):
        batch = run(admin_user, kind, files[kind])
        assert batch.counts["rejected"] == 0, batch.problems
    assert deals() == before
    again = run(admin_user, "opportunities", files["opportunities"])
    assert again.counts["unchanged"] == 4 and again.counts["created"] == 0
    assert Account.objects.count() == 2  # the deals found their accounts, no duplicates
