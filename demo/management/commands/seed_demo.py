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

This command is the ONE place that writes rows directly instead of going through
``pipeline.services``: the services stamp every change with "now", and demo data
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
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from coaching.cadence import cadence_refresh
from coaching.models import CoachingFlag
from demo.hiring_demo import build_hiring, delete_hiring_demo
from forecasting import rules as forecast_rules
from forecasting import services as forecast_services
from forecasting.models import PipelineSnapshot
from forecasting.selectors import forecast_summary
from insights.services import suggestions_refresh
from pipeline import rule_changes
from pipeline.blueprints import (
    NEW_BUSINESS_DESCRIPTION,
    NEW_BUSINESS_FRAMEWORK,
    NEW_BUSINESS_NAME,
    STAGES,
    MilestoneSeed,
)
from pipeline.flags import flags_refresh
from pipeline.models import (
    CUSTOMER_ACTIVITY_KINDS,
    Account,
    Activity,
    ActivityKind,
    BusinessIssue,
    ChangeField,
    ForecastCategory,
    Milestone,
    MilestoneCompletion,
    MilestoneElementLevel,
    MilestoneKind,
    Opportunity,
    OpportunityChange,
    OpportunityStatus,
    Pipeline,
    Qualification,
    QualificationElement,
    QualificationFramework,
    QualificationScore,
    Stage,
    StageRuleChange,
)
from pipeline.rules import MAX_SCORE, weighted_score_pct
from salesops import organisation
from salesops.models import Role, Team, User

SEED = 20240601
DEMO_PASSWORD = "demo"
PIPELINE_NAME = NEW_BUSINESS_NAME
FRAMEWORK_NAME = NEW_BUSINESS_FRAMEWORK

# --- people --------------------------------------------------------------------------

TEAMS = {"Enterprise": "manager1", "Mid-market": "manager2"}

# username: (first name, last name, role, team)
PEOPLE: dict[str, tuple[str, str, str, str | None]] = {
    "admin": ("Priya", "Raman", Role.ADMIN, None),
    "leader": ("Helen", "Carter", Role.LEADER, None),
    "manager1": ("Marcus", "Webb", Role.MANAGER, "Enterprise"),
    "manager2": ("Sofia", "Lindqvist", Role.MANAGER, "Mid-market"),
    "rep1": ("Daniel", "Okafor", Role.REP, "Enterprise"),
    "rep2": ("Laura", "Brennan", Role.REP, "Enterprise"),
    "rep3": ("Tomás", "García", Role.REP, "Enterprise"),
    "rep4": ("Hannah", "Weiss", Role.REP, "Enterprise"),
    "rep5": ("Kenji", "Morita", Role.REP, "Mid-market"),
    "rep6": ("Amelia", "Price", Role.REP, "Mid-market"),
    "rep7": ("Lukas", "Novak", Role.REP, "Mid-market"),
    "rep8": ("Grace", "Adeyemi", Role.REP, "Mid-market"),
}
DEMO_USERNAMES = tuple(PEOPLE)

# --- how the reps work their deals ---------------------------------------------------


@dataclass(frozen=True)
class Habits:
    """How a rep works a deal: what the top-performer study measures, drawn per deal."""

    # Deals whose buyer agrees a mutual action plan (MUTUAL_ACTION_PLAN) before Qualify ends.
    plan_share: float
    # Days from creating a deal to the first call, meeting or email.
    first_touch_days: tuple[float, float]
    # Meetings added to a deal in each of EARLY_STAGES, beyond the usual mix of activities.
    early_meetings: tuple[int, int]
    # Where, within each element's range at a stage exit (QUALIFICATION_LEVELS), the evidence
    # gathered lands: 0 the bottom of the range, 1 the top.
    evidence_depth: tuple[float, float]
    # Stage moves for which the manager overrode the gate (a required milestone left open).
    override_share: float
    # The attainment each past quarter reaches at least (add_quarter_history).
    attainment: tuple[float, float]
    # Deal amounts against the team's usual range: the whole scope, sold to the economic buyer.
    deal_size: float = 1.0

    def plan_agreed_share(self, outcome: str | None) -> float:
        """The chance a deal has a plan, knowing its outcome when it is given: a plan makes
        winning likelier (OUTCOME_WEIGHTS), so a won deal had one more often (Bayes)."""
        if outcome is None:
            return self.plan_share
        index = OUTCOMES.index(outcome)
        with_plan = self.plan_share * OUTCOME_WEIGHTS[True][index]
        without = (1 - self.plan_share) * OUTCOME_WEIGHTS[False][index]
        return with_plan / (with_plan + without)

    @property
    def lost_per_won(self) -> float:
        """Deals lost per deal won, as OUTCOME_WEIGHTS and plan_share make it."""
        won, lost = (
            self.plan_share * OUTCOME_WEIGHTS[True][i]
            + (1 - self.plan_share) * OUTCOME_WEIGHTS[False][i]
            for i in (OUTCOMES.index("won"), OUTCOMES.index("lost"))
        )
        return lost / won


# A deal's outcome, drawn with these weights: a buyer who agreed the steps to a decision
# decides more often, and more often for us.
OUTCOMES = ("open", "won", "lost")
OUTCOME_WEIGHTS = {True: (55, 36, 9), False: (55, 18, 27)}
EARLY_STAGES = ("Discover", "Qualify")

# The top performers by won amount — because of how they work, not by decree: the plan in
# most deals (so they win more), larger deals, contact within a day or two, more meetings
# early, qualification evidence at the top of each range, hardly a gate overridden.
TOP_PERFORMERS = ("rep2", "rep4")
TOP_PERFORMER_HABITS = Habits(
    plan_share=0.9,
    first_touch_days=(0.3, 2.5),
    early_meetings=(1, 2),
    evidence_depth=(0.5, 0.95),
    override_share=0.01,
    attainment=(1.0, 1.15),
    deal_size=1.3,
)
HABITS = Habits(
    plan_share=0.3,
    first_touch_days=(4.0, 9.0),
    early_meetings=(0, 1),
    evidence_depth=(0.0, 0.7),
    override_share=0.06,
    attainment=(0.5, 0.85),
)


def habits_of(user: User) -> Habits:
    return TOP_PERFORMER_HABITS if user.username in TOP_PERFORMERS else HABITS


# --- the pipeline --------------------------------------------------------------------

# The stages, guidance and milestones of "New business": pipeline.blueprints.STAGES (the
# "new_business" template of a real company's pipeline is the same definition), plus one
# optional milestone the demo's top performers reach far more often than the rest — the
# habit the top-performer study should find and suggest requiring.
MUTUAL_ACTION_PLAN = MilestoneSeed(
    "Buyer agreed a mutual action plan up to the decision",
    MilestoneKind.BUYER_COMMITMENT,
    "Steps, owners and dates from here to a signed decision, agreed with the economic "
    "buyer or the champion.",
    required=False,
    requires_evidence=True,
)
DEMO_MILESTONES: dict[str, tuple[MilestoneSeed, ...]] = {"Qualify": (MUTUAL_ACTION_PLAN,)}

# The demo's one experiment: a change to a stage's exit rules, made by the admin some months
# ago (see record_experiment).
EXPERIMENT_STAGE = "Solution"
EXPERIMENT_MILESTONE = "Qualified for a proposal"
EXPERIMENT_MIN_SCORE = 70
EXPERIMENT_DAYS_AGO = 167
EXPERIMENT_NOTE = (
    "Too many proposals went to deals where we had not met the economic buyer; raising the "
    "bar before we write them."
)
# Of the deals that entered Solution since the change and would have stalled there or been
# lost from there on, this share is drawn again: reps now get the economic buyer, metrics
# and decision criteria in place before the proposal, and such deals move on more often.
EXPERIMENT_REDRAW = 0.6

# --- accounts and deals ------------------------------------------------------------

# (name, industry, employees); the first ones are large and go to Enterprise.
ACCOUNTS: tuple[tuple[str, str, int], ...] = (
    ("Halvorsen Maschinenbau GmbH", "Manufacturing", 8400),
    ("Oakridge Financial", "Financial services", 12500),
    ("Kessler Chemie AG", "Chemicals", 6100),
    ("Harbourview Hospitals", "Healthcare", 15800),
    ("Meridian Freight", "Logistics", 4300),
    ("Sterling & Hart Bank", "Financial services", 22000),
    ("Aurelia Pharma", "Pharmaceuticals", 9700),
    ("Veltra Energy", "Energy", 5600),
    ("Lumen Telecom", "Telecommunications", 18300),
    ("Tessera Automotive", "Automotive", 31000),
    ("Granite Peak Insurance", "Insurance", 7200),
    ("Zenith Airlines", "Transportation", 14600),
    ("Beacon Utilities", "Utilities", 5200),
    ("Ironbridge Steel", "Manufacturing", 11200),
    ("Nordlicht Energie AG", "Energy", 3900),
    ("Castellan Construction", "Construction", 4800),
    ("Northwind Logistics", "Logistics", 860),
    ("Brightwater Health", "Healthcare", 1200),
    ("Corvid Insurance", "Insurance", 640),
    ("Altamira Foods", "Food & beverage", 1450),
    ("Bluefin Retail Group", "Retail", 1900),
    ("Fjordline Shipping AS", "Logistics", 520),
    ("Quantis Software", "Software", 380),
    ("Redwood Medical Devices", "Healthcare", 950),
    ("Pioneer Agritech", "Agriculture", 410),
    ("Silverline Media", "Media", 290),
    ("Cobalt Payments", "Financial services", 700),
    ("Everfield Foods", "Food & beverage", 1100),
    ("Vantage Retail", "Retail", 1650),
    ("Solano Solar", "Energy", 330),
    ("Crestmont University", "Education", 1800),
    ("Riverbend Packaging", "Manufacturing", 760),
    ("Atlas Facility Services", "Business services", 1300),
    ("Helix Biotech", "Pharmaceuticals", 450),
    ("Marlow & Finch Legal", "Professional services", 260),
    ("Orion Components", "Electronics", 820),
    ("Willow Home Furnishings", "Retail", 540),
    ("Summit Outdoor", "Retail", 310),
    ("Keystone Property Group", "Real estate", 480),
    ("Lindqvist Logistik AB", "Logistics", 690),
)
ENTERPRISE_ACCOUNTS = 16

