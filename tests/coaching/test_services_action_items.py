"""coaching.services action items, shared by reviews and 1:1s: who owns one, when it may
be due, who may tick it off. Each test asserts the database, also after a refusal."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from coaching import services
from coaching.models import ActionItem, CoachingSession
from salesops.exceptions import NotFound, PermissionDenied, ValidationFailed
from salesops.models import AuditEvent, Notification


@pytest.fixture
def session(rep, manager, skills):
    return CoachingSession.objects.create(
        manager=manager, rep=rep, held_on=timezone.localdate(), focus_skill=skills[0]
    )


def _days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def test_item_defaults_to_the_rep_and_notifies_them(manager, rep, session):
    item = services.action_item_add(
        actor=manager, parent=session, title="  Book the CFO call ", due_on=_days(3)
    )
    item.refresh_from_db()
    assert (item.owner, item.title, item.due_on, item.session_id) == (
        rep, "Book the CFO call", _days(3), session.pk,
    )  # fmt: skip
    assert item.review_id is None and item.done_at is None and item.created_by == manager
    note = Notification.objects.get(recipient=rep)
    assert "Book the CFO call" in note.title and str(session.pk) in note.link
    assert AuditEvent.objects.filter(action="action_item.created", target_id=item.pk).exists()


def test_manager_may_own_an_item_and_is_not_notified_of_their_own(manager, session):
    item = services.action_item_add(
        actor=manager, parent=session, title="Send the pricing model", due_on=_days(0),
        owner_id=manager.pk,
    )  # fmt: skip
    assert ActionItem.objects.get(pk=item.pk).owner == manager
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("title", "due_on", "owner", "fields"),
    [
        ("", _days(1), None, {"title"}),
        ("x" * 301, _days(1), None, {"title"}),
        ("Call", None, None, {"due_on"}),
        ("Call", "next tuesday", None, {"due_on"}),
        ("Call", -1, None, {"due_on"}),
        ("Call", 400, None, {"due_on"}),
        ("Call", 1, "teammate", {"owner"}),
        ("Call", 1, "abc", {"owner"}),
        ("", -1, "teammate", {"title", "due_on", "owner"}),
    ],
)
def test_bad_items_are_refused_field_by_field_and_nothing_is_saved(
    manager, session, teammate, title, due_on, owner, fields
):
    if isinstance(due_on, int):
        due_on = _days(due_on)
    owner_id = {"teammate": teammate.pk, None: None}.get(owner, owner)
    with pytest.raises(ValidationFailed) as exc:
        services.action_item_add(
            actor=manager, parent=session, title=title, due_on=due_on, owner_id=owner_id
        )
    assert set(exc.value.details) == fields
    assert not ActionItem.objects.exists() and not Notification.objects.exists()


def test_past_due_date_error_names_the_earliest_allowed_day(manager, session):
    with pytest.raises(ValidationFailed) as exc:
        services.action_item_add(actor=manager, parent=session, title="Call", due_on=_days(-1))
    assert f"{timezone.localdate():%d %b %Y}" in exc.value.details["due_on"][0]


def test_owner_and_manager_tick_items_off_and_reopen_them(manager, rep, session):
    item = services.action_item_add(actor=manager, parent=session, title="Call", due_on=_days(2))
    services.action_item_set_done(actor=rep, item_id=item.pk, done=True)
    first = ActionItem.objects.get(pk=item.pk).done_at
    assert first is not None
    # Ticking it again keeps the first moment (on-time counts depend on it).
    services.action_item_set_done(actor=manager, item_id=item.pk, done=True)
    assert ActionItem.objects.get(pk=item.pk).done_at == first
    services.action_item_set_done(actor=manager, item_id=item.pk, done=False)
    assert ActionItem.objects.get(pk=item.pk).done_at is None
    actions = list(
        AuditEvent.objects.filter(target_id=item.pk, action__startswith="action_item.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["action_item.created", "action_item.done", "action_item.reopened"]


def test_leader_may_tick_off_but_a_teammate_cannot_see_it(manager, session, leader, teammate):
    item = services.action_item_add(actor=manager, parent=session, title="Call", due_on=_days(2))
    with pytest.raises(NotFound):
        services.action_item_set_done(actor=teammate, item_id=item.pk, done=True)
    with pytest.raises(NotFound):
        services.action_item_set_done(actor=teammate, item_id="nope", done=True)
    assert ActionItem.objects.get(pk=item.pk).done_at is None
    services.action_item_set_done(actor=leader, item_id=item.pk, done=True)
    assert ActionItem.objects.get(pk=item.pk).done_at is not None


def test_a_rep_who_sees_an_item_but_does_not_own_it_cannot_tick_it(manager, rep, session):
    mine = services.action_item_add(
        actor=manager, parent=session, title="Prepare", due_on=_days(2), owner_id=manager.pk
    )
    with pytest.raises(PermissionDenied):
        services.action_item_set_done(actor=rep, item_id=mine.pk, done=True)
    assert ActionItem.objects.get(pk=mine.pk).done_at is None
