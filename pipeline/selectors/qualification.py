"""Reads of qualification: a deal's qualifications and the card the opportunity page
shows of them, its framework's elements, and the frameworks and elements the API lists."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from pipeline import rules
from pipeline.models import (
    Opportunity,
    Qualification,
    QualificationElement,
    QualificationFramework,
    QualificationScore,
)
from pipeline.services import qualification_validity_days


def qualification_history_for(opp: Opportunity) -> QuerySet[Qualification]:
    """The opportunity's qualifications, newest first, with their scores and elements."""
    return (
        Qualification.objects.filter(opportunity=opp)
        .select_related("assessed_by", "framework")
        .prefetch_related(
            Prefetch(
                "scores",
                queryset=QualificationScore.objects.select_related("element").order_by(
                    "element__order", "element_id"
                ),
            )
        )
        .order_by("-assessed_at", "-id")
    )


def qualification_framework_list() -> QuerySet[QualificationFramework]:
    return QualificationFramework.objects.prefetch_related(
        Prefetch("elements", queryset=QualificationElement.objects.order_by("order", "id"))
    ).order_by("name", "id")


def qualification_element_list() -> QuerySet[QualificationElement]:
    return QualificationElement.objects.order_by("framework_id", "order", "id")


def framework_elements_for(opp: Opportunity) -> list[QualificationElement]:
    """The elements of the opportunity's pipeline's framework, in order ([] without one)."""
    if opp.pipeline.framework_id is None:
        return []
    return list(
        QualificationElement.objects.filter(framework_id=opp.pipeline.framework_id).order_by(
            "order", "id"
        )
    )


def qualification_scores_for(qualification: Qualification | None) -> dict[int, QualificationScore]:
    """Scores by element id (uses the scores prefetched by `qualification_history_for`)."""
    if qualification is None:
        return {}
    return {s.element_id: s for s in qualification.scores.all()}


@dataclass
class ElementLevel:
    element: QualificationElement
    score: QualificationScore | None  # None: not scored in the latest qualification

    @property
    def band(self) -> str:
        """Colour band: red for 0–1, amber for 2, green for 3."""
        level = self.score.score if self.score else 0
        return "green" if level >= 3 else "amber" if level == 2 else "red"

    @property
    def level_name(self) -> str:
        return rules.SCORE_LEVELS[self.score.score] if self.score else "Not scored"


@dataclass
class QualificationSummary:
    framework_name: str | None
    latest: Qualification | None
    state: str  # "none", "valid", "expired" or "voided"
    expires_at: Any
    elements: list[ElementLevel]
    history: list[Qualification]  # newest first
    more: int  # older qualifications not in `history`

    @property
    def trend(self) -> list[Decimal]:
        """Scores oldest → newest, for the sparkline."""
        return [q.score_pct for q in reversed(self.history)]


QUALIFICATION_HISTORY_SHOWN = 12


def qualification_summary_for(opp: Opportunity, *, now=None) -> QualificationSummary:
    """What the opportunity page's qualification card shows. Four queries at most."""
    now = now or timezone.now()
    elements = framework_elements_for(opp)
    history = list(qualification_history_for(opp)[: QUALIFICATION_HISTORY_SHOWN + 1])
    more = 0
    if len(history) > QUALIFICATION_HISTORY_SHOWN:
        history = history[:QUALIFICATION_HISTORY_SHOWN]
        more = opp.qualifications.count() - QUALIFICATION_HISTORY_SHOWN
    latest = history[0] if history else None
    scores = qualification_scores_for(latest)
    state, expires_at = "none", None
    if latest is not None:
        expires_at = rules.qualification_expires_at(
            assessed_at=latest.assessed_at, validity_days=qualification_validity_days(opp.stage)
        )
        if latest.invalidated_at is not None:
            state = "voided"
        elif rules.qualification_is_valid(
            assessed_at=latest.assessed_at,
            invalidated_at=None,
            validity_days=qualification_validity_days(opp.stage),
            now=now,
        ):
            state = "valid"
        else:
            state = "expired"
    return QualificationSummary(
        framework_name=opp.pipeline.framework.name if opp.pipeline.framework_id else None,  # type: ignore[union-attr]  # set when framework_id is
        latest=latest,
        state=state,
        expires_at=expires_at,
        elements=[ElementLevel(element=e, score=scores.get(e.id)) for e in elements],
        history=history,
        more=more,
    )