PRODUCTS = (
    "Sales platform rollout",
    "Forecasting module",
    "EMEA expansion",
    "Pilot to production",
    "Coaching workspace",
    "Pipeline analytics",
    "Second business unit",
    "Field sales licences",
    "Partner channel rollout",
    "CRM integration package",
    "Onboarding programme",
    "Revenue operations suite",
)

# (issue, impact, our value, quantified value range in EUR)
ISSUES: tuple[tuple[str, str, str, tuple[int, int]], ...] = (
    (
        "Forecasts miss by more than 20% every quarter",
        "Hiring and inventory plans are made on numbers the board no longer trusts.",
        "Gated stages and honest forecast categories bring the forecast within ±10%.",
        (80_000, 400_000),
    ),
    (
        "New sales hires take nine months to reach quota",
        "Each cohort of ten hires costs about €400k in gross margin before it is productive.",
        "Onboarding plans that teach how we sell here plus weekly coaching cut ramp to five "
        "months.",
        (150_000, 600_000),
    ),
    (
        "Deals stall after the proposal with no next step",
        "A third of the late-stage pipeline slips out of the quarter.",
        "Buyer-verified milestones and stale-deal flags surface stalled deals weeks earlier.",
        (100_000, 500_000),
    ),
    (
        "Pipeline reviews are status meetings, not coaching",
        "Managers spend six hours a week on status; win rates are flat for two years.",
        "Reviews generated from each deal's gaps turn status calls into coaching sessions.",
        (40_000, 200_000),
    ),
    (
        "Win rate against the main competitor has fallen to 25%",
        "Roughly €2m of qualified pipeline lost to one competitor last year.",
        "Decision criteria agreed before the demo and a mapped value story per issue.",
        (200_000, 900_000),
    ),
    (
        "Proposals are copied from old templates, sometimes with the wrong customer name",
        "Two strategic bids were lost after embarrassing proposal errors.",
        "Personalized executive summaries and a proposal approval workflow.",
        (30_000, 150_000),
    ),
    (
        "No shared definition of a qualified opportunity across regions",
        "Pipeline coverage looks like 4x but converts like 1.5x.",
        "One qualification framework, scored 0-3 with evidence, with re-qualification.",
        (60_000, 300_000),
    ),
    (
        "Top performers' habits are not shared with the rest of the team",
        "Quota attainment ranges from 40% to 140% within the same team.",
        "Top-performer analysis turns their habits into stage checklists.",
        (120_000, 700_000),
    ),
)

LOSS_REASONS = (
    "Chose a competitor with an existing integration into their ERP.",
    "No budget this fiscal year after the reorganisation.",
    "Stayed with the incumbent, who cut the price by 30%.",
    "Project sponsor left the company; the decision was postponed indefinitely.",
    "Built it in-house with their own BI team.",
    "We could not pass their security review in time.",
    "Price: our proposal was 40% above their budget.",
    "Lost on implementation timeline — the competitor promised go-live in six weeks.",
    "No decision: the status quo was good enough for them.",
)

OVERRIDE_REASONS = (
    "CFO confirmed verbally in the steering meeting; written confirmation follows next week.",
    "Customer's fiscal year ends this month; moving ahead while legal catches up.",
    "Evidence sits with the partner; I reviewed it with the rep and the deal is real.",
)

# How often each kind of activity is logged (the early meetings of Habits come on top).
ACTIVITY_WEIGHTS = {
    ActivityKind.CALL: 30,
    ActivityKind.MEETING: 25,
    ActivityKind.EMAIL: 35,
    ActivityKind.NOTE: 10,
}

ACTIVITY_SUBJECTS: dict[str, tuple[str, ...]] = {
    ActivityKind.CALL: (
        "Discovery call with the head of sales operations",
        "Follow-up call on open questions",
        "Call with the champion to prepare the next meeting",
        "Pricing call with procurement",
        "Reference call arranged with an existing customer",
        "Check-in call with the champion",
    ),
    ActivityKind.MEETING: (
        "On-site workshop with the operations team",
        "Demo for the buying group",
        "Meeting with the economic buyer",
        "Proposal walkthrough with the champion",
        "Technical validation session with IT",
        "Steering committee presentation",
    ),
    ActivityKind.EMAIL: (
        "Sent the recap and agreed next steps",
        "Sent a case study from a similar customer",
        "Shared the draft proposal",
        "Answered the security questionnaire",
        "Sent the mutual action plan",
        "Confirmed the meeting agenda",
    ),
    ActivityKind.NOTE: (
        "Internal note: champion may change roles",
        "Deal strategy notes after the review",
        "Competitor spotted in the account",
        "Notes from the internal deal desk",
    ),
}

NEXT_STEPS = {
    "Discover": ("Second discovery call with operations", "Send discovery recap"),
    "Qualify": ("Meet the economic buyer", "Map the decision process with the champion"),
    "Solution": ("Tailored demo for the buying group", "Agree decision criteria"),
    "Proposal": ("Walk the champion through the proposal", "Confirm signatories and legal"),
    "Negotiate": ("Final terms call with procurement", "Signature meeting"),
}

CATEGORY_OVERRIDES = {
    "Proposal": (
        ForecastCategory.COMMIT,
        "Economic buyer committed to sign this month; paper process already started.",
    ),
    "Negotiate": (
        ForecastCategory.BEST_CASE,
        "Signature date not confirmed yet; procurement added a second review.",
    ),
}


# --- creation helpers (also used by bench/seed.py) -------------------------------------


def create_people(password_hash: str | None = None) -> dict[str, User]:
    """The demo users and their two teams, all with the password "demo" (hashed once)."""
    password_hash = password_hash or make_password(DEMO_PASSWORD)
    teams = {name: Team.objects.create(name=name) for name in TEAMS}
    users: dict[str, User] = {}
    for username, (first, last, role, team) in PEOPLE.items():
        email = f"{_ascii(first)}.{_ascii(last)}@salesops.example".lower()
        users[username] = User.objects.create(
            username=username,
            first_name=first,
            last_name=last,
            email=email,
            role=role,
            team=teams[team] if team else None,
            password=password_hash,
            is_staff=role == Role.ADMIN,
            is_superuser=role == Role.ADMIN,
        )
    for team_name, manager in TEAMS.items():
        teams[team_name].manager = users[manager]
        teams[team_name].save(update_fields=["manager"])
    return users


def create_pipeline() -> Pipeline:
    """The "New business" pipeline: five open stages, won and lost, with milestones (the
    blueprint's and DEMO_MILESTONES)."""
    framework = QualificationFramework.objects.get(name=FRAMEWORK_NAME)
    pipeline = Pipeline.objects.create(
        name=PIPELINE_NAME,
        description=NEW_BUSINESS_DESCRIPTION,
        framework=framework,
    )
    elements = {e.name: e for e in framework.elements.all()}
    milestones: list[Milestone] = []
    levels: list[tuple[Milestone, QualificationElement, int]] = []
    for order, spec in enumerate(STAGES, start=1):
        stage = Stage.objects.create(
            pipeline=pipeline,
            name=spec.name,
            order=order,
            probability=spec.probability,
            forecast_category=spec.category,
            guidance=spec.guidance,
            expected_days=spec.expected,
            warn_days=spec.warn,
            rot_days=spec.rot,
            is_won=spec.is_won,
            is_lost=spec.is_lost,
        )
        specs = (*spec.milestones, *DEMO_MILESTONES.get(spec.name, ()))
        milestones += [
            Milestone(
                stage=stage,
                title=m.title,
                description=m.description,
                kind=m.kind,
                required=m.required,
                requires_evidence=m.requires_evidence,
                auto_check=m.auto_check,
                min_qualification_score=m.min_score,
                order=i,
            )
            for i, m in enumerate(specs, start=1)
        ]
        levels += [
            (milestones[-len(specs) + i], elements[name], level)
            for i, m in enumerate(specs)
            for name, level in m.levels
        ]
    Milestone.objects.bulk_create(milestones)
    MilestoneElementLevel.objects.bulk_create(
        MilestoneElementLevel(milestone=m, element=e, min_level=level) for m, e, level in levels
    )
    return pipeline


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.replace(" ", "")


def _domain(name: str) -> str:
    words = re.sub(r"[^a-z ]", "", name.lower()).split()
    words = [w for w in words if w not in {"gmbh", "ag", "ab", "as", "group"}] or words
    tld = ".de" if name.endswith(("GmbH", "AG")) else ".se" if name.endswith("AB") else ".com"
    return "".join(words[:2]) + tld


# --- the demo's experiment -------------------------------------------------------------


@dataclass(frozen=True)
class Experiment:
    """The demo's rule change, as the history generator follows it."""

    stage_id: int
    milestone_id: int
    at: dt.datetime
    min_score_before: int | None


