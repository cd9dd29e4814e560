"""Qualifying a deal against its pipeline's framework, and how long a qualification
stays valid."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from pipeline import rules
from pipeline.flags import flags_refresh
from pipeline.models import (
    EvidenceSource,
    Opportunity,
    Qualification,
    QualificationElement,
    QualificationScore,
    Stage,
)
from pipeline.services.common import MAX_TEXT, lock_for, refuse_if_closed
from salesops.exceptions import Conflict, ValidationFailed
from salesops.models import User
from salesops.services import audit_record

# --- qualification -------------------------------------------------------------------


def qualification_validity_days(stage: Stage) -> int:
    return stage.qualification_validity_days or settings.QUALIFICATION_VALIDITY_DAYS


def latest_valid_qualification(opp: Opportunity, *, now: dt.datetime | None = None):
    """The latest qualification if it still counts (not voided, not expired), else None."""
    latest = Qualification.objects.filter(opportunity=opp).order_by("-assessed_at", "-id").first()
    if latest is None:
        return None
    valid = rules.qualification_is_valid(
        assessed_at=latest.assessed_at,
        invalidated_at=latest.invalidated_at,
        validity_days=qualification_validity_days(opp.stage),
        now=now or timezone.now(),
    )
    return latest if valid else None


@transaction.atomic
def qualification_create(
    *, opportunity_id: int, actor: User, scores: list[dict[str, Any]], note: str = ""
) -> Qualification:
    """Assess an open opportunity: every element of its pipeline's framework scored 0–3,
    with evidence and its source for scores of 2 and 3. Kept as history; the latest counts.

    `scores` is a list of {"element": id, "score": 0–3, "evidence": str, "source": str}.
    Refuses (ValidationFailed, nothing saved): a missing element, an element given twice or
    of another framework, a score outside 0–3, missing evidence or source for a score ≥ 2.
    Refuses (Conflict) when the pipeline has no framework or the deal is closed."""
    opp = lock_for(actor, opportunity_id)
    refuse_if_closed(opp)
    framework_id = opp.pipeline.framework_id
    if framework_id is None:
        raise Conflict(
            f"The pipeline '{opp.pipeline.name}' has no qualification framework; an "
            "administrator or a sales leader chooses one first.",
            code="no_framework",
        )
    # FOR KEY SHARE: an element being deleted right now either finishes first (then it is
    # simply not offered) or waits for this assessment — never a foreign-key error.
    # Concurrent assessments don't block each other (key-share locks don't conflict).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM pipeline_qualificationelement WHERE framework_id = %s FOR KEY SHARE",
            [framework_id],
        )
    elements = {e.id: e for e in QualificationElement.objects.filter(framework_id=framework_id)}
    problems: dict[str, dict[str, list[str]]] = {}
    given: dict[int, dict[str, Any]] = {}
    for i, entry in enumerate(scores or []):
        raw_id = entry.get("element") if isinstance(entry, dict) else None
        element_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
        key = str(raw_id if element_id is not None else f"#{i}")
        if element_id not in elements:
            problems.setdefault(key, {}).setdefault("element", []).append(
                "Not an element of this deal's framework."
            )
            continue
        if element_id in given:
            problems.setdefault(key, {}).setdefault("element", []).append("Scored twice.")
            continue
        evidence = str(entry.get("evidence") or "").strip()
        source = str(entry.get("source") or "").strip()
        if len(evidence) > MAX_TEXT:
            problems.setdefault(key, {}).setdefault("evidence", []).append(
                f"Use at most {MAX_TEXT} characters."
            )
        for field, message in rules.score_problems(
            score=entry.get("score"), evidence=evidence, source=source
        ).items():
            problems.setdefault(key, {}).setdefault(field, []).append(message)
        given[element_id] = {"score": entry.get("score"), "evidence": evidence, "source": source}
    missing = [e for e_id, e in elements.items() if e_id not in given]
    for element in missing:
        problems.setdefault(str(element.id), {}).setdefault("score", []).append(
            f"Score '{element.name}' too (0 if unknown)."
        )
    note = (note or "").strip()
    if problems or len(note) > MAX_TEXT:
        details: dict[str, Any] = {"scores": problems} if problems else {}
        if len(note) > MAX_TEXT:
            details["note"] = [f"Use at most {MAX_TEXT} characters."]
        names = ", ".join(e.name for e in missing)
        raise ValidationFailed(
            f"Score every element; missing: {names}." if missing else "Some scores are not valid.",
            details=details,
        )
    pct = rules.weighted_score_pct(
        weighted_scores=[(elements[e_id].weight, v["score"]) for e_id, v in given.items()]
    )
    qualification = Qualification.objects.create(
        opportunity=opp,
        framework_id=framework_id,
        score_pct=pct,
        assessed_by=actor,
        assessed_at=timezone.now(),
        note=note,
    )
    # A database trigger has pointed the deal at it (migration 0008); keep `opp` in step.
    opp.latest_qualification = qualification
    QualificationScore.objects.bulk_create(
        QualificationScore(
            qualification=qualification,
            element_id=e_id,
            score=v["score"],
            # Evidence of a low score is kept only as a note; the source is meaningful ≥ 2.
            evidence=v["evidence"],
            source=v["source"] if v["source"] in EvidenceSource.values else "",
        )
        for e_id, v in given.items()
    )
    flags_refresh(opportunity_ids=[opp.pk])  # requalify_due clears at once
    audit_record(
        actor=actor,
        action="qualification.created",
        target=opp,
        data={"qualification": qualification.pk, "score_pct": str(pct)},
    )
    return qualification
