"""The demo company's hiring: a scorecard template for account executives, two open
positions (one per team, its manager hiring), candidates at every stage — among them one
whose three interviewers disagree — and a draft scorecard waiting for rep1. Written
through hiring.services (every rule holds); only the dates are moved into the past
afterwards, as the rest of the demo does.

And the hires before: rep1–rep7, hired three years ago (their candidate records and
scorecards, linked to their accounts as an import of history would — the hire itself
created those accounts long ago), so quality of hire has real figures against their real
results; and rep8, hired last month, mid-onboarding — the first tasks done, one overdue,
the shadowed review signed off by her manager, her first 1:1s focused on her weakest
selling skills."""

from __future__ import annotations

import datetime as dt
from typing import Any

from coaching import selectors as coaching_selectors
from hiring import services
from hiring.models import (
    Candidate,
    CandidateStage,
    Interview,
    OnboardingTask,
    Position,
    ScorecardTemplate,
)
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
    hires = _past_hires(template, users, now)
    onboarding = _rep8_onboarding(users, now)
    return {"positions": Position.objects.count(), "candidates": Candidate.objects.count(),
            "interviews": interviews, "past_hires": hires,
            "onboarding_tasks_done": onboarding}  # fmt: skip


# Each past hire's interview ratings by attribute (hiring manager's card | leader's card).
# Written as their interviewers saw them then: the two top performers (rep2, rep4) stood
# out on coachability, discovery and learning agility; track record told little.
PAST_HIRES: dict[str, tuple[dict[str, int], dict[str, int]]] = {
    "rep1": ({"Discovery": 3, "Value articulation": 3, "Track record": 5},
             {"Learning agility": 3, "Coachability": 3, "Drive": 4, "Resilience": 3,
              "Structured thinking": 3, "Customer first": 4}),
    "rep2": ({"Discovery": 5, "Value articulation": 4, "Track record": 3},
             {"Learning agility": 5, "Coachability": 5, "Drive": 4, "Resilience": 4,
              "Structured thinking": 4, "Customer first": 4}),
    "rep3": ({"Discovery": 2, "Value articulation": 3, "Track record": 4},
             {"Learning agility": 3, "Coachability": 2, "Drive": 3, "Resilience": 3,
              "Structured thinking": 3, "Customer first": 3}),
    "rep4": ({"Discovery": 4, "Value articulation": 5, "Track record": 2},
             {"Learning agility": 4, "Coachability": 5, "Drive": 5, "Resilience": 4,
              "Structured thinking": 5, "Customer first": 5}),
    "rep5": ({"Discovery": 3, "Value articulation": 2, "Track record": 4},
             {"Learning agility": 2, "Coachability": 3, "Drive": 3, "Resilience": 4,
              "Structured thinking": 2, "Customer first": 3}),
    "rep6": ({"Discovery": 3, "Value articulation": 3, "Track record": 3},
             {"Learning agility": 4, "Coachability": 4, "Drive": 3, "Resilience": 2,
              "Structured thinking": 3, "Customer first": 4}),
    "rep7": ({"Discovery": 2, "Value articulation": 2, "Track record": 5},
             {"Learning agility": 2, "Coachability": 2, "Drive": 4, "Resilience": 3,
              "Structured thinking": 3, "Customer first": 2}),
}  # fmt: skip
REP8_RATINGS = (
    {"Discovery": 4, "Value articulation": 2, "Track record": 3},
    {"Learning agility": 5, "Coachability": 5, "Drive": 4, "Resilience": 4,
     "Structured thinking": 4, "Customer first": 4},
)  # fmt: skip


def _recommendation(ratings: dict[str, int]) -> int:
    """The overall call from the mean rating: Strong yes (5), Yes (4) or No (2)."""
    mean = sum(ratings.values()) / len(ratings)
    return 5 if mean >= 4.5 else 4 if mean >= 3.5 else 2