def record_experiment(pipeline: Pipeline, admin: User, now: dt.datetime) -> Experiment:
    """The admin's change of EXPERIMENT_DAYS_AGO (a Tuesday morning that week): the minimum
    score of EXPERIMENT_MILESTONE raised to EXPERIMENT_MIN_SCORE. Writes the milestone as it
    is now, the stage's next rules version and the StageRuleChange the milestone service
    would have logged then — inserted with its past moment, since the log is append-only.
    The deals written afterwards follow the old rule before that moment, the new one since."""
    milestone = Milestone.objects.select_related("stage").get(
        stage__pipeline=pipeline, stage__name=EXPERIMENT_STAGE, title=EXPERIMENT_MILESTONE
    )
    before = milestone.min_qualification_score
    milestone.min_qualification_score = EXPERIMENT_MIN_SCORE
    milestone.save(update_fields=["min_qualification_score"])
    stage = milestone.stage
    stage.rules_version += 1
    stage.save(update_fields=["rules_version"])
    week = forecast_rules.week_start(
        forecast_services.local_today(now) - dt.timedelta(days=EXPERIMENT_DAYS_AGO)
    )
    at = dt.datetime.combine(
        week + dt.timedelta(days=1), dt.time(10, 30), tzinfo=organisation.current().tz()
    )
    # One difference, in the form rule_changes logs it.
    change = {
        "milestone": milestone.pk,
        "title": milestone.title,
        "what": "min_score",
        "before": before,
        "after": EXPERIMENT_MIN_SCORE,
    }
    StageRuleChange.objects.create(
        stage=stage,
        version=stage.rules_version,
        changed_at=at,
        changed_by=admin,
        summary=rule_changes.describe(change),
        changes=[change],
        note=EXPERIMENT_NOTE,
    )
    return Experiment(stage_id=stage.pk, milestone_id=milestone.pk, at=at, min_score_before=before)


# --- the history generator -------------------------------------------------------------


@dataclass
class _Rows:
    opportunities: list[Opportunity] = field(default_factory=list)
    changes: list[OpportunityChange] = field(default_factory=list)
    completions: list[MilestoneCompletion] = field(default_factory=list)
    issues: list[BusinessIssue] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    qualifications: list[Qualification] = field(default_factory=list)
    scores: list[QualificationScore] = field(default_factory=list)
    created_at: dict[int, dt.datetime] = field(default_factory=dict)  # id(opp) -> when


@dataclass(frozen=True)
class _Journey:
    """When a deal went through which stages — drawn before any of its rows."""

    outcome: str  # "open", "won" or "lost"
    path: list[Stage]  # the open stages it entered, in order
    entered: list[dt.datetime]  # when it entered each of them
    left: list[dt.datetime]  # when it left each (the last: when it closed, or now)
    closed_at: dt.datetime | None

    @property
    def created(self) -> dt.datetime:
        return self.entered[0]

    @property
    def exits(self) -> int:
        """How many stages it left forward (all of a won deal's)."""
        return len(self.path) if self.outcome == "won" else len(self.path) - 1


@dataclass(frozen=True)
class _Gate:
    """What a stage's automatic qualification milestone asks of a deal leaving it."""

    min_score: int
    levels: dict[int, int]  # element id -> minimum level


