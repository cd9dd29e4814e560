"""import_incomplete: an imported deal asks its owner for what the import could not give —
the fields it filled by a rule and the milestones of the stages it skipped the gate for.
Raised by the import itself, kept in step by every path that completes the deal, and
re-decided by the schedule whatever writes its inputs."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pipeline import bulk, rules, services
from pipeline.flags import FlagRefreshResult, flags_refresh
from pipeline.models import (
    Account,
    Milestone,
    MilestoneCompletion,
    Opportunity,
    OpportunityFlag,
    Stage,
)
from salesops.exceptions import ValidationFailed
from salesops.models import Notification
from tests.factories import AccountFactory, MilestoneFactory, OpportunityFactory
from tests.pipeline.test_flags import NOTHING, open_flags, schedule, set_fields

TZ = zoneinfo.ZoneInfo(settings.TIME_ZONE)
KIND = "import_incomplete"
PAIN = "Pain identified"
BUYER = "Economic buyer confirmed the problem is worth solving"
DECISION = "Decision process mapped with the customer"


def quarter_end() -> dt.date:
    """A close date the way the import's rule fills a blank one (any future date will do)."""
    return timezone.localdate() + dt.timedelta(days=30)


def import_deals(actor, pipeline, *deals: dict) -> list[Opportunity]:
    """Deals created the way an import of a CRM export creates them."""
    now = timezone.now()
    made = [
        bulk.ImportedDeal(
            **{
                "external_id": f"crm-{i}",
                "name": f"Imported {i}",
                "status": "open",
                "amount": Decimal("25000.00"),
                "currency": "EUR",
                "close_date": quarter_end(),
                "created_at": now - dt.timedelta(hours=2),
                **deal,
            }
        )
        for i, deal in enumerate(deals)
    ]
    ids = bulk.opportunities_import_create(
        actor=actor, source="crm", pipeline_id=pipeline.pk, deals=made, note="Imported", tz=TZ
    )
    return list(Opportunity.objects.filter(pk__in=ids).order_by("external_id"))


@pytest.fixture
def unknown(db) -> Account:
    return AccountFactory(name="Unknown account")


@pytest.fixture
def imported(leader, rep, pipeline, unknown):
    """An open deal imported into Qualify with a blank close date and account, filled by the
    import's rules: Discover's two required milestones were never recorded."""
    (deal,) = import_deals(
        leader,
        pipeline,
        {
            "account_id": unknown.pk,
            "owner_id": rep.pk,
            "stage_id": pipeline.qualify.pk,
            "gaps": ("close_date", "account"),
        },
    )
    return deal


def milestone(pipeline, title: str) -> Milestone:
    return Milestone.objects.get(stage__pipeline=pipeline, title=title)


def gaps_sentence(*, close_date: bool = True, account: bool = True) -> str:
    parts = []
    if close_date:
        parts.append(f"the close date to {rules.format_day(quarter_end())} (end of quarter)")
    if account:
        parts.append("the account to Unknown account")
    real = "ones" if len(parts) > 1 else "one"
    return f"The import set {rules.join_words(parts)}: set the real {real}."


QUALIFY_SKIPPED = (
    "Imported into Qualify past the gate: 2 milestones of earlier stages are not recorded "
    f"({PAIN}, {BUYER})"
)


# --- raised by the import ------------------------------------------------------------------


def test_an_import_flags_the_open_deals_it_could_not_complete(leader, rep, pipeline, unknown):
    acme = AccountFactory(name="Acme")
    closed_at = timezone.now() - dt.timedelta(days=40)
    in_proposal, in_discover, complete_gaps_only, won = import_deals(
        leader,
        pipeline,
        {
            "account_id": unknown.pk,
            "owner_id": rep.pk,
            "stage_id": pipeline.proposal.pk,
            "gaps": ("account", "close_date"),
        },
        # The first stage: no gate was skipped, nothing was filled — nothing to ask.
        {"account_id": acme.pk, "owner_id": rep.pk, "stage_id": pipeline.discover.pk},
        {
            "account_id": acme.pk,
            "owner_id": rep.pk,
            "stage_id": pipeline.discover.pk,
            "amount": Decimal("0.00"),
            "gaps": ("amount",),
        },
        {
            "account_id": acme.pk,
            "owner_id": rep.pk,
            "stage_id": pipeline.won.pk,
            "status": "won",
            "closed_at": closed_at,
            "close_date": closed_at.date(),
            "created_at": closed_at - dt.timedelta(days=30),
        },
    )
    expected = (
        f"{gaps_sentence()} Imported into Proposal past the gate: 3 milestones of earlier "
        f"stages are not recorded ({PAIN}, {BUYER}, {DECISION})"
    )
    assert open_flags(in_proposal) == {KIND: ("warning", expected[: rules.EXPLANATION_MAX])}
    assert len(expected) > rules.EXPLANATION_MAX  # long titles: cut like every explanation
    assert open_flags(in_discover) == {}
    assert open_flags(complete_gaps_only) == {
        KIND: ("warning", "The import set the amount to EUR 0.00: set the real one.")
    }
    assert open_flags(won) == {}
    # The owner hears of them once, as of every flag the import raised.
    note = Notification.objects.get(recipient=rep)
    assert note.title == "2 new attention flags on your deals"
    assert note.body == "Complete the imported deal: 2"


