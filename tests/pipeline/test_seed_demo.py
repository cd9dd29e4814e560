"""seed_demo: a believable, consistent demo company, loaded once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Count, F

from pipeline.management.commands.seed_demo import DEMO_USERNAMES
from pipeline.models import (
    Activity,
    Milestone,
    MilestoneCompletion,
    MilestoneKind,
    Opportunity,
    OpportunityChange,
    OpportunityStatus,
    Pipeline,
    Stage,
)
from salesops.models import Role, Team, User
from tests.pipeline.helpers import flags_announced

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded():
    return run()


def test_people_roles_and_teams(seeded):
    users = {u.username: u for u in User.objects.select_related("team")}
    assert set(users) == set(DEMO_USERNAMES)
    assert users["leader"].role == Role.LEADER
    admin = users["admin"]
    assert (admin.role, admin.is_staff, admin.is_superuser) == (Role.ADMIN, True, True)
    teams = {t.name: t for t in Team.objects.select_related("manager")}
    assert set(teams) == {"Enterprise", "Mid-market"}
    assert teams["Enterprise"].manager == users["manager1"]
    assert teams["Mid-market"].manager == users["manager2"]
    for name in ("manager1", "manager2"):
        assert users[name].role == Role.MANAGER
    reps = [users[f"rep{i}"] for i in range(1, 9)]
    assert all(r.role == Role.REP for r in reps)
    assert [r.team.name for r in reps] == ["Enterprise"] * 4 + ["Mid-market"] * 4
    assert all(u.first_name and u.last_name for u in users.values())


def test_pipeline_stages_and_milestones(seeded):
    pipeline = Pipeline.objects.get(name="New business")
    stages = list(pipeline.stages.order_by("order"))
    assert [s.name for s in stages] == [
        "Discover",
        "Qualify",
        "Solution",
        "Proposal",
        "Negotiate",
        "Closed won",
        "Closed lost",
    ]
    assert [s.probability for s in stages] == [10, 20, 40, 60, 80, 100, 0]
    assert [s.forecast_category for s in stages] == [
        "pipeline",
        "pipeline",
        "pipeline",
        "best_case",
        "commit",
        "closed",
        "omitted",
    ]
    assert stages[5].is_won and stages[6].is_lost
    for stage in stages[:5]:
        assert len(stage.guidance) > 200
        assert stage.expected_days and stage.warn_days < stage.rot_days
        kinds = {m.kind for m in stage.milestones.all()}
        assert 2 <= stage.milestones.count() <= 4
        assert MilestoneKind.BUYER_COMMITMENT in kinds
    assert Milestone.objects.filter(kind=MilestoneKind.SELLER_ACTION).exists()
    assert (
        Milestone.objects.filter(
            kind=MilestoneKind.BUYER_COMMITMENT, requires_evidence=True
        ).count()
        >= 3
    )
    auto = Milestone.objects.get(auto_check="business_issue_mapped")
    assert auto.stage.name == "Solution"


def test_opportunity_counts_and_spread(seeded):
    assert User.objects.count() == 12
    opps = Opportunity.objects.all()
    assert opps.count() == 300
    by_status = dict(opps.values_list("status").annotate(n=Count("id")))
    assert by_status["open"] > 100 and by_status["won"] > 30 and by_status["lost"] > 30
    assert opps.values("owner").distinct().count() == 8
    assert opps.values("account").distinct().count() >= 35
    assert opps.filter(status="open").values("stage").distinct().count() == 5
    assert not opps.filter(status="lost", loss_reason="").exists()
    assert not opps.exclude(status="open").filter(closed_at__isnull=True).exists()
    assert not opps.filter(status="won").exclude(stage__is_won=True).exists()
    assert not opps.filter(status="lost").exclude(stage__is_lost=True).exists()


def test_open_opportunities_milestones_belong_to_their_pipeline_and_stages(seeded):
    completions = MilestoneCompletion.objects.filter(opportunity__status=OpportunityStatus.OPEN)
    assert completions.exists()
    assert not completions.exclude(milestone__stage__pipeline=F("opportunity__pipeline")).exists()
    # Nothing ticked in a stage the deal has not reached yet; no automatic milestone ticked.
    assert not completions.filter(
        milestone__stage__order__gt=F("opportunity__stage__order")
    ).exists()
    assert not MilestoneCompletion.objects.exclude(milestone__auto_check="").exists()
    evidence_missing = MilestoneCompletion.objects.filter(
        milestone__requires_evidence=True, evidence=""
    )
    assert not evidence_missing.exists()


def test_history_is_consistent(seeded):
    opp = Opportunity.objects.filter(status="won").first()
    stage_moves = opp.changes.filter(field="stage").order_by("changed_at", "id")
    assert stage_moves.first().note == "Created"
    assert stage_moves.last().new_value == str(opp.stage_id)
    assert stage_moves.last().changed_at == opp.stage_entered_at == opp.closed_at
    assert (
        OpportunityChange.objects.filter(changed_at__lt=F("opportunity__created_at")).count() == 0
    )
    # last_activity_at is the latest customer-facing activity.
    for opp in Opportunity.objects.filter(last_activity_at__isnull=False)[:20]:
        latest = (
            Activity.objects.filter(opportunity=opp, kind__in=["call", "meeting", "email"])
            .order_by("-occurred_at")
            .first()
        )
        assert latest.occurred_at == opp.last_activity_at
    # Everything that passed Solution has a business issue mapped to our value.
    passed = Opportunity.objects.filter(stage__order__gt=3, status__in=["open", "won"])
    assert not passed.exclude(business_issues__our_value__gt="").exists()


def test_second_run_changes_nothing(seeded):
    before = (
        User.objects.count(),
        Opportunity.objects.count(),
        OpportunityChange.objects.count(),
        Stage.objects.count(),
        Team.objects.count(),
    )
    out = run()
    assert "exists already" in out
    after = (
        User.objects.count(),
        Opportunity.objects.count(),
        OpportunityChange.objects.count(),
        Stage.objects.count(),
        Team.objects.count(),
    )
    assert before == after


def test_reset_reloads_the_same_company(seeded, settings):
    from forecasting.models import ForecastSubmission
    from forecasting.selectors import period_or_current
    from forecasting.services import forecast_submit, pipeline_snapshot_take

    settings.DEBUG = True
    names = sorted(Opportunity.objects.values_list("name", flat=True))
    # Forecast calls can never be deleted one by one (a trigger refuses): reset still works.
    forecast_submit(
        actor=User.objects.get(username="rep1"),
        period=period_or_current(None).label,
        commit="10000",
        best_case="20000",
    )
    pipeline_snapshot_take()
    run("--reset")
    assert not ForecastSubmission.objects.exists()
    assert User.objects.count() == 12 and Pipeline.objects.count() == 1
    assert sorted(Opportunity.objects.values_list("name", flat=True)) == names


def test_reset_refused_without_debug(seeded, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        run("--reset")
    assert Opportunity.objects.count() == 300


def test_demo_logins_work_only_with_debug(seeded, settings):
    settings.DEMO_PASSWORD_ALLOWED = True
    for username in DEMO_USERNAMES:
        assert authenticate(username=username, password="demo") is not None, username
    settings.DEMO_PASSWORD_ALLOWED = False
    for username in ("leader", "admin", "rep1"):
        assert authenticate(username=username, password="demo") is None


def test_qualification_framework_history_and_automatic_milestones(seeded):
    from pipeline import services
    from pipeline.models import MilestoneElementLevel, Qualification, QualificationScore

    pipeline = Pipeline.objects.get(name="New business")
    assert pipeline.framework.name == "MEDDICC"
    gates = Milestone.objects.filter(stage__pipeline=pipeline, auto_check="qualification")
    assert gates.count() == 2
    assert MilestoneElementLevel.objects.filter(milestone__in=gates).count() == 5
    assert Qualification.objects.count() > 200
    # every score of 2 or 3 carries its evidence and source (the DB constraint holds too)
    assert not QualificationScore.objects.filter(score__gte=2, evidence="").exists()
    # some open deals are validly qualified, some need re-qualification
    open_deals = list(Opportunity.objects.filter(status="open").select_related("stage"))
    valid = sum(services.latest_valid_qualification(o) is not None for o in open_deals)
    assert 0 < valid < len(open_deals)


def test_demo_deals_have_their_attention_flags_at_once(seeded):
    from pipeline.models import OpportunityFlag
    from salesops.models import Notification

    open_flags = OpportunityFlag.objects.filter(cleared_at__isnull=True)
    assert open_flags.exists()
    assert not open_flags.exclude(opportunity__status="open").exists()
    # One notification per owner, announcing each raised flag once.
    notes = list(Notification.objects.filter(dedupe_key__startswith="flags:"))
    owners = set(open_flags.values_list("opportunity__owner", flat=True))
    assert len(notes) == len(owners)
    assert flags_announced(notes) == open_flags.count()


def test_demo_proposals_went_through_the_real_workflow(seeded):
    from proposals.models import Proposal, ProposalReview

    statuses = sorted(Proposal.objects.values_list("status", flat=True))
    assert statuses == ["draft", "in_review", "sent"]
    sent = Proposal.objects.get(status="sent")
    review = ProposalReview.objects.get(proposal=sent)
    assert review.decision == "approved" and review.reviewer == sent.opportunity.owner.team.manager
    # Every demo summary passes its checks (the submitted ones had to).
    from proposals.services import summary_checks

    for proposal in Proposal.objects.select_related("opportunity__account"):
        checks = summary_checks(opportunity=proposal.opportunity, text=proposal.executive_summary)
        assert all(c.passed for c in checks), [c.message for c in checks if not c.passed]


def test_demo_coaching_went_through_the_real_services(seeded):
    from coaching.models import (
        ActionItem,
        CoachingFlag,
        CoachingSession,
        OpportunityReview,
        SkillAssessment,
    )

    # Two rounds of assessments per rep and skill, so the matrix shows trends.
    assert SkillAssessment.objects.count() == 8 * 4 * 2
    assert CoachingSession.objects.values("rep").distinct().count() == 8
    # Each manager has one completed review with its coaching point and one in progress.
    reviews = OpportunityReview.objects.order_by("manager_id", "status")
    assert sorted(r.status for r in reviews) == ["completed", "completed", "open", "open"]
    for review in reviews.filter(status="completed"):
        assert review.coaching_points.count() == 1 and review.action_items.count() == 1
        assert review.manager == review.rep.team.manager
    for review in reviews.filter(status="open"):
        assert review.agenda_items.exists()  # generated from the deal's gaps
    # Cadence flags are raised at once: the overdue 1:1s go to the managers.
    overdue = CoachingFlag.objects.filter(kind="one_on_one_overdue", cleared_at__isnull=True)
    assert {f.rep.username for f in overdue} == {"rep2", "rep4", "rep6", "rep8"}
    assert all(f.recipient == f.rep.team.manager for f in overdue)
    assert ActionItem.objects.filter(done_at__isnull=False).exists()