class _History:
    """Fabricates one opportunity's past, the way the services would have recorded it."""

    def __init__(
        self,
        rng: random.Random,
        now: dt.datetime,
        stages: list[Stage],
        milestones: dict[int, list[Milestone]],
        rows: _Rows,
        elements: list[QualificationElement],
        experiment: Experiment | None = None,
    ) -> None:
        self.rng, self.now, self.rows = rng, now, rows
        self.open_stages = [s for s in stages if not s.is_closed]
        self.won = next(s for s in stages if s.is_won)
        self.lost = next(s for s in stages if s.is_lost)
        self.milestones = milestones
        self.elements = elements
        self.experiment = experiment
        self.gates = {
            stage.pk: _Gate(min_score=rule.min_score, levels=dict(rule.levels))
            for stage in self.open_stages
            for rule in rule_changes.gate_rules(stage.pk).values()
            if rule.min_score is not None
        }

    def _at(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        """A moment between start and end (business-hours-ish, never after now)."""
        if end <= start:
            return start
        moment = start + (end - start) * self.rng.random()
        return min(moment, self.now - dt.timedelta(minutes=5))

    def _change(
        self, opp: Opportunity, f: str, old: Any, new: Any, by: User, at: dt.datetime, **extra: Any
    ) -> None:
        old_s = "" if old is None else (old.isoformat() if isinstance(old, dt.date) else str(old))
        new_s = new.isoformat() if isinstance(new, dt.date) else str(new)
        self.rows.changes.append(
            OpportunityChange(
                opportunity=opp,
                field=f,
                old_value=old_s,
                new_value=new_s,
                old_display=extra.pop("old_display", old_s),
                new_display=extra.pop("new_display", new_s),
                changed_by=by,
                changed_at=at,
                **extra,
            )
        )

    def _journey(
        self,
        outcome: str | None,
        plan: bool,
        end: dt.datetime | None,
        opened_at: dt.datetime | None,
    ) -> _Journey:
        """The stages a deal went through and when (see build for the arguments); its
        outcome, unless given, drawn with OUTCOME_WEIGHTS for whether it has a `plan`."""
        rng, now = self.rng, self.now
        if outcome is None:
            outcome = rng.choices(OUTCOMES, weights=OUTCOME_WEIGHTS[plan])[0]
        if outcome == "open":
            final = rng.choices(range(5), weights=[26, 24, 20, 17, 13])[0]
        elif outcome == "lost":
            final = rng.choices(range(5), weights=[22, 28, 22, 16, 12])[0]
        else:
            final = 4
        path = self.open_stages[: final + 1]
        days = [max(1.0, (s.expected_days or 14) * rng.lognormvariate(0, 0.45)) for s in path]
        if outcome == "open":  # time in the current stage so far: some deals turn yellow or red
            cur = path[-1]
            band = rng.random()
            if band < 0.65:
                days[-1] = rng.uniform(0.2, cur.warn_days or 14)
            elif band < 0.87:
                days[-1] = rng.uniform(cur.warn_days or 14, cur.rot_days or 30)
            else:
                days[-1] = rng.uniform(cur.rot_days or 30, (cur.rot_days or 30) * 1.8)
        total = sum(days)
        if total > 340:
            days = [d * 340 / total for d in days]
            total = 340
        if outcome == "open" and opened_at is not None:
            days = [d * (now - opened_at).total_seconds() / 86400 / total for d in days]
            total = sum(days)
        if outcome == "open":
            end = now
        elif end is None:
            end = now - dt.timedelta(days=rng.uniform(1, 360 - total))
        created = end - dt.timedelta(days=total)
        entered = [created]
        for d in days[:-1]:
            entered.append(entered[-1] + dt.timedelta(days=d))
        closed_at = None if outcome == "open" else end
        return _Journey(outcome, path, entered, [*entered[1:], closed_at or now], closed_at)

    def _held_back(self, journey: _Journey) -> bool:
        """Whether the deal entered the experiment's stage since the change and then went
        the way the change is meant to prevent: lost in that stage or a later one, or
        still in it past the stage's warning days."""
        experiment = self.experiment
        if experiment is None or journey.outcome == "won":
            return False
        ids = [stage.pk for stage in journey.path]
        if experiment.stage_id not in ids:
            return False
        i = ids.index(experiment.stage_id)
        if journey.entered[i] < experiment.at:
            return False
        if journey.outcome == "lost":
            return True
        warn = dt.timedelta(days=journey.path[i].warn_days or 14)
        return i == len(ids) - 1 and journey.left[i] - journey.entered[i] > warn

    def _gate(self, stage: Stage, at: dt.datetime) -> _Gate | None:
        """The qualification gate of `stage` as it stood at `at` (before the experiment's
        change, its old minimum score)."""
        gate, experiment = self.gates.get(stage.pk), self.experiment
        if (
            gate is not None
            and experiment is not None
            and stage.pk == experiment.stage_id
            and at < experiment.at
            and experiment.min_score_before is not None
        ):
            return _Gate(min_score=experiment.min_score_before, levels=gate.levels)
        return gate

    def build(
        self,
        *,
        name: str,
        account: Account,
        owner: User,
        manager: User,
        pipeline: Pipeline,
        amount: Decimal,
        outcome: str | None = None,
        end: dt.datetime | None = None,
        opened_at: dt.datetime | None = None,
        close_date: dt.date | None = None,
    ) -> None:
        """One deal's past. `outcome` ("open", "won", "lost") and, for a closed deal, the
        moment it closed (`end`) are drawn unless given; an open deal may be given the
        moment it was opened (`opened_at`: its stages so far fit in since) and its
        expected close date. (The forecasting history asks for deals won or lost in a
        given quarter, and for a few opened lately that close this quarter.) The deal is
        worked the way its owner works (habits_of): with or without a mutual action plan,
        which makes winning likelier."""
        rng, now = self.rng, self.now
        habits = habits_of(owner)
        plan = rng.random() < habits.plan_agreed_share(outcome)
        journey = self._journey(outcome, plan, end, opened_at)
        if self._held_back(journey) and rng.random() < EXPERIMENT_REDRAW:
            journey = self._journey(outcome, plan, end, opened_at)
        outcome, path, entered = journey.outcome, journey.path, journey.entered
        created, closed_at, final = journey.created, journey.closed_at, len(path) - 1

        expected_cycle = sum(s.expected_days or 14 for s in self.open_stages)
        drawn = (created + dt.timedelta(days=expected_cycle * rng.uniform(0.8, 1.3))).date()
        close_date = close_date or drawn
        category = path[0].forecast_category
        opp = Opportunity(
            name=name,
            account=account,
            owner=owner,
            pipeline=pipeline,
            stage=path[0],
            amount=amount,
            currency="EUR",
            close_date=close_date,
            forecast_category=category,
            stage_entered_at=created,
            status=OpportunityStatus.OPEN,
        )
        self.rows.created_at[id(opp)] = created
        first_change = len(self.rows.changes)
        for f, value, display in (
            (ChangeField.STAGE, path[0].pk, path[0].name),
            (ChangeField.AMOUNT, amount, str(amount)),
            (ChangeField.CLOSE_DATE, close_date, close_date.isoformat()),
            (ChangeField.FORECAST_CATEGORY, category, ForecastCategory(category).label),
        ):
            self._change(opp, f, None, value, owner, created, new_display=display, note="Created")
        events = 0

        # Business issues: identified in Discover/Qualify, mapped to value from Solution on.
        reached = len(path) + (1 if outcome == "won" else 0)
        n_issues = 0 if final == 0 and rng.random() < 0.5 else rng.randint(1, 3)
        for issue, impact, value, (lo, hi) in rng.sample(ISSUES, n_issues):
            mapped = reached > 3 or (final == 2 and rng.random() < 0.6) or rng.random() < 0.15
            created_issue = self._at(
                created, entered[min(1, len(entered) - 1)] + dt.timedelta(days=3)
            )
            bi = BusinessIssue(
                opportunity=opp,
                issue=issue,
                impact=impact,
                our_value=value if mapped else "",
                quantified_value=Decimal(rng.randrange(lo, hi, 5000)) if mapped else None,
                created_by=owner,
            )
            bi._seed_created_at = created_issue  # type: ignore[attr-defined]
            self.rows.issues.append(bi)
        if reached > 3 and n_issues == 0:  # passed Solution: its automatic milestone held
            issue, impact, value, (lo, hi) = rng.choice(ISSUES)
            bi = BusinessIssue(
                opportunity=opp,
                issue=issue,
                impact=impact,
                our_value=value,
                quantified_value=Decimal(rng.randrange(lo, hi, 5000)),
                created_by=owner,
            )
            bi._seed_created_at = self._at(created, entered[-1])  # type: ignore[attr-defined]
            self.rows.issues.append(bi)

        # Walk the stages: milestones ticked while in a stage, then the move out of it.
        leave_times = journey.left
        for i, stage in enumerate(path):
            left = leave_times[i]
            is_current = i == len(path) - 1 and outcome != "won"
            skipped: Milestone | None = None
            ticks = [m for m in self.milestones[stage.pk] if not m.auto_check]
            if not is_current and rng.random() < habits.override_share:  # the manager overrode
                required = [m for m in ticks if m.required]
                skipped = rng.choice(required) if required else None
            for m in ticks:
                if m is skipped:
                    continue
                if m.title == MUTUAL_ACTION_PLAN.title:
                    p = (0.45 if is_current else 1.0) if plan else 0.0
                else:
                    p = 0.45 if is_current else (1.0 if m.required else 0.6)
                if rng.random() < p:
                    self.rows.completions.append(
                        MilestoneCompletion(
                            opportunity=opp,
                            milestone=m,
                            completed_by=owner,
                            completed_at=self._at(entered[i], left - dt.timedelta(hours=1)),
                            evidence=_evidence(m, account) if m.requires_evidence else "",
                        )
                    )
            # Amount revised once the scope is clear (in Solution or Proposal).
            if stage.name in ("Solution", "Proposal") and rng.random() < 0.3:
                new_amount = opp.amount * Decimal(str(round(rng.uniform(0.7, 1.35), 2)))
                new_amount = (new_amount / 500).quantize(Decimal("1")) * 500
                if new_amount != opp.amount:
                    self._change(
                        opp,
                        ChangeField.AMOUNT,
                        opp.amount,
                        new_amount,
                        owner,
                        self._at(entered[i], left),
                    )
                    opp.amount = new_amount
                    events += 1
            # Close date pushed when it came too close for where the deal was.
            if opp.close_date < (left + dt.timedelta(days=7)).date() and rng.random() < 0.85:
                at = self._at(entered[i], left)
                new_date = (at + dt.timedelta(days=rng.randint(20, 75))).date()
                if new_date > opp.close_date:
                    self._change(opp, ChangeField.CLOSE_DATE, opp.close_date, new_date, owner, at)
                    opp.close_date = new_date
                    events += 1
            if is_current:
                break
            target = path[i + 1] if i + 1 < len(path) else self.won
            self._move(opp, stage, target, owner, manager, left, skipped)
            events += 1

        if outcome == "open":
            override = CATEGORY_OVERRIDES.get(opp.stage.name)
            if override and rng.random() < 0.12:
                new_cat, reason = override
                self._change(
                    opp,
                    ChangeField.FORECAST_CATEGORY,
                    opp.forecast_category,
                    new_cat,
                    owner,
                    self._at(opp.stage_entered_at, now),
                    old_display=ForecastCategory(opp.forecast_category).label,
                    new_display=ForecastCategory(new_cat).label,
                    override_reason=reason,
                )
                opp.forecast_category, opp.forecast_category_override_reason = new_cat, reason
                events += 1
            steps = NEXT_STEPS[opp.stage.name]
            opp.next_step = rng.choice(steps)
            stale = rng.random() < 0.12
            opp.next_step_date = (
                now + dt.timedelta(days=rng.randint(-20, -2) if stale else rng.randint(1, 14))
            ).date()
            if rng.random() < 0.06:  # a few deals whose close date has quietly passed
                old_date = opp.close_date
                opp.close_date = (now - dt.timedelta(days=rng.randint(2, 25))).date()
                self._change(
                    opp,
                    ChangeField.CLOSE_DATE,
                    old_date,
                    opp.close_date,
                    owner,
                    # After the deal's last change (a push in this stage included), so
                    # that replaying the history ends at the deal as it is.
                    self._at(max(c.changed_at for c in self.rows.changes[first_change:]), now),
                    note="Pulled in",
                )
                events += 1
            activity_end = now - dt.timedelta(days=rng.uniform(31, 70)) if stale else now
        else:
            assert closed_at is not None
            actual = closed_at.date()
            if opp.close_date != actual:
                self._change(
                    opp,
                    ChangeField.CLOSE_DATE,
                    opp.close_date,
                    actual,
                    owner,
                    closed_at - dt.timedelta(minutes=2),
                    note="Actual close date",
                )
                opp.close_date = actual
                events += 1
            if outcome == "lost":
                self._move(
                    opp,
                    opp.stage,
                    self.lost,
                    owner,
                    manager,
                    closed_at,
                    None,
                    loss_reason=rng.choice(LOSS_REASONS),
                )
                events += 1
            activity_end = closed_at
        opp.version = 1 + events
        self._activities(opp, owner, journey, habits, max(created, activity_end))
        self._qualifications(opp, journey, habits)
        self.rows.opportunities.append(opp)

    def _move(
        self,
        opp: Opportunity,
        old: Stage,
        target: Stage,
        owner: User,
        manager: User,
        at: dt.datetime,
        skipped: Milestone | None,
        loss_reason: str = "",
    ) -> None:
        """A stage move as opportunity_advance records it."""
        if skipped is not None:
            self._change(
                opp,
                ChangeField.STAGE,
                old.pk,
                target.pk,
                manager,
                at,
                old_display=old.name,
                new_display=target.name,
                override_reason=self.rng.choice(OVERRIDE_REASONS),
                note=f"Gate overridden; missing: {skipped.title}",
            )
        else:
            self._change(
                opp,
                ChangeField.STAGE,
                old.pk,
                target.pk,
                owner,
                at,
                old_display=old.name,
                new_display=target.name,
            )
        if target.is_won:
            category = ForecastCategory.CLOSED
        elif target.is_lost:
            category = ForecastCategory.OMITTED
        elif opp.forecast_category_override_reason:
            category = opp.forecast_category
        else:
            category = target.forecast_category
        if category != opp.forecast_category:
            self._change(
                opp,
                ChangeField.FORECAST_CATEGORY,
                opp.forecast_category,
                category,
                owner,
                at,
                old_display=ForecastCategory(opp.forecast_category).label,
                new_display=ForecastCategory(category).label,
                note=f"Follows stage '{target.name}'",
            )
            opp.forecast_category = category
        opp.stage, opp.stage_entered_at = target, at
        if target.is_closed:
            status = OpportunityStatus.WON if target.is_won else OpportunityStatus.LOST
            self._change(opp, ChangeField.STATUS, opp.status, status, owner, at, note=loss_reason)
            opp.status, opp.closed_at, opp.loss_reason = status, at, loss_reason
            opp.forecast_category_override_reason = ""

    def _activities(
        self,
        opp: Opportunity,
        owner: User,
        journey: _Journey,
        habits: Habits,
        end: dt.datetime,
    ) -> None:
        """Calls, meetings, emails and notes up to `end`: the first contact with the customer
        when the owner's habit has it, the owner's extra meetings in EARLY_STAGES, the rest
        anywhere after the first contact (a note any time). last_activity_at is the latest
        contact."""
        rng = self.rng
        start = journey.created
        span_days = max(1.0, (end - start).total_seconds() / 86400)
        count = max(2, min(24, int(span_days / rng.uniform(6, 12)) + rng.randint(1, 3)))
        touch = start + dt.timedelta(days=rng.uniform(*habits.first_touch_days))
        first = min(touch, end, self.now - dt.timedelta(minutes=5))
        kinds = list(ACTIVITY_WEIGHTS)
        customer_weights = [ACTIVITY_WEIGHTS[k] for k in CUSTOMER_ACTIVITY_KINDS]
        planned = [(rng.choices(CUSTOMER_ACTIVITY_KINDS, weights=customer_weights)[0], first)]
        for _ in range(count - 1):
            kind = rng.choices(kinds, weights=list(ACTIVITY_WEIGHTS.values()))[0]
            planned.append((kind, self._at(start if kind == ActivityKind.NOTE else first, end)))
        for i, stage in enumerate(journey.path):
            if stage.name not in EARLY_STAGES:
                continue
            since, until = max(journey.entered[i], first), min(journey.left[i], end)
            meetings = rng.randint(*habits.early_meetings)
            if since < until:
                planned += [(ActivityKind.MEETING, self._at(since, until)) for _ in range(meetings)]
        last_customer: dt.datetime | None = None
        for kind, at in planned:
            self.rows.activities.append(
                Activity(
                    opportunity=opp,
                    kind=kind,
                    subject=rng.choice(ACTIVITY_SUBJECTS[kind]),
                    body="" if rng.random() < 0.5 else _activity_body(opp, rng),
                    occurred_at=at,
                    logged_by=owner,
                )
            )
            if kind in CUSTOMER_ACTIVITY_KINDS and (last_customer is None or at > last_customer):
                last_customer = at
        opp.last_activity_at = last_customer

    def _qualifications(self, opp: Opportunity, journey: _Journey, habits: Habits) -> None:
        """The deal's assessments: one in the last week before each forward exit (the
        gates of Qualify and Solution need one; half the deals leave Discover without),
        and for an open deal a re-assessment in its stage 2-45 days ago (about a third have
        expired by now); 12% of open deals had their latest voided by a pushed close date.
        Levels never fall, and at a gate they meet the rule in force then."""
        rng = self.rng
        levels = {e.pk: 0 for e in self.elements}
        latest: Qualification | None = None
        for i in range(journey.exits):
            if i == 0 and rng.random() < 0.5:
                continue
            left = journey.left[i]
            levels = self._assess(levels, i, habits, self._gate(journey.path[i], left))
            at = self._at(
                max(journey.entered[i], left - dt.timedelta(days=7)), left - dt.timedelta(hours=1)
            )
            latest = self._qualification(opp, at, levels)
        if journey.outcome != "open":
            return
        current = len(journey.path) - 1
        at = self.now - dt.timedelta(days=rng.uniform(2, 45))
        if at > journey.entered[current] and (current > 0 or rng.random() < 0.5):
            levels = self._assess(levels, current, habits, None)
            latest = self._qualification(opp, at, levels)
        if latest is not None and rng.random() < 0.12:
            voided = latest.assessed_at + dt.timedelta(days=rng.uniform(1, 5))
            latest.invalidated_at = min(self.now, voided)
            pushed = opp.close_date + dt.timedelta(days=31)
            latest.invalidated_reason = (
                f"Close date pushed from {opp.close_date:%b %Y} to {pushed:%b %Y}."
            )

    def _assess(
        self, levels: dict[int, int], exit_index: int, habits: Habits, gate: _Gate | None
    ) -> dict[int, int]:
        """The levels when leaving the `exit_index`-th open stage: where the owner's evidence
        depth lands within QUALIFICATION_LEVELS, never below `levels` (the last assessment),
        and raised to what `gate` asks."""
        low, high = habits.evidence_depth
        drawn = {}
        for e in self.elements:
            lo, hi = QUALIFICATION_LEVELS[e.name][exit_index]
            depth = self.rng.uniform(low, high)
            drawn[e.pk] = max(levels[e.pk], min(hi, lo + int(depth * (hi - lo + 1))))
        if gate is None:
            return drawn
        weights = {e.pk: e.weight for e in self.elements}
        return meet_gate(drawn, weights=weights, min_score=gate.min_score, minimums=gate.levels)

    def _qualification(
        self, opp: Opportunity, at: dt.datetime, levels: dict[int, int]
    ) -> Qualification:
        """One assessment with its element scores (evidence and source from level 2 on)."""
        rng = self.rng
        q = Qualification(
            opportunity=opp,
            framework_id=self.elements[0].framework_id,
            score_pct=weighted_score_pct(
                weighted_scores=[(e.weight, levels[e.pk]) for e in self.elements]
            ),
            assessed_by=opp.owner,
            assessed_at=at,
        )
        self.rows.qualifications.append(q)
        for e in self.elements:
            evidence = source = ""
            if levels[e.pk] >= 2:
                evidence = EVIDENCE[e.name].format(account=opp.account.name, n=rng.randint(3, 40))
                source = rng.choice(["call", "meeting", "email", "document"])
            self.rows.scores.append(
                QualificationScore(
                    qualification=q,
                    element=e,
                    score=levels[e.pk],
                    evidence=evidence,
                    source=source,
                )
            )
        return q


def _evidence(milestone: Milestone, account: Account) -> str:
    return (
        f"Confirmed by the customer ({account.name}) — see the meeting notes and the "
        f"follow-up email for '{milestone.title[:60]}'."
    )


def _activity_body(opp: Opportunity, rng: random.Random) -> str:
    return rng.choice(
        (
            f"Discussed priorities for {opp.account.name}; decision wanted by quarter end.",
            "Agreed to involve finance earlier than planned.",
            "Champion is positive; procurement needs two more weeks.",
            "They asked for a second reference in the same industry.",
            "Open question: who owns the budget after the reorganisation?",
        )
    )


# --- qualification history -----------------------------------------------------------

# The level each MEDDICC element has been shown to reach when a deal leaves each open stage:
# a range, where in it depending on the owner's evidence depth (Habits); a gate raises what
# falls short of it (meet_gate).
QUALIFICATION_LEVELS: dict[str, tuple[tuple[int, int], ...]] = {
    #                 Discover Qualify Solution Proposal Negotiate
    "Metrics": ((0, 1), (0, 2), (1, 3), (1, 3), (2, 3)),
    "Economic buyer": ((0, 1), (1, 3), (1, 3), (2, 3), (2, 3)),
    "Decision criteria": ((0, 0), (0, 2), (1, 3), (1, 3), (2, 3)),
    "Decision process": ((0, 0), (0, 2), (0, 3), (1, 3), (2, 3)),
    "Identify pain": ((1, 2), (1, 3), (2, 3), (2, 3), (2, 3)),
    "Champion": ((0, 1), (1, 3), (1, 3), (1, 3), (2, 3)),
    "Competition": ((0, 1), (0, 2), (0, 3), (1, 3), (1, 3)),
}
EVIDENCE = {
    "Metrics": "{account} put the cost at {n} hours a month in the workshop.",
    "Economic buyer": "The CFO of {account} joined the call and asked for the business case.",
    "Decision criteria": "{account} shared their evaluation sheet; we meet {n} of 12 criteria.",
    "Decision process": "Champion walked us through legal, security review and board sign-off.",
    "Identify pain": "Ops lead at {account}: month-end close takes {n} days, auditors complained.",
    "Champion": "Our champion at {account} presented our case to their leadership team.",
    "Competition": "{account} is also looking at two competitors and an in-house build.",
}


def meet_gate(
    levels: dict[int, int], *, weights: dict[int, int], min_score: int, minimums: dict[int, int]
) -> dict[int, int]:
    """`levels` (by element id) raised just enough to pass a qualification gate: each element
    to its minimum, then the lowest a level at a time until the score reaches `min_score` —
    what a rep who must pass the gate goes back to the customer for."""
    met = {pk: max(level, minimums.get(pk, 0)) for pk, level in levels.items()}

    def score() -> Decimal:
        return weighted_score_pct(
            weighted_scores=[(weights[pk], level) for pk, level in met.items()]
        )

    while score() < min_score:
        lowest = min((pk for pk in met if met[pk] < MAX_SCORE), key=met.__getitem__)
        met[lowest] += 1
    return met


def write_qualifications(rows: _Rows) -> None:
    """The deals' assessments (made by _History), and each deal's latest."""
    Qualification.objects.bulk_create(rows.qualifications, batch_size=1000)
    QualificationScore.objects.bulk_create(rows.scores, batch_size=2000)
    set_latest_qualifications()


def set_latest_qualifications() -> None:
    """Point every opportunity at its newest qualification (what qualification_create
    keeps up to date one by one)."""
    with connection.cursor() as cursor:
        cursor.execute(LATEST_QUALIFICATION_SQL)


LATEST_QUALIFICATION_SQL = """
UPDATE pipeline_opportunity o SET latest_qualification_id = q.id
FROM (
    SELECT DISTINCT ON (opportunity_id) opportunity_id, id
    FROM pipeline_qualification
    ORDER BY opportunity_id, assessed_at DESC, id DESC
) q
WHERE q.opportunity_id = o.id
"""


# Closing paragraphs of the demo executive summaries: each demo proposal gets its own, so
# the summaries are personal and none reads as a copy of another (the checks would say so).
SUMMARY_CLOSERS = (
    "We propose a twelve week rollout that starts with the two teams feeling the problem "
    "most, measured against the baseline we agreed in the discovery workshop, with a "
    "steering review every second Friday and a go-live before the end of the quarter.",
    "Our plan runs in three phases over ten weeks: a pilot with one region, a review of "
    "the results with your leadership team, then the rollout to every team, with our "
    "customer success lead on site for the first month after go-live.",
    "The first month pairs our consultants with your managers on live deals, so the new "
    "way of working is proven on your own numbers before it is rolled out; we report "
    "progress against the agreed metrics to your sponsor every two weeks.",
)


def _demo_summary(opp: Opportunity, issue: BusinessIssue, closer: str) -> str:
    value = f"{issue.quantified_value:,.0f} {opp.currency}" if issue.quantified_value else ""
    return (
        f"{opp.account.name} told us that {issue.issue[0].lower()}{issue.issue[1:]}. "
        f"{issue.impact} {issue.our_value} We estimate the value for {opp.account.name} at "
        f"{value} a year. {closer}"
    )


def build_proposals(users: dict[str, User]) -> int:
    """A few proposals through the real services: one sent, one waiting for its manager's
    review, one draft — on late-stage deals with a business issue mapped to our value."""
    from proposals import selectors as proposal_selectors
    from proposals import services as proposal_services

    deals = (
        Opportunity.objects.filter(
            status=OpportunityStatus.OPEN, stage__name__in=("Proposal", "Negotiate")
        )
        .exclude(business_issues__quantified_value=None)
        .select_related("account", "owner__team__manager")
        .order_by("close_date", "id")
    )
    made, seen_issues = 0, set()
    items = [i.pk for i in proposal_selectors.checklist_items()]
    for opp in deals:
        issue = opp.business_issues.exclude(quantified_value=None).order_by("id").first()
        if issue.issue in seen_issues or opp.owner.team is None:
            continue
        seen_issues.add(issue.issue)
        proposal = proposal_services.proposal_create(
            actor=opp.owner,
            opportunity_id=opp.pk,
            title=f"{issue.our_value.split('.')[0][:150]} for {opp.account.name}",
            executive_summary=_demo_summary(opp, issue, SUMMARY_CLOSERS[made]),
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            sections=[
                {"heading": "Scope", "body": f"{opp.name}: licences, onboarding and coaching."},
                {"heading": "Investment", "body": f"{opp.amount:,.0f} {opp.currency} a year."},
                {"heading": "Next steps", "body": "Sign-off by the sponsor, then kick-off."},
            ],
        )
        if made < 2:
            proposal_services.proposal_submit(actor=opp.owner, proposal_id=proposal.pk)
        if made == 0:
            manager = opp.owner.team.manager
            proposal_services.proposal_approve(
                actor=manager, proposal_id=proposal.pk, checked_items=items
            )
            proposal_services.proposal_mark_sent(actor=opp.owner, proposal_id=proposal.pk)
        made += 1
        if made == len(SUMMARY_CLOSERS):
            break
    return made


# --- coaching ----------------------------------------------------------------------------
# Days since each demo rep's last 1:1, chosen so that the coaching
# home shows every state: on cadence, due soon, overdue, and a new hire on weekly 1:1s.
LAST_ONE_ON_ONE_DAYS_AGO = {
    "rep1": 5, "rep2": 20, "rep3": 12, "rep4": 40,
    "rep5": 3, "rep6": 16, "rep7": 9, "rep8": 9,
}  # fmt: skip
NEW_HIRE, NEW_HIRE_DAYS = "rep8", 30
PRACTICE = (
    "Run the discovery call plan with a peer twice before Friday, recorded.",
    "Rewrite the last two executive summaries in the customer's words; bring both.",
    "Role-play the pricing objection with your manager: three answers, none a discount.",
)


def _backdate(model: Any, pk: int, **fields: Any) -> None:
    """Move a demo record made through a service "now" to the past it stands for."""
    model.objects.filter(pk=pk).update(**fields)


def build_coaching(users: dict[str, User], rng: random.Random) -> dict[str, int]:
    """Skill assessments (two rounds, so the matrix has trends), 1:1s with action items,
    and opportunity reviews — through the coaching services, then moved to their past."""
    from coaching import services as coaching
    from coaching.models import ActionItem, CoachingSession, OpportunityReview, Skill

    today = timezone.localdate()
    now = timezone.now()
    skills = list(Skill.objects.filter(is_active=True).order_by("order", "id"))
    reps = {u: users[u] for u, p in PEOPLE.items() if p[2] == Role.REP}
    # The demo company is a few years old; one rep joined last month.
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(
        started_on=today - dt.timedelta(days=3 * 365)
    )
    User.objects.filter(pk=reps[NEW_HIRE].pk).update(
        started_on=today - dt.timedelta(days=NEW_HIRE_DAYS)
    )
    counts = Counter()
    for username, rep in reps.items():
        manager = users[TEAMS[PEOPLE[username][3]]]
        for skill in rng.sample(skills, 4):
            level = rng.randint(1, 4)
            for days_ago, step in ((75, 0), (12, rng.choice((0, 1, 1, -1)))):
                coaching.skill_assessment_create(
                    actor=manager,
                    rep_id=rep.pk,
                    skill_id=skill.pk,
                    level=min(5, max(1, level + step)),
                    assessed_on=today - dt.timedelta(days=days_ago),
                    evidence=f"Seen on {rep.first_name}'s calls and deals this quarter.",
                )
                counts["assessments"] += 1
        days_ago = LAST_ONE_ON_ONE_DAYS_AGO[username]
        for held in (days_ago + 14, days_ago):
            focus = rng.sample(skills, 2)
            session = coaching.session_create(
                actor=manager,
                rep_id=rep.pk,
                held_on=today - dt.timedelta(days=held),
                focus_skill_id=focus[0].pk,
                second_focus_skill_id=focus[1].pk if held == days_ago else None,
                notes=f"Worked on {focus[0].name.lower()} using two live deals.",
                practice_assignment=rng.choice(PRACTICE),
                action_items=[
                    {"title": f"Apply the {focus[0].name.lower()} checklist to your top deal",
                     "due_on": today},
                ],
            )  # fmt: skip
            counts["sessions"] += 1
            _backdate(CoachingSession, session.pk, created_at=now - dt.timedelta(days=held))
            for item in session.action_items.all():
                due = today - dt.timedelta(days=held) + dt.timedelta(days=7)
                # Older items: done on time, mostly; the latest may still be open.
                done = due < today and rng.random() < 0.75
                _backdate(
                    ActionItem,
                    item.pk,
                    due_on=due,
                    created_at=now - dt.timedelta(days=held),
                    done_at=now - dt.timedelta(days=held - 5) if done else None,
                )
    # Reviews: each manager's riskiest deal gets one completed review; the next one is in
    # progress, for the review page to show an agenda.
    from coaching.selectors import review_queue_for

    for manager in (users[m] for m in TEAMS.values()):
        for position, row in enumerate(review_queue_for(manager).rows[:2]):
            review = coaching.review_start(actor=manager, opportunity_id=row.opportunity.pk)
            counts["reviews"] += 1
            if position == 1:
                continue
            skill = next(s for s in skills if "qualif" in s.name.lower())
            coaching.review_finding_add(
                actor=manager,
                review_id=review.pk,
                text="The champion has not met the economic buyer; the close date rests on "
                "the champion's optimism.",
            )
            coaching.review_coaching_point_add(
                actor=manager,
                review_id=review.pk,
                skill_id=skill.pk,
                text="Ask the champion to introduce you to the economic buyer before the "
                "proposal, and re-score the qualification after the meeting.",
            )
            coaching.review_action_item_add(
                actor=manager,
                review_id=review.pk,
                title="Meet the economic buyer with the champion",
                due_on=today + dt.timedelta(days=7),
            )
            coaching.review_complete(actor=manager, review_id=review.pk)
            _backdate(
                OpportunityReview,
                review.pk,
                started_at=now - dt.timedelta(days=9, hours=1),
                completed_at=now - dt.timedelta(days=9),
            )
    return dict(counts)


# --- forecasting -------------------------------------------------------------------------
# Quotas, deals won and lost in each of the last four quarters, twelve weekly pipeline
# snapshots and forecast calls, so that the forecast pages have a past to show: attainment,
# the trend and the week-over-week changes, accuracy and bias. Quotas and calls go through
# the forecasting services (calls with `now=` in the past); the snapshots of past weeks
# are replayed from the deals' change history, this week's is taken by the real job.

FORECAST_SEED_OFFSET = 6  # the forecasting history draws from Random(SEED + 6)
DEMO_CURRENCY = "EUR"  # every demo deal's currency
HISTORY_QUARTERS = 4
SNAPSHOT_WEEKS = 12
# Each rep's quota for the current quarter (Enterprise deals are 40-420k, Mid-market
# 8-90k); each earlier quarter's was QUOTA_GROWTH lower than the next.
QUARTER_QUOTAS = {
    "rep1": 850_000, "rep2": 900_000, "rep3": 800_000, "rep4": 950_000,
    "rep5": 200_000, "rep6": 220_000, "rep7": 180_000, "rep8": 160_000,
}  # fmt: skip
QUOTA_GROWTH = Decimal("0.04")
# The first two months of a quarter carry 30% of its quota each; the last one the rest.
MONTH_SHARES = (Decimal("0.3"), Decimal("0.3"))
# A team's quota is a little below its reps' together (reps are over-assigned).
TEAM_QUOTA_SHARE = Decimal("0.95")
# Per rep and past quarter an attainment is drawn in the rep's Habits.attainment and won
# deals are added until it is reached (with lost ones, as the rep's win rate goes); a
# quarter whose deals already won more than ATTAINMENT_CAP of the quota had a higher
# quota, one they attained RAISED_ATTAINMENT of. So past attainment lies between ~50% and
# ~118%.
ATTAINMENT_CAP = Decimal("1.18")
RAISED_ATTAINMENT = (0.8, 1.15)
# Deals opened in the last weeks that close this quarter (see add_late_deals): whose, and
# how soon at the earliest (a closer close date would be pushed at once).
LATE_DEAL_OWNERS = ("rep1", "rep5", "rep6", "rep8")
LATE_DEAL_MIN_DAYS = 7
# How the reps' calls compare with what they went on to close: an optimist and a
# sandbagger; the others call straight. Their managers adjust the team calls for them.
CALL_BIAS = {"rep2": 1.3, "rep6": 0.7}
ADJUSTMENTS = {
    "Enterprise": (
        "rep2",
        (0.86, 0.95),
        "Took {delta} off the reps' commit: {name}'s call counts deals whose signature "
        "date is not confirmed yet.",
    ),
    "Mid-market": (
        "rep6",
        (1.04, 1.12),
        "Added {delta} to the reps' commit: {name} leaves out Negotiate deals whose paper "
        "process has started.",
    ),
}
ADJUSTED_SHARE = 0.7  # how often a manager's team call differs from the reps' sum
# The weeks of a past quarter in which reps call: everyone in weeks 1 and 6 (the accuracy
# checkpoints), a few revise in week 3 (superseded before week 6) or week 10 (after it).
# A call's spread around what was finally won narrows as the quarter goes on.
CALL_SPREAD = {1: 0.2, 3: 0.15, 6: 0.08, 10: 0.05}
# Reps who have not called yet this week, so that the "not submitted" indicator shows.
NOT_CALLED_THIS_WEEK = ("rep3", "rep7")
CALL_NOTES = (
    "Commit is the Negotiate deals with a confirmed signature date.",
    "Best case adds the Proposal deals whose champion has reviewed the proposal.",
    "Two deals carry the quarter; both economic buyers are engaged.",
    "Procurement slowed one deal down; it is in best case, not commit.",
    "",
)


def _round_to(amount: Decimal | int, step: int, *, up: bool = False) -> Decimal:
    units = (Decimal(amount) / step).to_integral_value(ROUND_CEILING if up else ROUND_HALF_UP)
    return units * step


def _ratio(value: float) -> Decimal:
    return Decimal(str(round(value, 3)))


def current_quarter(now: dt.datetime) -> forecast_rules.Period:
    return forecast_services.fiscal_calendar().period_of(
        forecast_services.local_today(now), forecast_rules.PeriodKind.QUARTER
    )


def past_quarters(now: dt.datetime) -> list[forecast_rules.Period]:
    """The last HISTORY_QUARTERS closed fiscal quarters, oldest first."""
    current = current_quarter(now)
    return [current.shifted(-back) for back in range(HISTORY_QUARTERS, 0, -1)]


def quarter_quota(username: str, quarters_back: int) -> Decimal:
    """A rep's quota before any raise: QUARTER_QUOTAS, less QUOTA_GROWTH a quarter back."""
    return _round_to(QUARTER_QUOTAS[username] / (1 + QUOTA_GROWTH) ** quarters_back, 10_000)


def won_by_rep_and_quarter(
    deals: Iterable[tuple[int, Decimal, dt.datetime]], quarters: list[forecast_rules.Period]
) -> Counter[tuple[int, dt.date]]:
    """Σ amount of won deals (owner id, amount, closed_at) per (owner, quarter start), by
    the day they closed in the organisation's timezone — forecast_summary's closed won."""
    tz = organisation.current().tz()
    won: Counter[tuple[int, dt.date]] = Counter()
    for owner_id, amount, closed_at in deals:
        day = timezone.localtime(closed_at, tz).date()
        for quarter in quarters:
            if day in quarter:
                won[(owner_id, quarter.start)] += amount
    return won


def _moment_in(quarter: forecast_rules.Period, rng: random.Random) -> dt.datetime:
    """Working hours on a day inside `quarter` (not its first or last day)."""
    day = quarter.start + dt.timedelta(days=rng.randint(1, (quarter.end - quarter.start).days - 2))
    at = dt.time(rng.randint(9, 17), rng.choice((0, 15, 30, 45)))
    return dt.datetime.combine(day, at, tzinfo=organisation.current().tz())


def add_quarter_history(
    opportunities: list[Opportunity],
    reps: dict[str, User],
    now: dt.datetime,
    rng: random.Random,
    new_deal: Callable[..., Opportunity],
) -> dict[str, int]:
    """Deals won (and, as the rep's habits make it, lost) in each of the last quarters for
    every rep whose won deals fall short of the attainment drawn for them — the year of
    generated history thins out towards its start. Built by `new_deal` like every other
    demo deal, so their change history, milestones and activities are as consistent."""
    quarters = past_quarters(now)
    won = won_by_rep_and_quarter(
        ((o.owner_id, o.amount, o.closed_at) for o in opportunities if o.status == "won"),
        quarters,
    )
    added = {"won_added": 0, "lost_added": 0}
    for back, quarter in zip(range(HISTORY_QUARTERS, 0, -1), quarters, strict=True):
        for username, rep in reps.items():
            habits = habits_of(rep)
            target = quarter_quota(username, back) * _ratio(rng.uniform(*habits.attainment))
            while won[(rep.pk, quarter.start)] < target:
                deal = new_deal(rep, outcome="won", end=_moment_in(quarter, rng))
                won[(rep.pk, quarter.start)] += deal.amount
                added["won_added"] += 1
                if rng.random() < habits.lost_per_won:
                    new_deal(rep, outcome="lost", end=_moment_in(quarter, rng))
                    added["lost_added"] += 1
    return added


def add_late_deals(
    reps: dict[str, User],
    now: dt.datetime,
    rng: random.Random,
    new_deal: Callable[..., Opportunity],
) -> int:
    """A few open deals opened in the last three weeks that are expected to close this
    quarter (a quick expansion, a renewal brought forward), so that the current quarter's
    week-over-week changes show new deals too. None in the quarter's last week."""
    today = forecast_services.local_today(now)
    last_day = current_quarter(now).last_day
    if (last_day - today).days < LATE_DEAL_MIN_DAYS:
        return 0
    for username in LATE_DEAL_OWNERS:
        closes_in = rng.randint(LATE_DEAL_MIN_DAYS, (last_day - today).days)
        new_deal(
            reps[username],
            outcome="open",
            opened_at=now - dt.timedelta(days=rng.uniform(3, 20)),
            close_date=today + dt.timedelta(days=closes_in),
        )
    return len(LATE_DEAL_OWNERS)


# A deal's change row -> (its field in a snapshot, how to read the stored value).
SNAPSHOT_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    ChangeField.STAGE: ("stage_id", int),
    ChangeField.AMOUNT: ("amount", Decimal),
    ChangeField.CLOSE_DATE: ("close_date", dt.date.fromisoformat),
    ChangeField.FORECAST_CATEGORY: ("forecast_category", str),
    ChangeField.STATUS: ("status", str),
}


