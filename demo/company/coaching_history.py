"""The demo's coaching: skill assessments, 1:1s and opportunity reviews."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

from django.utils import timezone

from coaching import services as coaching
from coaching.models import ActionItem, CoachingSession, OpportunityReview, Skill
from coaching.rules import fold_agenda
from coaching.selectors import review_queue_for
from demo.company.cast import PEOPLE, TEAMS
from salesops.models import Role, User

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
    counts: Counter[str] = Counter()
    for username, rep in reps.items():
        team = PEOPLE[username][3]
        assert team is not None  # every demo rep is in a team
        manager = users[TEAMS[team]]
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
            # The manager went through the points in view (the top of the ranked agenda)
            # and confirmed completing with the folded ones left undiscussed.
            shown, _ = fold_agenda(list(review.agenda_items.order_by("order", "id")))
            for point in shown:
                coaching.agenda_item_set_discussed(actor=manager, item_id=point.pk, discussed=True)
            coaching.review_complete(actor=manager, review_id=review.pk, confirm=True)
            _backdate(
                OpportunityReview,
                review.pk,
                started_at=now - dt.timedelta(days=9, hours=1),
                completed_at=now - dt.timedelta(days=9),
            )
    return dict(counts)
