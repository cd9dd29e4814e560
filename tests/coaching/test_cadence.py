"""The cadence refresh (coaching/cadence.py): the database after a run, reruns, clearing,
moved reps, inactive people, notifications, and the SQL due date against the pure rule."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.utils import timezone

from coaching import services
from coaching.cadence import (
    NOTHING,
    REP_CADENCE_SQL,
    CadenceResult,
    cadence_from_settings,
    cadence_params,
    cadence_refresh,
    format_day,
)
from coaching.models import ActionItem, CoachingFlag, CoachingSession
from coaching.rules import one_on_one_due_on
from salesops.exceptions import NotFound
from salesops.models import Notification, Role
from tests.factories import TeamFactory, UserFactory

ONE, ITEM = "one_on_one_overdue", "action_item_overdue"


def today() -> dt.date:
    return timezone.localdate()


def days_ago(n: int) -> dt.date:
    return today() - dt.timedelta(days=n)


def held(rep, manager, skill, on: dt.date) -> CoachingSession:
    return CoachingSession.objects.create(manager=manager, rep=rep, held_on=on, focus_skill=skill)


def open_flags() -> set[tuple]:
    return set(
        CoachingFlag.objects.filter(cleared_at__isnull=True).values_list(
            "kind", "recipient_id", "rep_id", "action_item_id", "explanation"
        )
    )


def snapshot() -> tuple:
    return (
        sorted(CoachingFlag.objects.values_list("id", "recipient_id", "explanation", "cleared_at")),
        sorted(Notification.objects.values_list("id", "recipient_id", "title")),
    )


def item(owner, session, *, due: dt.date, title: str = "Send the mutual action plan"):
    return ActionItem.objects.create(
        session=session, owner=owner, title=title, due_on=due, created_by=session.manager
    )


@pytest.fixture
def late_rep(rep, manager):
    """`rep` started 40 days ago and never had a 1:1: due on day 7, overdue."""
    rep.started_on = days_ago(40)
    rep.save(update_fields=["started_on"])
    return rep


def test_overdue_1_1_raises_a_flag_to_the_manager_and_notifies_once(late_rep, manager):
    result = cadence_refresh()
    assert result == CadenceResult(raised=1, cleared=0, updated=0, notified=1)
    flag = CoachingFlag.objects.get()
    assert (flag.kind, flag.recipient, flag.rep, flag.cleared_at) == (ONE, manager, late_rep, None)
    due = days_ago(33)
    assert flag.explanation == (
        f"1:1 with {late_rep} was due on {format_day(due)} "
        f"(no 1:1 yet since starting on {format_day(days_ago(40))})"
    )
    note = Notification.objects.get()
    assert note.recipient == manager
    assert note.title == f"1:1 overdue: {late_rep}"
    assert note.body == flag.explanation
    assert note.link == f"/coaching/sessions/new/?rep={late_rep.pk}"
    assert note.dedupe_key == f"coaching:{manager.pk}:{flag.pk}"


def test_rerun_changes_nothing(late_rep, teammate, manager, skills):
    teammate.started_on = days_ago(200)
    teammate.save(update_fields=["started_on"])
    session = held(teammate, manager, skills[0], days_ago(30))
    item(teammate, session, due=days_ago(2))
    first = cadence_refresh()
    assert (first.raised, first.notified) == (3, 2)  # manager: 1 notification for 2 reps
    before = snapshot()
    assert cadence_refresh() == NOTHING
    assert cadence_refresh(rep_ids=[late_rep.pk, teammate.pk]) == NOTHING
    assert snapshot() == before


def test_a_new_day_does_not_rewrite_the_explanation(late_rep):
    cadence_refresh()
    before = snapshot()
    tomorrow = timezone.now() + dt.timedelta(days=1)
    assert cadence_refresh(now=tomorrow) == NOTHING
    assert snapshot() == before


def test_within_cadence_no_flag_and_a_1_1_clears_it(late_rep, manager, skills):
    cadence_refresh()
    flag = CoachingFlag.objects.get()
    held(late_rep, manager, skills[0], today())
    now = timezone.now()
    result = cadence_refresh(now=now, rep_ids=[late_rep.pk])
    assert result == CadenceResult(raised=0, cleared=1, updated=0, notified=0)
    flag.refresh_from_db()
    assert flag.cleared_at == now
    assert Notification.objects.count() == 1  # clearing is silent
    assert cadence_refresh() == NOTHING


def test_due_today_is_not_overdue_yet(rep, manager):
    rep.started_on = days_ago(7)
    rep.save(update_fields=["started_on"])
    assert cadence_refresh() == NOTHING
    assert CoachingFlag.objects.count() == 0
    tomorrow = timezone.now() + dt.timedelta(days=1)
    assert cadence_refresh(now=tomorrow).raised == 1


def test_ninety_day_boundary_in_sql(rep, manager, skills):
    """A 1:1 on day 89 → due a week later; on day 90 → a fortnight later. Off by one in
    the SQL fails one of the two."""
    rep.started_on = days_ago(89 + 8)  # the 1:1 on day 89 was 8 days ago: 1 day overdue
    rep.save(update_fields=["started_on"])
    session = held(rep, manager, skills[0], days_ago(8))
    assert cadence_refresh().raised == 1
    CoachingFlag.objects.all().delete()
    Notification.objects.all().delete()
    rep.started_on = days_ago(90 + 8)  # the same 1:1 is now on day 90: due in 6 days
    rep.save(update_fields=["started_on"])
    assert cadence_refresh() == NOTHING
    assert session.held_on + dt.timedelta(days=14) == today() + dt.timedelta(days=6)


def test_fallback_start_is_date_joined_in_the_org_timezone(rep, manager):
    # 23:30 UTC on a winter day is 00:30 the next day in Berlin: that is the first day.
    joined = dt.datetime.combine(days_ago(9), dt.time(23, 30), tzinfo=dt.UTC)
    rep.date_joined = joined
    rep.started_on = None
    rep.save(update_fields=["date_joined", "started_on"])
    local_start = timezone.localtime(joined).date()
    due = local_start + dt.timedelta(days=7)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {REP_CADENCE_SQL} SELECT started_on, due_on FROM rep_cadence",
            cadence_params(now=timezone.now(), rep_ids=[rep.pk]),
        )
        assert cursor.fetchall() == [(local_start, due)]


def test_moved_rep_clears_the_old_flag_and_raises_one_to_the_new_manager(
    late_rep, manager, other_manager, team_b
):
    cadence_refresh()
    old = CoachingFlag.objects.get()
    late_rep.team = team_b
    late_rep.save(update_fields=["team"])
    result = cadence_refresh()
    assert result == CadenceResult(raised=1, cleared=1, updated=0, notified=1)
    old.refresh_from_db()
    assert old.cleared_at is not None
    new = CoachingFlag.objects.get(cleared_at__isnull=True)
    assert (new.recipient, new.rep) == (other_manager, late_rep)
    assert Notification.objects.filter(recipient=other_manager).count() == 1
    assert cadence_refresh() == NOTHING


def test_inactive_rep_is_ignored_and_their_flag_cleared(late_rep, teammate, manager):
    teammate.started_on = days_ago(40)
    teammate.is_active = False
    teammate.save(update_fields=["started_on", "is_active"])
    cadence_refresh()
    assert {f[2] for f in open_flags()} == {late_rep.pk}
    late_rep.is_active = False
    late_rep.save(update_fields=["is_active"])
    assert cadence_refresh().cleared == 1
    assert open_flags() == set()


def test_managers_and_leaders_are_not_reps(manager, leader):
    for user in (manager, leader):
        user.started_on = days_ago(400)
        user.save(update_fields=["started_on"])
    assert cadence_refresh() == NOTHING


def test_nearest_manager_up_the_chain(manager, team_a):
    """A sub-team without a manager: its reps' 1:1s are owed by the parent team's manager;
    once the sub-team gets a manager, the flag moves to them."""
    sub = TeamFactory(name="Sub", parent=team_a)
    rep = UserFactory(role=Role.REP, team=sub, started_on=days_ago(30))
    cadence_refresh()
    assert CoachingFlag.objects.get().recipient == manager
    lead = UserFactory(role=Role.MANAGER, team=sub)
    sub.manager = lead
    sub.save(update_fields=["manager"])
    assert cadence_refresh().raised == 1
    assert CoachingFlag.objects.get(cleared_at__isnull=True).recipient == lead
    # An inactive manager is skipped: back to the parent team's.
    lead.is_active = False
    lead.save(update_fields=["is_active"])
    cadence_refresh()
    assert CoachingFlag.objects.get(cleared_at__isnull=True, rep=rep).recipient == manager


def test_rep_without_a_manager_gets_no_flag(db):
    UserFactory(role=Role.REP, team=TeamFactory(), started_on=days_ago(60))
    UserFactory(role=Role.REP, team=None, started_on=days_ago(60))
    assert cadence_refresh() == NOTHING


def test_overdue_action_item_flag_follows_done_and_reopen(rep, manager, skills):
    session = held(rep, manager, skills[0], today())
    action = item(rep, session, due=days_ago(3))
    assert cadence_refresh() == CadenceResult(raised=1, cleared=0, updated=0, notified=1)
    flag = CoachingFlag.objects.get()
    assert (flag.kind, flag.recipient, flag.action_item) == (ITEM, rep, action)
    assert flag.explanation == f"“{action.title}” was due on {format_day(days_ago(3))}"
    note = Notification.objects.get()
    assert (note.recipient, note.title) == (rep, f"Action item overdue: {action.title}")
    # Done: the service clears the flag in its own transaction.
    services.action_item_set_done(actor=rep, item_id=action.pk, done=True)
    flag.refresh_from_db()
    assert flag.cleared_at is not None
    assert cadence_refresh() == NOTHING
    # Reopened past its due date: a new flag, a new notification.
    services.action_item_set_done(actor=manager, item_id=action.pk, done=False)
    assert CoachingFlag.objects.filter(cleared_at__isnull=True, action_item=action).count() == 1
    assert Notification.objects.filter(recipient=rep).count() == 2


def test_refused_set_done_leaves_the_flag(rep, teammate, manager, skills):
    session = held(rep, manager, skills[0], today())
    action = item(rep, session, due=days_ago(3))
    cadence_refresh()
    before = snapshot()
    with pytest.raises(NotFound):  # the teammate does not see the rep's 1:1
        services.action_item_set_done(actor=teammate, item_id=action.pk, done=True)
    assert snapshot() == before
    action.refresh_from_db()
    assert action.done_at is None


def test_action_item_given_to_another_owner_moves_the_flag(rep, manager, skills):
    session = held(rep, manager, skills[0], today())
    action = item(rep, session, due=days_ago(1))
    cadence_refresh()
    ActionItem.objects.filter(pk=action.pk).update(owner=manager)
    result = cadence_refresh(action_item_ids=[action.pk])
    assert (result.raised, result.cleared) == (1, 1)
    assert CoachingFlag.objects.get(cleared_at__isnull=True).recipient == manager


def test_item_due_today_or_owned_by_someone_inactive_is_not_flagged(rep, manager, skills):
    session = held(rep, manager, skills[0], today())
    item(rep, session, due=today())
    gone = UserFactory(role=Role.REP, is_active=False)
    item(gone, session, due=days_ago(5))
    assert cadence_refresh() == NOTHING


def test_changed_due_date_rewrites_the_explanation_silently(late_rep, manager, skills):
    first = held(late_rep, manager, skills[0], days_ago(30))
    held(late_rep, manager, skills[0], days_ago(20))
    cadence_refresh()
    flag = CoachingFlag.objects.get()
    assert format_day(days_ago(13)) in flag.explanation
    CoachingSession.objects.filter(held_on=days_ago(20)).delete()
    result = cadence_refresh(rep_ids=[late_rep.pk])
    assert result == CadenceResult(raised=0, cleared=0, updated=1, notified=0)
    flag.refresh_from_db()
    assert flag.cleared_at is None
    assert format_day(first.held_on + dt.timedelta(days=7)) in flag.explanation
    assert Notification.objects.count() == 1


def test_one_notification_per_recipient_per_run(manager, team_a, skills):
    reps = [UserFactory(role=Role.REP, team=team_a, started_on=days_ago(30 + i)) for i in range(3)]
    session = held(reps[0], manager, skills[0], days_ago(1))  # reps[0] is within cadence
    item(manager, session, due=days_ago(1), title="Book the pipeline review")
    result = cadence_refresh()
    assert (result.raised, result.notified) == (3, 1)
    note = Notification.objects.get()
    assert note.recipient == manager
    assert note.title == "3 coaching items overdue"
    assert note.body == "1:1s overdue: 2 · action items overdue: 1"
    assert note.link == "/coaching/"
    # A later run that raises one more notifies again, once, under another key.
    late = UserFactory(role=Role.REP, team=team_a, started_on=days_ago(50))
    result = cadence_refresh()
    assert (result.raised, result.notified) == (1, 1)
    newest = Notification.objects.latest("id")
    assert newest.title == f"1:1 overdue: {late}"
    assert cadence_refresh() == NOTHING
    assert Notification.objects.count() == 2


def test_targeted_refresh_leaves_other_reps_alone(late_rep, teammate, manager):
    teammate.started_on = days_ago(40)
    teammate.save(update_fields=["started_on"])
    result = cadence_refresh(rep_ids=[late_rep.pk])
    assert result.raised == 1
    assert {f[2] for f in open_flags()} == {late_rep.pk}
    assert cadence_refresh(rep_ids=[]) == NOTHING
    assert cadence_refresh(rep_ids=[], action_item_ids=[]) == NOTHING


def test_sql_due_date_matches_the_rule_over_generated_data(manager, team_a, skills):
    """Reps around the 90-day boundary, with and without 1:1s: the SQL's due date is the
    one of coaching.rules.one_on_one_due_on for every one of them."""
    rng = random.Random(5)
    cadence = cadence_from_settings()
    expected = {}
    for n in range(60):
        started = days_ago(rng.choice([0, 1, 6, 7, 8, 45, 88, 89, 90, 91, 97, 98, 150, 400]))
        rep = UserFactory(role=Role.REP, team=team_a, started_on=started)
        last = None
        for _ in range(rng.choice([0, 0, 1, 2])):
            offset = rng.choice([-2, 0, 1, 83, 84, 89, 90, 91, 120])
            on = started + dt.timedelta(days=offset)
            held(rep, manager, skills[n % 3], on)
            last = max(last, on) if last else on
        expected[rep.pk] = one_on_one_due_on(started_on=started, last_held_on=last, cadence=cadence)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {REP_CADENCE_SQL} SELECT rep_id, due_on FROM rep_cadence",
            cadence_params(now=timezone.now(), rep_ids=list(expected)),
        )
        assert dict(cursor.fetchall()) == expected
    cadence_refresh()
    flagged = set(CoachingFlag.objects.values_list("rep_id", flat=True))
    assert flagged == {pk for pk, due in expected.items() if today() > due}


def test_cadence_settings_are_read(late_rep, settings):
    settings.COACHING_NEW_REP_ONE_ON_ONE_DAYS = 60  # due on day 60: not overdue on day 40
    assert cadence_refresh() == NOTHING
    settings.COACHING_NEW_REP_ONE_ON_ONE_DAYS = 7
    assert cadence_refresh().raised == 1