def open_deals_at(moments: list[dt.datetime]) -> dict[dt.datetime, list[dict[str, Any]]]:
    """The open deals at each of `moments` (ascending) as their change history says they
    stood then: a deal counts from its creation to the change that closed it, with the
    stage, amount, close date and forecast category of its latest changes by that moment
    — the fields of a PipelineSnapshot row. Owner and team are today's (demo deals never
    change hands). Two queries."""
    first, last = moments[0], moments[-1]
    deals = {
        pk: (owner, team, currency, created)
        for pk, owner, team, currency, created in Opportunity.objects.filter(created_at__lte=last)
        .exclude(closed_at__lt=first)
        .values_list("id", "owner_id", "owner__team_id", "currency", "created_at")
    }
    changes = (
        OpportunityChange.objects.filter(
            opportunity_id__in=list(deals), field__in=list(SNAPSHOT_FIELDS), changed_at__lte=last
        )
        .order_by("opportunity_id", "changed_at", "id")
        .values_list("opportunity_id", "field", "new_value", "changed_at")
    )
    states: dict[dt.datetime, list[dict[str, Any]]] = {moment: [] for moment in moments}
    for pk, deal_changes in groupby(changes, key=itemgetter(0)):
        owner, team, currency, created = deals[pk]
        history = list(deal_changes)
        state: dict[str, Any] = {"status": OpportunityStatus.OPEN.value}
        applied = 0
        for moment in moments:
            while applied < len(history) and history[applied][3] <= moment:
                _, field_name, value, _ = history[applied]
                name, read = SNAPSHOT_FIELDS[field_name]
                state[name] = read(value)
                applied += 1
            if created <= moment and state["status"] == OpportunityStatus.OPEN:
                states[moment].append(
                    {"opportunity_id": pk, "owner_id": owner, "team_id": team,
                     "currency": currency, **state}
                )  # fmt: skip
    return states


