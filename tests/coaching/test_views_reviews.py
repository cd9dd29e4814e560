"""The review pages through the Django test client: the queue (ranking, scope, query
counts), starting a review, the review page and its forms (htmx and plain), and the
action-item toggle shared with 1:1s."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from coaching import services
from coaching.models import ActionItem, CoachingPoint, OpportunityReview, ReviewAgendaItem
from tests.factories import AccountFactory, OpportunityFactory, OpportunityFlagFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def _days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def review(manager, opportunity):
    return services.review_start(actor=manager, opportunity_id=opportunity.pk)


def _count_queries(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- the queue -----------------------------------------------------------------------------


def test_queue_ranks_the_teams_deals_by_risk(
    logged_in, manager, rep, teammate, other_rep, pipeline
):
    calm = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Calm deal")
    hot = OpportunityFactory(owner=teammate, stage=pipeline.discover, name="Hot deal")
    OpportunityFlagFactory(opportunity=hot, severity="critical", kind="past_close_date")
    services.review_start(actor=manager, opportunity_id=calm.pk)
    OpportunityFactory(owner=manager, stage=pipeline.discover, name="Managers own")
    OpportunityFactory(owner=other_rep, stage=pipeline.discover, name="Other team")

    response = logged_in(manager).get(reverse("coaching:review_queue"))

    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("Hot deal") < body.index("Calm deal")
    assert "1 critical flag open" in body and "Never reviewed" in body
    assert "Managers own" not in body and "Other team" not in body
    assert body.count('data-testid="reviewing-now"') == 1  # Calm deal's open review


def test_rep_gets_a_page_saying_who_reviews(logged_in, rep, opportunity):
    response = logged_in(rep).get(reverse("coaching:review_queue"))
    assert response.status_code == 200
    assert b"review-queue-empty" in response.content
    assert b"Start review" not in response.content


def test_queue_team_outside_the_managers_teams_is_404(logged_in, manager, team_b):
    response = logged_in(manager).get(reverse("coaching:review_queue"), {"team": team_b.pk})
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["manager", "leader"])
def test_queue_query_count_is_fixed(
    request, logged_in, rep, teammate, pipeline, django_assert_max_num_queries, who
):
    user = request.getfixturevalue(who)
    client = logged_in(user)
    OpportunityFactory(owner=rep, stage=pipeline.discover)
    one = _count_queries(client, reverse("coaching:review_queue"))
    for i in range(49):
        opp = OpportunityFactory(
            owner=rep if i % 2 else teammate, stage=pipeline.qualify, account=AccountFactory()
        )
        OpportunityFlagFactory(opportunity=opp)
        if i % 5 == 0:
            services.review_start(actor=user, opportunity_id=opp.pk)
    many = _count_queries(client, reverse("coaching:review_queue"))
    assert one == many
    with django_assert_max_num_queries(9):
        client.get(reverse("coaching:review_queue"))


# --- the list ------------------------------------------------------------------------------


def test_list_query_count_is_fixed(
    logged_in, manager, rep, pipeline, django_assert_max_num_queries
):
    client = logged_in(manager)
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover)
    services.review_start(actor=manager, opportunity_id=opp.pk)
    one = _count_queries(client, reverse("coaching:review_list"))
    for _ in range(49):
        opp = OpportunityFactory(owner=rep, stage=pipeline.qualify, account=AccountFactory())
        services.review_start(actor=manager, opportunity_id=opp.pk)
    many = _count_queries(client, reverse("coaching:review_list"))
    assert one == many
    with django_assert_max_num_queries(9):
        client.get(reverse("coaching:review_list"), {"status": "open", "rep": rep.pk})


def test_list_scope_and_filters(logged_in, manager, rep, teammate, review, pipeline):
    theirs = OpportunityFactory(owner=teammate, stage=pipeline.discover, name="Teammate deal")
    services.review_start(actor=manager, opportunity_id=theirs.pk)
    body = logged_in(rep).get(reverse("coaching:review_list")).content.decode()
    assert "Acme rollout" in body and "Teammate deal" not in body
    body = logged_in(manager).get(reverse("coaching:review_list"), {"rep": teammate.pk}).content
    assert b"Teammate deal" in body and b"Acme rollout" not in body
    body = logged_in(manager).get(reverse("coaching:review_list"), {"status": "completed"})
    assert b"No reviews match these filters" in body.content


# --- starting ------------------------------------------------------------------------------


def test_start_from_the_deal_opens_the_review(logged_in, manager, opportunity):
    client = logged_in(manager)
    page = client.get(reverse("pipeline:opportunity_detail", args=[opportunity.pk]))
    assert b'data-testid="coaching-review-card"' in page.content
    assert b'data-testid="start-review"' in page.content

    response = client.post(reverse("coaching:review_start", args=[opportunity.pk]))

    review = OpportunityReview.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("coaching:review_detail", args=[review.pk])
    body = client.get(response.url).content.decode()
    assert "“Pain identified” not met (current stage, Discover)" in body
    assert "Not qualified yet" in body


def test_rep_start_is_refused_with_a_message(logged_in, rep, opportunity):
    client = logged_in(rep)
    page = client.get(reverse("pipeline:opportunity_detail", args=[opportunity.pk]))
    assert b'data-testid="start-review"' not in page.content
    response = client.post(reverse("coaching:review_start", args=[opportunity.pk]), follow=True)
    assert b"reps cannot start one" in response.content
    assert not OpportunityReview.objects.exists()


def test_start_outside_the_team_is_404(logged_in, other_manager, opportunity):
    response = logged_in(other_manager).post(
        reverse("coaching:review_start", args=[opportunity.pk])
    )
    assert response.status_code == 404
    assert not OpportunityReview.objects.exists()


def test_start_with_a_review_in_progress_opens_it(logged_in, leader, review, opportunity):
    response = logged_in(leader).post(reverse("coaching:review_start", args=[opportunity.pk]))
    assert response.url == reverse("coaching:review_detail", args=[review.pk])
    assert OpportunityReview.objects.count() == 1


# --- the review page -----------------------------------------------------------------------


def test_rep_reads_their_review_without_forms(logged_in, rep, review):
    body = logged_in(rep).get(reverse("coaching:review_detail", args=[review.pk])).content
    assert b"Pain identified" in body
    assert b'data-testid="action-form"' not in body and b"complete-review" not in body


@pytest.mark.parametrize("who", ["teammate", "other_manager", "other_rep"])
def test_review_of_others_is_404(request, logged_in, review, who):
    client = logged_in(request.getfixturevalue(who))
    assert client.get(reverse("coaching:review_detail", args=[review.pk])).status_code == 404
    response = client.post(reverse("coaching:review_finding_add", args=[review.pk]), {"text": "x"})
    assert response.status_code == 404


def test_review_page_query_count_is_fixed(
    logged_in, manager, review, skills, django_assert_max_num_queries
):
    client = logged_in(manager)
    path = reverse("coaching:review_detail", args=[review.pk])
    one = _count_queries(client, path)
    for i in range(20):
        services.agenda_item_add(actor=manager, review_id=review.pk, title=f"Point {i}")
        services.review_action_item_add(
            actor=manager, review_id=review.pk, title=f"Do {i}", due_on=_days(i)
        )
        services.review_coaching_point_add(
            actor=manager, review_id=review.pk, skill_id=skills[i % 3].pk, text=f"P {i}"
        )
        services.review_finding_add(actor=manager, review_id=review.pk, text=f"F {i}")
    assert _count_queries(client, path) == one
    with django_assert_max_num_queries(14):
        client.get(path)


def test_action_item_due_in_the_past_is_422_and_nothing_saved(logged_in, manager, review):
    client = logged_in(manager)
    path = reverse("coaching:review_action_add", args=[review.pk])
    data = {"title": "Too late", "due_on": _days(-1).isoformat(), "owner": review.rep_id}
    plain = client.post(path, data)
    assert plain.status_code == 422
    assert b"cannot be in the past" in plain.content
    htmx = client.post(path, data, **HTMX)
    assert htmx.status_code == 422
    assert b'id="actions"' in htmx.content and b"<html" not in htmx.content
    assert not ActionItem.objects.exists()


def test_action_item_added_with_htmx_returns_the_section(logged_in, manager, rep, review):
    response = logged_in(manager).post(
        reverse("coaching:review_action_add", args=[review.pk]),
        {"title": "Book the CFO call", "due_on": _days(3).isoformat(), "owner": rep.pk},
        **HTMX,
    )
    assert response.status_code == 200
    assert b"Book the CFO call" in response.content
    assert ActionItem.objects.get().owner == rep


def test_plain_post_redirects_to_the_section(logged_in, manager, review):
    response = logged_in(manager).post(
        reverse("coaching:review_finding_add", args=[review.pk]), {"text": "No champion yet"}
    )
    assert response.status_code == 302
    assert response.url.endswith("#findings")


def test_coaching_point_needs_a_skill_of_the_framework(logged_in, manager, review, skills):
    client = logged_in(manager)
    path = reverse("coaching:review_point_add", args=[review.pk])
    response = client.post(path, {"skill": 999_999, "text": "Ask about budget"})
    assert response.status_code == 422
    assert b"Choose a skill of the skills framework" in response.content
    assert not CoachingPoint.objects.exists()
    guide = client.get(
        reverse("coaching:review_detail", args=[review.pk]),
        {"guide": 1, "skill": skills[0].pk},
        **HTMX,
    )
    assert skills[0].question_list[0].encode() in guide.content


def test_rep_posting_to_their_review_is_refused(logged_in, rep, review):
    response = logged_in(rep).post(
        reverse("coaching:review_agenda_add", args=[review.pk]), {"title": "Mine"}
    )
    assert response.status_code == 403
    assert ReviewAgendaItem.objects.filter(source="manager").count() == 0


def test_discussed_toggle_with_htmx(logged_in, manager, review):
    item = review.agenda_items.first()
    response = logged_in(manager).post(
        reverse("coaching:review_agenda_discussed", args=[review.pk, item.pk]),
        {"discussed": "1"},
        **HTMX,
    )
    assert response.status_code == 200 and b"Discussed" in response.content
    item.refresh_from_db()
    assert item.discussed


@pytest.fixture
def long_review(manager, opportunity):
    """A review of 7 generated points (the top 5 in view, 2 folded) and one of the
    manager's own."""
    OpportunityFlagFactory(opportunity=opportunity, kind="past_close_date", severity="critical")
    OpportunityFlagFactory(opportunity=opportunity)  # a warning
    review = services.review_start(actor=manager, opportunity_id=opportunity.pk)
    services.agenda_item_add(actor=manager, review_id=review.pk, title="My own point")
    assert review.agenda_items.exclude(source="manager").count() == 7
    return review


