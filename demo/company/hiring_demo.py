"""The demo company's hiring: a scorecard template for account executives, two open
positions (one per team, its manager hiring), candidates at every stage — among them one
whose three interviewers disagree — and a draft scorecard waiting for rep1. Written
through hiring.services (every rule holds); only the dates are moved into the past
afterwards, as the rest of the demo does."""

from __future__ import annotations

import datetime as dt
from typing import Any

from coaching import selectors as coaching_selectors
from hiring import services
from hiring.models import Candidate, Interview, Position, ScorecardTemplate
from salesops.models import User

TEMPLATE_NAME = "Account executive"

ATTRIBUTES = [
    ("aptitude", "Learning agility", "Picks up a new product or market fast; asks to learn.",
     "Tell me about something complex you had to learn quickly. How did you go about it?"),
    ("aptitude", "Structured thinking", "Breaks a messy situation into parts and priorities.",
     "Walk me through how you would plan your first 30 days in a new territory."),
    ("attitude", "Resilience", "Recovers from a lost deal and keeps the pipeline moving.",
     "Tell me about the deal you lost that hurt most. What did you do the week after?"),
    ("attitude", "Coachability", "Takes feedback and changes what they do.",
     "What is the last piece of feedback you acted on? What changed?"),
    ("attitude", "Drive", "Sets their own bar above the target.",
     "What was your own goal last year, beyond quota? How did you track it?"),
    ("culture_fit", "Customer first", "Tells a customer the truth when it costs a deal.",
     "Tell me about a time you advised a customer not to buy."),
    ("selling_skill", "Discovery", "Finds the business problem, its owner and its cost.",
     "Role play: open a discovery call with our buyer persona."),
    ("selling_skill", "Value articulation", "Ties what we sell to the buyer's numbers.",
     "Role play: the CFO asks why this is worth the price."),
    ("track_record", "Track record", "Past attainment, in context (territory, tenure).",
     "How did you do against quota the last two years, and why?"),
]  # fmt: skip

# The coaching skill each selling-skill attribute is (coaching's seeded framework).
SKILL_OF = {"Discovery": "Discovery", "Value articulation": "Business value articulation"}

# (name, email, source, stage, days since the stage, reason)
CANDIDATES: dict[str, list[tuple[str, str, str, str, int, str]]] = {
    "manager1": [
        ("Olivia Grant", "olivia.grant@example.net", "Referral (rep2)", "interviews", 3, ""),
        ("Ben Harlow", "ben.harlow@example.net", "Job board", "applied", 1, ""),
        ("Mira Castell", "mira.castell@example.net", "LinkedIn", "screen", 4, ""),
        ("Felix Duarte", "felix.duarte@example.net", "Job board", "offer", 2, ""),
        ("Nora Lind", "nora.lind@example.net", "Agency", "rejected", 20,
         "Strong track record, but no discovery in the role play and no interest in feedback."),
    ],
    "manager2": [
        ("Samir Haddad", "samir.haddad@example.net", "Referral (rep6)", "applied", 2, ""),
        ("Julia Brandt", "julia.brandt@example.net", "Job board", "withdrawn", 12,
         "Accepted another offer closer to home."),
    ],
}  # fmt: skip

# Olivia Grant's three interviewers, who saw different people: (interviewer, kind, ratings
# by attribute, recommendation, summary). Discovery and Coachability split them.
OLIVIA = [
    ("rep2", "role_play", {"Discovery": 5, "Value articulation": 4, "Coachability": 4},
     5, "Best discovery role play this year: found the budget owner in ten minutes."),
    ("rep4", "culture", {"Customer first": 4, "Coachability": 2, "Drive": 4},
     2, "Argued with every piece of feedback in the debrief."),
    ("manager1", "hiring_manager", {"Discovery": 3, "Structured thinking": 4, "Resilience": 4,
                                    "Track record": 5},
     4, "Great numbers at her last company; discovery was fine, not exceptional."),
]  # fmt: skip


def _ratings(template: ScorecardTemplate, names: dict[str, int]) -> dict[int, dict[str, Any]]:
    by_name = {a.name: a for a in template.attributes.all()}
    return {
        by_name[name].pk: {"rating": rating, "evidence": EVIDENCE[rating]}
        for name, rating in names.items()
    }


EVIDENCE = {
    1: "Could not give a single example.",
    2: "Examples were vague; pushed back when probed.",
    3: "Some good moments, some gaps.",
    4: "Clear, specific examples with numbers.",
    5: "Outstanding: specific, self-critical, and it showed in the role play.",
}


