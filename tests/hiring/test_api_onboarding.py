"""/api/v1/hiring/ onboarding plans, their tasks and the ramp: the same rules as the pages
(who sees a plan, who ticks and who signs off a task, reps kept off the ramp), refusals
that change nothing, and list query counts that do not grow with the plans.

The clock: Tuesday 19 January 2027, 23:30 UTC — already Wednesday the 20th in the
organisation's time zone (Europe/Berlin), where "overdue" is counted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from coaching.models import Skill
from forecasting.models import Quota
from hiring import services
from hiring.models import Candidate, OnboardingPlan, OnboardingTask
from salesops.models import AuditEvent, User
from tests.factories import OpportunityFactory
from tests.hiring.conftest import fill, schedule

NOW = dt.datetime(2027, 1, 19, 23, 30, tzinfo=dt.UTC)
pytestmark = pytest.mark.time_machine(NOW, tick=False)

START = dt.date(2027, 1, 4)  # a Monday
ORG_TODAY = dt.date(2027, 1, 20)
PLANS = "/api/v1/hiring/onboarding-plans/"
RAMP = "/api/v1/hiring/ramp/"


def _hire(manager: User, candidate: Candidate, started_on: dt.date = START) -> User:
    services.candidate_move(actor=manager, candidate_id=candidate.pk, stage="offer")
    services.candidate_hire(
        actor=manager, candidate_id=candidate.pk, started_on=started_on.isoformat(), reason="Yes"
    )
    return Candidate.objects.get(pk=candidate.pk).hired_user


@pytest.fixture
def hired(candidate, recruiter, manager, interviewer_a, template, admin_user) -> User:
    """Dana, hired into team A (the manager's) from 4 January 2027, rated on Discovery —
    a selling skill, so it is her first 1:1s' focus."""
    discovery = template.attributes.get(name="Discovery")
    services.template_attribute_update(
        actor=admin_user, attribute_id=discovery.pk, skill=Skill.objects.get(name="Discovery").pk
    )
    interview = schedule(recruiter, candidate, interviewer_a, "Discovery")
    fill(interviewer_a, interview, 2)
    services.scorecard_submit(actor=interviewer_a, interview_id=interview.pk)
    return _hire(manager, candidate)


@pytest.fixture
def other_plan(other_rep) -> OnboardingPlan:
    """Team B's new hire (another manager's), started a week later."""
    return services.onboarding_start(rep=other_rep, started_on=START + dt.timedelta(days=7))


def _tasks(rep: User) -> list[tuple[int, dt.datetime | None, int | None]]:
    return list(
        OnboardingTask.objects.filter(plan__rep=rep)
        .order_by("pk")
        .values_list("pk", "done_at", "done_by_id")
    )


# --- who sees which plan ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("hired", ["hired"]),
        ("rep", []),  # a colleague in the same team
        ("other_rep", ["other_rep"]),
        ("manager", ["hired"]),
        ("other_manager", ["other_rep"]),
        ("leader", ["other_rep", "hired"]),  # the latest start first
        ("admin_user", ["other_rep", "hired"]),
    ],
)
def test_who_sees_which_plan(request, key_for, hired, other_plan, who, sees):
    people = {name: request.getfixturevalue(name) for name in {who, "hired", "other_rep"}}
    client = key_for(people[who])
    listed = client.get(PLANS)
    assert listed.status_code == 200
    assert [row["rep"] for row in listed.json()["results"]] == [people[s].pk for s in sees]
    for name in ("hired", "other_rep"):
        detail = client.get(f"{PLANS}{people[name].pk}/")
        assert detail.status_code == (200 if name in sees else 404), name


