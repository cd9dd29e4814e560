"""The standard qualification frameworks and their elements, as plain data.

Shared by migration 0005 (which seeds them into a new database) and the pipeline
templates (pipeline.blueprints, which recreate a framework an administrator deleted).
Deliberately free of Django imports: a migration may import it without importing the
app's models, whose current shape is not the one the migration runs against.
"""

from __future__ import annotations

# Element name: what "validated" looks like (the element's guidance).
ELEMENTS: dict[str, str] = {
    "Metrics": "The customer has quantified the gain: a number they own (hours, cost, revenue, risk) and have said out loud or written down.",  # noqa: E501
    "Economic buyer": "You have met the person who can release the money, and they agreed the problem is worth solving.",  # noqa: E501
    "Decision criteria": "You know the written or stated criteria the customer will use to choose, and how you score against each.",  # noqa: E501
    "Decision process": "The customer has walked you through the steps, people and dates from here to a signed decision.",  # noqa: E501
    "Paper process": "You know how the contract gets signed: legal, procurement, security review, signatories and lead times.",  # noqa: E501
    "Identify pain": "The customer described the pain in their own words, what it costs them, and why it must be solved now.",  # noqa: E501
    "Champion": "Someone with influence sells for you when you are not in the room — tested by something they did, not said.",  # noqa: E501
    "Competition": "You know who else is in the deal (including doing nothing or building it themselves) and why you would win.",  # noqa: E501
    "Budget": "Money is allocated or can be, and the customer has told you the range.",
    "Authority": "You know who decides and who signs, and you have access to them.",
    "Need": "The customer confirmed a need that your offer meets, in their words.",
    "Timeline": "There is a date the customer must decide by, and a reason for it.",
    "Situation": "You understand the customer's current situation: process, tools, team and constraints.",  # noqa: E501
    "Pain": "The customer named the problem and who in the organisation feels it.",
    "Impact": "The customer quantified the impact of solving it (or the cost of not solving it).",
    "Critical event": "A dated event forces a decision (renewal, regulation, launch) and the customer agrees it does.",  # noqa: E501
    "Decision": "You know how the decision will be made — the criteria, the process and the people.",  # noqa: E501
    "Challenges": "The customer described the challenges they face and their priority among them.",
    "Money": "The customer has budget, or a path to it, for solving the challenge.",
    "Prioritization": "Solving this is a priority now, ahead of the customer's other initiatives.",
}

# Framework name: its elements in order (each weighs 1).
FRAMEWORKS: dict[str, tuple[str, ...]] = {
    "MEDDIC": (
        "Metrics", "Economic buyer", "Decision criteria", "Decision process", "Identify pain",
        "Champion",
    ),
    "MEDDICC": (
        "Metrics", "Economic buyer", "Decision criteria", "Decision process", "Identify pain",
        "Champion", "Competition",
    ),
    "MEDDPICC": (
        "Metrics", "Economic buyer", "Decision criteria", "Decision process", "Paper process",
        "Identify pain", "Champion", "Competition",
    ),
    "BANT": ("Budget", "Authority", "Need", "Timeline"),
    "SPICED": ("Situation", "Pain", "Impact", "Critical event", "Decision"),
    "CHAMP": ("Challenges", "Authority", "Money", "Prioritization"),
}  # fmt: skip