def test_a_deal_not_imported_is_never_asked_to_complete_itself(rep, pipeline):
    # Created in Proposal by hand (a gate override, the admin): its milestones are open,
    # but only an import marks a deal as reaching its stage without the gate.
    deal = OpportunityFactory(owner=rep, stage=pipeline.proposal, last_activity_at=timezone.now())
    Opportunity.objects.filter(pk=deal.pk).update(import_gaps=["close_date"])
    flags_refresh()
    assert KIND not in open_flags(deal)


# --- cleared by the owner completing the deal ------------------------------------------------


def test_setting_the_filled_fields_and_recording_the_milestones_clears_the_flag(imported, rep):
    pipeline = imported.pipeline
    flag = OpportunityFlag.objects.get(opportunity=imported, kind=KIND)
    assert flag.explanation == f"{gaps_sentence()} {QUALIFY_SKIPPED}"

    # The owner sets the real close date (the page and the API call this service).
    real_close = timezone.localdate() + dt.timedelta(days=75)
    services.opportunity_update(opportunity_id=imported.pk, actor=rep, close_date=real_close)
    imported.refresh_from_db()
    assert imported.import_gaps == ["account"]
    flag.refresh_from_db()  # the same flag, its words updated at once: not news
    assert (flag.cleared_at, flag.explanation) == (
        None,
        f"{gaps_sentence(close_date=False)} {QUALIFY_SKIPPED}",
    )

    # A refused change leaves the gaps and the flag as they were.
    version = imported.version
    with pytest.raises(ValidationFailed):
        services.opportunity_update(opportunity_id=imported.pk, actor=rep, account=None)
    imported.refresh_from_db()
    assert (imported.import_gaps, imported.version) == (["account"], version)
    assert OpportunityFlag.objects.get(pk=flag.pk).explanation == flag.explanation

    # Then the real account: only the milestones are left to ask for.
    services.opportunity_update(
        opportunity_id=imported.pk, actor=rep, account=AccountFactory(name="Globex")
    )
    imported.refresh_from_db()
    assert imported.import_gaps == []
    assert open_flags(imported)[KIND] == ("warning", QUALIFY_SKIPPED)

    services.milestone_complete(
        opportunity_id=imported.pk, milestone_id=milestone(pipeline, PAIN).pk, actor=rep
    )
    assert open_flags(imported)[KIND] == (
        "warning",
        "Imported into Qualify past the gate: 1 milestone of an earlier stage is not "
        f"recorded ({BUYER})",
    )
    services.milestone_complete(
        opportunity_id=imported.pk,
        milestone_id=milestone(pipeline, BUYER).pk,
        actor=rep,
        evidence="Their CFO said so on the call.",
    )
    # Cleared at once, in the service's transaction; the next run agrees.
    flag.refresh_from_db()
    assert flag.cleared_at is not None
    assert KIND not in open_flags(imported)
    assert flags_refresh() == NOTHING
    assert flags_refresh(full=True).raised == 0
    assert Notification.objects.filter(recipient=rep).count() == 1  # the import's only


def test_uncompleting_a_milestone_asks_again(imported, rep):
    pipeline = imported.pipeline
    services.opportunity_update(
        opportunity_id=imported.pk,
        actor=rep,
        close_date=timezone.localdate() + dt.timedelta(days=75),
        account=AccountFactory(),
    )
    for title, evidence in ((PAIN, ""), (BUYER, "Signed off by the CFO.")):
        services.milestone_complete(
            opportunity_id=imported.pk,
            milestone_id=milestone(pipeline, title).pk,
            actor=rep,
            evidence=evidence,
        )
    assert KIND not in open_flags(imported)
    services.milestone_uncomplete(
        opportunity_id=imported.pk, milestone_id=milestone(pipeline, PAIN).pk, actor=rep
    )
    assert open_flags(imported)[KIND] == (
        "warning",
        "Imported into Qualify past the gate: 1 milestone of an earlier stage is not "
        f"recorded ({PAIN})",
    )
    # A new flag: it was cleared in between, so its owner hears of it again.
    assert OpportunityFlag.objects.filter(opportunity=imported, kind=KIND).count() == 2
    assert Notification.objects.filter(recipient=rep).count() == 2


