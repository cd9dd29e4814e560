"""The opportunity import end to end, through the services, on CRM-shaped files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Count, Q, Sum
from django.utils import timezone

from exchange import services
from exchange.models import BatchStatus, ImportBatch
from pipeline.models import Account, Opportunity, OpportunityChange
from salesops.exceptions import ValidationFailed
from salesops.models import Notification, User
from tests.clock import default_clock
from tests.exchange import corpus
from tests.factories import MilestoneFactory

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return default_clock().date()


def upload_and_run(actor, content: bytes, *, source: str, **configure):
    batch = services.batch_upload(
        actor=actor, kind="opportunities", source=source, file_name="deals.csv", content=content
    )
    if configure:
        services.batch_configure(actor=actor, batch_id=batch.pk, **configure)
    return services.batch_start(actor=actor, batch_id=batch.pk, background=False)


@pytest.mark.parametrize("shape", ["salesforce", "hubspot", "pipedrive"])
def test_a_crm_export_lands_with_its_real_dates(shape, leader, import_pipeline, sellers):
    deals = corpus.true_deals(today())
    batch = upload_and_run(leader, getattr(corpus, shape)(deals), source=shape)
    assert batch.status == BatchStatus.DONE, batch.problems[:5]
    assert batch.counts["rejected"] == 0, batch.problems[:5]
    assert batch.counts["created"] == len(deals)

    stored = Opportunity.objects.filter(source=shape)
    # Closed won per past quarter, from the stored deals' closing moments (local dates).
    won = stored.filter(status="won")
    by_quarter: dict[tuple[int, int], Decimal] = {}
    for deal in won:
        day = timezone.localtime(deal.closed_at).date()
        key = (day.year, (day.month - 1) // 3 + 1)
        by_quarter[key] = by_quarter.get(key, Decimal(0)) + deal.amount
    assert by_quarter == corpus.won_by_quarter(deals)
    # Won count and win rate per owner.
    rates = {
        row["owner__email"]: (row["won"], row["closed"])
        for row in stored.exclude(status="open")
        .values("owner__email")
        .annotate(won=Count("id", filter=Q(status="won")), closed=Count("id"))
    }
    assert rates == corpus.win_rate_by_owner(deals)
    # Created and closed on the CRM's days, never "now"; marked imported.
    truths = {d.external_id: d for d in deals}
    for deal in stored:
        truth = truths[deal.external_id]
        assert deal.imported_at is not None
        assert timezone.localtime(deal.created_at).date() == truth.created
        if truth.status != "open":
            assert timezone.localtime(deal.closed_at).date() == truth.close


def test_reimporting_the_same_file_changes_nothing(leader, import_pipeline, sellers):
    deals = corpus.true_deals(today(), count=60)
    content = corpus.salesforce(deals)
    upload_and_run(leader, content, source="sf")
    history = OpportunityChange.objects.count()
    again = upload_and_run(leader, content, source="sf")
    assert again.counts == {"created": 0, "updated": 0, "moved": 0, "unchanged": 60, "rejected": 0}
    assert OpportunityChange.objects.count() == history
    assert Opportunity.objects.count() == 60
    assert Opportunity.objects.aggregate(total=Sum("amount"))["total"] == sum(
        (d.amount or 0 for d in deals), Decimal(0)
    )


def test_a_messy_file_imports_its_good_rows_and_says_what_is_wrong_with_the_rest(
    leader, import_pipeline, sellers
):
    batch = upload_and_run(leader, corpus.messy(), source="sheet")
    assert batch.status == BatchStatus.DONE
    # not UTF-8: read as Windows-1252 and said so
    assert "not UTF-8" in batch.warnings[0]["message"]
    problems = {(p["line"], p["field"]): p["message"] for p in batch.problems}
    assert problems[(5, "stage")] == "stage: 'Pondering' is not mapped to a stage of the pipeline."
    assert "is also on line 2" in problems[(6, "external_id")]
    assert problems[(7, "close_date")] == "close_date: '31.02.2027' is not a date."
    assert batch.counts["rejected"] == 3 and batch.counts["created"] == 5
    deals = {d.external_id: d for d in Opportunity.objects.select_related("account")}
    # European decimal commas, accents kept, the formula kept as text (never evaluated)
    assert deals["M-1"].amount == Decimal("1250.00") and deals["M-1"].name == "Ölwerk renewal"
    assert deals["M-1"].account.name == "Müller & Söhne KG"
    assert deals["M-2"].name == '=HYPERLINK("http://x")'
    assert any("formula" in w["message"] for w in batch.warnings)
    # blanks on an open deal: the rules fill them and say so on the deal
    assert deals["M-3"].account.name == "Unknown account"
    assert deals["M-3"].amount == 0
    assert set(deals["M-3"].import_gaps) == {"close_date", "account", "amount"}
    # closed deals keep their real dates
    assert timezone.localtime(deals["M-7"].closed_at).date() == dt.date(2025, 8, 15)
    assert deals["M-7"].amount == Decimal("12500.50")
    assert deals["M-6"].loss_reason == "Price"


def test_the_user_maps_what_the_file_calls_otherwise_and_reimport_finds_it(
    leader, import_pipeline, sellers
):
    qualify = import_pipeline.stages.get(name="Qualify")
    batch = upload_and_run(
        leader,
        corpus.messy(),
        source="sheet",
        value_maps={"stage": {"Pondering": qualify.pk}},
        options={"blank_account": "reject"},
    )
    problems = {(p["line"], p["field"]) for p in batch.problems}
    assert (5, "stage") not in problems and (4, "account") in problems
    assert Opportunity.objects.get(external_id="M-4").stage == qualify
    # The mapping and options are kept for the source and used next time: nothing changes,
    # the same rows are refused for the same reasons.
    again = upload_and_run(leader, corpus.messy(), source="sheet")
    assert again.mapping == batch.mapping and again.options == batch.options
    assert again.counts == {"created": 0, "updated": 0, "moved": 0, "unchanged": 5, "rejected": 3}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"   \r\n", "The file is empty"),
        (b"Deal,Amount\r\n", "a header but no rows"),
        (b"PK\x03\x04\x00\x00binary", "binary data"),
    ],
)
def test_files_that_are_not_exports_are_refused_before_anything(leader, content, message):
    with pytest.raises(ValidationFailed) as refused:
        services.batch_upload(
            actor=leader, kind="opportunities", source="x", file_name="f.csv", content=content
        )
    assert message in str(refused.value.details)
    assert not ImportBatch.objects.exists()


def test_a_changed_row_updates_through_the_service_and_a_move_goes_through_the_gate(
    leader, import_pipeline, sellers
):
    header = (
        "Opportunity ID,Opportunity Name,Account Name,Opportunity Owner,Stage,Amount,Close Date\n"
    )
    upload_and_run(
        leader, (header + "G-1,Gated deal,Initech,Ana Souza,Discover,100,3/14/2027\n").encode(),
        source="sf",
    )  # fmt: skip
    deal = Opportunity.objects.get(external_id="G-1")
    # Give Discover a required milestone: moving on needs it.
    MilestoneFactory(stage=deal.stage, title="Pain confirmed by the customer")
    batch = upload_and_run(
        leader, (header + "G-1,Gated deal,Initech,Ana Souza,Qualify,250,3/14/2027\n").encode(),
        source="sf",
    )  # fmt: skip
    deal.refresh_from_db()
    assert batch.counts["rejected"] == 1
    assert "Pain confirmed by the customer" in batch.problems[0]["message"]
    # Saved whole or not at all: the amount did not change either.
    assert deal.stage.name == "Discover" and deal.amount == Decimal("100.00")
    batch = upload_and_run(
        leader, (header + "G-1,Gated deal,Initech,Ana Souza,Discover,250,3/14/2027\n").encode(),
        source="sf",
    )  # fmt: skip
    deal.refresh_from_db()
    assert batch.counts["updated"] == 1 and deal.amount == Decimal("250.00")
    change = deal.changes.filter(field="amount").first()
    assert (change.old_value, change.new_value, change.changed_by) == ("100.00", "250.00", leader)


def test_owners_created_for_the_import_go_when_it_is_undone(leader, import_pipeline, sellers):
    content = (
        b"Opportunity ID,Opportunity Name,Account Name,Opportunity Owner,Stage,Amount,"
        b"Close Date\nP-1,New face,Initech,Zoe Newcomer,Discover,100,1/14/2026\n"
    )
    batch = upload_and_run(leader, content, source="sf", options={"create_unknown_owners": True})
    owner = Opportunity.objects.get(external_id="P-1").owner
    # Its close date has passed: flagged, and the (inactive) owner notified; the
    # notification goes with them.
    assert Notification.objects.filter(recipient=owner).exists()
    assert (owner.first_name, owner.last_name, owner.is_active) == ("Zoe", "Newcomer", False)
    services.batch_undo(actor=leader, batch_id=batch.pk)
    assert not Opportunity.objects.exists()
    assert not User.objects.filter(pk=owner.pk).exists()
    assert User.objects.filter(pk__in=[u.pk for u in sellers.values()]).count() == 4


def test_a_failure_mid_way_keeps_nothing_and_says_the_batch_failed(
    leader, import_pipeline, sellers, monkeypatch
):
    """The second chunk of a file fails (the database refuses, say): the first chunk's deals
    and accounts are not kept either; the batch says it failed and why."""
    from exchange import deal_import
    from pipeline import bulk

    monkeypatch.setattr(deal_import, "CHUNK", 10)  # the name deal_import reads
    real = bulk.opportunities_import_create
    calls = []

    def second_chunk_fails(**kwargs):
        calls.append(len(kwargs["deals"]))
        if len(calls) == 2:
            raise RuntimeError("the disk is full")
        return real(**kwargs)

    monkeypatch.setattr(bulk, "opportunities_import_create", second_chunk_fails)
    accounts = Account.objects.count()
    batch = services.batch_upload(
        actor=leader, kind="opportunities", source="sf", file_name="f.csv",
        content=corpus.salesforce(corpus.true_deals(default_clock().date(), count=30)),
    )  # fmt: skip
    with pytest.raises(RuntimeError, match="the disk is full"):
        services.batch_start(actor=leader, batch_id=batch.pk, background=False)
    assert calls == [10, 10]
    assert not Opportunity.objects.exists()
    assert Account.objects.count() == accounts
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    assert batch.error == "RuntimeError: the disk is full"
