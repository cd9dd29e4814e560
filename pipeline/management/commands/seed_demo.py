"""``manage.py seed_demo [--reset]``: a believable sales company to click through.

Creates an admin, a sales leader, two managers with a team each (Enterprise,
Mid-market) and eight reps — all with the password ``demo``, which
``salesops.auth`` refuses unless DEBUG is on — the "New business" pipeline with
guidance and milestones per stage, ~40 accounts and ~300 opportunities with a
year of history: stage moves, amount and close-date changes, forecast-category
changes, milestone completions, business issues, activities, and loss reasons.

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
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from coaching.cadence import cadence_refresh
from coaching.models import CoachingFlag
from pipeline.flags import flags_refresh
from pipeline.models import (
    CUSTOMER_ACTIVITY_KINDS,
    Account,
    Activity,
    ActivityKind,
    AutoCheck,
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
)
from pipeline.rules import weighted_score_pct
from salesops.models import Role, Team, User

SEED = 20240601
DEMO_PASSWORD = "demo"
PIPELINE_NAME = "New business"
FRAMEWORK_NAME = "MEDDICC"

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

# --- the pipeline --------------------------------------------------------------------

S, B = MilestoneKind.SELLER_ACTION, MilestoneKind.BUYER_COMMITMENT


@dataclass(frozen=True)
class MilestoneSeed:
    title: str
    kind: str
    description: str = ""
    required: bool = True
    requires_evidence: bool = False
    auto_check: str = ""
    # For automatic qualification milestones: minimum score % and element minimums.
    min_score: int | None = None
    levels: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class StageSeed:
    name: str
    probability: int
    category: str
    expected: int | None
    warn: int | None
    rot: int | None
    guidance: str
    milestones: tuple[MilestoneSeed, ...] = ()
    is_won: bool = False
    is_lost: bool = False


STAGES: tuple[StageSeed, ...] = (
    StageSeed(
        "Discover",
        10,
        ForecastCategory.PIPELINE,
        14,
        21,
        45,
        "Find out whether there is a problem worth solving and who owns it. Research the "
        "account before the first call: recent news, the annual report, the people in the "
        "buying group. In the conversation ask about their current situation and what it "
        "costs them, and listen more than you talk — do not pitch yet. Leave with a named "
        "contact who will take you further and the next meeting in the calendar.",
        (
            MilestoneSeed(
                "Researched the account and the buying group",
                S,
                "Org chart, recent news, strategic priorities from the annual report.",
            ),
            MilestoneSeed(
                "Discovery conversation held and the situation written up",
                S,
                "Current process, tools, people involved and what it costs them.",
            ),
            MilestoneSeed(
                "Customer agreed the problem is worth exploring and booked a follow-up",
                B,
                "A meeting the customer accepted, not one we sent.",
                requires_evidence=True,
            ),
        ),
    ),
    StageSeed(
        "Qualify",
        20,
        ForecastCategory.PIPELINE,
        21,
        30,
        60,
        "Decide whether this is a deal we can win and should pursue. Validate the pain with "
        "numbers, find the economic buyer and learn how they decide. Score the qualification "
        "framework honestly: unknown is 0, not a guess. If there is no budget, no authority "
        "or no compelling event, say so and disqualify early — a lost month here costs less "
        "than a lost quarter later.",
        (
            MilestoneSeed(
                "Qualified with MEDDICC: pain validated, champion identified",
                S,
                "Checked automatically: a valid qualification of at least 40 % with "
                "Identify pain ≥ 2 and Champion ≥ 1.",
                auto_check=AutoCheck.QUALIFICATION,
                min_score=40,
                levels=(("Identify pain", 2), ("Champion", 1)),
            ),
            MilestoneSeed(
                "Economic buyer confirmed the problem is worth solving",
                B,
                "In their words, in a meeting or in writing.",
                requires_evidence=True,
            ),
            MilestoneSeed(
                "Customer described their decision process and the people in it",
                B,
                "Who decides, who influences, which steps and when.",
                requires_evidence=True,
            ),
            MilestoneSeed(
                "Compelling event or deadline identified",
                S,
                "Why they must act this year rather than next.",
                required=False,
            ),
        ),
    ),
    StageSeed(
        "Solution",
        40,
        ForecastCategory.PIPELINE,
        21,
        30,
        60,
        "Map each business issue to the specific value we offer, quantified where possible, "
        "and show it working on their data or in their process. Agree the decision criteria "
        "with the customer before the demo, not after. Bring in a solution engineer for the "
        "technical validation. The champion should be able to explain our value to the "
        "economic buyer without us in the room.",
        (
            MilestoneSeed(
                "Business issues mapped to our value",
                S,
                "Checked automatically: at least one business issue has our value.",
                auto_check=AutoCheck.BUSINESS_ISSUE_MAPPED,
            ),
            MilestoneSeed(
                "Qualified for a proposal",
                S,
                "Checked automatically: a valid qualification of at least 60 % with "
                "Economic buyer, Metrics and Decision criteria each ≥ 2.",
                auto_check=AutoCheck.QUALIFICATION,
                min_score=60,
                levels=(("Economic buyer", 2), ("Metrics", 2), ("Decision criteria", 2)),
            ),
            MilestoneSeed(
                "Tailored demo or workshop delivered to the buying group",
                S,
                "Their data, their process, their people in the room.",
            ),
            MilestoneSeed(
                "Customer agreed the decision criteria and confirmed we meet them",
                B,
                requires_evidence=True,
            ),
        ),
    ),
    StageSeed(
        "Proposal",
        60,
        ForecastCategory.BEST_CASE,
        14,
        21,
        45,
        "Write a proposal that restates the customer's business issues, the value we mapped "
        "to them and the quantified outcome — in their words, not ours. Every proposal needs "
        "a personalized executive summary and manager approval before it is sent. Walk the "
        "champion through it before the economic buyer sees it, and agree the path to "
        "signature: who signs, what legal and procurement need, and by when.",
        (
            MilestoneSeed(
                "Proposal with a personalized executive summary approved by the manager", S
            ),
            MilestoneSeed(
                "Champion reviewed the proposal and confirmed it addresses their issues",
                B,
                requires_evidence=True,
            ),
            MilestoneSeed(
                "Customer confirmed the paper process: signatories, legal, procurement and dates",
                B,
                requires_evidence=True,
            ),
        ),
    ),
    StageSeed(
        "Negotiate",
        80,
        ForecastCategory.COMMIT,
        14,
        21,
        40,
        "Agree terms without giving away the value. Trade, never concede: every discount "
        "buys something in return — term, volume, a reference, timing. Keep the economic "
        "buyer engaged; silence in this stage is a warning sign. Forecast it as Commit only "
        "when the customer has confirmed the signature date.",
        (
            MilestoneSeed("Commercial terms approved internally (discount, payment, term)", S),
            MilestoneSeed("Legal and procurement review completed", B),
            MilestoneSeed(
                "Economic buyer confirmed the signature date in writing", B, requires_evidence=True
            ),
        ),
    ),
    StageSeed(
        "Closed won",
        100,
        ForecastCategory.CLOSED,
        None,
        None,
        None,
        "Hand over to onboarding with the business issues and the agreed value, so delivery "
        "knows what success means for this customer. Thank the champion, and ask for a "
        "reference once the first outcome is reached.",
        is_won=True,
    ),
    StageSeed(
        "Closed lost",
        0,
        ForecastCategory.OMITTED,
        None,
        None,
        None,
        "Record the honest loss reason: what the customer chose instead and why. Review the "
        "deal with your manager within two weeks — lost deals teach more than won ones.",
        is_lost=True,
    ),
)

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
    """The "New business" pipeline: five open stages, won and lost, with milestones."""
    framework = QualificationFramework.objects.get(name=FRAMEWORK_NAME)
    pipeline = Pipeline.objects.create(
        name=PIPELINE_NAME,
        description="Net-new customers: from the first conversation to a signed contract.",
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
            for i, m in enumerate(spec.milestones, start=1)
        ]
        levels += [
            (milestones[-len(spec.milestones) + i], elements[name], level)
            for i, m in enumerate(spec.milestones)
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


# --- the history generator -------------------------------------------------------------


@dataclass
class _Rows:
    opportunities: list[Opportunity] = field(default_factory=list)
    changes: list[OpportunityChange] = field(default_factory=list)
    completions: list[MilestoneCompletion] = field(default_factory=list)
    issues: list[BusinessIssue] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    created_at: dict[int, dt.datetime] = field(default_factory=dict)  # id(opp) -> when


class _History:
    """Fabricates one opportunity's past, the way the services would have recorded it."""

    def __init__(
        self,
        rng: random.Random,
        now: dt.datetime,
        stages: list[Stage],
        milestones: dict[int, list[Milestone]],
        rows: _Rows,
    ) -> None:
        self.rng, self.now, self.rows = rng, now, rows
        self.open_stages = [s for s in stages if not s.is_closed]
        self.won = next(s for s in stages if s.is_won)
        self.lost = next(s for s in stages if s.is_lost)
        self.milestones = milestones

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

    def build(
        self,
        *,
        name: str,
        account: Account,
        owner: User,
        manager: User,
        pipeline: Pipeline,
        amount: Decimal,
    ) -> None:
        rng, now = self.rng, self.now
        outcome = rng.choices(["open", "won", "lost"], weights=[55, 25, 20])[0]
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
        end = now if outcome == "open" else now - dt.timedelta(days=rng.uniform(1, 360 - total))
        created = end - dt.timedelta(days=total)
        entered = [created]
        for d in days[:-1]:
            entered.append(entered[-1] + dt.timedelta(days=d))
        closed_at = None if outcome == "open" else end

        expected_cycle = sum(s.expected_days or 14 for s in self.open_stages)
        close_date = (created + dt.timedelta(days=expected_cycle * rng.uniform(0.8, 1.3))).date()
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
        leave_times = [*entered[1:], closed_at or now]
        for i, stage in enumerate(path):
            left = leave_times[i]
            is_current = i == len(path) - 1 and outcome != "won"
            skipped: Milestone | None = None
            ticks = [m for m in self.milestones[stage.pk] if not m.auto_check]
            if not is_current and rng.random() < 0.04:  # a manager overrode the gate
                required = [m for m in ticks if m.required]
                skipped = rng.choice(required) if required else None
            for m in ticks:
                if m is skipped:
                    continue
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
                    self._at(opp.stage_entered_at, now),
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
        self._activities(opp, owner, created, max(created, activity_end))
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
            self._change(
                opp, ChangeField.STATUS, opp.status, status, owner, at, note=loss_reason[:300]
            )
            opp.status, opp.closed_at, opp.loss_reason = status, at, loss_reason
            opp.forecast_category_override_reason = ""

    def _activities(
        self, opp: Opportunity, owner: User, start: dt.datetime, end: dt.datetime
    ) -> None:
        rng = self.rng
        span_days = max(1.0, (end - start).total_seconds() / 86400)
        count = max(2, min(24, int(span_days / rng.uniform(6, 12)) + rng.randint(1, 3)))
        last_customer: dt.datetime | None = None
        kinds = list(ActivityKind.values)
        for _ in range(count):
            kind = rng.choices(kinds, weights=[30, 25, 35, 10])[0]
            at = self._at(start, end)
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