def test_an_unchanged_value_is_still_a_gap(imported, rep):
    services.opportunity_update(
        opportunity_id=imported.pk, actor=rep, close_date=imported.close_date, name="Renamed"
    )
    imported.refresh_from_db()
    assert imported.import_gaps == ["close_date", "account"]
    assert open_flags(imported)[KIND][1].startswith(gaps_sentence())


def test_advancing_keeps_asking_for_the_skipped_milestones(imported, rep, pipeline):
    # Moving on passes the gate of Qualify only; Discover's milestones are still not
    # recorded, and the flag now says where the deal is.
    services.milestone_complete(
        opportunity_id=imported.pk, milestone_id=milestone(pipeline, DECISION).pk, actor=rep
    )
    services.opportunity_advance(
        opportunity_id=imported.pk, stage_id=pipeline.proposal.pk, actor=rep
    )
    assert open_flags(imported)[KIND] == (
        "warning",
        f"{gaps_sentence()} Imported into Proposal past the gate: 2 milestones of earlier "
        f"stages are not recorded ({PAIN}, {BUYER})",
    )


def test_closing_the_deal_clears_the_flag(imported, rep):
    services.opportunity_close_lost(
        opportunity_id=imported.pk, actor=rep, loss_reason="Chose a competitor."
    )
    assert KIND not in open_flags(imported)
    assert OpportunityFlag.objects.get(opportunity=imported, kind=KIND).cleared_at is not None


def test_the_services_refresh_only_imported_deals(imported, rep, pipeline):
    """Ticking a milestone of a deal that was not imported costs no flag refresh."""
    other = OpportunityFactory(owner=rep, stage=pipeline.qualify)
    pain = milestone(pipeline, PAIN).pk

    def refreshes(call) -> int:
        with CaptureQueriesContext(connection) as ctx:
            call()
        return sum("pipeline_opportunityflag" in q["sql"] for q in ctx.captured_queries)

    assert (
        refreshes(
            lambda: services.milestone_complete(
                opportunity_id=other.pk, milestone_id=pain, actor=rep
            )
        )
        == 0
    )
    assert (
        refreshes(
            lambda: services.milestone_uncomplete(
                opportunity_id=other.pk, milestone_id=pain, actor=rep
            )
        )
        == 0
    )
    assert (
        refreshes(
            lambda: services.milestone_complete(
                opportunity_id=imported.pk, milestone_id=pain, actor=rep
            )
        )
        == 1
    )


# --- the schedule re-decides an imported deal whatever writes its inputs ----------------------


def settled(deal) -> None:
    flags_refresh()
    assert schedule(deal)[0] is False


def test_a_completion_written_anywhere_makes_the_deal_due(imported, rep, pipeline):
    settled(imported)
    version = schedule(imported)[2]
    completion = MilestoneCompletion.objects.create(
        opportunity=imported,
        milestone=milestone(pipeline, PAIN),
        completed_by=rep,
        completed_at=timezone.now(),
    )
    assert schedule(imported)[0] is True and schedule(imported)[2] == version + 1
    assert flags_refresh() == FlagRefreshResult(raised=0, cleared=0, updated=1, notified=0)
    assert (
        f"1 milestone of an earlier stage is not recorded ({BUYER})"
        in (open_flags(imported)[KIND][1])
    )
    settled(imported)
    completion.evidence = "Changed words only"
    completion.save(update_fields=["evidence"])
    assert schedule(imported)[0] is False  # not an input
    completion.delete()
    assert schedule(imported)[0] is True
    assert flags_refresh().updated == 1


def test_completions_of_a_deal_not_imported_leave_its_schedule_alone(rep, pipeline):
    deal = OpportunityFactory(owner=rep, stage=pipeline.qualify)
    settled(deal)
    MilestoneCompletion.objects.create(
        opportunity=deal,
        milestone=milestone(pipeline, PAIN),
        completed_by=rep,
        completed_at=timezone.now(),
    )
    assert schedule(deal)[0] is False


def test_import_gaps_written_anywhere_make_the_deal_due(imported):
    settled(imported)
    set_fields(imported, import_gaps=["account"])
    assert schedule(imported)[0] is True
    assert flags_refresh().updated == 1
    assert open_flags(imported)[KIND][1].startswith(gaps_sentence(close_date=False))
    # The values the explanation names, while they are gaps: the account, not the amount.
    settled(imported)
    set_fields(imported, amount=Decimal("1.00"))
    assert schedule(imported)[0] is True
    assert flags_refresh() == NOTHING
    set_fields(imported, import_gaps=[])
    flags_refresh()
    set_fields(imported, amount=Decimal("2.00"))
    assert schedule(imported)[0] is False


