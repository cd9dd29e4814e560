"""The pipeline pages through the Django test client: scope, the gated journey, errors."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pipeline import services
from pipeline.models import (
    Account,
    Activity,
    BusinessIssue,
    MilestoneCompletion,
    Opportunity,
    OpportunityChange,
)
from tests.factories import AccountFactory, OpportunityFactory, StageFactory, UserFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, *args):
    return reverse(f"pipeline:{name}", args=args)


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def milestones(pipeline):
    ms = {m.title: m for m in pipeline.discover.milestones.all()}
    return ms["Pain identified"], ms["Economic buyer confirmed the problem is worth solving"]


# --- login and navigation -------------------------------------------------------------


@pytest.mark.parametrize("name", ["board", "opportunity_list", "opportunity_create"])
def test_pages_require_login(client, db, name):
    response = client.get(url(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_navbar_shows_user_and_role(logged_in, rep, opportunity):
    response = logged_in(rep).get(url("board"))
    assert response.status_code == 200
    assert "Sales rep" in response.content.decode()
    assert str(rep) in response.content.decode()


# --- board ------------------------------------------------------------------------------


def test_board_shows_own_cards_by_stage_with_totals(logged_in, rep, teammate, pipeline):
    OpportunityFactory(owner=rep, stage=pipeline.discover, name="Mine A", amount=Decimal("1200"))
    OpportunityFactory(owner=rep, stage=pipeline.qualify, name="Mine B", amount=Decimal("3400"))
    OpportunityFactory(owner=teammate, stage=pipeline.discover, name="Theirs")
    body = logged_in(rep).get(url("board")).content.decode()
    assert "Mine A" in body and "Mine B" in body
    assert "Theirs" not in body
    assert "EUR 1,200" in body
    assert 'data-stage="Closed won"' not in body  # open stages only


def _column_totals(body: str, stage_name: str) -> list[str]:
    return re.findall(r'data-testid="column-total">([^<]*)<', _column(body, stage_name))


def test_board_column_totals_show_their_currency_and_never_mix_currencies(logged_in, rep, pipeline):
    for amount, currency in (("1200", "EUR"), ("800", "EUR"), ("500", "USD"), ("70", "CHF")):
        OpportunityFactory(
            owner=rep, stage=pipeline.discover, amount=Decimal(amount), currency=currency
        )
    OpportunityFactory(owner=rep, stage=pipeline.qualify, amount=Decimal("3400"), currency="USD")
    body = logged_in(rep).get(url("board")).content.decode()
    assert "2,570" not in body  # EUR 2,000 + USD 500 + CHF 70 is no amount
    # One total per currency, the organisation's (EUR) first, then by code.
    assert _column_totals(body, "Discover") == ["EUR 2,000", "CHF 70", "USD 500"]
    assert _count(_column(body, "Discover")) == "4"
    assert _column_totals(body, "Qualify") == ["USD 3,400"]
    assert _column_totals(body, "Proposal") == ["EUR 0"]  # empty: nothing in no currency


def test_board_health_colours(logged_in, rep, pipeline):
    OpportunityFactory(owner=rep, stage=pipeline.discover, name="Fresh")
    OpportunityFactory(
        owner=rep,
        stage=pipeline.discover,
        name="Rotting",
        stage_entered_at=timezone.now() - dt.timedelta(days=40),
    )
    body = logged_in(rep).get(url("board")).content.decode()
    assert "so-health-ok" in body
    assert "so-health-rot" in body


def test_board_more_link_when_column_is_full(logged_in, rep, pipeline):
    OpportunityFactory.create_batch(23, owner=rep, stage=pipeline.discover)
    body = logged_in(rep).get(url("board")).content.decode()
    assert "+3 more" in body
    assert f"?stage={pipeline.discover.pk}&status=open" in body


def test_board_columns_hold_their_first_cards_in_scope_in_four_queries(
    rep, teammate, other_rep, manager, pipeline
):
    """Each column: the first `per_column` of the open deals the viewer sees in that stage,
    soonest close first (ties by id), whatever the other columns hold; counts and totals
    over all of them."""
    from pipeline import selectors

    today = timezone.localdate()
    for i in range(7):
        for owner in (rep, teammate, other_rep):  # other_rep is another manager's team
            for stage in (pipeline.discover, pipeline.qualify):
                OpportunityFactory(
                    owner=owner,
                    stage=stage,
                    close_date=today + dt.timedelta(days=(i * 5) % 7),
                    amount=Decimal("100"),
                )
    with CaptureQueriesContext(connection) as queries:
        columns = selectors.board_for(manager, pipeline, per_column=4)
        by_stage = {c.stage.pk: c for c in columns}
    # The stages, the manager's teams, the counts and totals, the cards.
    assert len(queries) == 4, [q["sql"][:80] for q in queries.captured_queries]
    for stage in (pipeline.discover, pipeline.qualify):
        expected = list(
            Opportunity.objects.filter(
                stage=stage, status="open", owner__in=[rep, teammate]
            ).order_by("close_date", "id")
        )
        column = by_stage[stage.pk]
        assert [o.pk for o in column.cards] == [o.pk for o in expected[:4]]
        assert column.count == 14
        assert column.totals[0].amount == Decimal("1400")
    assert by_stage[pipeline.proposal.pk].cards == []


def test_board_owner_filter_for_manager_not_for_rep(logged_in, rep, teammate, manager, pipeline):
    OpportunityFactory(owner=rep, stage=pipeline.discover, name="Rep deal")
    OpportunityFactory(owner=teammate, stage=pipeline.discover, name="Teammate deal")
    client = logged_in(manager)
    body = client.get(url("board")).content.decode()
    assert "Rep deal" in body and "Teammate deal" in body
    body = client.get(url("board"), {"owner": rep.pk}).content.decode()
    assert "Rep deal" in body and "Teammate deal" not in body
    # A rep has no owner filter, and passing one cannot widen their scope.
    rep_body = logged_in(rep).get(url("board"), {"owner": teammate.pk}).content.decode()
    assert 'name="owner"' not in rep_body
    assert "Teammate deal" not in rep_body


def _count_queries(client, path, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["rep", "manager", "leader"])
def test_board_query_count_is_fixed(
    request, logged_in, rep, manager, leader, pipeline, django_assert_max_num_queries, who
):
    user = {"rep": rep, "manager": manager, "leader": leader}[who]
    client = logged_in(user)
    OpportunityFactory(owner=rep, stage=pipeline.discover)
    one = _count_queries(client, url("board"))
    for stage in (pipeline.discover, pipeline.qualify, pipeline.proposal):
        OpportunityFactory.create_batch(67, owner=rep, stage=stage, account=AccountFactory())
    many = _count_queries(client, url("board"))
    assert one == many
    # 11: the navbar's counts (open flags in scope, unread notifications) are one query.
    with django_assert_max_num_queries(11):
        client.get(url("board"))


# --- moving a card on the board ----------------------------------------------------------
# A drop (or a card's "Move…" control) posts to opportunity_advance with board=1.


def _column(body: str, stage_name: str) -> str:
    """The HTML of one board column."""
    return body.split(f'data-stage="{stage_name}"')[1].split("</section>")[0]


def _count(column: str) -> str:
    return column.split('data-testid="column-count">')[1].split("<")[0]


def _board_move(client, opp, stage, **extra):
    data = {"board": "1", "stage": stage.pk, "version": opp.version, **extra}
    return client.post(url("opportunity_advance", opp.pk), data, **HTMX)


def _meet_discover(opp, actor):
    for m in opp.stage.milestones.all():
        services.milestone_complete(
            opportunity_id=opp.pk, milestone_id=m.pk, actor=actor, evidence="CFO said so by email"
        )


def test_board_cards_offer_a_keyboard_move_to_open_stages(logged_in, rep, opportunity, pipeline):
    body = logged_in(rep).get(url("board")).content.decode()
    card = _column(body, "Discover")
    assert 'draggable="true"' in card and f'data-card="{opportunity.pk}"' in card
    move = card.split("data-move-form")[1].split("</form>")[0]
    assert f'hx-post="{url("opportunity_advance", opportunity.pk)}"' in move
    assert 'name="board" value="1"' in move
    assert f'<option value="{pipeline.qualify.pk}" selected>Qualify</option>' in move
    assert f'value="{pipeline.proposal.pk}"' in move
    assert f'value="{pipeline.discover.pk}"' not in move  # not where it already is
    assert "Closed" not in move  # closing is done on the opportunity page
    assert 'id="board-move"' in body  # the dialog a refusal opens


def test_board_move_moves_the_card_and_rerenders_the_board(logged_in, rep, opportunity, pipeline):
    _meet_discover(opportunity, rep)
    OpportunityFactory(owner=rep, stage=pipeline.discover, name="Stays put", amount=Decimal("700"))
    opportunity.amount = Decimal("5000")
    opportunity.save(update_fields=["amount"])
    response = _board_move(logged_in(rep), opportunity, pipeline.qualify)
    assert response.status_code == 200
    assert "board-moved" in response["HX-Trigger-After-Swap"]
    body = response.content.decode()
    assert body.lstrip().startswith('<div class="so-board" id="board"')  # the partial only
    assert "<html" not in body
    qualify, discover = _column(body, "Qualify"), _column(body, "Discover")
    assert "Acme rollout" in qualify and "data-moved" in qualify
    assert "Acme rollout" not in discover and "Stays put" in discover
    assert _count(qualify) == "1" and _count(discover) == "1"
    assert _column_totals(body, "Qualify") == ["EUR 5,000"]
    assert _column_totals(body, "Discover") == ["EUR 700"]
    assert 'hx-swap-oob="innerHTML"' in body and "Moved “Acme rollout” to Qualify." in body
    opportunity.refresh_from_db()
    assert opportunity.stage == pipeline.qualify


def test_board_move_keeps_the_owner_filter(logged_in, manager, rep, teammate, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Rep deal")
    _meet_discover(opp, rep)
    OpportunityFactory(owner=teammate, stage=pipeline.discover, name="Teammate deal")
    response = _board_move(logged_in(manager), opp, pipeline.qualify, owner=rep.pk)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Rep deal" in _column(body, "Qualify")
    assert "Teammate deal" not in body
    assert f'name="owner" value="{rep.pk}"' in body  # the next move keeps it too


def test_board_move_refused_opens_the_gate_and_changes_nothing(
    logged_in, rep, opportunity, milestones, pipeline
):
    pain, buyer = milestones
    before = (opportunity.version, OpportunityChange.objects.count())
    response = _board_move(logged_in(rep), opportunity, pipeline.qualify)
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#board-move-content"
    assert response["HX-Reswap"] == "innerHTML"
    assert "board-move-refused" in response["HX-Trigger-After-Swap"]
    body = response.content.decode()
    assert "Move “Acme rollout” to Qualify" in body
    missing = body.split('data-testid="missing-milestones"')[1]
    assert pain.title in missing and buyer.title in missing
    # The controls to complete them, in the dialog's own rows (no main list on the board).
    assert f'id="ms-board-{buyer.pk}"' in missing and 'name="evidence"' in missing
    assert 'name="location" value="board"' in missing
    assert 'name="override_reason"' not in body  # a rep gets no override
    retry = body.split('data-testid="retry-move"')[0].split("<form")[-1]
    assert f'name="stage" value="{pipeline.qualify.pk}"' in retry
    assert 'name="board" value="1"' in retry and 'hx-target="#board"' in retry
    opportunity.refresh_from_db()
    assert opportunity.stage == pipeline.discover
    assert (opportunity.version, OpportunityChange.objects.count()) == before


def test_board_dialog_milestone_tick_answers_without_page_only_swaps(
    logged_in, rep, opportunity, milestones
):
    pain, _ = milestones
    response = logged_in(rep).post(
        url("milestone_toggle", opportunity.pk, pain.pk),
        {"done": "on", "location": "board"},
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="ms-board-{pain.pk}"' in body and "is-met" in body
    assert "hx-swap-oob" not in body  # the board has no main list or summary to update


def test_board_move_after_completing_the_gate_succeeds(
    logged_in, rep, opportunity, milestones, pipeline
):
    client = logged_in(rep)
    assert _board_move(client, opportunity, pipeline.qualify).status_code == 422
    for m in milestones:
        client.post(
            url("milestone_toggle", opportunity.pk, m.pk),
            {"done": "on", "evidence": "CFO said: fix it by Q3", "location": "board"},
            **HTMX,
        )
    response = _board_move(client, opportunity, pipeline.qualify)
    assert response.status_code == 200
    assert "Acme rollout" in _column(response.content.decode(), "Qualify")


def test_board_move_manager_may_override_from_the_dialog(logged_in, manager, opportunity, pipeline):
    client = logged_in(manager)
    response = _board_move(client, opportunity, pipeline.qualify)
    assert response.status_code == 422
    override = response.content.decode().split('name="override_reason"')[0].split("<form")[-1]
    assert 'hx-target="#board"' in override and 'name="board" value="1"' in override
    response = _board_move(
        client, opportunity, pipeline.qualify, override_reason="Verbal yes from the CFO"
    )
    assert response.status_code == 200
    assert "Acme rollout" in _column(response.content.decode(), "Qualify")
    change = OpportunityChange.objects.get(opportunity=opportunity, field="stage", old_value__gt="")
    assert change.override_reason == "Verbal yes from the CFO"


@pytest.mark.parametrize("where", ["other_pipeline", "closed", "same", "stale"])
def test_board_move_refusals_show_the_message(logged_in, rep, opportunity, pipeline, where):
    _meet_discover(opportunity, rep)
    stage = {
        "other_pipeline": lambda: StageFactory(name="Elsewhere"),
        "closed": lambda: pipeline.won,
        "same": lambda: pipeline.discover,
        "stale": lambda: pipeline.qualify,
    }[where]()
    extra = {"version": opportunity.version - 1} if where == "stale" else {}
    before = opportunity.version
    response = _board_move(logged_in(rep), opportunity, stage, **extra)
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#board-move-content"
    body = response.content.decode()
    assert 'class="alert alert-danger py-2" role="alert"' in body
    expected = {
        "other_pipeline": "open stages. To close the deal",
        "closed": "open stages. To close the deal",
        "same": "already in",
        "stale": "changed by someone else",
    }[where]
    assert expected in body
    assert 'data-testid="retry-move"' not in body
    opportunity.refresh_from_db()
    assert opportunity.stage == pipeline.discover and opportunity.version == before


@pytest.mark.parametrize("whose", ["teammate", "other_rep"])
def test_board_move_of_a_card_the_rep_cannot_see_is_404(
    logged_in, rep, teammate, other_rep, pipeline, whose
):
    owner = {"teammate": teammate, "other_rep": other_rep}[whose]
    opp = OpportunityFactory(owner=owner, stage=pipeline.discover)
    _meet_discover(opp, owner)
    before = opp.version
    response = _board_move(logged_in(rep), opp, pipeline.qualify)
    assert response.status_code == 404
    opp.refresh_from_db()
    assert opp.stage == pipeline.discover and opp.version == before


def test_board_move_without_htmx_returns_to_the_board(logged_in, rep, opportunity, pipeline):
    _meet_discover(opportunity, rep)
    client = logged_in(rep)
    response = client.post(
        url("opportunity_advance", opportunity.pk),
        {"board": "1", "stage": pipeline.qualify.pk, "version": opportunity.version},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{url('board')}?pipeline={pipeline.pk}"
    assert "Moved “Acme rollout” to Qualify." in client.get(response["Location"]).content.decode()


# --- list -----------------------------------------------------------------------------------


def test_list_filters_and_scope(logged_in, rep, teammate, pipeline):
    OpportunityFactory(owner=rep, stage=pipeline.discover, name="Alpha deal")
    OpportunityFactory(owner=rep, stage=pipeline.qualify, name="Beta deal")
    OpportunityFactory(owner=teammate, stage=pipeline.discover, name="Gamma deal")
    client = logged_in(rep)
    body = client.get(url("opportunity_list")).content.decode()
    assert "Alpha deal" in body and "Beta deal" in body and "Gamma deal" not in body
    body = client.get(url("opportunity_list"), {"stage": pipeline.qualify.pk}).content.decode()
    assert "Beta deal" in body and "Alpha deal" not in body
    body = client.get(url("opportunity_list"), {"search": "alp"}).content.decode()
    assert "Alpha deal" in body and "Beta deal" not in body


def test_list_bad_date_range_shows_error(logged_in, rep, opportunity):
    response = logged_in(rep).get(
        url("opportunity_list"), {"close_date_from": "2030-02-01", "close_date_to": "2030-01-01"}
    )
    assert response.status_code == 200
    assert "before its start" in response.content.decode()


def test_list_paginates_at_50(logged_in, rep, pipeline):
    OpportunityFactory.create_batch(51, owner=rep, stage=pipeline.discover)
    client = logged_in(rep)
    first = client.get(url("opportunity_list"))
    assert len(first.context["page"].object_list) == 50
    assert "1 / 2" in first.content.decode()
    second = client.get(url("opportunity_list"), {"page": 2})
    assert len(second.context["page"].object_list) == 1


def test_list_query_count_is_fixed(
    logged_in, rep, manager, pipeline, django_assert_max_num_queries
):
    client = logged_in(manager)
    OpportunityFactory(owner=rep, stage=pipeline.discover)
    one = _count_queries(client, url("opportunity_list"), {"status": "open"})
    OpportunityFactory.create_batch(199, owner=rep, stage=pipeline.qualify)
    many = _count_queries(client, url("opportunity_list"), {"status": "open"})
    assert one == many
    with django_assert_max_num_queries(11):  # 10, + the team filter's choices
        client.get(url("opportunity_list"), {"status": "open", "page": 3})


# --- create ---------------------------------------------------------------------------------


def test_create_with_new_account(logged_in, rep, pipeline):
    response = logged_in(rep).post(
        url("opportunity_create"),
        {
            "name": "Globex pilot",
            "new_account_name": "Globex",
            "amount": "25000",
            "currency": "EUR",
            "close_date": "2030-06-30",
        },
    )
    opp = Opportunity.objects.get(name="Globex pilot")
    assert response.status_code == 302
    assert response["Location"] == url("opportunity_detail", opp.pk)
    assert opp.account.name == "Globex"
    assert opp.owner == rep
    assert opp.stage == pipeline.discover


def test_create_bad_input_shows_errors_and_saves_nothing(logged_in, rep, pipeline):
    accounts = Account.objects.count()
    response = logged_in(rep).post(
        url("opportunity_create"),
        {"name": "", "amount": "-5", "currency": "EUR", "close_date": "not a date"},
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert {"name", "amount", "close_date", "account"} <= set(form.errors)
    assert Opportunity.objects.count() == 0
    assert Account.objects.count() == accounts


def test_create_service_error_maps_to_field_and_rolls_back_new_account(logged_in, rep, pipeline):
    response = logged_in(rep).post(
        url("opportunity_create"),
        {
            "name": "Bad currency",
            "new_account_name": "Initech",
            "amount": "10",
            "currency": "E1",
            "close_date": "2030-06-30",
        },
    )
    assert response.status_code == 422
    assert "three-letter ISO currency" in str(response.context["form"].errors["currency"])
    assert not Opportunity.objects.exists()
    assert not Account.objects.filter(name="Initech").exists()  # nothing half-saved


def test_create_rep_cannot_pick_owner(logged_in, rep, teammate, pipeline):
    account = AccountFactory()
    logged_in(rep).post(
        url("opportunity_create"),
        {
            "name": "Sneaky",
            "account": account.pk,
            "amount": "1",
            "currency": "EUR",
            "close_date": "2030-01-01",
            "owner": teammate.pk,
        },
    )
    assert Opportunity.objects.get(name="Sneaky").owner == rep  # the owner field is not offered


# --- the opportunity page --------------------------------------------------------------------


def test_detail_shows_path_guidance_and_milestones(logged_in, rep, opportunity, pipeline):
    pipeline.discover.guidance = "Find the <pain> & who owns it."
    pipeline.discover.save()
    body = logged_in(rep).get(url("opportunity_detail", opportunity.pk)).content.decode()
    assert "What you should know and do here" in body
    assert "Find the &lt;pain&gt; &amp; who owns it." in body  # escaped
    assert "Seller actions" in body and "Buyer commitments" in body
    assert "Pain identified" in body
    assert 'aria-current="step"' in body
    assert "Advance to Qualify" in body


def test_user_text_is_escaped(logged_in, rep, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover, name="<script>alert(1)</script>")
    body = logged_in(rep).get(url("opportunity_detail", opp.pk)).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_the_gated_journey(logged_in, rep, opportunity, milestones, pipeline):
    pain, buyer = milestones
    client = logged_in(rep)

    # Tick a milestone without a reload: the partial comes back checked.
    response = client.post(
        url("milestone_toggle", opportunity.pk, pain.pk), {"done": "on", "location": "main"}, **HTMX
    )
    assert response.status_code == 200
    assert "checked" in response.content.decode()
    assert MilestoneCompletion.objects.filter(opportunity=opportunity, milestone=pain).exists()

    # Advance is refused and names exactly what is missing.
    response = client.post(
        url("opportunity_advance", opportunity.pk),
        {"stage": pipeline.qualify.pk, "version": opportunity.version},
        **HTMX,
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-testid="gate-refused"' in body
    missing = body.split('data-testid="missing-milestones"')[1]
    assert buyer.title in missing
    assert pain.title not in missing
    assert 'name="override_reason"' not in body  # a rep gets no override field
    assert 'name="evidence"' in missing  # the control to complete it is right there
    opportunity.refresh_from_db()
    assert opportunity.stage == pipeline.discover

    # Evidence is required: too short is refused, the typed text is kept.
    response = client.post(
        url("milestone_toggle", opportunity.pk, buyer.pk),
        {"done": "on", "evidence": "ok", "location": "gate"},
        **HTMX,
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "needs evidence" in body
    assert ">ok</textarea>" in body
    assert not MilestoneCompletion.objects.filter(milestone=buyer).exists()

    response = client.post(
        url("milestone_toggle", opportunity.pk, buyer.pk),
        {"done": "on", "evidence": "CFO said: fix this by Q3", "location": "gate"},
        **HTMX,
    )
    assert response.status_code == 200
    assert 'hx-swap-oob="true"' in response.content.decode()  # the main list copy updates too
    assert MilestoneCompletion.objects.get(milestone=buyer).evidence == "CFO said: fix this by Q3"

    response = client.post(
        url("opportunity_advance", opportunity.pk),
        {"stage": pipeline.qualify.pk, "version": opportunity.version},
        **HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == url("opportunity_detail", opportunity.pk)
    opportunity.refresh_from_db()
    assert opportunity.stage == pipeline.qualify
    body = client.get(url("opportunity_detail", opportunity.pk)).content.decode()
    current = body.split('aria-current="step"')[1].split("</li>")[0]
    assert "Qualify" in current


def test_untick_milestone(logged_in, rep, opportunity, milestones):
    pain, _ = milestones
    client = logged_in(rep)
    client.post(url("milestone_toggle", opportunity.pk, pain.pk), {"done": "on"}, **HTMX)
    response = client.post(url("milestone_toggle", opportunity.pk, pain.pk), {}, **HTMX)
    assert response.status_code == 200
    assert not MilestoneCompletion.objects.filter(milestone=pain).exists()


def test_advance_without_htmx_rerenders_page_with_missing(logged_in, rep, opportunity, pipeline):
    response = logged_in(rep).post(
        url("opportunity_advance", opportunity.pk), {"stage": pipeline.qualify.pk}
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "Pain identified" in body.split('data-testid="missing-milestones"')[1]
    assert "<html" in body


def test_manager_sees_override_field_and_override_is_recorded(
    logged_in, manager, opportunity, pipeline
):
    client = logged_in(manager)
    response = client.post(
        url("opportunity_advance", opportunity.pk), {"stage": pipeline.qualify.pk}, **HTMX
    )
    assert response.status_code == 422
    assert 'name="override_reason"' in response.content.decode()

    response = client.post(
        url("opportunity_advance", opportunity.pk),
        {"stage": pipeline.qualify.pk, "override_reason": "Verbal yes from CFO on site"},
        **HTMX,
    )
    assert response.status_code == 200
    opportunity.refresh_from_db()
    assert opportunity.stage == pipeline.qualify
    change = OpportunityChange.objects.get(opportunity=opportunity, field="stage", old_value__gt="")
    assert change.override_reason == "Verbal yes from CFO on site"
    history = client.get(url("opportunity_detail", opportunity.pk)).content.decode()
    history = history.split('data-testid="history"')[1]
    assert "Override</span>" in history
    assert "Verbal yes from CFO on site" in history


def test_rep_override_is_refused(logged_in, rep, opportunity, pipeline):
    response = logged_in(rep).post(
        url("opportunity_advance", opportunity.pk),
        {"stage": pipeline.qualify.pk, "override_reason": "trust me"},
        **HTMX,
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "Override refused" in body
    assert "Only the owner&#x27;s manager" in body
    assert 'name="override_reason"' not in body
    opportunity.refresh_from_db()
    assert opportunity.stage == pipeline.discover
    assert not OpportunityChange.objects.filter(override_reason="trust me").exists()


def test_close_won_uses_the_same_gate(logged_in, rep, opportunity, pipeline):
    response = logged_in(rep).post(url("opportunity_close_won", opportunity.pk), {}, **HTMX)
    assert response.status_code == 422
    assert "Pain identified" in response.content.decode()
    opportunity.refresh_from_db()
    assert opportunity.status == "open"


def test_close_lost_needs_a_reason(logged_in, rep, opportunity):
    client = logged_in(rep)
    response = client.post(
        url("opportunity_close_lost", opportunity.pk), {"loss_reason": ""}, **HTMX
    )
    assert response.status_code == 422
    assert "is-invalid" in response.content.decode()
    opportunity.refresh_from_db()
    assert opportunity.status == "open"
    response = client.post(
        url("opportunity_close_lost", opportunity.pk), {"loss_reason": "Budget frozen"}, **HTMX
    )
    assert response.status_code == 200
    opportunity.refresh_from_db()
    assert opportunity.status == "lost"
    assert opportunity.loss_reason == "Budget frozen"
    body = client.get(url("opportunity_detail", opportunity.pk)).content.decode()
    assert "Budget frozen" in body
    assert 'data-testid="advance"' not in body


def test_edit_records_history(logged_in, rep, opportunity):
    response = logged_in(rep).post(
        url("opportunity_edit", opportunity.pk),
        {
            "version": opportunity.version,
            "amount": "15000",
            "close_date": opportunity.close_date.isoformat(),
            "next_step": "Send mutual plan",
            "forecast_category": opportunity.forecast_category,
        },
    )
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("15000")
    assert opportunity.next_step == "Send mutual plan"
    assert OpportunityChange.objects.filter(
        opportunity=opportunity, field="amount", new_value="15000.00"
    ).exists()
    # The history writes the amount as the page's header does: "EUR 15,000.00".
    history = logged_in(rep).get(url("opportunity_detail", opportunity.pk)).content.decode()
    assert f"<strong>{opportunity.currency} 15,000.00</strong>" in history


def test_edit_stale_version_keeps_input(logged_in, rep, opportunity):
    stale = opportunity.version
    Opportunity.objects.filter(pk=opportunity.pk).update(version=stale + 1, amount=Decimal("999"))
    response = logged_in(rep).post(
        url("opportunity_edit", opportunity.pk),
        {
            "version": stale,
            "amount": "4242",
            "close_date": opportunity.close_date.isoformat(),
            "next_step": "My careful next step",
            "forecast_category": opportunity.forecast_category,
        },
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "changed by someone else" in body
    assert 'value="4242"' in body
    assert "My careful next step" in body
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("999")
    assert opportunity.next_step == ""


def test_edit_category_override_needs_reason(logged_in, rep, opportunity):
    response = logged_in(rep).post(
        url("opportunity_edit", opportunity.pk),
        {
            "version": opportunity.version,
            "amount": "10000",
            "close_date": opportunity.close_date.isoformat(),
            "forecast_category": "commit",
        },
    )
    assert response.status_code == 422
    errors = response.context["edit_form"].errors
    assert "forecast_category_override_reason" in errors
    opportunity.refresh_from_db()
    assert opportunity.forecast_category == "pipeline"


def test_business_issue_add_and_errors(logged_in, rep, opportunity):
    client = logged_in(rep)
    response = client.post(
        url("business_issue_create", opportunity.pk),
        {"issue": "", "quantified_value": "-3"},
        **HTMX,
    )
    assert response.status_code == 422
    assert not BusinessIssue.objects.exists()
    response = client.post(
        url("business_issue_create", opportunity.pk),
        {
            "issue": "Month-end close takes 9 days",
            "our_value": "Cuts it to 3",
            "quantified_value": "80000",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "business-issues-changed"
    assert "Month-end close takes 9 days" in response.content.decode()
    assert BusinessIssue.objects.filter(opportunity=opportunity).count() == 1


def test_activity_log(logged_in, rep, opportunity):
    client = logged_in(rep)
    response = client.post(
        url("activity_create", opportunity.pk), {"kind": "call", "subject": ""}, **HTMX
    )
    assert response.status_code == 422
    assert not Activity.objects.exists()
    response = client.post(
        url("activity_create", opportunity.pk),
        {"kind": "meeting", "subject": "Workshop with IT", "body": "Went well"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "Workshop with IT" in response.content.decode()
    opportunity.refresh_from_db()
    assert opportunity.last_activity_at is not None


# --- scope: outside it is a 404 on every page and action ----------------------------------


def _every_request(opp, milestone_id):
    pk = opp.pk
    return [
        ("get", url("opportunity_detail", pk), {}),
        ("get", url("milestones_panel", pk), {}),
        (
            "post",
            url("opportunity_edit", pk),
            {
                "version": 1,
                "amount": "1",
                "close_date": "2030-01-01",
                "forecast_category": "pipeline",
            },
        ),
        ("post", url("opportunity_advance", pk), {"stage": opp.stage_id}),
        ("post", url("opportunity_close_won", pk), {}),
        ("post", url("opportunity_close_lost", pk), {"loss_reason": "x"}),
        ("post", url("milestone_toggle", pk, milestone_id), {"done": "on"}),
        ("post", url("business_issue_create", pk), {"issue": "x"}),
        ("post", url("activity_create", pk), {"kind": "call", "subject": "x"}),
    ]


@pytest.mark.parametrize("whose", ["teammate", "other_rep"])
def test_rep_gets_404_outside_scope(
    logged_in, rep, teammate, other_rep, pipeline, milestones, whose
):
    owner = {"teammate": teammate, "other_rep": other_rep}[whose]
    opp = OpportunityFactory(owner=owner, stage=pipeline.discover)
    before = opp.version
    client = logged_in(rep)
    for method, path, data in _every_request(opp, milestones[0].pk):
        for headers in ({}, HTMX):
            response = getattr(client, method)(path, data, **headers)
            assert response.status_code == 404, (method, path)
    opp.refresh_from_db()
    assert opp.version == before and opp.status == "open"
    assert not MilestoneCompletion.objects.exists()
    assert not BusinessIssue.objects.exists() and not Activity.objects.exists()


def test_manager_of_other_team_gets_404(logged_in, other_manager, opportunity):
    response = logged_in(other_manager).get(url("opportunity_detail", opportunity.pk))
    assert response.status_code == 404


def test_milestone_of_another_pipeline_is_404(logged_in, rep, opportunity):
    from tests.factories import MilestoneFactory

    foreign = MilestoneFactory()
    response = logged_in(rep).post(
        url("milestone_toggle", opportunity.pk, foreign.pk), {"done": "on"}, **HTMX
    )
    assert response.status_code == 404


def test_leader_sees_everything(logged_in, leader, other_rep, pipeline):
    opp = OpportunityFactory(owner=other_rep, stage=pipeline.discover, name="Far away")
    client = logged_in(leader)
    assert client.get(url("opportunity_detail", opp.pk)).status_code == 200
    assert "Far away" in client.get(url("board")).content.decode()


def test_inactive_user_is_logged_out(client, pipeline):
    user = UserFactory(is_active=False)
    client.force_login(user)
    assert client.get(url("board")).status_code == 302
