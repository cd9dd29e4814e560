"""The qualification history of the demo deals: the assessments History makes at each
stage exit (QUALIFICATION_LEVELS, EVIDENCE, raised to pass a gate by meet_gate), and writing
them with each deal's latest."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.db import connection

from demo.company.cast import Habits
from demo.company.history_common import Gate, HistoryBase, Journey, Rows
from pipeline.models import ChangeField, Opportunity, Qualification, QualificationScore
from pipeline.rules import MAX_SCORE, weighted_score_pct


class QualificationHistory(HistoryBase):
    """A deal's assessments, as qualification_create would have recorded them."""

    def _qualifications(self, opp: Opportunity, journey: Journey, habits: Habits) -> None:
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
            # The push happened: the deal closes a month later than it did, from that day
            # (its history says so), and the reason names the two months as they are.
            last_change = max(
                itertools.takewhile(lambda c: c.opportunity is opp, reversed(self.rows.changes)),
                key=lambda c: c.changed_at,
            ).changed_at  # after it, so replaying the history ends at the deal as it is
            voided = min(
                self.now,
                max(last_change, latest.assessed_at) + dt.timedelta(days=rng.uniform(1, 5)),
            )
            latest.invalidated_at = voided
            earlier = opp.close_date
            opp.close_date = earlier + dt.timedelta(days=31)
            self._change(opp, ChangeField.CLOSE_DATE, earlier, opp.close_date, opp.owner, voided)
            opp.version += 1
            latest.invalidated_reason = (
                f"Close date pushed from {earlier:%b %Y} to {opp.close_date:%b %Y}."
            )

    def _assess(
        self, levels: dict[int, int], exit_index: int, habits: Habits, gate: Gate | None
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


def write_qualifications(rows: Rows) -> None:
    """The deals' assessments (made by History), and each deal's latest."""
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
