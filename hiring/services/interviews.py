"""Interviews and scorecards: who assesses which attributes when; a scorecard is drafted,
then submitted once and never edited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from hiring.models import (
    AttributeRating,
    CandidateStage,
    Interview,
    InterviewKind,
    Recommendation,
    Scorecard,
    TemplateAttribute,
)
from hiring.services.candidates import lock_candidate_to_manage
from hiring.services.common import MAX_TEXT, by_id
from salesops.cleaning import (
    clean_text,
    query_int,
)
from salesops.exceptions import Conflict, NotFound, ValidationFailed
from salesops.models import User
from salesops.services import audit_record

# --- interviews and scorecards --------------------------------------------------------


@transaction.atomic
def interview_schedule(
    *,
    actor: User,
    candidate_id: Any,
    interviewer: Any,
    kind: str,
    scheduled_at: dt.datetime | None,
    focus: list[Any],
) -> Interview:
    """Schedule an interview with its focus attributes (of the position's template).
    Refuses: not a recruiter or the hiring manager; a candidate whose process has ended;
    an inactive or unknown interviewer; an unknown kind; no time; no focus attribute, or
    one of another template."""
    candidate = lock_candidate_to_manage(actor, candidate_id)
    if candidate.is_final:
        raise Conflict("The candidate's process has ended.", code="candidate_closed")
    errors: dict[str, list[str]] = {}
    person = User.objects.filter(pk=query_int(interviewer) or 0, is_active=True).first()
    if person is None:
        errors["interviewer"] = ["Choose an active colleague."]
    if kind not in InterviewKind.values:
        errors["kind"] = [f"Choose one of: {', '.join(InterviewKind.values)}."]
    if not isinstance(scheduled_at, dt.datetime):
        errors["scheduled_at"] = ["Give the date and time."]
    ids = {query_int(pk) for pk in focus or []}
    attributes = list(
        TemplateAttribute.objects.filter(
            pk__in=[i for i in ids if i is not None], template_id=candidate.position.template_id
        )
    )
    if not ids:
        errors["focus"] = ["Choose at least one attribute to assess."]
    elif len(attributes) != len(ids):
        errors["focus"] = ["Choose attributes of this position's scorecard."]
    if errors:
        raise ValidationFailed(details=errors)
    # Both were checked above: an error was recorded otherwise.
    assert person is not None and scheduled_at is not None
    interview = Interview.objects.create(
        candidate=candidate, interviewer=person, kind=kind, scheduled_at=scheduled_at
    )
    interview.focus.set(attributes)
    Scorecard.objects.create(interview=interview)
    if candidate.stage in ("applied", "screen") and kind != InterviewKind.SCREEN:
        candidate.stage, candidate.stage_changed_at = CandidateStage.INTERVIEWS, timezone.now()
        candidate.version += 1
        candidate.save(update_fields=["stage", "stage_changed_at", "version"])
    audit_record(
        actor=actor,
        action="hiring.interview_scheduled",
        target=interview,
        data={"interviewer": person.pk},
    )
    return interview


def _lock_own_scorecard(actor: User, interview_id: Any) -> Scorecard:
    interview = by_id(
        Interview.objects.select_related("candidate__position"), interview_id, "interview"
    )
    if interview.interviewer_id != actor.pk:
        # Someone else's interview: the scorecard is theirs alone to fill.
        raise NotFound("No such interview among yours.")
    scorecard = Scorecard.objects.select_for_update().get(interview=interview)
    if scorecard.is_submitted:
        raise Conflict(
            "This scorecard was submitted; it can no longer change.", code="scorecard_submitted"
        )
    return scorecard


@transaction.atomic
def scorecard_save(
    *,
    actor: User,
    interview_id: Any,
    ratings: dict[Any, dict[str, Any]],
    recommendation: Any = None,
    summary: str = "",
) -> Scorecard:
    """Save one's draft scorecard: `ratings` maps focus attribute ids to {"rating": 1–5,
    "evidence": text}; an attribute left out keeps no rating. Refuses: someone else's
    interview (404); a submitted scorecard (Conflict); an attribute that is not a focus of
    the interview; a rating off the scale; a recommendation off its scale — nothing is
    saved then."""
    scorecard = _lock_own_scorecard(actor, interview_id)
    focus = {a.pk: a for a in scorecard.interview.focus.all()}
    errors: dict[str, list[str]] = {}
    cleaned: dict[int, tuple[int, str]] = {}
    for key, given in (ratings or {}).items():
        pk = query_int(key)
        field = f"ratings.{key}"
        if pk not in focus:
            errors[field] = ["Rate only the attributes this interview focuses on."]
            continue
        given = given or {}
        value = given.get("rating")
        evidence = clean_text(
            errors, field, given.get("evidence"), required=False, max_length=MAX_TEXT
        )
        if value in (None, ""):
            continue
        rating = query_int(value)
        if rating is None or not 1 <= rating <= 5:
            errors[field] = ["Rate from 1 (Definitely not) to 5 (Strong yes)."]
            continue
        cleaned[pk] = (rating, evidence)
    chosen = None
    if recommendation not in (None, ""):
        chosen = query_int(recommendation)
        if chosen not in Recommendation.values:
            errors["recommendation"] = ["Choose Definitely not, No, Yes or Strong yes."]
    summary = clean_text(errors, "summary", summary, required=False, max_length=MAX_TEXT)
    if errors:
        raise ValidationFailed(details=errors)
    scorecard.ratings.all().delete()
    AttributeRating.objects.bulk_create(
        AttributeRating(scorecard=scorecard, attribute_id=pk, rating=r, evidence=e)
        for pk, (r, e) in cleaned.items()
    )
    scorecard.recommendation = chosen
    scorecard.summary = summary
    scorecard.save(update_fields=["recommendation", "summary", "updated_at"])
    # No ratings' words: the evidence is the candidate's personal data (anonymised later).
    audit_record(
        actor=actor, action="hiring.scorecard_saved", target=scorecard,
        data={"ratings": len(cleaned), "recommendation": chosen},
    )  # fmt: skip
    return scorecard


@transaction.atomic
def scorecard_submit(*, actor: User, interview_id: Any) -> Scorecard:
    """Submit one's scorecard: then it is frozen, and the others' submitted scorecards
    for the candidate become visible to its author. Refuses: someone else's interview;
    submitting twice (Conflict); a focus attribute without a rating or without evidence;
    no overall recommendation."""
    scorecard = _lock_own_scorecard(actor, interview_id)
    rated = {r.attribute_id: r for r in scorecard.ratings.all()}
    errors: dict[str, list[str]] = {}
    for attribute in scorecard.interview.focus.all():
        given = rated.get(attribute.pk)
        if given is None:
            errors[f"ratings.{attribute.pk}"] = [f"Rate {attribute.name}."]
        elif not given.evidence.strip():
            errors[f"ratings.{attribute.pk}"] = [f"Say what you saw or heard for {attribute.name}."]
    if scorecard.recommendation is None:
        errors["recommendation"] = ["Give your overall recommendation."]
    if errors:
        raise ValidationFailed("The scorecard is not complete.", details=errors)
    scorecard.submitted_at = timezone.now()
    scorecard.save(update_fields=["submitted_at", "updated_at"])
    audit_record(actor=actor, action="hiring.scorecard_submitted", target=scorecard)
    return scorecard
