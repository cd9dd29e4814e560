"""seed_demo: a believable, consistent demo company, loaded once."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from io import StringIO
from statistics import mean, median

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, F, Min, Sum
from django.utils import timezone

from demo.company.cast import DEMO_USERNAMES, MUTUAL_ACTION_PLAN, TOP_PERFORMERS
from pipeline.models import (
    Activity,
    Milestone,
    MilestoneCompletion,
    MilestoneKind,
    Opportunity,
    OpportunityChange,
    OpportunityStatus,
    Pipeline,
    Qualification,
    Stage,
    StageRuleChange,
)
from salesops.models import Role, Team, User
from tests.clock import default_clock
from tests.pipeline.helpers import flags_announced

# The demo is built around "now" (this quarter, the past four, last week's meeting): the
# module runs on one frozen moment, the run's default clock (moved in CI's second run).
SEEDED_AT = default_clock()
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(SEEDED_AT, tick=False)]


def run(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def _seeded_once(django_db_setup, django_db_blocker):
    """The demo is seeded ONCE for the module (it takes seconds), in a transaction rolled
    back when the module is done; every test runs in a savepoint of its own (pytest-django's
    `db`), so what a test writes — even a `--reset` — is undone before the next one."""
    with (
        time_machine.travel(SEEDED_AT, tick=False),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        yield run()
        transaction.set_rollback(True)


@pytest.fixture
def seeded(db, _seeded_once):
    return _seeded_once


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
        assert 2 <= stage.milestones.count() <= 5
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
    # The demo's own optional milestone, last in Qualify: the top performers' habit.
    plan = Milestone.objects.get(title=MUTUAL_ACTION_PLAN.title)
    assert (plan.stage.name, plan.kind, plan.required) == ("Qualify", "buyer_commitment", False)
    assert plan.order == plan.stage.milestones.count()


def test_opportunity_counts_and_spread(seeded):
    assert User.objects.count() == 12
    opps = Opportunity.objects.all()
    # 300 deals, plus the forecasting history's deals of past quarters (with two or three
    # lost for each one won) and a few late ones.
    assert 300 < opps.count() < 600
    by_status = dict(opps.values_list("status").annotate(n=Count("id")))
    assert by_status["won"] > 30 and by_status["lost"] > 30
    # A quarter's worth of open deals: a board with something in it for every rep.
    open_by_rep = Counter(opps.filter(status="open").values_list("owner__username", flat=True))
    assert len(open_by_rep) == 8 and min(open_by_rep.values()) >= 5, open_by_rep
    # A B2B win rate: about a third of the decided deals are won, not most of them.
    win_rate = by_status["won"] / (by_status["won"] + by_status["lost"])
    assert 0.25 <= win_rate <= 0.45, win_rate
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
    from forecasting.models import ForecastSubmission, PipelineSnapshot, Quota

    def counts():
        return [
            model.objects.count()
            for model in (
                User, Opportunity, OpportunityChange, Stage, Team,
                Quota, PipelineSnapshot, ForecastSubmission,
            )
        ]  # fmt: skip

    before = counts()
    out = run()
    assert "exists already" in out
    assert counts() == before


def test_reset_reloads_the_same_company(seeded, settings):
    from forecasting.models import ForecastMeeting, ForecastSubmission
    from forecasting.selectors import period_or_current
    from forecasting.services import forecast_submit, pipeline_snapshot_take

    settings.DEBUG = True
    names = sorted(Opportunity.objects.values_list("name", flat=True))
    forecasting = forecasting_rows()
    # Forecast calls can never be deleted one by one (a trigger refuses): reset still works.
    forecast_submit(
        actor=User.objects.get(username="rep1"),
        period=period_or_current(None).label,
        commit="10000",
        best_case="20000",
    )
    pipeline_snapshot_take()
    # A forecast meeting points at a demo team and demo users (PROTECT): reset clears it.
    period = period_or_current(None)
    meeting = ForecastMeeting.objects.create(
        period_kind=period.kind.value,
        period_start=period.start,
        team=Team.objects.get(name="Enterprise"),
        held_on=period.start,
        created_by=User.objects.get(username="manager1"),
        notes="Recorded by the test",
    )
    meeting.attendees.add(User.objects.get(username="rep2"))
    run("--reset")
    assert User.objects.count() == 12 and Pipeline.objects.count() == 1
    assert sorted(Opportunity.objects.values_list("name", flat=True)) == names
    # The forecasting data is the demo's again: the call made above is gone, not kept.
    assert forecasting_rows() == forecasting
    assert not ForecastSubmission.objects.filter(commit=10000, best_case=20000).exists()
    assert not ForecastMeeting.objects.filter(notes="Recorded by the test").exists()
    assert ForecastMeeting.objects.count() == 2  # the demo's own, recorded again


def test_reset_refused_without_debug(seeded, settings):
    settings.DEBUG = False
    deals = Opportunity.objects.count()
    with pytest.raises(CommandError, match="DEBUG"):
        run("--reset")
    assert Opportunity.objects.count() == deals > 300


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
    # Every owner told, each raised flag announced once (a deal changed since last week's
    # meeting had its flags raised as it changed: its owner heard of those then).
    notes = list(Notification.objects.filter(dedupe_key__startswith="flags:"))
    owners = set(open_flags.values_list("opportunity__owner", flat=True))
    assert {n.recipient_id for n in notes} == owners
    assert len(notes) <= len(owners) + 4  # the four deals changed since the meeting
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
    from coaching.rules import fold_agenda
    from salesops.models import AuditEvent

    # Two rounds of assessments per rep and skill, so the matrix shows trends.
    assert SkillAssessment.objects.count() == 8 * 4 * 2
    assert CoachingSession.objects.values("rep").distinct().count() == 8
    # Each manager has one completed review with its coaching point and one in progress.
    reviews = OpportunityReview.objects.order_by("manager_id", "status")
    assert sorted(r.status for r in reviews) == ["completed", "completed", "open", "open"]
    for review in reviews.filter(status="completed"):
        assert review.coaching_points.count() == 1 and review.action_items.count() == 1
        assert review.manager == review.rep.team.manager
        # The points in view were discussed; completing left the folded ones, confirmed.
        shown, folded = fold_agenda(list(review.agenda_items.order_by("order", "id")))
        assert all(i.discussed for i in shown) and not any(i.discussed for i in folded)
        completed = AuditEvent.objects.get(action="review.completed", target_id=review.pk)
        assert completed.data["undiscussed_points"] == len(folded)
    for review in reviews:
        assert review.agenda_items.exists()  # generated from the deal's gaps
        # Weak qualification elements are one point, not one each.
        assert review.agenda_items.filter(source="qualification").count() <= 2
    # Cadence flags are raised at once: the overdue 1:1s go to the managers.
    overdue = CoachingFlag.objects.filter(kind="one_on_one_overdue", cleared_at__isnull=True)
    assert {f.rep.username for f in overdue} == {"rep2", "rep4", "rep6", "rep8"}
    assert all(f.recipient == f.rep.team.manager for f in overdue)
    assert ActionItem.objects.filter(done_at__isnull=False).exists()


def test_demo_past_hires_give_quality_of_hire_real_figures_and_rep8_is_mid_onboarding(seeded):
    from coaching.models import CoachingFlag
    from hiring import selectors as hiring_selectors
    from hiring.models import Candidate, OnboardingPlan
    from hiring.onboarding_flags import KIND

    leader = User.objects.get(username="leader")
    hires = Candidate.objects.filter(stage="hired").select_related("hired_user")
    assert sorted(h.hired_user.username for h in hires) == [f"rep{i}" for i in range(1, 9)]
    for hire in hires:  # decided before they started, on two submitted scorecards
        assert hire.stage_changed_at.date() < hire.hired_user.started_on
        assert hire.interviews.filter(scorecard__submitted_at__isnull=False).count() == 2
    quality = {q.name: q for q in hiring_selectors.quality_of_hire(leader)}
    # Real figures for every attribute (rep1–rep7), read from their results, which the
    # demo draws around today's date: which attribute predicts best varies with it.
    assert len(quality) == 9
    assert all(q.hires == 7 and q.enough_data for q in quality.values())
    assert all(-1 <= q.correlation <= 1 for q in quality.values())
    assert len({round(q.correlation, 6) for q in quality.values()}) > 1
    plan = OnboardingPlan.objects.get(rep__username="rep8")
    today = timezone.localdate()
    assert plan.started_on == today - dt.timedelta(days=30)
    done = plan.tasks.filter(done_at__isnull=False)
    assert done.count() == 4 and done.filter(manager_signs_off=True).count() == 1
    overdue = plan.tasks.filter(done_at__isnull=True, due_on__lt=today)
    assert [t.title.split(":")[0] for t in overdue] == ["Qualification with our framework"]
    flag = CoachingFlag.objects.get(kind=KIND, cleared_at__isnull=True)
    assert flag.recipient.username == "rep8" and flag.subject_id == overdue.get().pk
    assert {s.name for s in plan.focus_skills.all()} <= {
        "Discovery", "Business value articulation"
    }  # fmt: skip
    assert plan.focus_skills.exists()
    (row,) = hiring_selectors.ramp_for(leader)[0]
    assert row.rep.username == "rep8" and all(
        d is None or 0 <= d <= 30 for d in row.days.values()
    )  # from her start on only


# --- forecasting ---


def forecasting_rows():
    """The demo's forecasting data without ids and clock times: quotas, snapshot rows per
    week and forecast calls."""
    from forecasting.models import ForecastSubmission, PipelineSnapshot, Quota

    quotas = sorted(
        Quota.objects.values_list(
            "rep__username", "team__name", "period_kind", "period_start", "amount", "currency"
        ).order_by(),
        key=str,
    )
    weeks = list(
        PipelineSnapshot.objects.values_list("week").annotate(n=Count("id")).order_by("week")
    )
    calls = sorted(
        ForecastSubmission.objects.values_list(
            "submitter__username", "level", "team__name", "period_kind", "period_start",
            "commit", "best_case", "adjustment_note",
        ).order_by(),
        key=str,
    )  # fmt: skip
    return quotas, weeks, calls


def quarters():
    """The current fiscal quarter and the four before it, newest first."""
    from forecasting.services import fiscal_calendar, local_today

    current = fiscal_calendar().period_of(local_today(), "quarter")
    return [current.shifted(-back) for back in range(5)]


def local_midnight(day):
    from django.utils import timezone

    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def test_demo_quotas_for_every_rep_and_team_with_attainment_in_range(seeded):
    from forecasting.models import Quota
    from forecasting.selectors import forecast_summary
    from forecasting.services import fiscal_calendar

    current, *past = quarters()
    first_month = fiscal_calendar().period_of(current.start, "month")
    months = [first_month, first_month.next(), first_month.next().next()]
    reps = set(User.objects.filter(role=Role.REP).values_list("pk", flat=True))
    teams = set(Team.objects.values_list("pk", flat=True))
    assert len(reps) == 8 and len(teams) == 2
    for period in [current, *past, *months]:
        quotas = Quota.objects.filter(period_kind=period.kind.value, period_start=period.start)
        assert {q.rep_id for q in quotas if q.rep_id} == reps, period.label
        assert {q.team_id for q in quotas if q.team_id} == teams, period.label
        assert all(q.currency == "EUR" and q.amount > 0 for q in quotas)
    assert Quota.objects.count() == (8 + 2) * 8  # nothing else: no stray period
    # This quarter's months add up to it, for reps and teams alike.
    for quarter in Quota.objects.filter(period_kind="quarter", period_start=current.start):
        in_months = Quota.objects.filter(
            rep_id=quarter.rep_id,
            team_id=quarter.team_id,
            period_kind="month",
            period_start__in=[m.start for m in months],
        )
        assert sum(q.amount for q in in_months) == quarter.amount
    # Every rep won deals in each past quarter and attained a plausible share of the quota.
    admin = User.objects.get(username="admin")
    for period in past:
        rows = forecast_summary(admin, period.label).by_owner
        assert {row.id for row in rows} == reps
        for row in rows:
            assert 40 <= row.figures.attainment_percent <= 120, (period.label, row.name)


def test_demo_past_quarters_have_won_deals_with_their_stage_history(seeded):
    from django.db.models import Max

    _, *past = quarters()
    won = Opportunity.objects.filter(status=OpportunityStatus.WON)
    for period in past:
        in_period = won.filter(
            closed_at__gte=local_midnight(period.start), closed_at__lt=local_midnight(period.end)
        )
        assert in_period.values("owner").distinct().count() == 8, period.label
    # Every won deal entered each of the five open stages, then Closed won when it closed:
    # the stage-entry history the forecast from history reads.
    closed_won = Stage.objects.get(is_won=True)
    moves = {
        row["opportunity"]: row
        for row in OpportunityChange.objects.filter(field="stage", opportunity__in=won)
        .values("opportunity")
        .annotate(n=Count("id"), last=Max("changed_at"))
    }
    for deal in won:
        assert moves[deal.pk]["n"] == 6 and moves[deal.pk]["last"] == deal.closed_at, deal.pk
        assert deal.stage_id == closed_won.pk


def test_demo_snapshots_replay_twelve_weeks_of_history(seeded):
    from django.conf import settings
    from django.utils import timezone

    from demo.company.forecast_history import open_deals_at
    from forecasting.models import PipelineSnapshot
    from forecasting.rules import week_start
    from forecasting.selectors import snapshot_trend, snapshot_weeks, week_over_week
    from forecasting.services import local_today

    this_week = week_start(local_today())
    weeks = snapshot_weeks()
    assert weeks == [this_week - dt.timedelta(weeks=back) for back in range(12)]
    fields = ("owner_id", "team_id", "stage_id", "forecast_category", "amount", "currency",
              "close_date", "status")  # fmt: skip
    # This week's is the real job's: every deal open now, as it stands.
    taken = {
        row["opportunity_id"]: row
        for row in PipelineSnapshot.objects.filter(week=this_week).values("opportunity_id", *fields)
    }
    open_now = Opportunity.objects.filter(status="open").select_related("owner")
    assert set(taken) == {deal.pk for deal in open_now}
    for deal in open_now:
        row = taken[deal.pk]
        assert (row["stage_id"], row["amount"], row["close_date"], row["forecast_category"]) == (
            deal.stage_id, deal.amount, deal.close_date, deal.forecast_category
        )  # fmt: skip
        assert (row["owner_id"], row["team_id"]) == (deal.owner_id, deal.owner.team_id)
    # Replaying the change history up to now ends at the deals as they are, so the past
    # weeks, replayed the same way, lead to them.
    now = timezone.now()
    replayed = {d["opportunity_id"]: {f: d[f] for f in fields} for d in open_deals_at([now])[now]}
    assert replayed == {pk: {f: row[f] for f in fields} for pk, row in taken.items()}
    # Each past week holds the deals open on its Monday when the job runs.
    tz = timezone.get_default_timezone()
    for week in weeks[1:]:
        moment = dt.datetime.combine(week, dt.time(settings.PIPELINE_SNAPSHOT_HOUR), tzinfo=tz)
        expected = (
            Opportunity.objects.filter(created_at__lte=moment)
            .exclude(closed_at__lte=moment)
            .values_list("pk", flat=True)
        )
        week_rows = PipelineSnapshot.objects.filter(week=week)
        assert set(week_rows.values_list("opportunity_id", flat=True)) == set(expected), week
    # The week-over-week changes show deals new, pushed, resized, won and lost.
    leader = User.objects.get(username="leader")
    seen = Counter()
    for week in weeks[:-1]:
        changes = week_over_week(leader, None, week=week)
        assert changes.available
        seen.update({group.kind.value: group.count for group in changes.changes})
    for kind in ("new", "pulled_in", "pushed_out", "amount_up", "amount_down", "won", "lost"):
        assert seen[kind] > 0, kind
    assert sum(group.count for group in week_over_week(leader, None).changes) > 0
    trend = snapshot_trend(leader, None, weeks=12)
    assert all(week.has_snapshot and week.totals for week in trend.weeks)


def test_demo_forecast_calls_history_bias_and_who_has_not_called(seeded):
    from forecasting.models import ForecastSubmission
    from forecasting.rules import week_start
    from forecasting.selectors import not_submitted_this_week
    from forecasting.services import local_today

    current, *past = quarters()
    calls = ForecastSubmission.objects.select_related("submitter", "team")
    users = {u.username: u for u in User.objects.all()}
    for period in past:
        in_period = calls.filter(period_kind="quarter", period_start=period.start)
        for week in (1, 6):  # the accuracy checkpoints: every rep and team has a call by then
            by = local_midnight(week_start(period.start) + dt.timedelta(weeks=week))
            made = in_period.filter(submitted_at__lt=by)
            assert {c.submitter.username for c in made.filter(level="rep")} == {
                f"rep{i}" for i in range(1, 9)
            }
            assert {c.team.name for c in made.filter(level="team")} == {"Enterprise", "Mid-market"}
        # The optimist calls above what they won, the sandbagger below (week 6's call).
        by_week_6 = local_midnight(week_start(period.start) + dt.timedelta(weeks=6))
        for username, above in (("rep2", True), ("rep6", False)):
            call = in_period.filter(submitter=users[username], submitted_at__lt=by_week_6).first()
            won = sum(
                Opportunity.objects.filter(
                    owner=users[username],
                    status="won",
                    closed_at__gte=local_midnight(period.start),
                    closed_at__lt=local_midnight(period.end),
                ).values_list("amount", flat=True)
            )
            assert (call.commit > won) is above, (period.label, username, call.commit, won)
    # Week 6's calls supersede week 1's (some reps revise in between or later, too).
    assert calls.filter(supersedes__isnull=False).count() > len(past) * (8 + 2)
    # A team call carries an adjustment note exactly when it differs from its reps' calls.
    team_calls = calls.filter(level="team")
    assert team_calls.exclude(adjustment_note="").exists()
    assert team_calls.filter(adjustment_note="").exists()
    for call in team_calls:
        reps_commit = sum(Decimal(r["commit"]) for r in call.reps_calls if r["commit"])
        reps_best = sum(Decimal(r["best_case"]) for r in call.reps_calls if r["best_case"])
        differs = (call.commit, call.best_case) != (reps_commit, reps_best)
        assert bool(call.adjustment_note) is differs, call.pk
    # This quarter: two reps have not called this week; everyone else has.
    missing = not_submitted_this_week(users["leader"]).people
    assert sorted((p.level, p.person_id) for p in missing) == sorted(
        ("rep", users[name].pk) for name in ("rep3", "rep7")
    )
    if week_start(current.start) < week_start(local_today()):  # they called in earlier weeks
        assert all(p.last_submitted_at is not None for p in missing)


def test_demo_teams_had_a_forecast_meeting_last_week(seeded):
    from forecasting import services as forecast_services
    from forecasting.models import ForecastMeeting
    from forecasting.selectors import forecast_summary
    from forecasting.services import local_today

    meetings = ForecastMeeting.objects.select_related("team", "created_by")
    assert sorted((m.team.name, m.created_by.username) for m in meetings) == [
        ("Enterprise", "manager1"),
        ("Mid-market", "manager2"),
    ]
    for meeting in meetings:
        assert meeting.held_on == local_today() - dt.timedelta(days=7)
        assert meeting.figures["totals"]  # the numbers were frozen by the real service
        assert meeting.attendees.filter(username=meeting.created_by.username).exists()
        assert meeting.attendees.filter(team=meeting.team, role="rep").count() == 4
        # Frozen last week: this week's numbers have moved since (a deal of the period grew,
        # another was pushed out of it), so they are not today's — when the period has
        # open deals at all (on its last day it may have none).
        label = (
            forecast_services.fiscal_calendar()
            .period_of(meeting.period_start, meeting.period_kind)
            .label
        )
        today = forecast_summary(meeting.created_by, label, meeting.team_id, currency="EUR")
        frozen = meeting.figures["totals"]
        if Decimal(frozen["open_pipeline"]) > 0:
            assert Decimal(frozen["open_pipeline"]) != today.totals.open_pipeline


# --- the top performers and the experiment ---


def closed_last_year():
    since = timezone.now() - dt.timedelta(days=365)
    return Opportunity.objects.filter(status__in=["won", "lost"], closed_at__gte=since)


def group(username):
    return "top" if username in TOP_PERFORMERS else "rest"


def forward_exits(stage_name, deals):
    """(owner's username, deal id, moment, override reason) of each move of `deals` out of
    `stage_name` to a later stage or won."""
    stage = Stage.objects.get(name=stage_name)
    lost = Stage.objects.get(is_lost=True)
    return list(
        OpportunityChange.objects.filter(
            field="stage", old_value=str(stage.pk), opportunity__in=deals
        )
        .exclude(new_value=str(lost.pk))
        .values_list(
            "opportunity__owner__username", "opportunity_id", "changed_at", "override_reason"
        )
    )


def score_at(deal_ids):
    """deal id -> (moment -> the score of its latest qualification valid then)."""
    history = defaultdict(list)
    for deal, assessed, voided, score in Qualification.objects.filter(
        opportunity_id__in=deal_ids
    ).values_list("opportunity_id", "assessed_at", "invalidated_at", "score_pct"):
        history[deal].append((assessed, voided, score))

    def at(deal, moment):
        valid = [
            (assessed, score)
            for assessed, voided, score in history[deal]
            if assessed <= moment and (voided is None or voided > moment)
        ]
        return max(valid)[1] if valid else 0

    return at


def test_the_top_performers_won_the_most_in_the_last_twelve_months(seeded):
    won = (
        closed_last_year()
        .filter(status="won")
        .values("owner__username")
        .annotate(total=Sum("amount"))
        .order_by("-total")
    )
    assert {row["owner__username"] for row in won[:2]} == set(TOP_PERFORMERS)


def test_the_top_performers_work_their_deals_differently(seeded):
    """The habits the top-performer study reads back from the rows: the plan agreed before
    leaving Qualify, deeper qualification at Solution's exit, the first contact sooner,
    more meetings, fewer gates overridden."""
    deals = closed_last_year()
    owner = dict(deals.values_list("id", "owner__username"))
    plan_done = dict(
        MilestoneCompletion.objects.filter(milestone__title=MUTUAL_ACTION_PLAN.title).values_list(
            "opportunity_id", "completed_at"
        )
    )
    plan = defaultdict(list)
    for username, deal, moment, _ in forward_exits("Qualify", deals):
        plan[group(username)].append(deal in plan_done and plan_done[deal] <= moment)
    assert mean(plan["top"]) >= 0.8 and mean(plan["rest"]) <= 0.5, plan

    score = score_at(list(owner))
    scores = defaultdict(list)
    for username, deal, moment, _ in forward_exits("Solution", deals):
        scores[group(username)].append(score(deal, moment))
    assert mean(scores["top"]) - mean(scores["rest"]) >= 15

    first = defaultdict(list)
    created = dict(deals.values_list("id", "created_at"))
    for deal, touched in (
        Activity.objects.filter(opportunity__in=deals, kind__in=["call", "meeting", "email"])
        .values("opportunity")
        .annotate(first=Min("occurred_at"))
        .values_list("opportunity", "first")
    ):
        first[group(owner[deal])].append((touched - created[deal]).total_seconds() / 86400)
    assert median(first["top"]) <= 2.5 and median(first["rest"]) >= 4

    meetings = Counter()
    for deal in Activity.objects.filter(opportunity__in=deals, kind="meeting").values_list(
        "opportunity", flat=True
    ):
        meetings[group(owner[deal])] += 1
    per_deal = {g: meetings[g] / sum(group(u) == g for u in owner.values()) for g in meetings}
    assert per_deal["top"] >= per_deal["rest"] + 1

    overridden = defaultdict(list)
    for stage in ("Discover", "Qualify", "Solution", "Proposal", "Negotiate"):
        for username, _, _, reason in forward_exits(stage, deals):
            overridden[group(username)].append(bool(reason))
    assert mean(overridden["top"]) < mean(overridden["rest"])


def test_the_experiment_is_a_logged_rule_change_the_deals_follow(seeded):
    from pipeline.rule_changes import describe

    change = StageRuleChange.objects.select_related("stage", "changed_by").get()
    stage = change.stage
    milestone = Milestone.objects.get(pk=change.changes[0]["milestone"])
    assert change.changes == [
        {"milestone": milestone.pk, "title": "Qualified for a proposal", "what": "min_score",
         "before": 60, "after": 70}
    ]  # fmt: skip
    assert change.summary == describe(change.changes[0]) and change.note
    assert (stage.name, stage.rules_version, change.version) == ("Solution", 2, 2)
    assert change.changed_by.username == "admin"
    assert 150 <= (timezone.now() - change.changed_at).days <= 190
    # The rule is the new one now, and every deal that left Solution met the one in force.
    assert (milestone.stage, milestone.min_qualification_score) == (stage, 70)
    exits = forward_exits("Solution", Opportunity.objects.all())
    score = score_at({deal for _, deal, _, _ in exits})
    for _, deal, moment, _ in exits:
        assert score(deal, moment) >= (70 if moment >= change.changed_at else 60), deal
    assert sum(moment >= change.changed_at for _, _, moment, _ in exits) > 20


def test_demo_hiring_has_candidates_at_every_stage_and_a_disagreement(seeded):
    from hiring import selectors as hiring_selectors
    from hiring.models import Candidate, Position, Scorecard

    assert "hiring: 4 positions" in seeded
    statuses = list(Position.objects.values_list("status", flat=True))
    assert sorted(statuses) == ["filled", "filled", "open", "open"]
    stages = set(Candidate.objects.values_list("stage", flat=True))
    assert stages == {
        "applied", "screen", "interviews", "offer", "hired", "rejected", "withdrawn"
    }  # fmt: skip
    assert not Candidate.objects.filter(
        stage__in=["rejected", "withdrawn"], stage_reason=""
    ).exists()
    olivia = Candidate.objects.get(name="Olivia Grant")
    manager1 = User.objects.get(username="manager1")
    grid = hiring_selectors.decision_grid_for(manager1, olivia.pk)
    assert len(grid.columns) == 3 and grid.pending == 1  # rep1's is still to come
    assert {line.name for line in grid.disagreements} == {"Discovery", "Coachability"}
    rep1 = User.objects.get(username="rep1")
    waiting = Scorecard.objects.get(interview__interviewer=rep1)
    assert waiting.submitted_at is None and waiting.interview.candidate == olivia


# Words by which a milestone's title states an approval or decision on our side — the
# manager's act, not the seller's.
OUR_SIDES_APPROVAL = ("approved", "approval", "signed off", "manager")


def test_no_manual_demo_milestone_claims_another_persons_act(seeded):
    """A rep ticks only what the rep did. Someone else's act is checked by the system
    (the proposal's approval), ticked by the person it names (the manager's internal
    approval), or — the customer's act, a buyer commitment — recorded with evidence."""
    milestones = list(Milestone.objects.filter(stage__pipeline__name="New business"))
    approved = next(m for m in milestones if m.title.endswith("approved by the manager"))
    assert (approved.auto_check, approved.stage.name) == ("proposal_approved", "Proposal")
    for m in milestones:
        if m.auto_check:
            assert m.completable_by == "owner", m.title  # ticked by nobody
            continue
        names_approval = any(word in m.title.lower() for word in OUR_SIDES_APPROVAL)
        if m.kind == MilestoneKind.BUYER_COMMITMENT:
            assert m.requires_evidence and m.completable_by == "owner", m.title
        else:
            assert m.completable_by == ("manager" if names_approval else "owner"), m.title
    assert any(m.completable_by == "manager" for m in milestones)
    # The history agrees: the manager's milestones were ticked by the owner's manager.
    ticks = MilestoneCompletion.objects.filter(milestone__completable_by="manager")
    assert ticks.exists()
    for tick in ticks.select_related("completed_by", "opportunity__owner__team"):
        assert tick.completed_by == tick.opportunity.owner.team.manager
    assert not MilestoneCompletion.objects.exclude(milestone__auto_check="").exists()


def test_demo_voided_qualifications_name_a_push_the_deal_had(seeded):
    """A voided qualification's "close date pushed from … to …" is a push the deal's
    history has (it used to name a month the deal never moved to)."""
    from pipeline.models import Qualification

    voided = Qualification.objects.filter(
        invalidated_reason__startswith="Close date pushed"
    ).select_related("opportunity")
    assert voided.exists()
    for q in voided:
        target = dt.datetime.strptime(q.invalidated_reason.rsplit(" to ", 1)[1], "%b %Y.")
        pushes = OpportunityChange.objects.filter(opportunity=q.opportunity, field="close_date")
        assert any(c.new_value.startswith(f"{target:%Y-%m}") for c in pushes), q.invalidated_reason


def test_late_in_the_quarter_the_forecast_from_history_is_within_the_best_case(seeded, settings):
    """In a quarter's last weeks the deals still due in it are the ones close to a decision
    (reps keep close dates their deals' remaining stages can make), so what history expects
    to close is at most the best case including commit — for the company and each team.
    (Early in a quarter, history may well expect more: most of its deals are still in early
    stages, in no category but "pipeline".) Seeded again twelve days before the end of the
    run's quarter, so the test checks the same story whatever the date."""
    from forecasting.dashboard import dashboard_data

    settings.DEBUG = True
    end = quarters()[0].last_day
    with time_machine.travel(local_midnight(end - dt.timedelta(days=12)) + dt.timedelta(hours=10)):
        run("--reset")
        leader = User.objects.get(username="leader")
        for team_id in [None, *Team.objects.order_by("name").values_list("pk", flat=True)]:
            dash = dashboard_data(leader, None, team_id)
            totals = dash.summary.totals
            assert dash.history.open_deals > 0 and dash.history.history_closed > 100, team_id
            assert dash.forecast_from_history <= totals.best_case_cumulative, (
                team_id,
                dash.forecast_from_history,
                totals.best_case_cumulative,
            )
