"""A small coaching world for the coverage tests (selectors, pages, API): team A (manager;
rep overdue, teammate coached) with a sub-team (sub_manager; sub_rep overdue) and team B
(other_manager; other_rep), with 1:1s, reviews and action items inside and outside the
30-day window. `many_managers` adds teams with a manager and reps for the query counts."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from django.utils import timezone

from coaching.models import ActionItem, CoachingSession, OpportunityReview, ReviewStatus
from salesops.models import Role
from tests.coaching.conftest import ensure_skills
from tests.factories import OpportunityFactory, TeamFactory, UserFactory


def today() -> dt.date:
    return timezone.localdate()


def days_ago(n: int) -> dt.date:
    return today() - dt.timedelta(days=n)


def moment(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def review(rep, manager, *, completed_days_ago: int | None) -> OpportunityReview:
    done = completed_days_ago is not None
    return OpportunityReview.objects.create(
        opportunity=OpportunityFactory(owner=rep),
        rep=rep,
        manager=manager,
        status=ReviewStatus.COMPLETED if done else ReviewStatus.OPEN,
        started_at=moment(days_ago(completed_days_ago + 1 if done else 1)),
        completed_at=moment(days_ago(completed_days_ago)) if done else None,
    )


def item(session, *, due_days_ago: int, done_days_ago: int | None, title: str = "Follow up"):
    return ActionItem.objects.create(
        session=session,
        owner=session.rep,
        title=title,
        due_on=days_ago(due_days_ago),
        done_at=None if done_days_ago is None else moment(days_ago(done_days_ago)),
        created_by=session.manager,
    )


def build(rep, teammate, manager, other_rep, other_manager, team_a) -> SimpleNamespace:
    skill = ensure_skills()[0]
    rep.started_on = days_ago(40)  # never met: due on day 7, overdue
    rep.save(update_fields=["started_on"])
    teammate.started_on = days_ago(200)
    teammate.save(update_fields=["started_on"])
    session = CoachingSession.objects.create(
        manager=manager, rep=teammate, held_on=days_ago(3), focus_skill=skill
    )
    CoachingSession.objects.create(  # outside 30 days, inside 90
        manager=manager, rep=teammate, held_on=days_ago(50), focus_skill=skill
    )
    item(session, due_days_ago=5, done_days_ago=6, title="On time")
    item(session, due_days_ago=2, done_days_ago=0, title="Late")
    item(session, due_days_ago=3, done_days_ago=None, title="Still open")
    item(session, due_days_ago=-1, done_days_ago=None, title="Not due yet")
    item(session, due_days_ago=45, done_days_ago=45, title="On time, long ago")
    review(teammate, manager, completed_days_ago=4)
    review(rep, manager, completed_days_ago=40)
    review(rep, manager, completed_days_ago=None)
    sub = TeamFactory(name="Team A · North", parent=team_a)
    sub_manager = UserFactory(username="sub_manager", role=Role.MANAGER, team=sub)
    sub.manager = sub_manager
    sub.save(update_fields=["manager"])
    sub_rep = UserFactory(username="sub_rep", role=Role.REP, team=sub, started_on=days_ago(30))
    other_rep.started_on = days_ago(5)  # due in 2 days: coached
    other_rep.save(update_fields=["started_on"])
    return SimpleNamespace(
        sub=sub, sub_manager=sub_manager, sub_rep=sub_rep, session=session, skill=skill
    )


def many_managers(n: int, *, reps_each: int = 3) -> None:
    """`n` more teams, each with a manager, reps, a 1:1, an action item and a review."""
    skill = ensure_skills()[0]
    for _ in range(n):
        team = TeamFactory()
        boss = UserFactory(role=Role.MANAGER, team=team)
        team.manager = boss
        team.save(update_fields=["manager"])
        reps = [
            UserFactory(role=Role.REP, team=team, started_on=days_ago(10 * (j + 1)))
            for j in range(reps_each)
        ]
        session = CoachingSession.objects.create(
            manager=boss, rep=reps[0], held_on=days_ago(2), focus_skill=skill
        )
        item(session, due_days_ago=1, done_days_ago=1)
        review(reps[0], boss, completed_days_ago=1)
