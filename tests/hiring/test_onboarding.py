"""Onboarding: the plan a hire starts (tasks due at their offsets, the weakest selling
skills as the first 1:1s' focus), who ticks and who signs off, and what is overdue."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from hiring import selectors, services
from hiring.models import Candidate, OnboardingPlan, OnboardingTask
from salesops.exceptions import Conflict, NotFound, PermissionDenied
from tests.hiring.conftest import schedule


def test_a_hire_starts_the_default_plan_with_the_weakest_selling_skills_first(hired):
    plan = OnboardingPlan.objects.get(rep=hired)
    tasks = list(plan.tasks.all())
    assert len(tasks) == 9 and tasks[0].due_on == dt.date(2027, 1, 7)  # day 3
    assert tasks[-1].due_on == dt.date(2027, 4, 4)  # day 90
    assert any("executive-summary standard" in t.title for t in tasks)
    assert any(t.kind == "shadow" and t.manager_signs_off for t in tasks)
    # Value articulation (mean 2.5) is weaker than discovery (4.5): it comes first.
    assert [s.name for s in plan.focus_skills.order_by()] in (
        ["Business value articulation", "Discovery"], ["Discovery", "Business value articulation"],
    )  # fmt: skip
    assert services.weakest_selling_skills(hired.hired_as)[0].name == "Business value articulation"


def test_the_hire_ticks_their_tasks_and_the_manager_signs_off(hired, manager, rep, leader):
    own = OnboardingTask.objects.filter(plan__rep=hired, manager_signs_off=False).first()
    witnessed = OnboardingTask.objects.filter(plan__rep=hired, manager_signs_off=True).first()
    with pytest.raises(PermissionDenied):
        services.onboarding_task_done(actor=manager, task_id=own.pk)
    with pytest.raises(PermissionDenied):
        services.onboarding_task_done(actor=hired, task_id=witnessed.pk)
    with pytest.raises(NotFound):  # a colleague does not see it at all
        services.onboarding_task_done(actor=rep, task_id=own.pk)
    assert not OnboardingTask.objects.filter(done_at__isnull=False).exists()
    services.onboarding_task_done(actor=hired, task_id=own.pk)
    services.onboarding_task_done(actor=manager, task_id=witnessed.pk)
    done = OnboardingTask.objects.filter(done_at__isnull=False)
    assert {(t.pk, t.done_by_id) for t in done} == {(own.pk, hired.pk), (witnessed.pk, manager.pk)}
    with pytest.raises(Conflict):
        services.onboarding_task_done(actor=hired, task_id=own.pk)
    assert selectors.onboarding_for(leader, hired.pk).done == 2


def test_overdue_tasks_are_those_past_due_and_not_done(hired, manager):
    with time_machine.travel(dt.datetime(2027, 1, 20, 12, tzinfo=dt.UTC), tick=False):
        found = selectors.onboarding_for(manager, hired.pk)
        # Due on days 3, 5, 10 and 15 (Jan 7, 9, 14, 19): four overdue on the 20th.
        assert [t.due_on.day for t in found.overdue] == [7, 9, 14, 19]
        services.onboarding_task_done(actor=hired, task_id=found.overdue[0].pk)
        assert len(selectors.onboarding_for(hired, hired.pk).overdue) == 3


def test_the_plan_page_for_the_hire_and_their_manager_only(client, hired, manager, rep):
    client.force_login(hired)
    page = client.get(f"/hiring/onboarding/{hired.pk}/")
    assert page.status_code == 200 and b'data-testid="focus-skills"' in page.content
    assert b"Your onboarding" in page.content
    client.force_login(rep)
    assert client.get(f"/hiring/onboarding/{hired.pk}/").status_code == 404
    client.force_login(manager)
    assert b"Sign off" in client.get(f"/hiring/onboarding/{hired.pk}/").content


def test_ramp_counts_days_to_each_first_from_real_activity(hired, manager, leader, rep, pipeline):
    import datetime as dt
    from decimal import Decimal

    from hiring.selectors import ramp_for
    from pipeline.models import Qualification
    from tests.factories import OpportunityFactory, QualificationFrameworkFactory

    start = dt.datetime(2027, 1, 4, 9, tzinfo=dt.UTC)
    # A deal handed over before they started (created and won then) is not their ramp.
    OpportunityFactory(
        owner=hired, pipeline=pipeline, status="won", created_at=start - dt.timedelta(days=40),
        closed_at=start - dt.timedelta(hours=11),  # 3 January, 23:00 in Berlin
    )  # fmt: skip
    first = OpportunityFactory(
        owner=hired, pipeline=pipeline, created_at=start + dt.timedelta(days=6)
    )
    OpportunityFactory(
        owner=hired, pipeline=pipeline, status="won", created_at=start + dt.timedelta(days=8),
        closed_at=start + dt.timedelta(days=70),
    )  # fmt: skip
    framework = QualificationFrameworkFactory()
    for pct, day in ((Decimal("45"), 9), (Decimal("72.5"), 21)):
        Qualification.objects.create(
            opportunity=first, framework=framework, score_pct=pct, assessed_by=hired,
            assessed_at=start + dt.timedelta(days=day),
        )  # fmt: skip
    rows, cohorts = ramp_for(manager)
    (row,) = rows
    assert row.days == {"opportunity": 6, "qualified": 21, "proposal": None, "won": 70}
    assert cohorts[0].label == "2027-Q1" and cohorts[0].median_days["won"] == 70
    assert cohorts[0].reached == {"opportunity": 1, "qualified": 1, "proposal": 0, "won": 1}
    assert ramp_for(leader)[0] == rows
    assert ramp_for(rep) == ([], [])  # a rep sees nobody's ramp (the page refuses them)


def test_quality_of_hire_correlates_ratings_with_later_attainment(
    recruiter, position, manager, leader, pipeline, template
):
    """Five hires from 5 January 2026, rated 1…5 on Discovery; their attainment over
    February to the last complete quarter rises with the rating (rho = 1). Coachability
    was rated for three of them only: not enough data."""
    import datetime as dt
    from decimal import Decimal

    from forecasting.models import Quota
    from hiring.selectors import quality_of_hire
    from tests.factories import OpportunityFactory

    attributes = {a.name: a for a in template.attributes.all()}
    for n in range(5):
        candidate = services.candidate_create(
            actor=recruiter, position_id=position.pk, name=f"Hire {n}", email=f"h{n}@example.com"
        )
        focus = ["Discovery"] + (["Coachability"] if n < 3 else [])
        interview = schedule(recruiter, candidate, manager, *focus)
        services.scorecard_save(
            actor=manager, interview_id=interview.pk, recommendation=4,
            ratings={attributes[name].pk: {"rating": n + 1 if name == "Discovery" else 3,
                                           "evidence": "Seen"} for name in focus},
        )  # fmt: skip
        services.scorecard_submit(actor=manager, interview_id=interview.pk)
        services.candidate_move(actor=manager, candidate_id=candidate.pk, stage="offer")
        services.candidate_hire(
            actor=manager, candidate_id=candidate.pk, started_on="2026-01-05", reason="Yes"
        )
        person = Candidate.objects.get(pk=candidate.pk).hired_user
        for quarter in (dt.date(2026, 4, 1), dt.date(2026, 7, 1)):
            Quota.objects.create(
                period_kind="quarter", period_start=quarter, rep=person,
                amount=Decimal("100000"), currency="EUR",
            )  # fmt: skip
        OpportunityFactory(
            owner=person, pipeline=pipeline, status="won", amount=Decimal(20000 * (n + 1)),
            currency="EUR", closed_at=dt.datetime(2026, 5, 15, 12, tzinfo=dt.UTC),
        )  # fmt: skip
    found = {q.name: q for q in quality_of_hire(leader)}
    assert found["Discovery"].hires == 5 and found["Discovery"].correlation == pytest.approx(1.0)
    assert found["Coachability"].hires == 3 and not found["Coachability"].enough_data
    assert next(iter(found)) == "Discovery"  # the clear ones first


def test_the_ramp_page_for_a_manager_with_hires(client, hired, manager, rep):
    client.force_login(manager)
    page = client.get("/hiring/ramp/")
    assert page.status_code == 200 and hired.get_full_name().encode() in page.content
    assert b'data-testid="quality-of-hire"' in page.content
    client.force_login(rep)
    assert client.get("/hiring/ramp/").status_code == 403
