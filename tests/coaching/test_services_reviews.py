"""coaching.services opportunity reviews: starting one (agenda from the deal's gaps), what
the manager adds, completing it — and every refusal, with the database checked after it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from coaching import selectors, services
from coaching.models import (
    ActionItem,
    CoachingPoint,
    OpportunityReview,
    ReviewAgendaItem,
    ReviewFinding,
)
from pipeline.models import OpportunityChange
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import AuditEvent, Notification
from tests.factories import OpportunityFactory, OpportunityFlagFactory


def _days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def _push(opp, old: dt.date, new: dt.date, *, at, by=None) -> None:
    OpportunityChange.objects.create(
        opportunity=opp,
        field="close_date",
        old_value=old.isoformat(),
        new_value=new.isoformat(),
        changed_by=by,
        changed_at=at,
    )


def _snapshot_of_db():
    return (
        OpportunityReview.objects.count(),
        ReviewAgendaItem.objects.count(),
        ReviewFinding.objects.count(),
        CoachingPoint.objects.count(),
        ActionItem.objects.count(),
        Notification.objects.count(),
    )


@pytest.fixture
def review(manager, opportunity):
    return services.review_start(actor=manager, opportunity_id=opportunity.pk)


# --- starting a review ---------------------------------------------------------------------


def test_start_generates_the_agenda_from_the_deals_gaps(manager, rep, opportunity):
    OpportunityFlagFactory(opportunity=opportunity, kind="past_close_date", severity="critical")
    OpportunityFlagFactory(opportunity=opportunity)  # a warning
    now = timezone.now()
    _push(opportunity, _days(10), _days(20), at=now - dt.timedelta(days=3), by=rep)
    _push(opportunity, _days(20), _days(45), at=now - dt.timedelta(days=1), by=rep)

    review = services.review_start(actor=manager, opportunity_id=opportunity.pk)

    review.refresh_from_db()
    assert (review.opportunity, review.rep, review.manager, review.status) == (
        opportunity, rep, manager, "open",
    )  # fmt: skip
    items = list(review.agenda_items.order_by("order"))
    # Ranked (coaching.rules.review_agenda): blockers, signs of a stale deal, qualification,
    # then the rest.
    assert [i.source for i in items] == [
        "flag", "milestone", "milestone",
        "flag", "close_date",
        "qualification",
        "executive_summary", "milestone",
    ]  # fmt: skip
    assert items[0].title == "Critical: Close date passed"
    assert items[1].title == "“Pain identified” not met (current stage, Discover)"
    assert items[4].title.startswith("Close date pushed twice since the deal was created")
    assert items[-1].title.endswith("(next stage, Qualify)")
    assert all(i.added_by is None and not i.discussed for i in items)
    note = Notification.objects.get(recipient=rep)
    assert opportunity.name in note.title and str(review.pk) in note.link
    assert AuditEvent.objects.filter(action="review.started", target_id=review.pk).exists()


def test_changes_count_since_the_last_review(manager, rep, opportunity):
    first = services.review_start(actor=manager, opportunity_id=opportunity.pk)
    services.review_complete(actor=manager, review_id=first.pk, confirm=True)
    first.refresh_from_db()
    _push(opportunity, _days(5), _days(9), at=first.completed_at - dt.timedelta(hours=1))
    _push(opportunity, _days(9), _days(30), at=first.completed_at + dt.timedelta(hours=1))

    second = services.review_start(actor=manager, opportunity_id=opportunity.pk)

    close = second.agenda_items.get(source="close_date")
    assert close.title.startswith("Close date pushed once since the last review")
    assert close.detail.count("→") == 1


def test_a_leader_may_review_any_deal(leader, other_rep, pipeline):
    opp = OpportunityFactory(owner=other_rep, stage=pipeline.qualify)
    review = services.review_start(actor=leader, opportunity_id=opp.pk)
    assert OpportunityReview.objects.get(pk=review.pk).manager == leader


def test_rep_cannot_start_a_review(rep, opportunity):
    before = _snapshot_of_db()
    with pytest.raises(PermissionDenied):
        services.review_start(actor=rep, opportunity_id=opportunity.pk)
    assert _snapshot_of_db() == before


@pytest.mark.parametrize("bad_id", ["nope", None, 999_999])
def test_no_such_deal_is_not_found(manager, bad_id):
    with pytest.raises(NotFound):
        services.review_start(actor=manager, opportunity_id=bad_id)
    assert not OpportunityReview.objects.exists()


def test_a_deal_outside_the_managers_team_is_not_found(other_manager, opportunity):
    before = _snapshot_of_db()
    with pytest.raises(NotFound):
        services.review_start(actor=other_manager, opportunity_id=opportunity.pk)
    assert _snapshot_of_db() == before


def test_a_manager_does_not_review_their_own_deal(manager, pipeline):
    own = OpportunityFactory(owner=manager, stage=pipeline.discover)
    before = _snapshot_of_db()
    with pytest.raises(PermissionDenied, match="own deal"):
        services.review_start(actor=manager, opportunity_id=own.pk)
    assert _snapshot_of_db() == before


def test_a_closed_deal_is_not_reviewed(manager, rep, pipeline):
    won = OpportunityFactory(owner=rep, stage=pipeline.won, status="won", closed_at=timezone.now())
    before = _snapshot_of_db()
    with pytest.raises(Conflict) as exc:
        services.review_start(actor=manager, opportunity_id=won.pk)
    assert exc.value.code == "opportunity_closed"
    assert _snapshot_of_db() == before


def test_one_review_in_progress_at_a_time(manager, leader, opportunity, review):
    before = _snapshot_of_db()
    with pytest.raises(Conflict) as exc:
        services.review_start(actor=leader, opportunity_id=opportunity.pk)
    assert (exc.value.code, exc.value.details) == ("review_in_progress", {"review": review.pk})
    assert _snapshot_of_db() == before


# --- the manager's additions ---------------------------------------------------------------


def test_manager_adds_an_agenda_point_after_the_generated_ones(manager, review):
    generated = review.agenda_items.count()
    item = services.agenda_item_add(
        actor=manager, review_id=review.pk, title="  Who signs? ", detail="Procurement?"
    )
    item.refresh_from_db()
    assert (item.source, item.title, item.detail, item.added_by) == (
        "manager", "Who signs?", "Procurement?", manager,
    )  # fmt: skip
    assert item.order == generated
    assert review.agenda_items.count() == generated + 1


@pytest.mark.parametrize(
    ("title", "detail", "field"),
    [
        ("", "", "title"),
        ("  ", "", "title"),
        ("x" * 301, "", "title"),
        ("Ok", "x" * 5001, "detail"),
    ],
)
def test_agenda_point_bad_input(manager, review, title, detail, field):
    before = _snapshot_of_db()
    with pytest.raises(ValidationFailed) as exc:
        services.agenda_item_add(actor=manager, review_id=review.pk, title=title, detail=detail)
    assert set(exc.value.details) == {field}
    assert _snapshot_of_db() == before


def test_only_the_reviews_manager_or_a_leader_changes_it(rep, teammate, leader, review):
    before = _snapshot_of_db()
    with pytest.raises(PermissionDenied):
        services.agenda_item_add(actor=rep, review_id=review.pk, title="Mine")
    with pytest.raises(NotFound):  # a teammate does not even see it
        services.review_finding_add(actor=teammate, review_id=review.pk, text="Hm")
    assert _snapshot_of_db() == before
    services.review_finding_add(actor=leader, review_id=review.pk, text="Seen by the VP")
    assert ReviewFinding.objects.get().created_by == leader


def test_discussed_toggles_and_is_idempotent(manager, rep, review):
    item = review.agenda_items.first()
    services.agenda_item_set_discussed(actor=manager, item_id=item.pk, discussed=True)
    services.agenda_item_set_discussed(actor=manager, item_id=item.pk, discussed=True)
    item.refresh_from_db()
    assert item.discussed is True
    with pytest.raises(PermissionDenied):
        services.agenda_item_set_discussed(actor=rep, item_id=item.pk, discussed=False)
    item.refresh_from_db()
    assert item.discussed is True
    with pytest.raises(NotFound):
        services.agenda_item_set_discussed(actor=manager, item_id="x", discussed=False)


def test_finding_must_say_something(manager, review):
    with pytest.raises(ValidationFailed) as exc:
        services.review_finding_add(actor=manager, review_id=review.pk, text="   ")
    assert set(exc.value.details) == {"text"}
    assert not ReviewFinding.objects.exists()
    finding = services.review_finding_add(actor=manager, review_id=review.pk, text="No champion")
    assert ReviewFinding.objects.get().text == finding.text == "No champion"


def test_coaching_point_is_tied_to_an_active_skill(manager, review, skills):
    inactive = skills[-1]
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    for bad in (inactive.pk, "x", None, 999_999):
        with pytest.raises(ValidationFailed) as exc:
            services.review_coaching_point_add(
                actor=manager, review_id=review.pk, skill_id=bad, text="Ask about budget"
            )
        assert "skill" in exc.value.details
    assert not CoachingPoint.objects.exists()
    point = services.review_coaching_point_add(
        actor=manager, review_id=review.pk, skill_id=skills[0].pk, text="Ask about budget"
    )
    assert CoachingPoint.objects.get().skill == skills[0] == point.skill


def test_action_item_of_a_review(manager, rep, review):
    item = services.review_action_item_add(
        actor=manager, review_id=review.pk, title="Map the decision process", due_on=_days(7)
    )
    item.refresh_from_db()
    assert (item.review, item.owner, item.due_on) == (review, rep, _days(7))
    assert Notification.objects.filter(recipient=rep, title__contains="Map the decision").exists()


def test_action_item_due_in_the_past_is_refused_and_nothing_saved(manager, review):
    before = _snapshot_of_db()
    with pytest.raises(ValidationFailed) as exc:
        services.review_action_item_add(
            actor=manager, review_id=review.pk, title="Too late", due_on=_days(-1)
        )
    assert set(exc.value.details) == {"due_on"}
    assert "past" in exc.value.details["due_on"][0]
    assert _snapshot_of_db() == before


def test_rep_cannot_add_action_items_to_their_review(rep, review):
    with pytest.raises(PermissionDenied):
        services.review_action_item_add(actor=rep, review_id=review.pk, title="Me", due_on=_days(1))
    assert not ActionItem.objects.exists()


def test_another_teams_manager_gets_not_found(other_manager, review):
    with pytest.raises(NotFound):
        services.review_action_item_add(
            actor=other_manager, review_id=review.pk, title="X", due_on=_days(1)
        )
    assert not ActionItem.objects.exists()


# --- completing ----------------------------------------------------------------------------


def test_complete_freezes_the_review_and_sends_the_rep_the_action_items(manager, rep, review):
    services.review_action_item_add(
        actor=manager, review_id=review.pk, title="Book the CFO call", due_on=_days(2)
    )
    services.review_complete(actor=manager, review_id=review.pk, confirm=True)

    review.refresh_from_db()
    assert review.status == "completed" and review.completed_at is not None
    note = Notification.objects.get(recipient=rep, dedupe_key=f"review_completed:{review.pk}")
    assert "Book the CFO call" in note.body
    assert AuditEvent.objects.filter(action="review.completed", target_id=review.pk).exists()

    before = _snapshot_of_db()
    refusals = [
        lambda: services.review_complete(actor=manager, review_id=review.pk),
        lambda: services.agenda_item_add(actor=manager, review_id=review.pk, title="More"),
        lambda: services.review_finding_add(actor=manager, review_id=review.pk, text="More"),
        lambda: services.review_action_item_add(
            actor=manager, review_id=review.pk, title="More", due_on=_days(1)
        ),
    ]
    for refuse in refusals:
        with pytest.raises(Conflict) as exc:
            refuse()
        assert exc.value.code == "review_completed"
    assert _snapshot_of_db() == before
    review.refresh_from_db()
    assert review.status == "completed"


def test_completing_with_points_not_discussed_asks_for_a_confirmation(manager, rep, review):
    items = list(review.agenda_items.order_by("order", "id"))
    assert len(items) >= 3
    services.agenda_item_set_discussed(actor=manager, item_id=items[0].pk, discussed=True)
    before = _snapshot_of_db()

    with pytest.raises(Conflict) as exc:
        services.review_complete(actor=manager, review_id=review.pk)

    assert exc.value.code == "undiscussed_points"
    assert exc.value.status == 409
    assert exc.value.details == {"undiscussed": [{"id": i.pk, "title": i.title} for i in items[1:]]}
    assert f"{len(items) - 1} agenda points were not discussed" in exc.value.message
    assert _snapshot_of_db() == before
    review.refresh_from_db()
    assert (review.status, review.completed_at) == ("open", None)
    assert not AuditEvent.objects.filter(action="review.completed").exists()

    services.review_complete(actor=manager, review_id=review.pk, confirm=True)
    review.refresh_from_db()
    assert review.status == "completed"
    audit = AuditEvent.objects.get(action="review.completed", target_id=review.pk)
    assert audit.data["undiscussed_points"] == len(items) - 1


def test_a_review_discussed_point_by_point_completes_without_asking(manager, review):
    for item in review.agenda_items.all():
        services.agenda_item_set_discussed(actor=manager, item_id=item.pk, discussed=True)
    services.review_complete(actor=manager, review_id=review.pk)
    review.refresh_from_db()
    assert review.status == "completed"


def test_a_review_without_agenda_points_completes_without_asking(manager, review):
    review.agenda_items.all().delete()
    services.review_complete(actor=manager, review_id=review.pk)
    review.refresh_from_db()
    assert review.status == "completed"


def test_a_completed_review_lets_the_next_one_start(manager, opportunity, review):
    services.review_complete(actor=manager, review_id=review.pk, confirm=True)
    again = services.review_start(actor=manager, opportunity_id=opportunity.pk)
    assert OpportunityReview.objects.filter(opportunity=opportunity).count() == 2
    assert selectors.open_review_of(opportunity.pk) == again


def test_the_rep_may_tick_their_review_action_item(manager, rep, review):
    item = services.review_action_item_add(
        actor=manager, review_id=review.pk, title="Send recap", due_on=_days(1)
    )
    services.action_item_set_done(actor=rep, item_id=item.pk, done=True)
    item.refresh_from_db()
    assert item.done_at is not None
