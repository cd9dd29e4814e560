"""Attention flags on the board, the opportunity page and the "Needs attention" list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pipeline import selectors
from pipeline.models import Opportunity
from proposals.models import Proposal
from salesops import access
from salesops.models import Role
from tests.factories import (
    NotificationFactory,
    OpportunityFactory,
    OpportunityFlagFactory,
    TeamFactory,
    UserFactory,
)


def url(name, *args):
    return reverse(f"pipeline:{name}", args=args)


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def flag(opp, kind="requalify_due", severity="warning", *, days_ago=0, **extra):
    return OpportunityFlagFactory(
        opportunity=opp,
        kind=kind,
        severity=severity,
        raised_at=timezone.now() - dt.timedelta(days=days_ago),
        explanation=extra.pop("explanation", f"{kind} on {opp.name}"),
        **extra,
    )


def _queries(client, path, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- board badges -------------------------------------------------------------------------


def test_board_cards_show_open_flags_by_severity(logged_in, rep, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Flagged")
    flag(opp, "requalify_due", "warning", explanation="Qualification expired 3 days ago.")
    flag(opp, "past_close_date", "critical", explanation="Close date <passed> 5 days ago.")
    flag(opp, "no_activity", "warning", cleared_at=timezone.now())  # cleared: not shown
    body = logged_in(rep).get(url("board")).content.decode()
    badges = body[body.index('data-testid="card-flags"') :]
    badges = badges[: badges.index("</div>")]
    # Most severe first; coloured by severity; the explanation as the tooltip, escaped.
    assert badges.index("Close date passed") < badges.index("Re-qualification due")
    assert (
        'class="badge so-flag so-flag-critical" title="Close date &lt;passed&gt; 5 days ago."'
        in (badges)
    )
    assert "so-flag-warning" in badges
    assert "No customer activity" not in badges


@pytest.mark.parametrize("who", ["rep", "manager", "leader"])
def test_board_query_count_is_fixed_with_flags(logged_in, rep, manager, leader, pipeline, who):
    client = logged_in({"rep": rep, "manager": manager, "leader": leader}[who])
    flag(OpportunityFactory(owner=rep, stage=pipeline.discover))
    one = _queries(client, url("board"))
    for opp in OpportunityFactory.create_batch(40, owner=rep, stage=pipeline.qualify):
        flag(opp, "requalify_due")
        flag(opp, "stuck_in_stage", "critical")
    assert _queries(client, url("board")) == one


# --- the opportunity page ---------------------------------------------------------------------


def test_detail_attention_card_lists_open_flags(logged_in, rep, opportunity):
    flag(
        opportunity,
        "stuck_in_stage",
        "critical",
        days_ago=4,
        explanation="In Discover for 41 days; this stage's limit is 30",
    )
    flag(opportunity, "no_activity", "warning", cleared_at=timezone.now())
    body = logged_in(rep).get(url("opportunity_detail", opportunity.pk)).content.decode()
    card = body[body.index('data-testid="attention-card"') :]
    assert "Stuck in stage" in card
    assert "In Discover for 41 days; this stage&#x27;s limit is 30" in card
    assert "4\xa0days ago" in card
    assert "No customer activity" not in card


def test_detail_without_open_flags_has_no_attention_card(logged_in, rep, opportunity):
    flag(opportunity, cleared_at=timezone.now())
    body = logged_in(rep).get(url("opportunity_detail", opportunity.pk)).content.decode()
    assert 'data-testid="attention-card"' not in body


# --- the "Needs attention" list -------------------------------------------------------------------


@pytest.fixture
def flagged(rep, teammate, other_rep, manager, pipeline):
    """One open flag on a deal of each person, plus flags that must never show."""
    deals = {
        who: OpportunityFactory(owner=user, stage=pipeline.discover, name=f"{who} deal")
        for who, user in [
            ("rep", rep),
            ("teammate", teammate),
            ("other_rep", other_rep),
            ("manager", manager),
        ]
    }
    flags = {who: flag(opp, explanation=f"{who} flag") for who, opp in deals.items()}
    flag(deals["rep"], "no_activity", explanation="cleared flag", cleared_at=timezone.now())
    closed = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Closed deal")
    flag(closed, explanation="closed deal flag")
    Opportunity.objects.filter(pk=closed.pk).update(
        status="lost", loss_reason="Budget", closed_at=timezone.now()
    )
    return flags


def _rows(response):
    return [f.explanation for f in response.context["page"].object_list]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("rep", {"rep flag"}),
        ("teammate", {"teammate flag"}),
        ("manager", {"rep flag", "teammate flag", "manager flag"}),
        ("other_manager", {"other_rep flag"}),
        ("leader", {"rep flag", "teammate flag", "manager flag", "other_rep flag"}),
    ],
)
def test_attention_list_is_scoped(
    logged_in, rep, teammate, manager, other_manager, leader, flagged, who, expected
):
    user = {
        "rep": rep,
        "teammate": teammate,
        "manager": manager,
        "other_manager": other_manager,
        "leader": leader,
    }[who]
    response = logged_in(user).get(url("attention"))
    assert set(_rows(response)) == expected  # never cleared flags, never closed deals
    nav = response.content.decode()
    nav = nav[nav.index('data-testid="nav-attention"') :][:300]
    assert f">{len(expected)}</span>" in nav


def test_attention_list_sorts_by_severity_and_age(logged_in, rep, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover)
    flag(opp, "requalify_due", "warning", days_ago=1, explanation="young warning")
    flag(opp, "stuck_in_stage", "critical", days_ago=2, explanation="young critical")
    flag(opp, "no_activity", "warning", days_ago=9, explanation="old warning")
    flag(opp, "past_close_date", "critical", days_ago=7, explanation="old critical")
    client = logged_in(rep)
    assert _rows(client.get(url("attention"))) == [
        "old critical", "young critical", "old warning", "young warning",
    ]  # fmt: skip
    assert _rows(client.get(url("attention"), {"sort": "-severity"})) == [
        "old warning", "young warning", "old critical", "young critical",
    ]  # fmt: skip
    assert _rows(client.get(url("attention"), {"sort": "age"})) == [
        "young warning", "young critical", "old critical", "old warning",
    ]  # fmt: skip
    assert _rows(client.get(url("attention"), {"sort": "-age"})) == [
        "old warning", "old critical", "young critical", "young warning",
    ]  # fmt: skip
    # An unknown sort is a form error, and the default order is kept.
    response = client.get(url("attention"), {"sort": "explanation"})
    assert response.status_code == 200
    assert _rows(response)[0] == "old critical"
    assert "Select a valid choice" in response.content.decode()


def test_attention_list_filters_by_kind_and_owner(
    logged_in, rep, teammate, manager, pipeline, flagged
):
    flag(
        OpportunityFactory(owner=teammate, stage=pipeline.discover),
        "stuck_in_stage",
        explanation="teammate stuck",
    )
    client = logged_in(manager)
    assert _rows(client.get(url("attention"), {"kind": "stuck_in_stage"})) == ["teammate stuck"]
    assert set(_rows(client.get(url("attention"), {"owner": teammate.pk}))) == {
        "teammate flag",
        "teammate stuck",
    }
    both = client.get(url("attention"), {"owner": teammate.pk, "kind": "requalify_due"})
    assert _rows(both) == ["teammate flag"]


def test_attention_owner_filter_cannot_widen_a_reps_scope(logged_in, rep, teammate, flagged):
    body = logged_in(rep).get(url("attention"), {"owner": teammate.pk})
    assert 'name="owner"' not in body.content.decode()
    assert _rows(body) == ["rep flag"]


def test_attention_manager_cannot_filter_to_someone_outside_the_team(
    logged_in, manager, other_rep, flagged
):
    response = logged_in(manager).get(url("attention"), {"owner": other_rep.pk})
    assert response.status_code == 200
    assert "other_rep flag" not in _rows(response)
    assert "Select a valid choice" in response.content.decode()


def test_attention_list_paginates_at_50(logged_in, rep, pipeline):
    for opp in OpportunityFactory.create_batch(51, owner=rep, stage=pipeline.discover):
        flag(opp)
    client = logged_in(rep)
    first = client.get(url("attention"))
    assert len(first.context["page"].object_list) == 50
    assert "1 / 2" in first.content.decode()
    assert len(client.get(url("attention"), {"page": 2}).context["page"].object_list) == 1


@pytest.mark.parametrize("who", ["rep", "manager", "leader"])
def test_attention_list_query_count_is_fixed(
    logged_in, rep, teammate, manager, leader, pipeline, django_assert_max_num_queries, who
):
    client = logged_in({"rep": rep, "manager": manager, "leader": leader}[who])
    flag(OpportunityFactory(owner=rep, stage=pipeline.discover))
    one = _queries(client, url("attention"), {"sort": "-age"})
    kinds = [
        "requalify_due",
        "stuck_in_stage",
        "past_close_date",
        "no_activity",
        "import_incomplete",
    ]
    for i, opp in enumerate(
        OpportunityFactory.create_batch(50, owner=rep, stage=pipeline.qualify)
        + OpportunityFactory.create_batch(50, owner=teammate, stage=pipeline.proposal)
    ):
        flag(opp, kinds[i % 5], "critical" if i % 3 else "warning")
        flag(opp, kinds[(i + 1) % 5])
    many = _queries(client, url("attention"), {"sort": "-age"})
    assert one == many
    with django_assert_max_num_queries(10):
        client.get(url("attention"), {"sort": "severity", "kind": "no_activity", "page": 2})


def test_attention_requires_login(client, db):
    response = client.get(url("attention"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- the navbar's counts: one query, the same scope ---------------------------------------------


def test_navbar_counts_are_one_query(rep, teammate, manager, pipeline, django_assert_num_queries):
    flag(OpportunityFactory(owner=rep, stage=pipeline.discover))
    flag(OpportunityFactory(owner=teammate, stage=pipeline.discover))
    NotificationFactory(recipient=manager)
    NotificationFactory(recipient=manager, read_at=timezone.now())
    NotificationFactory(recipient=rep)
    # Proposals waiting for review: the manager's team's, never one of their own deals.
    waiting = OpportunityFactory(owner=rep, stage=pipeline.discover)
    mine = OpportunityFactory(owner=manager, stage=pipeline.discover)
    for deal, status in (
        (waiting, "in_review"),
        (mine, "in_review"),
        (rep_deal(rep, pipeline), "draft"),
    ):
        Proposal.objects.create(
            opportunity=deal,
            number=1,
            title="P",
            status=status,
            created_by=deal.owner,
            valid_until=timezone.localdate(),
        )
    with django_assert_num_queries(1):
        counts = selectors.navbar_counts_for(manager)
    assert counts == {"flags": 2, "unread": 1, "reviews": 1}
    assert selectors.navbar_counts_for(rep) == {"flags": 1, "unread": 1, "reviews": 0}


def rep_deal(rep, pipeline):
    return OpportunityFactory(owner=rep, stage=pipeline.discover)


def test_sql_scope_matches_the_python_scope_in_nested_teams(db, pipeline):
    """access.owner_scope_sql_q resolves a manager's team tree in SQL; it must agree with
    access.owner_scope_q for every member of a nested (and cyclic) tree."""
    boss = UserFactory(role=Role.MANAGER)
    top = TeamFactory(manager=boss)
    middle = TeamFactory(parent=top)
    bottom = TeamFactory(parent=middle)
    aside = TeamFactory()
    loop_a = TeamFactory(manager=UserFactory(role=Role.MANAGER))
    loop_b = TeamFactory(parent=loop_a)
    loop_a.parent = loop_b
    loop_a.save(update_fields=["parent"])
    people = [UserFactory(team=t) for t in (top, middle, bottom, aside, loop_a, loop_b)]
    for person in [*people, boss]:
        OpportunityFactory(owner=person, stage=pipeline.discover)
    for viewer in [boss, loop_a.manager, people[0], UserFactory(role=Role.LEADER)]:
        python = set(Opportunity.objects.filter(access.owner_scope_q(viewer)).values_list("pk"))
        sql = set(Opportunity.objects.filter(access.owner_scope_sql_q(viewer)).values_list("pk"))
        assert python == sql
    assert len(set(Opportunity.objects.filter(access.owner_scope_sql_q(boss)))) == 4


def test_nav_counts_cost_nothing_on_htmx_partials(logged_in, rep, opportunity):
    """The counts are lazy: a partial that does not show the navbar does not query them."""
    client = logged_in(rep)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url("milestones_panel", opportunity.pk), HTTP_HX_REQUEST="true")
    assert not any("salesops_notification" in q["sql"] for q in ctx.captured_queries)


def test_flag_on_a_deal_of_someone_else_is_not_counted(logged_in, rep, other_rep, pipeline):
    flag(OpportunityFactory(owner=other_rep, stage=pipeline.discover))
    body = logged_in(rep).get(url("board")).content.decode()
    nav = body[body.index('data-testid="nav-attention"') :][:200]
    assert "badge" not in nav