def build_snapshot_history(now: dt.datetime) -> int:
    """The weekly pipeline snapshots of the last SNAPSHOT_WEEKS weeks: the past ones as the
    Monday job would have taken them (at PIPELINE_SNAPSHOT_HOUR), this week's by the job's
    service itself. Returns the number of rows."""
    tz = organisation.current().tz()
    this_week = forecast_rules.week_start(forecast_services.local_today(now))
    weeks = [this_week - dt.timedelta(weeks=back) for back in range(SNAPSHOT_WEEKS - 1, 0, -1)]
    taken_at = {
        dt.datetime.combine(week, dt.time(settings.PIPELINE_SNAPSHOT_HOUR), tzinfo=tz): week
        for week in weeks
    }
    rows = [
        PipelineSnapshot(week=taken_at[moment], **deal)
        for moment, deals in open_deals_at(list(taken_at)).items()
        for deal in deals
    ]
    PipelineSnapshot.objects.bulk_create(rows, batch_size=2000)
    return len(rows) + forecast_services.pipeline_snapshot_take(now=now).inserted


def _call_moment(period: forecast_rules.Period, week: int, hour: int) -> dt.datetime:
    """`hour` o'clock on the period's first day (week 1) or on the Tuesday of its `week`."""
    if week == 1:
        day = period.start
    else:
        day = forecast_rules.week_start(period.start) + dt.timedelta(weeks=week - 1, days=1)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=organisation.current().tz())


