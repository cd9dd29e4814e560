"""The skills framework, configuration only administrators change: skill_create and
skill_update.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from coaching.models import LEVELS, Skill
from coaching.services.common import MAX_TEXT
from salesops.cleaning import (
    MAX_SMALL_INT,
    clean_int,
    clean_text,
    name_taken,
    refuse_unknown_fields,
    save_unique,
)
from salesops.exceptions import NotFound, PermissionDenied, ValidationFailed
from salesops.models import User
from salesops.services import audit_record

MAX_NAME = 80
LEVEL_FIELDS = tuple(f"level_{n}" for n in LEVELS)
GUIDE_FIELDS = ("questions", "good_looks_like", "common_mistakes")
SKILL_FIELDS = frozenset(
    {"name", "order", "description", "is_active", *LEVEL_FIELDS, *GUIDE_FIELDS}
)


def _refuse_unless_admin(actor: User) -> None:
    if not actor.is_admin_role:
        raise PermissionDenied("Only an administrator can change the skills framework.")


def _clean_skill(data: dict[str, Any], *, instance: Skill | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(
            errors, "name", data["name"], required=True, max_length=MAX_NAME
        )
        if name_taken(Skill.objects.all(), cleaned["name"], instance=instance):
            errors.setdefault("name", []).append("A skill with this name exists.")
    if "order" in data:
        cleaned["order"] = clean_int(
            errors, "order", data["order"], required=True, maximum=MAX_SMALL_INT
        )
    for field in ("description", *GUIDE_FIELDS):
        if field in data:
            cleaned[field] = clean_text(
                errors, field, data[field], required=False, max_length=MAX_TEXT
            )
    for field in LEVEL_FIELDS:
        if field in data:
            # Every level needs words: assessing against an empty level means nothing.
            cleaned[field] = clean_text(
                errors, field, data[field], required=True, max_length=MAX_TEXT
            )
    if "is_active" in data:
        cleaned["is_active"] = bool(data["is_active"])
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def skill_create(*, actor: User, name: str, **fields: Any) -> Skill:
    """Add a skill to the framework, with a descriptor for each of the levels 1–5 and
    (optionally) its coaching guide. Without `order` it goes last.

    Refuses: a non-admin (PermissionDenied); unknown fields; an empty or taken name
    (case-insensitive); a level without a descriptor."""
    _refuse_unless_admin(actor)
    refuse_unknown_fields(fields, allowed=SKILL_FIELDS - {"name"})
    data = {field: "" for field in LEVEL_FIELDS} | fields | {"name": name}
    cleaned = _clean_skill(data, instance=None)
    if "order" not in cleaned:
        last = Skill.objects.aggregate(m=Max("order"))["m"]
        cleaned["order"] = min(MAX_SMALL_INT, 0 if last is None else last + 1)
    skill = Skill(**cleaned)
    save_unique(skill, fields=None, field_for_conflict="name")
    audit_record(actor=actor, action="skill.created", target=skill)
    return skill


@transaction.atomic
def skill_update(*, actor: User, skill_id: Any, **changes: Any) -> Skill:
    """Change a skill: rename, reorder, (de)activate, rewrite its levels or its guide.
    Deactivating keeps its assessments; the skill just leaves the matrix and the form.

    Refuses: a non-admin; unknown fields; no such skill (NotFound); an empty or taken
    name; an emptied level descriptor."""
    _refuse_unless_admin(actor)
    refuse_unknown_fields(changes, allowed=SKILL_FIELDS)
    try:
        pk = int(skill_id)
    except (TypeError, ValueError):
        raise NotFound("No such skill.") from None
    skill = Skill.objects.select_for_update().filter(pk=pk).first()
    if skill is None:
        raise NotFound("No such skill.")
    cleaned = _clean_skill(changes, instance=skill)
    for field, value in cleaned.items():
        setattr(skill, field, value)
    if cleaned:
        save_unique(skill, fields=[*cleaned, "updated_at"], field_for_conflict="name")
        audit_record(
            actor=actor, action="skill.updated", target=skill, data={"fields": sorted(cleaned)}
        )
    return skill
