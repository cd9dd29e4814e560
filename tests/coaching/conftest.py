"""The seeded skills framework (a flushed database may have lost the seed) and a helper
to write assessments straight to the table."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.utils import timezone

from coaching.models import Skill, SkillAssessment

SEED = importlib.import_module("coaching.migrations.0002_skills_seed").SKILLS


def ensure_skills() -> list[Skill]:
    skills = []
    for order, s in enumerate(SEED, start=1):
        skill, _ = Skill.objects.get_or_create(
            name=s["name"],
            defaults={
                "order": order,
                **{f"level_{n}": text for n, text in enumerate(s["levels"], start=1)},
                "questions": s["questions"],
                "good_looks_like": s["good"],
                "common_mistakes": s["mistakes"],
            },
        )
        skills.append(skill)
    return skills


@pytest.fixture
def skills(db) -> list[Skill]:
    return ensure_skills()


def assess(
    rep, skill, level, *, by, days_ago=0, evidence="Seen on the Acme call"
) -> SkillAssessment:
    return SkillAssessment.objects.create(
        rep=rep,
        skill=skill,
        level=level,
        assessor=by,
        assessed_on=timezone.localdate() - dt.timedelta(days=days_ago),
        evidence=evidence,
    )