def _this_week_moments(
    week: dt.date, now: dt.datetime, count: int, rng: random.Random
) -> list[dt.datetime]:
    """`count` moments from this week's Monday 00:00 up to `now`, ascending: on the half
    hours of working time (9:00-17:30) when the week has had enough of them, else spread
    evenly over the time since Monday began."""
    tz = organisation.current().tz()
    slots = [
        dt.datetime.combine(week + dt.timedelta(days=day), dt.time(hour, minute), tzinfo=tz)
        for day in range(7)
        for hour in range(9, 18)
        for minute in (0, 30)
    ]
    slots = [slot for slot in slots if slot <= now]
    if len(slots) >= count:
        return sorted(rng.sample(slots, count))
    since = dt.datetime.combine(week, dt.time.min, tzinfo=tz)
    return [since + (now - since) * (i + 1) / (count + 1) for i in range(count)]


def build_forecasting(
    users: dict[str, User], rng: random.Random, now: dt.datetime
) -> dict[str, int]:
    """Quotas, the weekly snapshots and the forecast calls — after the deals exist (see
    add_quarter_history for the deals of past quarters)."""
    admin = users["admin"]
    reps = {u: users[u] for u, p in PEOPLE.items() if p[2] == Role.REP}
    teams = {t.name: t for t in Team.objects.filter(name__in=TEAMS).select_related("manager")}
    current = current_quarter(now)
    quarters = past_quarters(now)
    won = won_by_rep_and_quarter(
        Opportunity.objects.filter(status=OpportunityStatus.WON).values_list(
            "owner_id", "amount", "closed_at"
        ),
        quarters,
    )
    counts: Counter[str] = Counter()

    def set_quota(period: forecast_rules.Period, amount: Decimal, **whose: int) -> None:
        """The quarter's quota and, for the current quarter, its months' (MONTH_SHARES)."""
        forecast_services.quota_set(
            actor=admin, period=period, amount=amount, currency=DEMO_CURRENCY, **whose
        )
        counts["quotas"] += 1
        if period != current:
            return
        month = forecast_services.fiscal_calendar().period_of(period.start, "month")
        left = amount
        for share in (*MONTH_SHARES, None):
            part = left if share is None else _round_to(amount * share, 1_000)
            forecast_services.quota_set(
                actor=admin, period=month, amount=part, currency=DEMO_CURRENCY, **whose
            )
            counts["quotas"] += 1
            left -= part
            month = month.next()

    for back, period in zip(range(HISTORY_QUARTERS, -1, -1), [*quarters, current], strict=True):
        amounts = {}
        for username, rep in reps.items():
            amount = quarter_quota(username, back)
            actual = won[(rep.pk, period.start)]
            if back and actual > amount * ATTAINMENT_CAP:
                attained = _ratio(rng.uniform(*RAISED_ATTAINMENT))
                amount = _round_to(actual / attained, 10_000, up=True)
            amounts[username] = amount
            set_quota(period, amount, rep_id=rep.pk)
        for name, team in teams.items():
            together = sum(a for u, a in amounts.items() if PEOPLE[u][3] == name)
            set_quota(period, _round_to(together * TEAM_QUOTA_SHARE, 10_000), team_id=team.pk)

    counts["snapshot_rows"] = build_snapshot_history(now)

    def rep_call(username: str, period: forecast_rules.Period, at: dt.datetime,
                 basis: Decimal, spread: float) -> None:  # fmt: skip
        step = 5_000 if PEOPLE[username][3] == "Enterprise" else 1_000
        # Within 2.5 standard deviations: no wild outlier in a small demo.
        noise = min(max(rng.gauss(1, spread), 1 - 2.5 * spread), 1 + 2.5 * spread)
        factor = noise * CALL_BIAS.get(username, 1.0)
        commit = _round_to(basis * _ratio(factor), step)
        forecast_services.forecast_submit(
            actor=reps[username],
            period=period.label,
            commit=commit,
            best_case=_round_to(commit * _ratio(rng.uniform(1.15, 1.45)), step),
            currency=DEMO_CURRENCY,
            notes=rng.choice(CALL_NOTES),
            now=at,
        )
        counts["forecast_calls"] += 1

    def team_call(team: Team, period: forecast_rules.Period, at: dt.datetime) -> None:
        """The manager's call: the reps' latest calls added up, adjusted most of the time."""
        calls = forecast_services.team_reps_calls(team, period)
        commit, best = forecast_services.reps_calls_sum(calls, DEMO_CURRENCY)
        biased, (low, high), text = ADJUSTMENTS[team.name]
        note = ""
        if rng.random() < ADJUSTED_SHARE:
            adjusted = _round_to(commit * _ratio(rng.uniform(low, high)), 5_000)
            if adjusted != commit:
                delta = f"{abs(adjusted - commit):,.0f} {DEMO_CURRENCY}"
                note = text.format(delta=delta, name=reps[biased].first_name)
                commit, best = adjusted, max(best, adjusted)
        forecast_services.forecast_submit(
            actor=team.manager,
            period=period.label,
            team_id=team.pk,
            commit=commit,
            best_case=best,
            adjustment_note=note,
            currency=DEMO_CURRENCY,
            now=at,
        )
        counts["forecast_calls"] += 1

    # Past quarters: the calls go by what each rep finally won there.
    for quarter in quarters:
        early = rng.sample(list(reps), 2)
        late = [rng.choice(list(reps))]
        for week, callers in ((1, list(reps)), (3, early), (6, list(reps)), (10, late)):
            for i, username in enumerate(callers):
                at = _call_moment(quarter, week, 9) + dt.timedelta(minutes=10 * i)
                basis = won[(reps[username].pk, quarter.start)]
                rep_call(username, quarter, at, basis, CALL_SPREAD[week])
            if week in (1, 6):
                for j, team in enumerate(teams.values()):
                    at = _call_moment(quarter, week, 16) + dt.timedelta(minutes=10 * j)
                    team_call(team, quarter, at)

    # This quarter: the calls go by the system's numbers now (closed won + commit + half
    # the best case); weeks 1 and 6 when they are over, then this week.
    system = {
        row.id: row.figures
        for row in forecast_summary(admin, current.label, currency=DEMO_CURRENCY).by_owner
    }
    basis = {}
    for username, rep in reps.items():
        figures = system.get(rep.pk)
        expected = figures.commit_cumulative + figures.best_case / 2 if figures else Decimal(0)
        basis[username] = expected or quarter_quota(username, 0) * Decimal("0.6")
    this_week = forecast_rules.week_start(forecast_services.local_today(now))
    for week in (1, 6):
        if _call_moment(current, week, 0) >= dt.datetime.combine(
            this_week, dt.time.min, tzinfo=organisation.current().tz()
        ):
            continue
        for i, username in enumerate(reps):
            at = _call_moment(current, week, 9) + dt.timedelta(minutes=10 * i)
            rep_call(username, current, at, basis[username], CALL_SPREAD[week])
        for j, team in enumerate(teams.values()):
            at = _call_moment(current, week, 16) + dt.timedelta(minutes=10 * j)
            team_call(team, current, at)
    callers = [u for u in reps if u not in NOT_CALLED_THIS_WEEK]
    moments = _this_week_moments(this_week, now, len(callers) + len(teams), rng)
    for username, at in zip(callers, moments, strict=False):
        rep_call(username, current, at, basis[username], 0.05)
    for team, at in zip(teams.values(), moments[len(callers) :], strict=True):
        team_call(team, current, at)
    # Each team's forecast meeting of last week, so a manager who records this week's sees
    # the changes since it.
    held_on = forecast_services.local_today(now) - dt.timedelta(days=7)
    for team in teams.values():
        people = User.objects.filter(team=team, is_active=True).values_list("id", flat=True)
        forecast_services.meeting_create(
            actor=team.manager,
            period=current.label,
            team_id=team.pk,
            held_on=held_on,
            attendee_ids=sorted({team.manager_id, *people}),
            notes="Walked the commit deals; two close dates to confirm with the buyers.",
            now=now,
        )
        counts["forecast_meetings"] += 1
    return {"snapshot_weeks": SNAPSHOT_WEEKS, **counts}


