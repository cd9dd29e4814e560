"""Pipeline templates: the stages, guidance and milestones a new pipeline starts from.

- "new_business": the demo's "New business" pipeline — five open stages with their
  guidance, expected days and warn/rot thresholds, exit milestones (seller actions and
  buyer commitments, automatic checks, qualification minimums), won and lost, assessed
  with MEDDICC.
- "blank": Discover, Qualify, Proposal, Negotiate, Closed won, Closed lost with default
  probabilities and forecast categories, no guidance and no milestones.

Plain data. `pipeline.services.pipeline_create_from_template` builds a pipeline from a
template through the same services (and validation) as the pages and the API; the demo
(`seed_demo`) writes the same "New business" definition straight to the tables, plus one
optional Qualify milestone its top performers keep (the insights study finds it).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.models import AutoCheck, ForecastCategory, MilestoneCompleter, MilestoneKind

S, B = MilestoneKind.SELLER_ACTION, MilestoneKind.BUYER_COMMITMENT


@dataclass(frozen=True)
class MilestoneSeed:
    title: str
    kind: str
    description: str = ""
    required: bool = True
    requires_evidence: bool = False
    auto_check: str = ""
    # Who ticks a manual milestone: a milestone stating another person's act is ticked by
    # that person (or checked by the system), never by the seller on their behalf.
    completable_by: str = MilestoneCompleter.OWNER
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
                "Proposal with a personalized executive summary approved by the manager",
                S,
                "Checked automatically: a proposal of this deal is approved by the manager "
                "(Proposals → submit for review).",
                auto_check=AutoCheck.PROPOSAL_APPROVED,
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
            MilestoneSeed(
                "Commercial terms approved internally (discount, payment, term)",
                S,
                "Ticked by the owner's manager when they approve the terms.",
                completable_by=MilestoneCompleter.MANAGER,
            ),
            MilestoneSeed(
                "Customer's legal and procurement review completed",
                B,
                "Their confirmation that legal and procurement have signed off.",
                requires_evidence=True,
            ),
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


# The demo's pipeline and the template's default name and description.
NEW_BUSINESS_NAME = "New business"
NEW_BUSINESS_DESCRIPTION = "Net-new customers: from the first conversation to a signed contract."
NEW_BUSINESS_FRAMEWORK = "MEDDICC"

# The typical B2B stages (without Solution), no guidance, no milestones. The
# probabilities are the demo's; the categories follow the roll-up: Pipeline early, Best
# case at the proposal, Commit in negotiation, Closed when won, Omitted when lost.
BLANK_STAGES: tuple[StageSeed, ...] = (
    StageSeed("Discover", 10, ForecastCategory.PIPELINE, None, None, None, ""),
    StageSeed("Qualify", 20, ForecastCategory.PIPELINE, None, None, None, ""),
    StageSeed("Proposal", 60, ForecastCategory.BEST_CASE, None, None, None, ""),
    StageSeed("Negotiate", 80, ForecastCategory.COMMIT, None, None, None, ""),
    StageSeed("Closed won", 100, ForecastCategory.CLOSED, None, None, None, "", is_won=True),
    StageSeed("Closed lost", 0, ForecastCategory.OMITTED, None, None, None, "", is_lost=True),
)


@dataclass(frozen=True)
class Blueprint:
    """A pipeline template: what `pipeline_create_from_template` builds."""

    key: str
    label: str
    summary: str  # one line for the page's template picker
    description: str  # the new pipeline's description
    # The qualification framework the pipeline names (one of
    # pipeline.standard_frameworks.FRAMEWORKS, recreated when it was deleted); None: none.
    framework: str | None
    stages: tuple[StageSeed, ...]


BLUEPRINTS: dict[str, Blueprint] = {
    "new_business": Blueprint(
        key="new_business",
        label="New business",
        summary="Five open stages with guidance, exit milestones and MEDDICC minimums, "
        "won and lost — the demo's pipeline.",
        description=NEW_BUSINESS_DESCRIPTION,
        framework=NEW_BUSINESS_FRAMEWORK,
        stages=STAGES,
    ),
    "blank": Blueprint(
        key="blank",
        label="Blank",
        summary="Discover, Qualify, Proposal, Negotiate, Closed won and Closed lost with "
        "default probabilities; no guidance, no milestones, no framework.",
        description="",
        framework=None,
        stages=BLANK_STAGES,
    ),
}