def _past_hire(
    position: Position, rep: User, cards: tuple[dict[str, int], dict[str, int]],
    template: ScorecardTemplate, users: dict[str, User], decided: dt.datetime,
) -> Candidate:  # fmt: skip
    """A candidate interviewed by the hiring manager and the leader, at offer, then hired
    as `rep`: linked to their existing account (history; candidate_hire makes a new one)."""
    manager = users[position.hiring_manager.username]
    candidate = services.candidate_create(
        actor=users["admin"], position_id=position.pk, name=rep.get_full_name(),
        email=rep.email, source="Referral",
    )  # fmt: skip
    for interviewer, ratings in zip((manager, users["leader"]), cards, strict=True):
        interview = services.interview_schedule(
            actor=manager, candidate_id=candidate.pk, interviewer=interviewer.pk,
            kind="hiring_manager" if interviewer == manager else "culture",
            scheduled_at=decided - dt.timedelta(days=10), focus=list(_ratings(template, ratings)),
        )  # fmt: skip
        services.scorecard_save(
            actor=interviewer, interview_id=interview.pk, ratings=_ratings(template, ratings),
            recommendation=_recommendation(ratings),
        )  # fmt: skip
        services.scorecard_submit(actor=interviewer, interview_id=interview.pk)
    services.candidate_move(actor=manager, candidate_id=candidate.pk, stage="offer")
    Candidate.objects.filter(pk=candidate.pk).update(
        stage=CandidateStage.HIRED, stage_reason="Strong on the scorecard; references checked.",
        stage_changed_at=decided, decided_by=manager, hired_user=rep,
        created_at=decided - dt.timedelta(days=30),
    )  # fmt: skip
    return candidate


def _past_hires(template: ScorecardTemplate, users: dict[str, User], now: dt.datetime) -> int:
    """rep1–rep7 and rep8 on a filled position per team; their interviews dated before
    their start."""
    filled = {
        manager: services.position_create(
            actor=users["admin"],
            title=f"Account executive — {users[manager].team} (filled)",
            team=users[manager].team_id,
            hiring_manager=users[manager].pk,
            template=template.pk,
        )
        for manager in CANDIDATES
    }
    hires = {**PAST_HIRES, "rep8": REP8_RATINGS}
    for username, cards in hires.items():
        rep = users[username]
        rep.refresh_from_db(fields=["started_on"])  # set by the coaching history
        manager = "manager1" if rep.team_id == users["manager1"].team_id else "manager2"
        started = rep.started_on or now.date()
        decided = dt.datetime.combine(started, dt.time(15), tzinfo=dt.UTC) - dt.timedelta(days=21)
        candidate = _past_hire(filled[manager], rep, cards, template, users, decided)
        Interview.objects.filter(candidate=candidate).update(
            scheduled_at=decided - dt.timedelta(days=10)
        )
    for position in filled.values():
        services.position_update(actor=users["admin"], position_id=position.pk, status="filled")
    return len(hires)


def _rep8_onboarding(users: dict[str, User], now: dt.datetime) -> int:
    """rep8's plan from her start: the tasks due more than three days ago done (each a day
    before it was due), except the qualification task — overdue; the shadowed review
    signed off by her manager."""
    rep8, manager = users["rep8"], users["manager2"]
    candidate = Candidate.objects.get(hired_user=rep8)
    # Set by the coaching history (build_coaching runs first), read back by _past_hires.
    assert rep8.started_on is not None
    services.onboarding_start(
        rep=rep8, started_on=rep8.started_on,
        focus_skills=services.weakest_selling_skills(candidate),
    )  # fmt: skip
    done = 0
    for task in OnboardingTask.objects.filter(plan__rep=rep8).order_by("due_on"):
        if task.due_on >= now.date() - dt.timedelta(days=3) or "Qualification" in task.title:
            continue
        services.onboarding_task_done(
            actor=manager if task.manager_signs_off else rep8, task_id=task.pk
        )
        OnboardingTask.objects.filter(pk=task.pk).update(
            done_at=dt.datetime.combine(task.due_on, dt.time(16), tzinfo=dt.UTC)
            - dt.timedelta(days=1)
        )
        done += 1
    return done


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