def test_a_plan_in_the_list(key_for, hired, manager):
    plan = OnboardingPlan.objects.get(rep=hired)
    (row,) = key_for(manager).get(PLANS).json()["results"]
    discovery = Skill.objects.get(name="Discovery")
    assert row == {
        "rep": hired.pk,
        "rep_name": "Dana Fischer",
        "started_on": "2027-01-04",
        "template_name": plan.template.name,
        "focus_skills": [{"id": discovery.pk, "name": "Discovery"}],
        "tasks_total": plan.tasks.count(),
        "tasks_done": 0,
        # Due on days 3, 5, 10 and 15 (7, 9, 14 and 19 January): four before the
        # organisation's 20th (only three before UTC's 19th).
        "tasks_overdue": 4,
    }
    assert plan.tasks.filter(due_on__lt=ORG_TODAY).count() == 4


def test_the_list_is_filtered_by_rep_and_paginated(key_for, hired, other_plan, leader, manager):
    client = key_for(leader)
    only = client.get(PLANS, {"rep": hired.pk}).json()
    assert only["count"] == 1 and only["results"][0]["rep"] == hired.pk
    page = client.get(PLANS, {"page_size": 1, "page": 2}).json()
    assert page["count"] == 2 and [r["rep"] for r in page["results"]] == [hired.pk]
    # Another team's new hire is simply not among the manager's plans.
    assert key_for(manager).get(PLANS, {"rep": other_plan.rep_id}).json()["count"] == 0
    for bad in ("abc", "0", "1.5"):
        refused = client.get(PLANS, {"rep": bad})
        assert refused.status_code == 400 and "rep" in refused.json()["details"], bad


def test_a_plan_with_its_tasks(key_for, hired, manager):
    plan = OnboardingPlan.objects.get(rep=hired)
    body = key_for(manager).get(f"{PLANS}{hired.pk}/").json()
    assert body["rep"] == hired.pk and body["tasks_overdue"] == 4
    tasks = list(plan.tasks.order_by("due_on", "id"))
    assert [t["id"] for t in body["tasks"]] == [t.pk for t in tasks]
    first = body["tasks"][0]
    assert first == {
        "id": tasks[0].pk,
        "kind": tasks[0].kind,
        "title": tasks[0].title,
        "description": tasks[0].description,
        "due_on": "2027-01-07",
        "manager_signs_off": tasks[0].manager_signs_off,
        "done_at": None,
        "done_by": None,
        "overdue": True,
    }
    assert [t["overdue"] for t in body["tasks"]] == [t.due_on < ORG_TODAY for t in tasks]
    assert any(t["manager_signs_off"] for t in body["tasks"])