def _between(html: str, start: str, end: str) -> str:
    assert start in html, f"{start} is not on the page"
    return html.split(start, 1)[1].split(end, 1)[0]


def _generated(review) -> list[ReviewAgendaItem]:
    return list(review.agenda_items.exclude(source="manager").order_by("order", "id"))


def test_the_agenda_shows_the_top_points_and_folds_the_rest(logged_in, manager, rep, long_review):
    generated = _generated(long_review)
    for user in (manager, rep):
        html = logged_in(user).get(reverse("coaching:review_detail", args=[long_review.pk]))
        html = html.content.decode()
        top = _between(html, 'data-testid="agenda-top"', "</ol>")
        assert top.count('data-testid="agenda-item"') == 6  # the top 5 and the manager's
        assert "My own point" in top
        assert all(f'id="agenda-item-{i.pk}"' in top for i in generated[:5])
        more = _between(html, 'data-testid="agenda-more"', "</details>")
        assert more.startswith(">")  # folded: not open
        assert "2 more points" in more and "(2 not discussed)" in more
        assert all(f'id="agenda-item-{i.pk}"' in more for i in generated[5:])


def test_ticking_a_folded_point_keeps_the_fold_open(logged_in, manager, long_review):
    client = logged_in(manager)
    first, second = _generated(long_review)[5:]
    url = reverse("coaching:review_agenda_discussed", args=[long_review.pk, first.pk])
    response = client.post(url, {"discussed": "1"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert _between(html, 'data-testid="agenda-more"', ">") == " open"
    assert "(1 not discussed)" in html
    url = reverse("coaching:review_agenda_discussed", args=[long_review.pk, second.pk])
    plain = client.post(url, {"discussed": "1"})
    assert plain.url.endswith("?agenda=all#agenda")
    page = client.get(plain.url).content.decode()
    assert _between(page, 'data-testid="agenda-more"', ">") == " open"


def test_complete_with_points_not_discussed_asks_first_listing_them(logged_in, manager, review):
    client = logged_in(manager)
    items = list(review.agenda_items.order_by("order", "id"))
    services.agenda_item_set_discussed(actor=manager, item_id=items[0].pk, discussed=True)
    url = reverse("coaching:review_complete", args=[review.pk])

    response = client.post(url)

    assert response.status_code == 409
    confirm = _between(response.content.decode(), 'data-testid="confirm-complete"', "</form>")
    assert f"Complete with {len(items) - 1} points not discussed?" in confirm
    assert 'name="confirm" value="1"' in confirm
    listed = _between(confirm, 'data-testid="undiscussed-points"', "</ul>")
    assert listed.count("<li>") == len(items) - 1
    assert all(escape(i.title) in listed for i in items[1:])
    assert escape(items[0].title) not in listed
    review.refresh_from_db()
    assert review.status == "open"

    done = client.post(url, {"confirm": "1"})
    assert done.status_code == 302
    review.refresh_from_db()
    assert review.status == "completed"


def test_complete_with_every_point_discussed_does_not_ask(logged_in, manager, review):
    for item in review.agenda_items.all():
        services.agenda_item_set_discussed(actor=manager, item_id=item.pk, discussed=True)
    response = logged_in(manager).post(reverse("coaching:review_complete", args=[review.pk]))
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == "completed"


def test_complete_then_frozen(logged_in, manager, review):
    client = logged_in(manager)
    client.post(reverse("coaching:review_complete", args=[review.pk]), {"confirm": "1"})
    review.refresh_from_db()
    assert review.status == "completed"
    response = client.post(
        reverse("coaching:review_finding_add", args=[review.pk]), {"text": "Late"}
    )
    assert response.status_code == 409
    assert b"This review is completed" in response.content


# --- the action-item toggle (shared with 1:1s) ---------------------------------------------


def test_toggle_returns_the_item_partial_for_htmx(logged_in, manager, rep, review):
    item = services.review_action_item_add(
        actor=manager, review_id=review.pk, title="Send recap", due_on=_days(1)
    )
    client = logged_in(rep)
    path = reverse("coaching:action_item_done", args=[item.pk])
    response = client.post(path, {"done": "1"}, **HTMX)
    assert response.status_code == 200
    assert f'id="action-item-{item.pk}"'.encode() in response.content
    item.refresh_from_db()
    assert item.done_at is not None
    plain = client.post(path, {"done": "0"})
    assert plain.status_code == 302
    assert plain.url == reverse("coaching:review_detail", args=[review.pk])
    item.refresh_from_db()
    assert item.done_at is None
    bad = client.post(path, {"done": "maybe"}, **HTMX)
    assert bad.status_code == 422 and b"done=1" in bad.content


def test_toggle_outside_scope_is_404(logged_in, manager, other_rep, review):
    item = services.review_action_item_add(
        actor=manager, review_id=review.pk, title="Send recap", due_on=_days(1)
    )
    response = logged_in(other_rep).post(
        reverse("coaching:action_item_done", args=[item.pk]), {"done": "1"}
    )
    assert response.status_code == 404
    item.refresh_from_db()
    assert item.done_at is None