def build_hiring(users: dict[str, User], now: dt.datetime) -> dict[str, int]:
    admin = users["admin"]
    template = services.template_create(
        actor=admin, name=TEMPLATE_NAME,
        description="What we hire account executives on: aptitude and attitude first.",
    )  # fmt: skip
    skills = {s.name: s.pk for s in coaching_selectors.skill_list(active_only=True)}
    for category, name, guidance, question in ATTRIBUTES:
        services.template_attribute_add(
            actor=admin, template_id=template.pk, category=category, name=name,
            guidance=guidance, questions=question,
            **({"skill": skills[SKILL_OF[name]]} if SKILL_OF.get(name) in skills else {}),
        )  # fmt: skip
    positions = {
        manager: services.position_create(
            actor=admin,
            title=f"Account executive — {users[manager].team}",
            team=users[manager].team_id,
            hiring_manager=users[manager].pk,
            template=template.pk,
        )
        for manager in CANDIDATES
    }
    interviews = 0
    for manager, rows in CANDIDATES.items():
        for name, email, source, stage, days, reason in rows:
            candidate = services.candidate_create(
                actor=admin, position_id=positions[manager].pk, name=name, email=email,
                source=source,
            )  # fmt: skip
            if name == "Olivia Grant":
                interviews += _olivia(candidate, template, users, now)
            elif stage in ("offer", "rejected"):
                interviews += _one_interview(candidate, template, users[manager], now)
            if stage != Candidate.objects.get(pk=candidate.pk).stage:
                services.candidate_move(
                    actor=users[manager], candidate_id=candidate.pk, stage=stage, reason=reason
                )
            Candidate.objects.filter(pk=candidate.pk).update(
                stage_changed_at=now - dt.timedelta(days=days),
                created_at=now - dt.timedelta(days=days + 10),
            )
    return {"positions": len(positions), "candidates": Candidate.objects.count(),
            "interviews": interviews}  # fmt: skip


def _olivia(
    candidate: Candidate, template: ScorecardTemplate, users: dict[str, User], now: dt.datetime
) -> int:
    by_name = {a.name: a.pk for a in template.attributes.all()}
    for username, kind, ratings, recommendation, summary in OLIVIA:
        interview = services.interview_schedule(
            actor=users["admin"], candidate_id=candidate.pk, interviewer=users[username].pk,
            kind=kind, scheduled_at=now - dt.timedelta(days=6), focus=[by_name[n] for n in ratings],
        )  # fmt: skip
        services.scorecard_save(
            actor=users[username], interview_id=interview.pk,
            ratings=_ratings(template, ratings), recommendation=recommendation, summary=summary,
        )  # fmt: skip
        services.scorecard_submit(actor=users[username], interview_id=interview.pk)
    # rep1 still owes theirs (a discovery role play tomorrow): the interview waits for them.
    services.interview_schedule(
        actor=users["admin"], candidate_id=candidate.pk, interviewer=users["rep1"].pk,
        kind="role_play", scheduled_at=now + dt.timedelta(days=1),
        focus=[by_name["Discovery"], by_name["Value articulation"]],
    )  # fmt: skip
    return len(OLIVIA) + 1


def _one_interview(
    candidate: Candidate, template: ScorecardTemplate, manager: User, now: dt.datetime
) -> int:
    strong = candidate.name == "Felix Duarte"
    names = {"Discovery": 4 if strong else 2, "Coachability": 5 if strong else 2,
             "Track record": 3 if strong else 5}  # fmt: skip
    interview = services.interview_schedule(
        actor=manager, candidate_id=candidate.pk, interviewer=manager.pk, kind="hiring_manager",
        scheduled_at=now - dt.timedelta(days=8), focus=list(_ratings(template, names)),
    )  # fmt: skip
    services.scorecard_save(
        actor=manager, interview_id=interview.pk, ratings=_ratings(template, names),
        recommendation=5 if strong else 2,
    )  # fmt: skip
    services.scorecard_submit(actor=manager, interview_id=interview.pk)
    return 1


def delete_hiring_demo(user_ids: list[int]) -> None:
    """The demo's hiring rows: candidates of positions its people hire for (with their
    interviews and scorecards), those positions, and the demo's template if nothing else
    uses it."""
    positions = Position.objects.filter(hiring_manager__in=user_ids)
    Candidate.objects.filter(position__in=positions).delete()
    Interview.objects.filter(interviewer__in=user_ids).delete()
    positions.delete()
    ScorecardTemplate.objects.filter(name=TEMPLATE_NAME, positions=None).delete()
