"""Attention flags on the board, the opportunity page and the "Needs attention" list (one
card per deal, its quick actions)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pipeline import selectors, services
from pipeline.flags import flags_refresh
from pipeline.models import Activity, Opportunity
from proposals.models import Proposal
from salesops import access
from salesops.models import AuditEvent, Role
from tests.factories import (
    NotificationFactory,
    OpportunityFactory,
    OpportunityFlagFactory,
    QualificationFrameworkFactory,
    TeamFactory,
    UserFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


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


# --- the "Needs attention" list: one card per deal ---------------------------------------------


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
    """The deals listed, by name, in order."""
    assert response.status_code in (200, 422)
    return [deal.name for deal in response.context["page"].object_list]


def _chips(response, deal_name):
    """A deal's chips as (severity, kind), in order."""
    deal = next(d for d in response.context["page"].object_list if d.name == deal_name)
    return [(f.severity, f.kind) for f in deal.flags_shown]


def _card(body: str, pk: int) -> str:
    card = body[body.rindex("<article", 0, body.index(f'id="deal-{pk}"')) :]
    return card[: card.index("</article>")]


def test_one_card_per_deal_with_its_flags_as_chips(logged_in, rep, pipeline):
    busy = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Busy deal")
    flag(busy, "requalify_due", "warning", days_ago=1, explanation="Qualification expired")
    flag(busy, "stuck_in_stage", "critical", days_ago=2, explanation="In Discover for 41 days")
    flag(busy, "no_activity", "warning", days_ago=9, explanation="No call since 3 Nov 2026")
    flag(busy, "past_close_date", "critical", days_ago=7, explanation="Closed <on paper>")
    flag(busy, "next_step_overdue", cleared_at=timezone.now())  # cleared: not shown
    calm = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Calm deal")
    flag(calm, "no_activity", "warning")
    OpportunityFactory(owner=rep, stage=pipeline.discover, name="Never flagged")
    flag(OpportunityFactory(owner=rep, stage=pipeline.discover), cleared_at=timezone.now())
    response = logged_in(rep).get(url("attention"))
    assert _rows(response) == ["Busy deal", "Calm deal"]  # a deal once, however many flags
    # Most severe first, then longest-standing first.
    assert _chips(response, "Busy deal") == [
        ("critical", "past_close_date"),
        ("critical", "stuck_in_stage"),
        ("warning", "no_activity"),
        ("warning", "requalify_due"),
    ]
    card = _card(response.content.decode(), busy.pk)
    # The severity in words on every chip, not only its colour; the explanation escaped.
    assert '<span class="badge so-flag so-flag-critical">Critical: Close date passed</span>' in card
    assert "Closed &lt;on paper&gt;" in card
    assert '<span class="badge so-flag so-flag-warning">Warning: Re-qualification due</span>' in (
        card
    )
    assert "1\xa0week ago" in card
    assert "so-attn-critical" in card
    assert "2 deals with 5 open flags" in response.content.decode()


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("rep", {"rep deal"}),
        ("teammate", {"teammate deal"}),
        ("manager", {"rep deal", "teammate deal", "manager deal"}),
        ("other_manager", {"other_rep deal"}),
        ("leader", {"rep deal", "teammate deal", "manager deal", "other_rep deal"}),
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


def test_what_to_do_first_is_the_default_order(logged_in, rep, pipeline):
    """Worst flag first (critical before warnings only), then the bigger deal, then the
    sooner close date, then more flags."""
    today = timezone.localdate()

    def deal(name, amount, close_in, *severities):
        opp = OpportunityFactory(
            owner=rep,
            stage=pipeline.discover,
            name=name,
            amount=amount,
            close_date=today + dt.timedelta(days=close_in),
        )
        kinds = ["stuck_in_stage", "no_activity", "next_step_overdue"]
        for kind, severity in zip(kinds, severities, strict=False):
            flag(opp, kind, severity)

    deal("Big, warnings only", 900_000, 5, "warning", "warning")
    deal("Small critical", 5_000, 5, "critical")
    deal("Mid critical, late", 50_000, 60, "critical")
    deal("Mid critical, soon", 50_000, 10, "critical")
    deal("Mid critical, soon, two flags", 50_000, 10, "warning", "critical")
    rows = _rows(logged_in(rep).get(url("attention")))
    assert rows == [
        "Mid critical, soon, two flags",
        "Mid critical, soon",
        "Mid critical, late",
        "Small critical",
        "Big, warnings only",
    ]


