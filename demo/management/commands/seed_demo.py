"""``manage.py seed_demo [--reset]``: a believable sales company to click through.

Creates an admin, a sales leader, two managers with a team each (Enterprise,
Mid-market) and eight reps — all with the password ``demo``, which
``salesops.auth`` refuses unless DEBUG is on — the "New business" pipeline with
guidance and milestones per stage, ~40 accounts and ~300 opportunities with a
year of history: stage moves, amount and close-date changes, forecast-category
changes, milestone completions, business issues, activities, and loss reasons.
Two reps are the top performers (TOP_PERFORMERS), and for reasons the data shows: they
work their deals differently (Habits: a mutual action plan agreed in Qualify, the first
customer contact within a day or two, more meetings early on, deeper qualification, fewer
gate overrides, the whole scope sold), and deals with a plan are won more often. No figure
of the top-performer study is written anywhere; it reads these habits back from the rows. One
experiment: about five and a half months ago the admin raised the minimum score of
Solution's "Qualified for a proposal" gate (a StageRuleChange); deals leaving Solution
since meet it, and fewer of those that entered Solution since died or stalled there.
Forecasting: deals won and lost in each of the last four quarters (added where the
year thins out), quotas for every rep and team (this quarter, its months and the
last four quarters), twelve weekly pipeline snapshots, and forecast calls of reps
and managers (an optimist, a sandbagger, two reps who have not called this week).

What it writes lives in `demo/company/` by entity — `cast` (people, habits, pipeline,
accounts, the experiment), `history` (deals, their history, qualifications, proposals),
`coaching_history`, `forecast_history`, `hiring_demo` — and this module runs them and
deletes them. The demo is the ONE place that writes rows directly instead of going
through ``pipeline.services``: the services stamp every change with "now", and demo data
has to fabricate the past (a deal that entered Proposal five weeks ago, was pushed
twice and lost in March). The history it writes mirrors what the services would
have written — the same change rows, milestone completions only for the stage a
deal was in or passed, ``last_activity_at`` from customer-facing activities,
``closed_at`` and loss reasons on closed deals — and every database constraint
holds. Rows go in with ``bulk_create``, so the whole run takes a few seconds.

Deterministic: a fixed random seed; dates are relative to the moment of the run.
Idempotent: when the demo data exists, it says so and does nothing; ``--reset``
(DEBUG only) deletes all pipeline data and the demo users first.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from coaching.cadence import cadence_refresh
from coaching.models import (
    ActionItem,
    CoachingFlag,
    CoachingSession,
    OpportunityReview,
    SkillAssessment,
)
from demo.company.cast import (
    ACCOUNTS,
    DEMO_USERNAMES,
    ENTERPRISE_ACCOUNTS,
    PEOPLE,
    PIPELINE_NAME,
    PRODUCTS,
    SEED,
    TEAMS,
    create_people,
    create_pipeline,
    domain_of,
    habits_of,
    record_experiment,
)
from demo.company.coaching_history import build_coaching
from demo.company.forecast_history import (
    FORECAST_SEED_OFFSET,
    add_late_deals,
    add_quarter_history,
    build_forecasting,
    ratio,
    round_to,
)
from demo.company.hiring_demo import build_hiring, delete_hiring_demo
from demo.company.history import History, Rows, build_proposals, write_qualifications
from forecasting.models import ForecastMeeting, ForecastSubmission, PipelineSnapshot, Quota
from insights.services import suggestions_refresh
from pipeline.flags import flags_refresh
from pipeline.models import (
    Account,
    Activity,
    BusinessIssue,
    Milestone,
    MilestoneCompletion,
    Opportunity,
    OpportunityChange,
    OpportunityStatus,
    Pipeline,
    Qualification,
    QualificationScore,
    Stage,
)
from proposals.models import Proposal
from salesops import audit_context, organisation
from salesops.models import Role, Team, User

# --- the command ---------------------------------------------------------------------


def demo_data_exists() -> bool:
    return (
        User.objects.filter(username__in=DEMO_USERNAMES).exists()
        or Pipeline.objects.filter(name=PIPELINE_NAME).exists()
    )


def delete_demo_data() -> None:
    """All pipeline data (every opportunity, account and pipeline), proposals and the demo
    users/teams."""
    delete_hiring_demo(
        list(User.objects.filter(username__in=DEMO_USERNAMES).values_list("pk", flat=True))
    )
    for coaching_model in (
        CoachingFlag, ActionItem, CoachingSession, OpportunityReview, SkillAssessment,
    ):  # fmt: skip
        coaching_model.objects.all().delete()
    # Forecast calls are immutable (a trigger refuses DELETE): only TRUNCATE clears them.
    # Forecast meetings (with their attendees) point at the demo teams and users, so they
    # go too. (Deferred foreign-key checks of rows written in this transaction must fire
    # first: TRUNCATE refuses a table with pending trigger events; then they are deferred
    # again.)
    forecast_tables = [
        model._meta.db_table
        for model in (
            ForecastSubmission, Quota, PipelineSnapshot,
            ForecastMeeting.attendees.through, ForecastMeeting,
        )
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE " + ", ".join(map(connection.ops.quote_name, forecast_tables)))
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # back to Django's default
    Proposal.objects.all().delete()
    for model in (
        QualificationScore,
        Qualification,
        Activity,
        BusinessIssue,
        MilestoneCompletion,
        OpportunityChange,
        Opportunity,
        Account,
        Milestone,
        Stage,
        Pipeline,
    ):
        model.objects.all().delete()
    Team.objects.filter(name__in=TEAMS).update(manager=None)
    User.objects.filter(username__in=DEMO_USERNAMES).delete()
    Team.objects.filter(name__in=TEAMS).delete()


@transaction.atomic
def seed(*, opportunities: int = 300, seed_value: int = SEED) -> dict[str, int]:
    """Create the whole demo company; returns counts for the summary."""
    rng = random.Random(seed_value)
    now = timezone.now().replace(second=0, microsecond=0)
    users = create_people()
    pipeline = create_pipeline()
    experiment = record_experiment(pipeline, users["admin"], now)
    stages = list(pipeline.stages.order_by("order"))
    assert pipeline.framework is not None  # create_pipeline gives it the demo's framework
    elements = list(pipeline.framework.elements.all())
    milestones: dict[int, list[Milestone]] = {s.pk: [] for s in stages}
    for m in Milestone.objects.filter(stage__pipeline=pipeline).order_by("order", "id"):
        milestones[m.stage_id].append(m)

    accounts = Account.objects.bulk_create(
        [
            Account(name=name, industry=industry, employees=employees, domain=domain_of(name))
            for name, industry, employees in ACCOUNTS
        ]
    )
    team_accounts = {
        "Enterprise": accounts[:ENTERPRISE_ACCOUNTS],
        "Mid-market": accounts[ENTERPRISE_ACCOUNTS:],
    }
    reps = {
        team: [users[u] for u, p in PEOPLE.items() if p[2] == Role.REP and p[3] == team]
        for team in TEAMS
    }
    products = {a.pk: rng.sample(PRODUCTS, len(PRODUCTS)) for a in accounts}
    used: Counter[int] = Counter()
    # New deals go round a team's reps in turn (in a shuffled order each round), as leads
    # are routed: each rep works as many, so what they win is down to how they work them.
    turns: dict[str, list[User]] = {team: [] for team in TEAMS}

    def next_owner(rng: random.Random, team: str) -> User:
        if not turns[team]:
            turns[team] = rng.sample(reps[team], len(reps[team]))
        return turns[team].pop()

    rows = Rows()

    def new_deal(
        history: History, team: str, owner: User | None = None, **outcome: Any
    ) -> Opportunity:
        """One deal of `team`: the next product on one of its accounts, and its past."""
        rng = history.rng
        account = rng.choice(team_accounts[team])
        n = used[account.pk]
        used[account.pk] += 1
        product = products[account.pk][n % len(PRODUCTS)]
        if n >= len(PRODUCTS):
            product += f" - phase {n // len(PRODUCTS) + 1}"
        lo, hi = (40_000, 420_000) if team == "Enterprise" else (8_000, 90_000)
        owner = owner or next_owner(rng, team)
        amount = round_to(rng.randrange(lo, hi, 500) * ratio(habits_of(owner).deal_size), 500)
        history.build(
            name=f"{account.name} - {product}",
            account=account,
            owner=owner,
            manager=users[TEAMS[team]],
            pipeline=pipeline,
            amount=amount,
            **outcome,
        )
        return rows.opportunities[-1]

    history = History(rng, now, stages, milestones, rows, elements, experiment)
    for _ in range(opportunities):
        new_deal(history, rng.choices(list(TEAMS), weights=[45, 55])[0])
    # Deals won and lost in each of the last four quarters, from a random stream of their
    # own (so the deals above stay as they were).
    forecast_rng = random.Random(seed_value + FORECAST_SEED_OFFSET)
    quarter_history = History(forecast_rng, now, stages, milestones, rows, elements, experiment)
    demo_reps = {u: users[u] for u, p in PEOPLE.items() if p[2] == Role.REP}

    def new_rep_deal(rep: User, **outcome: Any) -> Opportunity:
        team = PEOPLE[rep.username][3]
        assert team is not None  # every demo rep is in a team
        return new_deal(quarter_history, team, rep, **outcome)

    added = add_quarter_history(rows.opportunities, demo_reps, now, forecast_rng, new_rep_deal)
    added["late_added"] = add_late_deals(demo_reps, now, forecast_rng, new_rep_deal)

    Opportunity.objects.bulk_create(rows.opportunities, batch_size=1000)
    OpportunityChange.objects.bulk_create(rows.changes, batch_size=2000)
    MilestoneCompletion.objects.bulk_create(rows.completions, batch_size=2000)
    BusinessIssue.objects.bulk_create(rows.issues, batch_size=2000)
    Activity.objects.bulk_create(rows.activities, batch_size=2000)

    # auto_now_add stamped "now" on insert; put the fabricated past back.
    for opp in rows.opportunities:
        opp.created_at = rows.created_at[id(opp)]
        opp.updated_at = max(opp.stage_entered_at, opp.last_activity_at or opp.stage_entered_at)
    Opportunity.objects.bulk_update(
        rows.opportunities, ["created_at", "updated_at"], batch_size=1000
    )
    for bi in rows.issues:
        bi.created_at = bi._seed_created_at  # type: ignore[attr-defined]
    BusinessIssue.objects.bulk_update(rows.issues, ["created_at"], batch_size=1000)
    # By the rows' ids: a join in the subquery, planned without statistics of the rows just
    # written in this transaction, can turn into a scan per row.
    Activity.objects.filter(pk__in=[a.pk for a in rows.activities]).update(
        created_at=F("occurred_at") + dt.timedelta(minutes=3)
    )
    write_qualifications(rows)

    proposals = build_proposals(users)
    coaching = build_coaching(users, rng)
    forecasting = build_forecasting(users, forecast_rng, now)
    hiring = build_hiring(users, now)

    status = Counter(o.status for o in rows.opportunities)
    return {
        "users": len(users),
        "teams": len(TEAMS),
        "stages": len(stages),
        "milestones": sum(len(v) for v in milestones.values()),
        "accounts": len(accounts),
        "opportunities": len(rows.opportunities),
        "open": status[OpportunityStatus.OPEN],
        "won": status[OpportunityStatus.WON],
        "lost": status[OpportunityStatus.LOST],
        "changes": len(rows.changes),
        "milestone_completions": len(rows.completions),
        "business_issues": len(rows.issues),
        "activities": len(rows.activities),
        "qualifications": len(rows.qualifications),
        "qualification_scores": len(rows.scores),
        "rule_changes": 1,
        "proposals": proposals,
        **{f"coaching_{k}": v for k, v in coaching.items()},
        **{f"forecasting_{k}": v for k, v in {**added, **forecasting}.items()},
        **{f"hiring_{k}": v for k, v in hiring.items()},
    }


class Command(BaseCommand):
    help = "Load a demo company (users, teams, pipeline, a year of deals). Password: demo."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="delete all pipeline data and the demo users first (DEBUG only)",
        )

    @organisation.in_time_zone
    @audit_context.as_command
    def handle(self, *args: Any, reset: bool = False, **options: Any) -> None:
        if reset:
            if not settings.DEBUG:
                raise CommandError("--reset deletes all pipeline data; it only runs with DEBUG on.")
            with transaction.atomic():
                delete_demo_data()
            self.stdout.write("Deleted the pipeline data and the demo users.")
        elif demo_data_exists():
            self.stdout.write("Demo data exists already: nothing done (use --reset to reload).")
            return
        started = timezone.now()
        counts = seed()
        # Raise the attention flags now rather than at the beat job's first run.
        flags = flags_refresh()
        # And the coaching cadence flags (the 1:1s above already raised some).
        cadence_refresh()
        open_cadence_flags = CoachingFlag.objects.filter(cleared_at__isnull=True).count()
        # And the framework suggestions of the top-performer study (the nightly job's).
        suggestions = suggestions_refresh()
        took = (timezone.now() - started).total_seconds()
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {took:.1f}s:"))
        self.stdout.write(
            f"  {counts['users']} users in {counts['teams']} teams, pipeline '{PIPELINE_NAME}' "
            f"with {counts['stages']} stages and {counts['milestones']} milestones\n"
            f"  {counts['accounts']} accounts, {counts['opportunities']} opportunities "
            f"({counts['open']} open, {counts['won']} won, {counts['lost']} lost)\n"
            f"  {counts['changes']} history rows, {counts['milestone_completions']} milestone "
            f"completions, {counts['business_issues']} business issues, "
            f"{counts['activities']} activities, {counts['qualifications']} qualifications, "
            f"{counts['proposals']} proposals, {flags.raised} attention flags, "
            f"{counts['rule_changes']} stage rule change (an experiment), "
            f"{suggestions.created} insights suggestion{'s' if suggestions.created != 1 else ''}\n"
            f"  coaching: {counts.get('coaching_assessments', 0)} skill assessments, "
            f"{counts.get('coaching_sessions', 0)} 1:1s, {counts.get('coaching_reviews', 0)} "
            f"opportunity reviews, {open_cadence_flags} cadence flags\n"
            f"  forecasting: {counts.get('forecasting_quotas', 0)} quotas, "
            f"{counts.get('forecasting_snapshot_rows', 0)} snapshot rows in "
            f"{counts.get('forecasting_snapshot_weeks', 0)} weeks, "
            f"{counts.get('forecasting_forecast_calls', 0)} forecast calls; "
            f"{counts.get('forecasting_won_added', 0)} won and "
            f"{counts.get('forecasting_lost_added', 0)} lost deals added to fill past quarters, "
            f"{counts.get('forecasting_late_added', 0)} opened lately to close this quarter\n"
            f"  hiring: {counts.get('hiring_positions', 0)} positions, "
            f"{counts.get('hiring_candidates', 0)} candidates, "
            f"{counts.get('hiring_interviews', 0)} interviews for them, "
            f"{counts.get('hiring_past_hires', 0)} past hires with their scorecards, "
            f"{counts.get('hiring_onboarding_tasks_done', 0)} of rep8's onboarding tasks done"
        )
        self.stdout.write(
            "  Logins (password 'demo', accepted only with DEBUG on): admin, leader, "
            "manager1, manager2, rep1 … rep8"
        )
