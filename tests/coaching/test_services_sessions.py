"""1:1 coaching sessions: coaching.services.session_create / session_update /
session_add_action_item and the 1:1 selectors. Every refusal is checked against the
database: no 1:1, no action item, no notification, no audit event left behind."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from coaching import selectors, services
from coaching.models import ActionItem, CoachingFlag, CoachingFlagKind, CoachingSession, Skill
from salesops.exceptions import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from salesops.models import AuditEvent, Notification, Role
from tests.factories import UserFactory

TODAY = timezone.localdate


def days(n: int) -> dt.date:
    return TODAY() + dt.timedelta(days=n)


def stored_session(rep, manager, skill, *, days_ago: int = 0, **fields) -> CoachingSession:
    """A 1:1 written straight to the table (the state a test starts from)."""
    return CoachingSession.objects.create(
        rep=rep, manager=manager, focus_skill=skill, held_on=days(-days_ago), **fields
    )


def stored_item(session, *, title="Send the recap", done=False, due_in=3) -> ActionItem:
    return ActionItem.objects.create(
        session=session,
        owner=session.rep,
        title=title,
        due_on=days(due_in),
        created_by=session.manager,
        done_at=timezone.now() if done else None,
    )


def assert_nothing_saved() -> None:
    assert CoachingSession.objects.count() == 0
    assert ActionItem.objects.count() == 0
    assert Notification.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="coaching_session").exists()
    assert not AuditEvent.objects.filter(action__startswith="action_item").exists()


def create(actor, rep, skills, **overrides):
    data = {"rep_id": rep.pk, "focus_skill_id": skills[0].pk} | overrides
    return services.session_create(actor=actor, **data)


# --- session_create ----------------------------------------------------------------------


def test_manager_records_a_session_with_action_items(manager, rep, skills):
    session = create(
        manager,
        rep,
        skills,
        held_on=days(-2).isoformat(),
        second_focus_skill_id=skills[1].pk,
        notes="  Walked through the Acme discovery call.  ",
        practice_assignment="Role-play a discovery call with a peer.",
        action_items=[
            {"title": "Book a role-play", "due_on": days(5).isoformat(), "owner": rep.pk},
            {"title": "Share the call rubric", "due_on": days(2), "owner": manager.pk},
        ],
    )

    stored = CoachingSession.objects.get()
    assert stored.pk == session.pk
    assert (stored.rep, stored.manager, stored.held_on) == (rep, manager, days(-2))
    assert (stored.focus_skill, stored.second_focus_skill) == (skills[0], skills[1])
    assert stored.notes == "Walked through the Acme discovery call."
    assert stored.practice_assignment == "Role-play a discovery call with a peer."
    items = list(ActionItem.objects.order_by("due_on"))
    assert [(i.title, i.owner, i.session_id, i.created_by) for i in items] == [
        ("Share the call rubric", manager, session.pk, manager),
        ("Book a role-play", rep, session.pk, manager),
    ]
    # The rep hears about the 1:1 and about the item they own; the manager about nothing
    # (they set their own item).
    notes = Notification.objects.filter(recipient=rep)
    assert notes.count() == 2
    assert notes.filter(dedupe_key=f"coaching_session:{session.pk}").exists()
    assert not Notification.objects.filter(recipient=manager).exists()
    event = AuditEvent.objects.get(action="coaching_session.created")
    assert event.actor == manager and event.target_id == session.pk
    assert event.data["focus_skills"] == [skills[0].pk, skills[1].pk]
    assert event.data["action_items"] == 2


def test_date_defaults_to_today_and_items_are_optional(manager, rep, skills):
    session = create(manager, rep, skills)
    assert session.held_on == TODAY()
    assert session.second_focus_skill is None
    assert ActionItem.objects.count() == 0


def test_leader_records_a_session_with_any_rep(leader, other_rep, skills):
    session = create(leader, other_rep, skills)
    assert CoachingSession.objects.get().manager == leader
    assert session.rep == other_rep


def test_rep_records_no_session(rep, teammate, skills):
    with pytest.raises(PermissionDenied):
        create(rep, teammate, skills)
    assert_nothing_saved()


@pytest.mark.parametrize("who", ["other_rep", "unknown", "garbage", "inactive"])
def test_someone_outside_the_team_is_not_found(manager, other_rep, team_a, skills, who):
    rep_id = {
        "other_rep": lambda: other_rep.pk,
        "unknown": lambda: 10**9,
        "garbage": lambda: "abc",
        "inactive": lambda: UserFactory(role=Role.REP, team=team_a, is_active=False).pk,
    }[who]()
    with pytest.raises(NotFound):
        services.session_create(actor=manager, rep_id=rep_id, focus_skill_id=skills[0].pk)
    assert_nothing_saved()


def test_no_session_with_oneself(manager, leader, skills):
    for actor in (manager, leader):
        with pytest.raises(PermissionDenied):
            create(actor, actor, skills)
    assert_nothing_saved()


def test_sessions_are_held_with_reps(leader, manager, skills):
    with pytest.raises(ValidationFailed) as exc:
        create(leader, manager, skills)
    assert "rep" in exc.value.details
    assert_nothing_saved()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"focus_skill_id": None}, "focus_skill"),
        ({"focus_skill_id": 10**9}, "focus_skill"),
        ({"focus_skill_id": "x"}, "focus_skill"),
        ({"second_focus_skill_id": 10**9}, "second_focus_skill"),
        ({"second_focus_skill_id": "same"}, "second_focus_skill"),
        ({"held_on": "tomorrow"}, "held_on"),
        ({"held_on": "future"}, "held_on"),
        ({"held_on": "ancient"}, "held_on"),
        ({"notes": "x" * (services.MAX_SESSION_NOTES + 1)}, "notes"),
        ({"practice_assignment": "x" * (services.MAX_PRACTICE + 1)}, "practice_assignment"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_saved(manager, rep, skills, overrides, field):
    values = {
        "same": skills[0].pk,
        "tomorrow": "31/12/2026",
        "future": days(1),
        "ancient": days(-services.MAX_SESSION_AGE_DAYS - 1),
    }
    data = {k: values.get(v, v) if isinstance(v, str) else v for k, v in overrides.items()}
    with pytest.raises(ValidationFailed) as exc:
        create(manager, rep, skills, **data)
    assert list(exc.value.details) == [field]
    assert_nothing_saved()


def test_an_inactive_skill_is_not_in_the_framework(manager, rep, skills):
    Skill.objects.filter(pk=skills[2].pk).update(is_active=False)
    with pytest.raises(ValidationFailed) as exc:
        create(manager, rep, skills, focus_skill_id=skills[2].pk)
    assert exc.value.details["focus_skill"] == ["Choose a skill of the skills framework."]
    assert_nothing_saved()


def test_a_year_back_is_still_fine(manager, rep, skills):
    session = create(manager, rep, skills, held_on=days(-services.MAX_SESSION_AGE_DAYS))
    assert CoachingSession.objects.get().held_on == session.held_on


def test_every_bad_action_item_is_reported_and_nothing_is_saved(manager, rep, teammate, skills):
    with pytest.raises(ValidationFailed) as exc:
        create(
            manager,
            rep,
            skills,
            action_items=[
                {"title": "Fine", "due_on": days(3)},
                {"title": "Late", "due_on": days(-1)},
                {"title": "Not theirs", "due_on": days(3), "owner": teammate.pk},
                {"title": "  ", "due_on": "soon", "colour": "red"},
                {"title": "Far", "due_on": days(services.MAX_ACTION_DAYS_AHEAD + 1)},
            ],
        )
    items = exc.value.details["action_items"]
    assert items[0] == {}
    assert list(items[1]) == ["due_on"]
    assert list(items[2]) == ["owner"]
    assert set(items[3]) == {"colour", "title", "due_on"}
    assert list(items[4]) == ["due_on"]
    assert_nothing_saved()


def test_fields_and_items_are_checked_together(manager, rep, skills):
    with pytest.raises(ValidationFailed) as exc:
        create(
            manager,
            rep,
            skills,
            focus_skill_id=10**9,
            action_items=[{"title": "", "due_on": days(1)}],
        )
    assert set(exc.value.details) == {"focus_skill", "action_items"}
    assert_nothing_saved()


@pytest.mark.parametrize("items", ["not a list", [{"title": "x", "due_on": days(1)}] * 11, ["x"]])
def test_malformed_action_items_are_refused(manager, rep, skills, items):
    with pytest.raises(ValidationFailed) as exc:
        create(manager, rep, skills, action_items=items)
    assert "action_items" in exc.value.details
    assert_nothing_saved()


@pytest.mark.parametrize(
    "item",
    [
        {"title": "", "due_on": 1},
        {"title": "x" * 301, "due_on": 1},
        {"title": "Ok", "due_on": -1},
        {"title": "Ok", "due_on": 367},
        {"title": "Ok", "due_on": "2026-02-30"},
        {"title": "Ok", "due_on": None},
        {"title": "Ok", "due_on": 1, "owner": "other"},
        {"title": "Ok", "due_on": 1, "owner": "abc"},
    ],
)
def test_item_checks_agree_with_action_item_add(manager, rep, other_rep, skills, item):
    """session_create checks items before saving with action_item_add's rules: both must
    refuse the same items on the same fields."""
    item = dict(item)
    if isinstance(item["due_on"], int):
        item["due_on"] = days(item["due_on"])
    if item.get("owner") == "other":
        item["owner"] = other_rep.pk
    with pytest.raises(ValidationFailed) as in_session:
        create(manager, rep, skills, action_items=[item])
    session = stored_session(rep, manager, skills[0])
    with pytest.raises(ValidationFailed) as added:
        services.action_item_add(
            actor=manager,
            parent=session,
            title=item["title"],
            due_on=item["due_on"],
            owner_id=item.get("owner"),
        )
    assert set(in_session.value.details["action_items"][0]) == set(added.value.details)
    assert ActionItem.objects.count() == 0


def test_the_same_session_twice_is_a_conflict(manager, rep, skills):
    create(manager, rep, skills)
    with pytest.raises(Conflict) as exc:
        create(manager, rep, skills, action_items=[{"title": "Dup", "due_on": days(1)}])
    assert "held_on" in exc.value.details
    assert CoachingSession.objects.count() == 1
    assert ActionItem.objects.count() == 0


# --- session_update ----------------------------------------------------------------------


@pytest.fixture
def session(manager, rep, skills):
    return stored_session(rep, manager, skills[0], days_ago=1, notes="First notes")


def test_the_manager_who_held_it_updates_it(manager, session, skills):
    before = services.session_version(session)
    services.session_update(
        actor=manager,
        session_id=session.pk,
        expected_version=before,
        notes="Better notes",
        practice_assignment="Practise the opener",
        second_focus_skill_id=skills[1].pk,
    )
    session.refresh_from_db()
    assert session.notes == "Better notes"
    assert session.practice_assignment == "Practise the opener"
    assert session.second_focus_skill == skills[1]
    assert services.session_version(session) != before
    event = AuditEvent.objects.get(action="coaching_session.updated")
    assert set(event.data["fields"]) == {"notes", "practice_assignment", "second_focus_skill"}
    # Removing the second focus skill.
    services.session_update(actor=manager, session_id=session.pk, second_focus_skill_id=None)
    session.refresh_from_db()
    assert session.second_focus_skill is None


def test_a_leader_updates_any_session(leader, session):
    services.session_update(actor=leader, session_id=session.pk, notes="Leader's note")
    session.refresh_from_db()
    assert session.notes == "Leader's note"


def test_nothing_changed_saves_nothing(manager, session):
    version = services.session_version(session)
    services.session_update(actor=manager, session_id=session.pk, notes="First notes")
    session.refresh_from_db()
    assert services.session_version(session) == version
    assert not AuditEvent.objects.filter(action="coaching_session.updated").exists()


@pytest.mark.parametrize(
    ("actor", "error"),
    [
        ("rep", PermissionDenied),
        ("teammate", NotFound),
        ("other_manager", NotFound),
    ],
)
def test_others_cannot_update(request, session, actor, error):
    with pytest.raises(error):
        services.session_update(
            actor=request.getfixturevalue(actor), session_id=session.pk, notes="Mine now"
        )
    session.refresh_from_db()
    assert session.notes == "First notes"
    assert not AuditEvent.objects.filter(action="coaching_session.updated").exists()


def test_another_manager_of_the_team_reads_but_does_not_change(session, team_a):
    # A second manager of the rep (a parent team's manager) sees the 1:1, held by
    # someone else.
    boss = UserFactory(role=Role.MANAGER)
    parent = team_a.__class__.objects.create(name="Region", manager=boss)
    team_a.parent = parent
    team_a.save(update_fields=["parent"])
    assert selectors.session_get_for(boss, session.pk) == session
    with pytest.raises(PermissionDenied):
        services.session_update(actor=boss, session_id=session.pk, notes="Mine now")
    session.refresh_from_db()
    assert session.notes == "First notes"


def test_a_stale_version_is_refused(manager, session):
    with pytest.raises(StaleVersion):
        services.session_update(
            actor=manager, session_id=session.pk, expected_version=1, notes="Overwrite"
        )
    session.refresh_from_db()
    assert session.notes == "First notes"


def test_update_refusals_change_nothing(manager, session, skills):
    Skill.objects.filter(pk=skills[3].pk).update(is_active=False)
    bad = [
        ({"focus_skill_id": 10**9}, "focus_skill"),
        ({"focus_skill_id": skills[3].pk}, "focus_skill"),
        ({"second_focus_skill_id": skills[0].pk}, "second_focus_skill"),
        ({"notes": "x" * (services.MAX_SESSION_NOTES + 1)}, "notes"),
        ({"held_on": days(-3)}, "held_on"),
        ({"rep_id": 1}, "rep_id"),
    ]
    for changes, field in bad:
        with pytest.raises(ValidationFailed) as exc:
            services.session_update(actor=manager, session_id=session.pk, **changes)
        assert field in exc.value.details, changes
    session.refresh_from_db()
    assert (session.focus_skill, session.second_focus_skill) == (skills[0], None)
    assert session.notes == "First notes"
    assert not AuditEvent.objects.filter(action="coaching_session.updated").exists()


def test_a_deactivated_focus_skill_may_be_kept(manager, session, skills):
    Skill.objects.filter(pk=skills[0].pk).update(is_active=False)
    services.session_update(
        actor=manager, session_id=session.pk, focus_skill_id=skills[0].pk, notes="Kept"
    )
    session.refresh_from_db()
    assert (session.focus_skill, session.notes) == (skills[0], "Kept")


# --- session_add_action_item ---------------------------------------------------------------


def test_manager_adds_an_action_item(manager, rep, session):
    item = services.session_add_action_item(
        actor=manager, session_id=session.pk, title="Call the CFO", due_on=days(2)
    )
    stored = ActionItem.objects.get()
    assert (stored.pk, stored.session_id, stored.owner, stored.due_on) == (
        item.pk, session.pk, rep, days(2),
    )  # fmt: skip
    assert Notification.objects.filter(recipient=rep, dedupe_key=f"action_item:{item.pk}").exists()


@pytest.mark.parametrize(
    ("actor", "error"), [("rep", PermissionDenied), ("other_manager", NotFound)]
)
def test_others_add_no_action_item(request, session, actor, error):
    with pytest.raises(error):
        services.session_add_action_item(
            actor=request.getfixturevalue(actor),
            session_id=session.pk,
            title="Mine",
            due_on=days(1),
        )
    assert ActionItem.objects.count() == 0


def test_a_bad_action_item_is_refused(manager, session):
    with pytest.raises(ValidationFailed) as exc:
        services.session_add_action_item(
            actor=manager, session_id=session.pk, title="", due_on=days(-1)
        )
    assert set(exc.value.details) == {"title", "due_on"}
    with pytest.raises(NotFound):
        services.session_add_action_item(
            actor=manager, session_id="nope", title="x", due_on=days(1)
        )
    assert ActionItem.objects.count() == 0
    assert Notification.objects.count() == 0


# --- selectors -----------------------------------------------------------------------------


def test_who_sees_which_sessions(rep, teammate, manager, other_rep, other_manager, leader, skills):
    mine = stored_session(rep, manager, skills[0], days_ago=3)
    theirs = stored_session(teammate, manager, skills[0], days_ago=2)
    other = stored_session(other_rep, other_manager, skills[0], days_ago=1)
    ids = lambda user, **f: [s.pk for s in selectors.sessions_for(user, f)]  # noqa: E731
    assert ids(rep) == [mine.pk]
    assert ids(teammate) == [theirs.pk]
    assert ids(manager) == [theirs.pk, mine.pk]
    assert ids(other_manager) == [other.pk]
    assert ids(leader) == [other.pk, theirs.pk, mine.pk]
    assert ids(leader, rep=rep.pk) == [mine.pk]
    assert ids(leader, manager=other_manager.pk) == [other.pk]
    assert ids(leader, team=rep.team_id) == [theirs.pk, mine.pk]
    assert ids(leader, held_after=days(-2), held_before=days(-2)) == [theirs.pk]
    with pytest.raises(Http404):
        selectors.session_get_for(teammate, mine.pk)
    with pytest.raises(Http404):
        selectors.session_get_for(other_manager, "x")
    assert selectors.session_get_for(rep, mine.pk) == mine


def test_open_items_are_counted(manager, rep, skills):
    session = stored_session(rep, manager, skills[0])
    stored_item(session)
    stored_item(session, done=True)
    assert selectors.sessions_for(manager).get().open_items == 1


def test_follow_ups_are_the_previous_sessions_open_items(manager, rep, teammate, skills):
    older = stored_session(rep, manager, skills[0], days_ago=20)
    stored_item(older, title="Ancient")
    previous = stored_session(rep, manager, skills[0], days_ago=10)
    open_item = stored_item(previous, title="Still open")
    stored_item(previous, title="Done already", done=True)
    stored_session(teammate, manager, skills[0], days_ago=1)  # another rep's

    found, items = selectors.follow_ups(manager, rep)
    assert found == previous and items == [open_item]
    current = stored_session(rep, manager, skills[1], days_ago=0)
    assert selectors.follow_ups(manager, rep, before=current) == (previous, [open_item])
    assert selectors.follow_ups(manager, rep, before=older) == (None, [])
    # The same day: the one recorded earlier comes before.
    same_day = stored_session(rep, manager, skills[2], days_ago=0)
    assert selectors.previous_session(manager, rep, before=same_day) == current
    # Nobody else's 1:1s leak through.
    assert selectors.follow_ups(teammate, rep) == (None, [])


def test_people_for_a_one_on_one(rep, teammate, manager, other_rep, other_manager, leader, team_a):
    UserFactory(role=Role.REP, team=team_a, is_active=False)
    assert set(selectors.one_on_one_people_for(manager)) == {rep, teammate}
    assert set(selectors.one_on_one_people_for(leader)) == {rep, teammate, other_rep}
    assert list(selectors.one_on_one_people_for(rep)) == []
    assert set(selectors.one_on_one_people_for(other_manager)) == {other_rep}


# --- the cadence ---------------------------------------------------------------------------


def test_a_recorded_session_clears_the_overdue_flag_after_commit(
    manager, rep, skills, django_capture_on_commit_callbacks
):
    flag = CoachingFlag.objects.create(
        kind=CoachingFlagKind.ONE_ON_ONE_OVERDUE,
        recipient=manager,
        rep=rep,
        explanation="1:1 with rep overdue",
        raised_at=timezone.now() - dt.timedelta(days=3),
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        create(manager, rep, skills)
        flag.refresh_from_db()
        assert flag.cleared_at is None  # not before the 1:1 is committed
    assert len(callbacks) == 1
    flag.refresh_from_db()
    assert flag.cleared_at is not None


def test_a_refused_session_queues_no_refresh(
    manager, rep, skills, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValidationFailed):
        create(manager, rep, skills, focus_skill_id=None)
    assert callbacks == []