def test_renaming_the_filled_in_account_updates_the_words(imported, unknown):
    settled(imported)
    Account.objects.filter(pk=unknown.pk).update(name="Account to be named")
    assert schedule(imported)[0] is True
    assert flags_refresh().updated == 1
    assert (
        "the account to Account to be named: set the real ones." in (open_flags(imported)[KIND][1])
    )


def test_milestones_of_earlier_stages_changed_anywhere_recheck_the_deals_after(
    imported, rep, pipeline
):
    settled(imported)
    # A milestone of the deal's own stage is not one it skipped: nothing to look at.
    own = MilestoneFactory(stage=pipeline.qualify, title="Own stage", order=9)
    assert schedule(imported)[0] is False
    added = MilestoneFactory(stage=pipeline.discover, title="Budget confirmed", order=3)
    assert schedule(imported)[0] is True
    assert flags_refresh().updated == 1
    assert (
        f"3 milestones of earlier stages are not recorded ({PAIN}, {BUYER}, Budget"
        in (open_flags(imported)[KIND][1])
    )
    settled(imported)
    Milestone.objects.filter(pk=added.pk).update(required=False)
    assert schedule(imported)[0] is True
    flags_refresh()
    assert open_flags(imported)[KIND][1].endswith(QUALIFY_SKIPPED)
    settled(imported)
    Milestone.objects.filter(pk=added.pk).update(description="Words only")
    assert schedule(imported)[0] is False
    Milestone.objects.filter(pk=own.pk).update(auto_check="business_issue_mapped")
    assert schedule(imported)[0] is False
    Milestone.objects.filter(stage=pipeline.discover).delete()
    assert schedule(imported)[0] is True
    flags_refresh()
    assert open_flags(imported)[KIND] == ("warning", gaps_sentence())


def test_reordering_the_stages_rechecks_the_imported_deals(imported, admin_user, pipeline):
    settled(imported)
    # Qualify first: Discover's milestones are no longer ones the deal skipped.
    services.stage_move(stage_id=pipeline.qualify.pk, actor=admin_user, position=1)
    assert schedule(imported)[0] is True
    flags_refresh()
    assert open_flags(imported)[KIND] == ("warning", gaps_sentence())
    settled(imported)
    Stage.objects.filter(pk=pipeline.qualify.pk).update(guidance="Words only")
    assert schedule(imported)[0] is False


# --- shown wherever flags show ------------------------------------------------------------------


def test_the_flag_shows_on_the_pages_and_in_the_api(imported, rep, client, key_for):
    client.force_login(rep)
    page = client.get(reverse("pipeline:opportunity_detail", args=[imported.pk])).content.decode()
    card = page[page.index('data-testid="attention-card"') :]
    assert "Complete the imported deal" in card and "Imported into Qualify past the gate" in card
    attention = client.get(reverse("pipeline:attention"), {"kind": KIND})
    (deal,) = attention.context["page"].object_list  # one card per deal
    assert [f.kind for f in deal.flags_shown] == [KIND]
    assert "Complete the imported deal" in attention.content.decode()

    api = key_for(rep)
    flags = api.get("/api/v1/flags/", {"kind": KIND}).json()["results"]
    assert [(f["kind"], f["explanation"]) for f in flags] == [
        (KIND, f"{gaps_sentence()} {QUALIFY_SKIPPED}")
    ]
    deal = api.get(f"/api/v1/opportunities/{imported.pk}/").json()
    assert [f["kind"] for f in deal["open_flags"]] == [KIND]


def test_ticking_a_milestone_on_the_page_updates_the_attention_card(
    imported, rep, client, pipeline
):
    client.force_login(rep)
    toggle = reverse("pipeline:milestone_toggle", args=[imported.pk, milestone(pipeline, PAIN).pk])
    body = client.post(toggle, {"done": "on"}, HTTP_HX_REQUEST="true").content.decode()
    card = body[body.index('id="attention"') :]
    assert 'hx-swap-oob="true"' in card[:200]
    assert f"1 milestone of an earlier stage is not recorded ({BUYER})" in card
    # On a deal that was not imported, nothing else changes: no card in the response.
    other = OpportunityFactory(owner=rep, stage=pipeline.qualify)
    toggle = reverse("pipeline:milestone_toggle", args=[other.pk, milestone(pipeline, PAIN).pk])
    body = client.post(toggle, {"done": "on"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="attention"' not in body