@pytest.mark.parametrize("who", ["rep", "other_rep", "other_manager"])
def test_a_plan_one_may_not_see_is_a_404(request, key_for, hired, who):
    response = key_for(request.getfixturevalue(who)).get(f"{PLANS}{hired.pk}/")
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message", "details"}
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("rep_id", ["999999999", "abc", "¹", "0", str(2**63)])
def test_no_such_plan_is_a_404(key_for, hired, leader, rep_id):
    response = key_for(leader).get(f"{PLANS}{rep_id}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_someone_without_a_plan_has_none_to_show(key_for, hired, manager):
    assert key_for(manager).get(f"{PLANS}{manager.pk}/").status_code == 404


# --- ticking and signing off ----------------------------------------------------------------


def _done(client, task: OnboardingTask):
    return client.post(f"/api/v1/hiring/onboarding-tasks/{task.pk}/done/")


def test_the_new_hire_ticks_their_own_task(key_for, hired, manager):
    task = OnboardingTask.objects.filter(plan__rep=hired, manager_signs_off=False).first()
    assert task.due_on < ORG_TODAY  # overdue until now
    response = _done(key_for(hired), task)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == task.pk and body["done_by"] == hired.pk and body["overdue"] is False
    assert dt.datetime.fromisoformat(body["done_at"]) == NOW
    task.refresh_from_db()
    assert (task.done_at, task.done_by_id) == (NOW, hired.pk)
    assert AuditEvent.objects.filter(
        action="hiring.onboarding_task_done", target_id=task.pk, actor=hired
    ).exists()
    plan = key_for(manager).get(f"{PLANS}{hired.pk}/").json()
    assert (plan["tasks_done"], plan["tasks_overdue"]) == (1, 3)
    assert next(t for t in plan["tasks"] if t["id"] == task.pk)["done_by"] == hired.pk


def test_the_manager_signs_off(key_for, hired, manager):
    task = OnboardingTask.objects.filter(plan__rep=hired, manager_signs_off=True).first()
    response = _done(key_for(manager), task)
    assert response.status_code == 200 and response.json()["done_by"] == manager.pk
    task.refresh_from_db()
    assert (task.done_at, task.done_by_id) == (NOW, manager.pk)
    others = OnboardingTask.objects.filter(plan__rep=hired).exclude(pk=task.pk)
    assert not others.filter(done_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("signs_off", "who", "status", "code"),
    [
        (False, "manager", 403, "permission_denied"),  # the new hire ticks their own
        (False, "leader", 403, "permission_denied"),
        (False, "rep", 404, "not_found"),  # a colleague does not see it at all
        (False, "other_manager", 404, "not_found"),
        (True, "hired", 403, "permission_denied"),  # their manager signs this off
        (True, "leader", 403, "permission_denied"),
        (True, "other_rep", 404, "not_found"),
    ],
)
def test_refusals_change_nothing(request, key_for, hired, signs_off, who, status, code):
    actor = hired if who == "hired" else request.getfixturevalue(who)
    task = OnboardingTask.objects.filter(plan__rep=hired, manager_signs_off=signs_off).first()
    client = key_for(actor)
    before, audits = _tasks(hired), AuditEvent.objects.count()
    response = _done(client, task)
    assert response.status_code == status and response.json()["code"] == code
    assert _tasks(hired) == before and AuditEvent.objects.count() == audits


def test_a_read_only_key_ticks_nothing(key_for, hired):
    task = OnboardingTask.objects.filter(plan__rep=hired, manager_signs_off=False).first()
    before = _tasks(hired)
    assert _done(key_for(hired, scopes=("read",)), task).status_code == 403
    assert _tasks(hired) == before


def test_a_task_is_done_once(key_for, hired):
    task = OnboardingTask.objects.filter(plan__rep=hired, manager_signs_off=False).first()
    client = key_for(hired)
    assert _done(client, task).status_code == 200
    after_first = _tasks(hired)
    again = _done(client, task)
    assert again.status_code == 409 and again.json()["code"] == "task_done"
    assert _tasks(hired) == after_first
    assert AuditEvent.objects.filter(action="hiring.onboarding_task_done").count() == 1


@pytest.mark.parametrize("task_id", ["999999999", "abc", "¹"])
def test_no_such_task_is_a_404(key_for, hired, admin_user, task_id):
    before = _tasks(hired)
    response = key_for(admin_user).post(f"/api/v1/hiring/onboarding-tasks/{task_id}/done/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert _tasks(hired) == before


# --- ramp -------------------------------------------------------------------------------------


def test_the_ramp_from_real_activity(key_for, hired, manager, other_manager, leader, pipeline):
    OpportunityFactory(
        owner=hired, pipeline=pipeline, created_at=dt.datetime(2027, 1, 10, 9, tzinfo=dt.UTC)
    )
    body = key_for(manager).get(RAMP).json()
    assert list(body["milestones"]) == ["opportunity", "qualified", "proposal", "won"]
    assert body["milestones"]["won"] == "First win"
    (row,) = body["rows"]
    assert row == {
        "rep": hired.pk,
        "rep_name": "Dana Fischer",
        "started_on": "2027-01-04",
        "cohort": "2027-Q1",
        "days": {"opportunity": 6, "qualified": None, "proposal": None, "won": None},
    }
    assert body["cohorts"] == [
        {
            "label": "2027-Q1",
            "count": 1,
            "median_days": {"opportunity": 6.0, "qualified": None, "proposal": None, "won": None},
            "reached": {"opportunity": 1, "qualified": 0, "proposal": 0, "won": 0},
        }
    ]
    # Discovery was rated, but Dana has no two quarters of results yet: no attribute.
    assert body["quality"] == [] and body["min_hires"] == 5
    assert key_for(other_manager).get(RAMP).json()["rows"] == []
    assert [r["rep"] for r in key_for(leader).get(RAMP).json()["rows"]] == [hired.pk]


@pytest.mark.parametrize("who", ["hired", "rep"])
def test_reps_get_no_ramp(request, key_for, hired, who):
    response = key_for(request.getfixturevalue(who)).get(RAMP)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.time_machine(dt.datetime(2027, 10, 20, 12, tzinfo=dt.UTC), tick=False)
def test_quality_of_hire_on_the_ramp(key_for, position, recruiter, manager, leader):
    """A hire from January 2027 has results from February to September by 20 October (two
    quarters of quota): Discovery, rated at interview, is listed — one hire is not enough
    data for a correlation."""
    candidate = services.candidate_create(
        actor=recruiter, position_id=position.pk, name="Kim Lee", email="kim@example.com"
    )
    interview = schedule(recruiter, candidate, manager, "Discovery")
    fill(manager, interview, 4)
    services.scorecard_submit(actor=manager, interview_id=interview.pk)
    person = _hire(manager, candidate)
    for quarter in (dt.date(2027, 4, 1), dt.date(2027, 7, 1)):
        Quota.objects.create(
            period_kind="quarter", period_start=quarter, rep=person,
            amount=Decimal("100000"), currency="EUR",
        )  # fmt: skip
    body = key_for(leader).get(RAMP).json()
    assert [r["rep"] for r in body["rows"]] == [person.pk]
    assert body["quality"] == [
        {"name": "Discovery", "category": "selling_skill", "count": 1, "rho": None,
         "enough_data": False},
    ]  # fmt: skip


# --- query counts ---------------------------------------------------------------------------


def _more_hires(manager, recruiter, position, n: int) -> None:
    for i in range(n):
        candidate = services.candidate_create(
            actor=recruiter, position_id=position.pk, name=f"Hire {i}", email=f"h{i}@example.com"
        )
        person = _hire(manager, candidate, START + dt.timedelta(days=7 * i))
        OnboardingPlan.objects.get(rep=person).focus_skills.set(Skill.objects.order_by("pk")[:2])


# The key (its last use is written once, by the first request); the manager's teams; the
# count and the page; the page's focus skills and tasks.
PLAN_LIST_QUERIES = 6


def test_plan_list_queries_do_not_grow(
    key_for, hired, manager, recruiter, position, django_assert_num_queries
):
    client = key_for(manager)
    client.get(PLANS)
    with django_assert_num_queries(PLAN_LIST_QUERIES):
        assert client.get(PLANS).json()["count"] == 1
    _more_hires(manager, recruiter, position, 4)
    with django_assert_num_queries(PLAN_LIST_QUERIES):
        body = client.get(PLANS).json()
    assert body["count"] == 5
    assert all(len(r["focus_skills"]) == 2 for r in body["results"] if r["rep"] != hired.pk)


# The key; the manager's teams and their plans; the firsts (deals, qualifications, wins,
# approved proposals); quality of hire: the manager's teams and their hires, then quotas and
# wins per start month with two quarters of results (here one: February 2027).
RAMP_QUERIES = 11


@pytest.mark.time_machine(dt.datetime(2027, 10, 20, 12, tzinfo=dt.UTC), tick=False)
def test_ramp_queries_do_not_grow(
    key_for, hired, manager, recruiter, position, pipeline, django_assert_num_queries
):
    client = key_for(manager)
    OpportunityFactory(owner=hired, pipeline=pipeline)
    client.get(RAMP)
    with django_assert_num_queries(RAMP_QUERIES):
        assert len(client.get(RAMP).json()["rows"]) == 1
    _more_hires(manager, recruiter, position, 4)
    for person in User.objects.filter(hired_as__isnull=False):
        OpportunityFactory(owner=person, pipeline=pipeline)
    with django_assert_num_queries(RAMP_QUERIES):
        assert len(client.get(RAMP).json()["rows"]) == 5