# --- the command ---------------------------------------------------------------------


def demo_data_exists() -> bool:
    return (
        User.objects.filter(username__in=DEMO_USERNAMES).exists()
        or Pipeline.objects.filter(name=PIPELINE_NAME).exists()
    )


def delete_demo_data() -> None:
    """All pipeline data (every opportunity, account and pipeline), proposals and the demo
    users/teams."""
    from coaching.models import (
        ActionItem,
        CoachingFlag,
        CoachingSession,
        OpportunityReview,
        SkillAssessment,
    )
    from proposals.models import Proposal

    delete_hiring_demo(
        list(User.objects.filter(username__in=DEMO_USERNAMES).values_list("pk", flat=True))
    )
    for coaching_model in (
        CoachingFlag, ActionItem, CoachingSession, OpportunityReview, SkillAssessment,
    ):  # fmt: skip
        coaching_model.objects.all().delete()
    from forecasting.models import ForecastMeeting, ForecastSubmission, PipelineSnapshot, Quota

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
    elements = list(pipeline.framework.elements.all())
    milestones: dict[int, list[Milestone]] = {s.pk: [] for s in stages}
    for m in Milestone.objects.filter(stage__pipeline=pipeline).order_by("order", "id"):
        milestones[m.stage_id].append(m)

    accounts = Account.objects.bulk_create(
        [
            Account(name=name, industry=industry, employees=employees, domain=_domain(name))
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

    rows = _Rows()

    def new_deal(
        history: _History, team: str, owner: User | None = None, **outcome: Any
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
        amount = _round_to(rng.randrange(lo, hi, 500) * _ratio(habits_of(owner).deal_size), 500)
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

    history = _History(rng, now, stages, milestones, rows, elements, experiment)
    for _ in range(opportunities):
        new_deal(history, rng.choices(list(TEAMS), weights=[45, 55])[0])
    # Deals won and lost in each of the last four quarters, from a random stream of their
    # own (so the deals above stay as they were).
    forecast_rng = random.Random(seed_value + FORECAST_SEED_OFFSET)
    quarter_history = _History(forecast_rng, now, stages, milestones, rows, elements, experiment)
    demo_reps = {u: users[u] for u, p in PEOPLE.items() if p[2] == Role.REP}

    def new_rep_deal(rep: User, **outcome: Any) -> Opportunity:
        return new_deal(quarter_history, PEOPLE[rep.username][3], rep, **outcome)

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
            f"  hiring: {counts.get('hiring_positions', 0)} open positions, "
            f"{counts.get('hiring_candidates', 0)} candidates, "
            f"{counts.get('hiring_interviews', 0)} interviews"
        )
        self.stdout.write(
            "  Logins (password 'demo', accepted only with DEBUG on): admin, leader, "
            "manager1, manager2, rep1 … rep8"
        )