# The level each MEDDICC element reaches by the stage a deal got to (order 1..5): a range
# to draw from, so deals differ. Later stages imply what the gates demanded.
QUALIFICATION_LEVELS: dict[str, tuple[tuple[int, int], ...]] = {
    #                 Discover Qualify Solution Proposal Negotiate
    "Metrics": ((0, 1), (0, 2), (2, 3), (2, 3), (3, 3)),
    "Economic buyer": ((0, 1), (1, 2), (2, 3), (2, 3), (3, 3)),
    "Decision criteria": ((0, 0), (0, 1), (2, 3), (2, 3), (2, 3)),
    "Decision process": ((0, 0), (0, 1), (1, 2), (2, 3), (2, 3)),
    "Identify pain": ((1, 2), (2, 3), (2, 3), (3, 3), (3, 3)),
    "Champion": ((0, 1), (1, 2), (2, 3), (2, 3), (2, 3)),
    "Competition": ((0, 1), (0, 1), (1, 2), (1, 3), (2, 3)),
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


def build_qualifications(
    opportunities: list[Opportunity],
    elements: list[QualificationElement],
    rng: random.Random,
    now: dt.datetime,
) -> tuple[list[Qualification], list[QualificationScore]]:
    """A plausible qualification history per deal: rising scores, some expired, some voided."""
    qualifications: list[Qualification] = []
    scores: list[tuple[Qualification, QualificationElement, int, str, str]] = []
    for opp in opportunities:
        reached = opp.stage.order if opp.status != OpportunityStatus.WON else 5
        reached = min(reached, 5)
        if opp.status == OpportunityStatus.LOST:
            reached = max(1, reached - 1)
        if reached == 1 and rng.random() < 0.5:
            continue  # not qualified yet
        created = opp.created_at
        end = opp.closed_at or now
        n = rng.randint(1, 3)
        # The latest assessment: for open deals 2-45 days ago, so about a third have expired.
        latest = end - dt.timedelta(days=rng.uniform(2, 45) if opp.closed_at is None else 3)
        times = sorted(
            max(created + dt.timedelta(hours=1), latest - dt.timedelta(days=rng.uniform(7, 25) * i))
            for i in range(n)
        )
        final = {e.name: rng.randint(*QUALIFICATION_LEVELS[e.name][reached - 1]) for e in elements}
        for i, at in enumerate(times):
            behind = n - 1 - i  # earlier assessments score lower
            levels = {name: max(0, level - rng.randint(0, behind)) for name, level in final.items()}
            q = Qualification(
                opportunity=opp,
                framework_id=elements[0].framework_id,
                score_pct=weighted_score_pct(
                    weighted_scores=[(e.weight, levels[e.name]) for e in elements]
                ),
                assessed_by=opp.owner,
                assessed_at=at,
            )
            qualifications.append(q)
            for e in elements:
                level = levels[e.name]
                evidence = source = ""
                if level >= 2:
                    evidence = EVIDENCE[e.name].format(
                        account=opp.account.name, n=rng.randint(3, 40)
                    )
                    source = rng.choice(["call", "meeting", "email", "document"])
                scores.append((q, e, level, evidence, source))
        if opp.closed_at is None and rng.random() < 0.12:
            last = qualifications[-1]
            last.invalidated_at = min(now, last.assessed_at + dt.timedelta(days=rng.uniform(1, 5)))
            pushed = opp.close_date + dt.timedelta(days=31)
            last.invalidated_reason = (
                f"Close date pushed from {opp.close_date:%b %Y} to {pushed:%b %Y}."
            )
    Qualification.objects.bulk_create(qualifications, batch_size=1000)
    rows = [
        QualificationScore(qualification=q, element=e, score=level, evidence=ev, source=src)
        for q, e, level, ev, src in scores
    ]
    QualificationScore.objects.bulk_create(rows, batch_size=2000)
    set_latest_qualifications()
    return qualifications, rows


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

    for coaching_model in (
        CoachingFlag, ActionItem, CoachingSession, OpportunityReview, SkillAssessment,
    ):  # fmt: skip
        coaching_model.objects.all().delete()
    # Forecast calls are immutable (a trigger refuses DELETE): only TRUNCATE clears them.
    # (Deferred foreign-key checks of rows written in this transaction must fire first:
    # TRUNCATE refuses a table with pending trigger events; then they are deferred again.)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "TRUNCATE forecasting_forecastsubmission, forecasting_quota, "
            "forecasting_pipelinesnapshot"
        )
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
    stages = list(pipeline.stages.order_by("order"))
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

    rows = _Rows()
    history = _History(rng, now, stages, milestones, rows)
    for _ in range(opportunities):
        team = rng.choices(list(TEAMS), weights=[45, 55])[0]
        account = rng.choice(team_accounts[team])
        n = used[account.pk]
        used[account.pk] += 1
        product = products[account.pk][n % len(PRODUCTS)]
        if n >= len(PRODUCTS):
            product += f" - phase {n // len(PRODUCTS) + 1}"
        lo, hi = (40_000, 420_000) if team == "Enterprise" else (8_000, 90_000)
        history.build(
            name=f"{account.name} - {product}",
            account=account,
            owner=rng.choice(reps[team]),
            manager=users[TEAMS[team]],
            pipeline=pipeline,
            amount=Decimal(rng.randrange(lo, hi, 500)),
        )

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
    Activity.objects.filter(opportunity__pipeline=pipeline).update(
        created_at=F("occurred_at") + dt.timedelta(minutes=3)
    )
    qualifications, qualification_scores = build_qualifications(
        rows.opportunities, list(pipeline.framework.elements.all()), rng, now
    )

    proposals = build_proposals(users)
    coaching = build_coaching(users, rng)

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
        "qualifications": len(qualifications),
        "qualification_scores": len(qualification_scores),
        "proposals": proposals,
        **{f"coaching_{k}": v for k, v in coaching.items()},
    }


class Command(BaseCommand):
    help = "Load a demo company (users, teams, pipeline, a year of deals). Password: demo."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="delete all pipeline data and the demo users first (DEBUG only)",
        )

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
            f"{counts['proposals']} proposals, {flags.raised} attention flags\n"
            f"  coaching: {counts.get('coaching_assessments', 0)} skill assessments, "
            f"{counts.get('coaching_sessions', 0)} 1:1s, {counts.get('coaching_reviews', 0)} "
            f"opportunity reviews, {open_cadence_flags} cadence flags"
        )
        self.stdout.write(
            "  Logins (password 'demo', accepted only with DEBUG on): admin, leader, "
            "manager1, manager2, rep1 … rep8"
        )