def test_what_to_do_first_never_compares_amounts_in_different_currencies(logged_in, rep, pipeline):
    """No exchange rates are kept: among deals as severe, those in the organisation's
    currency (EUR here) come first by amount, then each other currency's by amount — a
    JPY 9,000,000 deal is not "bigger" than a EUR 500,000 one."""
    today = timezone.localdate()
    for name, amount, currency in [
        ("Yen deal", 9_000_000, "JPY"),
        ("Small euro deal", 20_000, "EUR"),
        ("Big euro deal", 500_000, "EUR"),
        ("Big dollar deal", 700_000, "USD"),
        ("Small dollar deal", 10_000, "USD"),
    ]:
        opp = OpportunityFactory(
            owner=rep,
            stage=pipeline.discover,
            name=name,
            amount=amount,
            currency=currency,
            close_date=today + dt.timedelta(days=20),
        )
        flag(opp, "stuck_in_stage", "critical")
    assert _rows(logged_in(rep).get(url("attention"))) == [
        "Big euro deal",
        "Small euro deal",
        "Yen deal",
        "Big dollar deal",
        "Small dollar deal",
    ]


def test_attention_list_other_sorts(logged_in, rep, pipeline):
    today = timezone.localdate()
    young = OpportunityFactory(
        owner=rep, stage=pipeline.discover, name="Young", close_date=today + dt.timedelta(9)
    )
    old = OpportunityFactory(
        owner=rep, stage=pipeline.discover, name="Old", close_date=today + dt.timedelta(30)
    )
    mixed = OpportunityFactory(
        owner=rep, stage=pipeline.discover, name="Mixed", close_date=today + dt.timedelta(3)
    )
    flag(young, "no_activity", days_ago=1)
    flag(old, "no_activity", days_ago=9)
    flag(mixed, "no_activity", days_ago=12)  # the oldest flag…
    flag(mixed, "stuck_in_stage", days_ago=0)  # …and the newest
    client = logged_in(rep)
    assert _rows(client.get(url("attention"), {"sort": "age"})) == ["Mixed", "Young", "Old"]
    assert _rows(client.get(url("attention"), {"sort": "-age"})) == ["Mixed", "Old", "Young"]
    assert _rows(client.get(url("attention"), {"sort": "close_date"})) == [
        "Mixed",
        "Young",
        "Old",
    ]
    # An unknown sort is a form error, and the default order is kept.
    response = client.get(url("attention"), {"sort": "explanation"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert _rows(response) == _rows(client.get(url("attention")))


def test_attention_list_filters_by_kind_severity_and_rep(
    logged_in, rep, teammate, manager, pipeline, flagged
):
    stuck = OpportunityFactory(owner=teammate, stage=pipeline.discover, name="teammate stuck")
    flag(stuck, "stuck_in_stage", "critical")
    flag(stuck, "no_activity", "warning")
    client = logged_in(manager)
    by_kind = client.get(url("attention"), {"kind": "stuck_in_stage"})
    assert _rows(by_kind) == ["teammate stuck"]
    # The deal keeps all its chips: the filter picks deals, not flags.
    assert _chips(by_kind, "teammate stuck") == [
        ("critical", "stuck_in_stage"),
        ("warning", "no_activity"),
    ]
    assert _rows(client.get(url("attention"), {"severity": "critical"})) == ["teammate stuck"]
    assert set(_rows(client.get(url("attention"), {"owner": teammate.pk}))) == {
        "teammate deal",
        "teammate stuck",
    }
    both = client.get(url("attention"), {"owner": teammate.pk, "kind": "requalify_due"})
    assert _rows(both) == ["teammate deal"]


def test_managers_see_the_deals_by_rep_and_filter_with_one_click(
    logged_in, rep, teammate, manager, pipeline, flagged
):
    flag(OpportunityFactory(owner=teammate, stage=pipeline.discover), "no_activity", "critical")
    response = logged_in(manager).get(url("attention"), {"sort": "age"})
    body = response.content.decode()
    overview = body[body.index('data-testid="attention-owners"') :]
    overview = overview[: overview.index("</nav>")]
    assert "Everyone · 4" in overview
    assert f"{rep} · 1 deal<" in overview
    assert f"{teammate} · 2 deals" in overview and "1 critical" in overview
    # One click filters to the rep, keeping the sort.
    assert f'href="?sort=age&amp;owner={teammate.pk}"' in overview
    filtered = logged_in(manager).get(url("attention"), {"sort": "age", "owner": teammate.pk})
    assert 'aria-current="true"' in filtered.content.decode()
    assert "2 deals with 2 open flags" in filtered.content.decode()


def test_managers_group_by_rep(logged_in, rep, teammate, manager, pipeline):
    for owner, names in ((teammate, ["T small", "T big"]), (rep, ["R small", "R big"])):
        for name in names:
            opp = OpportunityFactory(
                owner=owner,
                stage=pipeline.discover,
                name=name,
                amount=90_000 if "big" in name else 1_000,
            )
            flag(
                opp,
                "no_activity",
                "critical" if owner == teammate and "small" in name else "warning",
            )
    response = logged_in(manager).get(url("attention"), {"group": "owner"})
    # By rep (username order: rep, teammate), what to do first within each.
    assert _rows(response) == ["R big", "R small", "T small", "T big"]
    body = response.content.decode()
    headings = body.split('data-testid="attention-group"')[1:]
    assert len(headings) == 2
    assert f">{rep}" in headings[0] and "2 deals, 0 with a critical flag, 2 flags" in headings[0]
    assert f">{teammate}" in headings[1] and "2 deals, 1 with a critical flag" in headings[1]


def test_a_rep_has_no_rep_filter_overview_or_grouping(logged_in, rep, teammate, flagged):
    response = logged_in(rep).get(url("attention"), {"owner": teammate.pk, "group": "owner"})
    body = response.content.decode()
    assert 'name="owner"' not in body and 'name="group"' not in body
    assert 'data-testid="attention-owners"' not in body
    assert 'data-testid="attention-group"' not in body
    assert _rows(response) == ["rep deal"]


def test_attention_manager_cannot_filter_to_someone_outside_the_team(
    logged_in, manager, other_rep, flagged
):
    response = logged_in(manager).get(url("attention"), {"owner": other_rep.pk})
    assert response.status_code == 200
    assert "other_rep deal" not in _rows(response)
    assert "Select a valid choice" in response.content.decode()


def test_attention_list_paginates_by_deal(logged_in, rep, pipeline):
    for opp in OpportunityFactory.create_batch(51, owner=rep, stage=pipeline.discover):
        flag(opp, "no_activity")
        flag(opp, "stuck_in_stage", "critical")
    client = logged_in(rep)
    first = client.get(url("attention"))
    assert len(first.context["page"].object_list) == 50
    assert "1 / 2" in first.content.decode()
    assert "51 deals with 102 open flags" in first.content.decode()
    second = client.get(url("attention"), {"page": 2})
    assert len(second.context["page"].object_list) == 1
    assert not set(_rows(first)) & set(_rows(second))


@pytest.mark.parametrize(
    ("who", "params"),
    [
        ("rep", {}),
        ("manager", {}),
        ("manager", {"group": "owner", "sort": "-age", "severity": "critical"}),
        ("leader", {"kind": "no_activity", "owner": "rep"}),
    ],
)
def test_attention_list_query_count_is_fixed(
    logged_in, rep, teammate, manager, leader, pipeline, django_assert_num_queries, who, params
):
    client = logged_in({"rep": rep, "manager": manager, "leader": leader}[who])
    params = {k: (rep.pk if v == "rep" else v) for k, v in params.items()}
    flag(OpportunityFactory(owner=rep, stage=pipeline.discover), "no_activity", "critical")
    one = _queries(client, url("attention"), params)
    kinds = [
        "requalify_due",
        "stuck_in_stage",
        "past_close_date",
        "no_activity",
        "import_incomplete",
    ]
    for i, opp in enumerate(
        OpportunityFactory.create_batch(60, owner=rep, stage=pipeline.qualify)
        + OpportunityFactory.create_batch(60, owner=teammate, stage=pipeline.proposal)
    ):
        flag(opp, kinds[i % 5], "critical" if i % 3 else "warning")
        flag(opp, kinds[(i + 1) % 5])
        flag(opp, "no_activity" if i % 5 not in (2, 3) else "next_step_overdue", "critical")
    with django_assert_num_queries(one):
        response = client.get(url("attention"), params)
    assert len(response.context["page"].object_list) == 50
    with django_assert_num_queries(one):
        client.get(url("attention"), {**params, "page": 2})


def test_attention_requires_login(client, db):
    response = client.get(url("attention"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- quick actions on a card: log an activity, set the next step, re-qualify ----------------------


@pytest.fixture
def idle(rep, pipeline):
    """A deal with real flags (decided by the refresh): nobody has called the customer for
    40 days (critical) and the next step was due two days ago (warning)."""
    today = timezone.localdate()
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.discover,
        name="Idle deal",
        created_at=timezone.now() - dt.timedelta(days=40),
        next_step="Send the pricing",
        next_step_date=today - dt.timedelta(days=2),
    )
    flags_refresh(opportunity_ids=[opp.pk])
    assert open_kinds(opp) == {"no_activity", "next_step_overdue"}
    return opp


def open_kinds(opp) -> set[str]:
    return set(opp.flags.filter(cleared_at__isnull=True).values_list("kind", flat=True))


BACK = "sort=age&page=1&evil=1"


def test_log_activity_in_place_clears_the_flag(logged_in, rep, idle):
    response = logged_in(rep).post(
        url("attention_activity", idle.pk),
        {"kind": "call", "subject": "Called the CFO", "body": "Pricing next week", "back": BACK},
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("<article") and f'id="deal-{idle.pk}"' in body  # the card
    assert "Call logged. Cleared: No customer activity." in body
    assert 'data-flag="no_activity"' not in body and 'data-flag="next_step_overdue"' in body
    activity = Activity.objects.get(opportunity=idle)
    assert (activity.kind, activity.subject, activity.body, activity.logged_by) == (
        "call",
        "Called the CFO",
        "Pricing next week",
        rep,
    )
    assert open_kinds(idle) == {"next_step_overdue"}
    # The card's forms carry the list's filters on, and only those.
    assert 'name="back" value="sort=age&amp;page=1"' in body


def test_log_activity_without_javascript_goes_back_to_the_list(logged_in, manager, idle):
    client = logged_in(manager)
    response = client.post(
        url("attention_activity", idle.pk),
        {"kind": "meeting", "subject": "Site visit", "back": BACK},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{url('attention')}?sort=age&page=1#deal-{idle.pk}"
    page = client.get(response["Location"]).content.decode()
    assert "Idle deal: Meeting logged. Cleared: No customer activity." in page
    assert open_kinds(idle) == {"next_step_overdue"}


def test_a_refused_activity_keeps_what_was_typed(logged_in, rep, idle, pipeline):
    client = logged_in(rep)
    other = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Other deal")
    flag(other, "stuck_in_stage")
    data = {"kind": "email", "subject": "   ", "body": "Typed notes", "back": BACK}
    response = client.post(url("attention_activity", idle.pk), data, **HTMX)
    assert response.status_code == 422
    card = response.content.decode()
    assert "This field is required." in card and "is-invalid" in card
    assert ">Typed notes</textarea>" in card
    assert '<option value="email" selected>' in card
    assert '<details class="so-attn-action" open>' in card
    # Without JavaScript: the list again (422), the refusal in the deal's card.
    response = client.post(url("attention_activity", idle.pk), data)
    assert response.status_code == 422
    assert set(_rows(response)) == {"Idle deal", "Other deal"}
    card = _card(response.content.decode(), idle.pk)
    assert "This field is required." in card and ">Typed notes</textarea>" in card
    # The address bar shows the list, not the action (a reload must not post again).
    assert 'data-page-url="/attention/?sort=age&amp;page=1"' in response.content.decode()
    assert not Activity.objects.exists()
    assert open_kinds(idle) == {"no_activity", "next_step_overdue"}


def test_an_action_on_a_deal_without_flags_shows_it_clear(logged_in, rep, pipeline):
    calm = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Never flagged")
    response = logged_in(rep).post(
        url("attention_activity", calm.pk), {"kind": "note", "subject": "FYI"}, **HTMX
    )
    assert response.status_code == 200
    card = response.content.decode()
    assert "Note logged." in card and "Cleared" not in card
    assert 'data-testid="deal-clear"' in card and "data-flag=" not in card
    assert "so-attn-clear" in card


def test_quick_actions_outside_ones_scope_are_404(logged_in, teammate, other_manager, idle):
    for user in (teammate, other_manager):
        client = logged_in(user)
        assert (
            client.post(
                url("attention_activity", idle.pk), {"kind": "call", "subject": "x"}
            ).status_code
            == 404
        )
        assert (
            client.post(
                url("attention_next_step", idle.pk),
                {"version": idle.version, "next_step": "x", "next_step_date": "2030-01-01"},
            ).status_code
            == 404
        )
    assert not Activity.objects.exists()
    idle.refresh_from_db()
    assert idle.next_step == "Send the pricing"


def test_quick_actions_take_posts_only(logged_in, rep, idle):
    client = logged_in(rep)
    assert client.get(url("attention_activity", idle.pk)).status_code == 405
    assert client.get(url("attention_next_step", idle.pk)).status_code == 405


def test_set_next_step_in_place_clears_the_flag(logged_in, manager, idle):
    due = timezone.localdate() + dt.timedelta(days=3)
    response = logged_in(manager).post(
        url("attention_next_step", idle.pk),
        {"version": idle.version, "next_step": "Demo for IT", "next_step_date": due, "back": ""},
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Next step set. Cleared: Next step overdue." in body
    assert "Next step: Demo for IT" in body
    before = idle.version
    idle.refresh_from_db()
    assert (idle.next_step, idle.next_step_date, idle.version) == ("Demo for IT", due, before + 1)
    assert open_kinds(idle) == {"no_activity"}
    event = AuditEvent.objects.filter(action="opportunity.updated", target_id=idle.pk).get()
    assert event.actor == manager
    assert event.data == {"fields": ["next_step", "next_step_date"]}


def test_set_next_step_without_javascript(logged_in, rep, idle):
    client = logged_in(rep)
    due = timezone.localdate() + dt.timedelta(days=3)
    response = client.post(
        url("attention_next_step", idle.pk),
        {"version": idle.version, "next_step": "Demo", "next_step_date": due, "back": "kind=x"},
    )
    assert response["Location"] == f"{url('attention')}?kind=x#deal-{idle.pk}"
    idle.refresh_from_db()
    assert idle.next_step == "Demo"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"next_step": "Demo", "next_step_date": ""}, "This field is required."),
        ({"next_step": "", "next_step_date": "2030-01-01"}, "This field is required."),
        ({"next_step": "Demo", "next_step_date": "31.02.2030"}, "Enter a valid date."),
        ({"next_step": "x" * 301, "next_step_date": "2030-01-01"}, "at most 300 characters"),
    ],
)
def test_a_refused_next_step_changes_nothing(logged_in, rep, idle, data, message):
    response = logged_in(rep).post(
        url("attention_next_step", idle.pk), {"version": idle.version, **data}, **HTMX
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert message in body
    assert f'value="{data["next_step"]}"' in body  # what was typed stays
    before = idle.version
    idle.refresh_from_db()
    assert (idle.next_step, idle.version) == ("Send the pricing", before)


def test_a_stale_next_step_keeps_the_input_and_shows_the_current_one(logged_in, rep, manager, idle):
    services.opportunity_update(opportunity_id=idle.pk, actor=manager, next_step="Manager's plan")
    idle.refresh_from_db()
    data = {"version": idle.version - 1, "next_step": "Mine", "next_step_date": "2030-01-01"}
    client = logged_in(rep)
    response = client.post(url("attention_next_step", idle.pk), data, **HTMX)
    assert response.status_code == 422
    body = response.content.decode()
    assert "its next step is now “Manager&#x27;s plan”" in body
    assert 'value="Mine"' in body
    assert f'name="version" value="{idle.version}"' in body  # saving again is deliberate
    idle.refresh_from_db()
    assert idle.next_step == "Manager's plan"
    # Saving again applies it.
    response = client.post(url("attention_next_step", idle.pk), {**data, "version": idle.version})
    assert response.status_code == 302
    idle.refresh_from_db()
    assert idle.next_step == "Mine"


def test_next_step_on_a_deal_closed_meanwhile_is_refused_in_the_card(logged_in, rep, idle):
    Opportunity.objects.filter(pk=idle.pk).update(
        status="lost", loss_reason="Budget", closed_at=timezone.now()
    )
    response = logged_in(rep).post(
        url("attention_next_step", idle.pk),
        {"version": idle.version, "next_step": "Demo", "next_step_date": "2030-01-01"},
        **HTMX,
    )
    assert response.status_code == 422
    assert "This opportunity is closed (lost)" in response.content.decode()


def test_requalify_links_to_the_qualify_page(logged_in, rep, pipeline, idle):
    client = logged_in(rep)
    body = client.get(url("attention")).content.decode()
    assert 'data-testid="quick-requalify"' not in body  # no framework: nothing to qualify with
    pipeline.framework = QualificationFrameworkFactory()
    pipeline.save(update_fields=["framework"])
    flags_refresh(opportunity_ids=[idle.pk])  # never qualified: re-qualification due
    card = _card(client.get(url("attention")).content.decode(), idle.pk)
    qualify = url("opportunity_qualify", idle.pk)
    assert f'class="btn btn-sm btn-primary" href="{qualify}" data-testid="quick-requalify"' in card


# --- the navbar's counts: one query, the same scope ---------------------------------------------


def test_navbar_counts_are_one_query(rep, teammate, manager, pipeline, django_assert_num_queries):
    flag(OpportunityFactory(owner=rep, stage=pipeline.discover))
    twice = OpportunityFactory(owner=teammate, stage=pipeline.discover)
    flag(twice)
    flag(twice, kind="no_activity")  # a deal with two flags is one card, counted once
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
