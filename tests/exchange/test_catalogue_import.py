"""The accounts and products imports end to end, through exchange.services, on PostgreSQL:
the database after success and after refusal, accounts a deal import created taken over
instead of duplicated, re-import, undo, and `import_csv accounts|products`."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from exchange import services
from exchange.models import BatchStatus, ImportBatch
from pipeline import bulk
from pipeline.models import Account, Opportunity, Product
from salesops.exceptions import Conflict, PermissionDenied
from salesops.models import AuditEvent
from tests.exchange import corpus
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def upload_and_run(actor, kind: str, content: bytes, *, source: str = "sf") -> ImportBatch:
    batch = services.batch_upload(
        actor=actor, kind=kind, source=source, file_name=f"{kind}.csv", content=content
    )
    return services.batch_start(actor=actor, batch_id=batch.pk, background=False)


# A Salesforce account report: its column names, URLs for domains, employees with commas.
ACCOUNT_HEADER = ["Account ID", "Account Name", "Website", "Industry", "Employees",
                  "Billing Country"]  # fmt: skip
ACCOUNT_ROWS = [
    ["001A", "Acme Logistics GmbH", "https://www.acme-logistics.de/about", "Logistics", "1,200",
     "Germany"],
    ["001B", "Globex Corp", "globex.com", "Energy", "54,000", "United States"],
    ["001C", "Initech", "", "Software", "", ""],
]  # fmt: skip


def accounts_csv(rows: list[list[str]] = ACCOUNT_ROWS) -> bytes:
    return to_csv(ACCOUNT_HEADER, rows)


def test_accounts_land_as_the_crm_has_them(leader):
    batch = upload_and_run(leader, "accounts", accounts_csv())
    assert batch.status == BatchStatus.DONE, batch.problems
    assert batch.counts == {"created": 3, "updated": 0, "moved": 0, "unchanged": 0, "rejected": 0}
    acme = Account.objects.get(external_id="001A")
    assert (acme.name, acme.domain, acme.industry, acme.employees, acme.country, acme.source) == (
        "Acme Logistics GmbH", "acme-logistics.de", "Logistics", 1200, "Germany", "sf",
    )  # fmt: skip
    initech = Account.objects.get(external_id="001C")
    assert (initech.domain, initech.employees) == ("", None)
    assert sorted(batch.created_ids) == sorted(Account.objects.values_list("id", flat=True))


def test_accounts_a_deal_import_created_get_their_external_id_instead_of_a_duplicate(
    leader, import_pipeline, sellers
):
    # A deal import first: it makes accounts from the deals' account names, without ids.
    deals = [d for d in corpus.true_deals(corpus_today(), count=30) if d.account in
             ("Acme Logistics GmbH", "Globex Corp")]  # fmt: skip
    deal_batch = upload_and_run(leader, "opportunities", corpus.salesforce(deals), source="sf")
    assert deal_batch.counts["rejected"] == 0, deal_batch.problems
    made_by_deals = dict(Account.objects.values_list("name", "id"))
    assert set(made_by_deals) == {"Acme Logistics GmbH", "Globex Corp"}

    rows = [list(r) for r in ACCOUNT_ROWS]
    rows[1][1] = "GLOBEX  corp"  # another spelling of the same name
    batch = upload_and_run(leader, "accounts", accounts_csv(rows))
    assert batch.counts == {"created": 1, "updated": 2, "moved": 0, "unchanged": 0, "rejected": 0}
    assert Account.objects.count() == 3
    acme = Account.objects.get(pk=made_by_deals["Acme Logistics GmbH"])
    assert (acme.source, acme.external_id, acme.domain, acme.employees) == (
        "sf", "001A", "acme-logistics.de", 1200,
    )  # fmt: skip
    globex = Account.objects.get(pk=made_by_deals["Globex Corp"])
    assert (globex.name, globex.external_id) == ("GLOBEX  corp", "001B")  # as the CRM writes it
    assert Opportunity.objects.filter(account=acme).count() == sum(
        d.account == "Acme Logistics GmbH" for d in deals
    )
    events = AuditEvent.objects.filter(action="account.updated", target_id=acme.pk)
    assert [e.data["fields"] for e in events] == [
        ["country", "domain", "employees", "external_id", "industry", "source"]
    ]
    # It changed accounts that existed: it cannot be undone in one action.
    assert batch.changed_existing
    with pytest.raises(Conflict):
        services.batch_undo(actor=leader, batch_id=batch.pk)


def corpus_today():
    from tests.clock import default_clock

    return default_clock().date()


def test_reimporting_the_same_accounts_changes_nothing(leader):
    upload_and_run(leader, "accounts", accounts_csv())
    before = list(Account.objects.order_by("id").values())
    again = upload_and_run(leader, "accounts", accounts_csv())
    assert again.counts == {"created": 0, "updated": 0, "moved": 0, "unchanged": 3, "rejected": 0}
    assert list(Account.objects.order_by("id").values()) == before
    assert not again.changed_existing


def test_a_changed_row_updates_only_what_it_gives(leader):
    upload_and_run(leader, "accounts", accounts_csv())
    rows = [["001B", "Globex Corporation", "", "", "55,000", ""]]
    batch = upload_and_run(leader, "accounts", accounts_csv(rows))
    assert batch.counts["updated"] == 1
    globex = Account.objects.get(external_id="001B")
    # Blank cells keep what is there.
    assert (globex.name, globex.domain, globex.industry, globex.employees, globex.country) == (
        "Globex Corporation", "globex.com", "Energy", 55000, "United States",
    )  # fmt: skip


def test_same_name_with_another_external_id_is_another_account(leader):
    upload_and_run(leader, "accounts", accounts_csv())
    batch = upload_and_run(leader, "accounts", accounts_csv([["001Z", "Initech", "", "", "", ""]]))
    assert batch.counts["created"] == 1
    assert Account.objects.filter(name="Initech").count() == 2


def test_bad_rows_and_duplicates_are_refused_the_others_imported(leader):
    rows = [
        *ACCOUNT_ROWS,
        ["001D", "Hooli", "not a domain", "", "51-200", ""],
        ["001A", "Acme again", "", "", "", ""],
        ["", "Umbrella", "", "", "", ""],
        ["", "umbrella", "", "", "", ""],
        ["001E", "", "", "", "", ""],
    ]
    batch = upload_and_run(leader, "accounts", accounts_csv(rows))
    assert batch.counts["created"] == 4 and batch.counts["rejected"] == 4
    assert batch.rejected_lines == [5, 6, 8, 9]
    by_line: dict[int, list[str]] = {}
    for problem in batch.problems:
        by_line.setdefault(problem["line"], []).append(problem["message"])
    assert any("not a web domain" in m for m in by_line[5])
    assert any("is a range" in m for m in by_line[5])
    assert "also on line 2" in by_line[6][0]
    assert "also on line 7" in by_line[8][0]
    assert "has no name" in by_line[9][0]
    assert not Account.objects.filter(name__in=["Hooli", "Acme again", "umbrella"]).exists()
    assert Account.objects.get(name="Umbrella").external_id == ""


def test_a_rep_cannot_import_accounts(rep):
    with pytest.raises(PermissionDenied):
        upload_and_run(rep, "accounts", accounts_csv())
    assert not ImportBatch.objects.exists() and not Account.objects.exists()


def test_undo_of_accounts(leader, pipeline, rep):
    batch = upload_and_run(leader, "accounts", accounts_csv())
    other = upload_and_run(leader, "accounts", accounts_csv([["X1", "Vandelay", "", "", "", ""]]))
    # A deal on one of the second batch's accounts since: that undo is refused, whole.
    OpportunityFactory(
        owner=rep, stage=pipeline.discover, account=Account.objects.get(name="Vandelay")
    )
    with pytest.raises(Conflict) as exc:
        services.batch_undo(actor=leader, batch_id=other.pk)
    assert exc.value.code == "import_changed_since"
    assert Account.objects.filter(name="Vandelay").exists()
    services.batch_undo(actor=leader, batch_id=batch.pk)
    assert list(Account.objects.values_list("name", flat=True)) == ["Vandelay"]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.UNDONE


# --- products -------------------------------------------------------------------------------

PRODUCT_HEADER = ["Product Code", "Product Name", "Product Family", "List Price", "Currency"]
PRODUCT_ROWS = [
    ["P-1", "Core platform", "Platform", "$12,500.00", ""],
    ["P-2", "Analytics add-on", "Platform", "2,400.00", "EUR"],
    ["P-3", "Onboarding services", "Services", "", ""],
]


def products_csv(rows: list[list[str]] = PRODUCT_ROWS) -> bytes:
    return to_csv(PRODUCT_HEADER, rows)


def test_products_land_with_their_prices(admin_user):
    batch = upload_and_run(admin_user, "products", products_csv())
    assert batch.counts == {"created": 3, "updated": 0, "moved": 0, "unchanged": 0, "rejected": 0}
    core = Product.objects.get(external_id="P-1")
    assert (core.name, core.family, core.list_price, core.currency, core.source) == (
        "Core platform", "Platform", Decimal("12500.00"), "USD", "sf",
    )  # fmt: skip
    assert Product.objects.get(external_id="P-3").list_price is None

    again = upload_and_run(admin_user, "products", products_csv())
    assert again.counts["unchanged"] == 3 and again.counts["updated"] == 0


def test_a_product_a_deal_import_created_is_taken_over_by_name(admin_user):
    (made,) = bulk.products_import_create(
        actor=admin_user, source="sf", products=[bulk.NewProduct(name="CORE PLATFORM")]
    )
    batch = upload_and_run(admin_user, "products", products_csv())
    assert batch.counts["created"] == 2 and batch.counts["updated"] == 1
    core = Product.objects.get(pk=made)
    assert (core.name, core.external_id, core.list_price) == (
        "Core platform", "P-1", Decimal("12500.00"),
    )  # fmt: skip
    assert Product.objects.count() == 3


def test_a_product_name_is_unique(admin_user):
    upload_and_run(admin_user, "products", products_csv())
    rows = [
        ["P-9", "core Platform", "", "", ""],  # another id, a taken name
        ["P-2", "Onboarding Services", "", "", ""],  # renamed onto another product's name
        ["", "Training", "", "1.000,00", "EUR"],
        ["P-10", "training", "", "", ""],
    ]
    batch = upload_and_run(admin_user, "products", products_csv(rows))
    assert batch.rejected_lines == [2, 3, 5]
    messages = [p["message"] for p in batch.problems]
    assert "is the name of another product (external id 'P-1' from sf)" in messages[0]
    assert "also on line 4" in messages[2]
    assert Product.objects.count() == 4
    assert Product.objects.get(external_id="P-2").name == "Analytics add-on"
    # The decimal comma was told by "1.000,00".
    assert Product.objects.get(name="Training").list_price == Decimal("1000.00")


def test_undo_of_products_is_refused_once_a_deal_sells_one(admin_user, rep, pipeline):
    batch = upload_and_run(admin_user, "products", products_csv())
    OpportunityFactory(
        owner=rep, stage=pipeline.discover, product=Product.objects.get(external_id="P-2")
    )
    with pytest.raises(Conflict):
        services.batch_undo(actor=admin_user, batch_id=batch.pk)
    assert Product.objects.count() == 3
    Opportunity.objects.all().delete()
    services.batch_undo(actor=admin_user, batch_id=batch.pk)
    assert not Product.objects.exists()


# --- the command ----------------------------------------------------------------------------


def run_command(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_csv", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


@pytest.mark.parametrize(
    ("kind", "content", "count", "model"),
    [
        ("accounts", accounts_csv(), 3, Account),
        ("products", products_csv(), 3, Product),
    ],
)
def test_import_csv(admin_user, tmp_path, kind, content, count, model):
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(content)
    code, out = run_command(kind, str(path), "--source", "sf", "--dry-run")
    assert code == 0
    assert f"Would import: created {count}, updated 0, unchanged 0, refused 0." in out
    assert not model.objects.exists()

    code, out = run_command(kind, str(path), "--source", "sf")
    assert code == 0, out
    assert f"Imported: created {count}, updated 0, unchanged 0, refused 0." in out
    assert "moved" not in out
    assert model.objects.count() == count

    code, out = run_command(kind, str(path), "--source", "sf")
    assert code == 0
    assert f"Imported: created 0, updated 0, unchanged {count}, refused 0." in out

    path.write_bytes(content + b",,,,,\n" + b"X-1,,,,,\n")
    code, out = run_command(kind, str(path), "--source", "sf")
    assert code == 1
    # the blank line 5 is skipped; line 6 has an id and no name
    assert f"line {count + 3}, " in out and "has no name" in out
    assert f"Imported: created 0, updated 0, unchanged {count}, refused 1." in out
