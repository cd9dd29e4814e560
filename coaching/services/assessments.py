"""Skill assessments: a manager of the rep (never of themselves) or a leader/admin records
the level a rep showed on one skill; reps read their own but assess nobody.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.urls import reverse

from coaching.models import EVIDENCE_FROM_LEVEL, Skill, SkillAssessment
from coaching.services.common import coached_person
from salesops import organisation
from salesops.cleaning import clean_date, clean_int, clean_text
from salesops.exceptions import PermissionDenied, ValidationFailed
from salesops.models import User
from salesops.services import audit_record, notification_send

MAX_EVIDENCE = 5_000


def can_assess(actor: User) -> bool:
    """Managers, leaders and admins assess skills; reps do not. (Whom: `manages`.)"""
    return actor.is_authenticated and (actor.is_manager or actor.sees_everything)


@transaction.atomic
def skill_assessment_create(
    *,
    actor: User,
    rep_id: Any,
    skill_id: Any,
    level: Any,
    assessed_on: dt.date | str | None = None,
    evidence: str = "",
) -> SkillAssessment:
    """Record the level (1–5) `actor` assessed a rep at on one skill of the framework,
    on `assessed_on` (default: today). The rep is notified.

    Refuses: a rep (PermissionDenied: skills are assessed by managers); a person outside
    the actor's teams (NotFound, as if they did not exist); assessing oneself
    (PermissionDenied); a skill that is not an active skill of the framework; a level
    outside 1–5; a date in the future; no evidence for level 4 or 5; too long evidence.
    Nothing is saved when refused."""
    if not can_assess(actor):
        raise PermissionDenied(
            "Skills are assessed by a manager of the rep (or a sales leader), not by reps."
        )
    rep = coached_person(
        actor, rep_id, yourself="You cannot assess yourself: your manager assesses you."
    )
    errors: dict[str, list[str]] = {}
    try:
        skill = Skill.objects.filter(pk=int(skill_id), is_active=True).first()
    except (TypeError, ValueError):
        skill = None
    if skill is None:
        errors.setdefault("skill", []).append("Choose a skill of the skills framework.")
    level_value = clean_int(errors, "level", level, required=True, minimum=1, maximum=5)
    today = organisation.current().today()
    on: dt.date | None
    if assessed_on in (None, ""):
        on = today
    else:
        on = clean_date(errors, "assessed_on", assessed_on, required=True)
        if on is not None and on > today:
            errors.setdefault("assessed_on", []).append(
                "An assessment records what you saw: the date cannot be in the future."
            )
    text = clean_text(errors, "evidence", evidence, required=False, max_length=MAX_EVIDENCE)
    if level_value is not None and level_value >= EVIDENCE_FROM_LEVEL and not text:
        errors.setdefault("evidence", []).append(
            f"Level {level_value} needs evidence: say what you saw (the deal, call or "
            "document, and when) that shows this level."
        )
    if errors:
        raise ValidationFailed(details=errors)
    # Each is None only with its error recorded above (raised just now).
    assert skill is not None and level_value is not None and on is not None
    assessment = SkillAssessment.objects.create(
        rep=rep,
        skill=skill,
        level=level_value,
        assessor=actor,
        assessed_on=on,
        evidence=text,
    )
    notification_send(
        recipient=rep,
        dedupe_key=f"skill_assessment:{assessment.pk}",
        title=f"{skill.name}: assessed at level {level_value}",
        body=f"{actor} assessed your {skill.name.lower()} on {on:%d %b %Y}.",
        link=reverse("coaching:matrix"),
    )
    audit_record(
        actor=actor,
        action="skill_assessment.created",
        target=assessment,
        data={"rep": rep.pk, "skill": skill.pk, "level": level_value},
    )
    return assessment
