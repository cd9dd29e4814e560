"""The demo company's cast and setting: its people and teams, how each rep works their
deals (habits; the top performers), the "New business" pipeline, its accounts, products and
the words its deals use, and the recorded experiment."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password

from forecasting import rules as forecast_rules
from forecasting import services as forecast_services
from pipeline import rule_changes
from pipeline.blueprints import (
    NEW_BUSINESS_DESCRIPTION,
    NEW_BUSINESS_FRAMEWORK,
    NEW_BUSINESS_NAME,
    STAGES,
    MilestoneSeed,
)
from pipeline.models import (
    ActivityKind,
    ForecastCategory,
    Milestone,
    MilestoneElementLevel,
    MilestoneKind,
    Pipeline,
    QualificationElement,
    QualificationFramework,
    Stage,
    StageRuleChange,
)
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
# decides more often for us. Closed deals are won about half the time with a plan and a
# fifth without, so the reps win roughly 30% (the top performers about 45%), as B2B teams
# commonly do — and the win rates from history stay below the stages' hopes early on.
OUTCOMES = ("open", "won", "lost")
OUTCOME_WEIGHTS = {True: (30, 34, 36), False: (30, 14, 56)}
EARLY_STAGES = ("Discover", "Qualify")
# The stages whose close is in sight: the close dates that quietly pass are theirs.
LATE_STAGES = ("Proposal", "Negotiate")

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
                completable_by=m.completable_by,
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


def domain_of(name: str) -> str:
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
