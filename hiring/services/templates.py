"""Scorecard templates and their attributes: what a position's interviews assess."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from coaching import selectors as coaching_selectors
from hiring.models import (
    AttributeCategory,
    AttributeRating,
    Interview,
    ScorecardTemplate,
    TemplateAttribute,
)
from hiring.services.common import MAX_TEXT, by_id, refuse_unless_recruiter
from salesops.cleaning import (
    clean_int,
    clean_name_and_description,
    clean_text,
    name_taken,
    query_int,
    refuse_unknown_fields,
    save_unique,
)
from salesops.exceptions import Conflict, ValidationFailed
from salesops.models import User
from salesops.services import audit_record

# --- scorecard templates ------------------------------------------------------------


TEMPLATE_FIELDS = frozenset({"name", "description"})
ATTRIBUTE_FIELDS = frozenset({"category", "name", "guidance", "questions", "skill", "order"})


def _clean_template(data: dict[str, Any], instance: ScorecardTemplate | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned = clean_name_and_description(
        errors, data, queryset=ScorecardTemplate.objects.all(), instance=instance,
        taken="A template with this name exists.", max_description=MAX_TEXT,
    )  # fmt: skip
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def template_create(*, actor: User, name: str, description: str = "") -> ScorecardTemplate:
    """A new, empty scorecard template. Refuses: not a recruiter; an empty or taken name."""
    refuse_unless_recruiter(actor, "edit scorecard templates")
    template = ScorecardTemplate(
        **_clean_template({"name": name, "description": description}, None)
    )
    save_unique(template, fields=None, field_for_conflict="name")
    audit_record(actor=actor, action="hiring.template_created", target=template)
    return template


def _clean_attribute(
    data: dict[str, Any], *, template: ScorecardTemplate, instance: TemplateAttribute | None
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "category" in data:
        if data["category"] not in AttributeCategory.values:
            errors["category"] = [f"Choose one of: {', '.join(AttributeCategory.values)}."]
        else:
            cleaned["category"] = data["category"]
    if "name" in data:
        cleaned["name"] = clean_text(errors, "name", data["name"], required=True, max_length=120)
        if name_taken(template.attributes.all(), cleaned["name"], instance=instance):
            errors.setdefault("name", []).append("This template already has that attribute.")
    for field in ("guidance", "questions"):
        if field in data:
            cleaned[field] = clean_text(
                errors, field, data[field], required=False, max_length=MAX_TEXT
            )
    if "order" in data:
        cleaned["order"] = clean_int(errors, "order", data["order"], required=True, maximum=32767)
    if "skill" in data:
        skill_id = data["skill"]
        if skill_id in (None, ""):
            cleaned["skill"] = None
        else:
            skill = (
                coaching_selectors.skill_list(active_only=True)
                .filter(pk=query_int(skill_id) or 0)
                .first()
            )
            if skill is None:
                errors["skill"] = ["Choose an active coaching skill."]
            cleaned["skill"] = skill
    category = cleaned.get("category", instance.category if instance else None)
    skill = cleaned.get("skill", instance.skill if instance else None)
    if skill is not None and category != AttributeCategory.SELLING_SKILL:
        errors.setdefault("skill", []).append("Only a selling-skill attribute names a skill.")
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def template_attribute_add(
    *, actor: User, template_id: Any, category: str, name: str, **fields: Any
) -> TemplateAttribute:
    """Add an attribute (category, name, guidance, suggested questions one per line, for a
    selling skill the coaching skill it is). Without `order` it goes last. Refuses: not a
    recruiter; no such template; an unknown category; an empty or repeated name; a skill
    on an attribute that is not a selling skill."""
    refuse_unless_recruiter(actor, "edit scorecard templates")
    refuse_unknown_fields(fields, allowed=ATTRIBUTE_FIELDS - {"category", "name"})
    template = by_id(ScorecardTemplate.objects.all(), template_id, "template", lock=True)
    cleaned = _clean_attribute(
        {"category": category, "name": name, **fields}, template=template, instance=None
    )
    if "order" not in cleaned:
        last = template.attributes.aggregate(m=Max("order"))["m"]
        cleaned["order"] = 0 if last is None else min(last + 1, 32767)
    attribute = TemplateAttribute(template=template, **cleaned)
    save_unique(attribute, fields=None, field_for_conflict="name")
    audit_record(actor=actor, action="hiring.attribute_added", target=attribute)
    return attribute


@transaction.atomic
def template_attribute_update(
    *, actor: User, attribute_id: Any, **changes: Any
) -> TemplateAttribute:
    """Reword, recategorise, reorder an attribute or link its skill. Its past ratings keep
    pointing at it. Refuses as template_attribute_add does."""
    refuse_unless_recruiter(actor, "edit scorecard templates")
    refuse_unknown_fields(changes, allowed=ATTRIBUTE_FIELDS)
    attribute = by_id(
        TemplateAttribute.objects.select_related("template"), attribute_id, "attribute", lock=True
    )
    cleaned = _clean_attribute(changes, template=attribute.template, instance=attribute)
    for field, value in cleaned.items():
        setattr(attribute, field, value)
    save_unique(attribute, fields=list(cleaned) or None, field_for_conflict="name")
    audit_record(
        actor=actor,
        action="hiring.attribute_changed",
        target=attribute,
        data={"fields": sorted(cleaned)},
    )
    return attribute


@transaction.atomic
def template_attribute_remove(*, actor: User, attribute_id: Any) -> None:
    """Remove an attribute nobody has been asked about yet. Refuses (Conflict) one that is
    an interview's focus or rated on a scorecard: those keep their meaning."""
    refuse_unless_recruiter(actor, "edit scorecard templates")
    attribute = by_id(TemplateAttribute.objects.all(), attribute_id, "attribute", lock=True)
    if (
        Interview.focus.through.objects.filter(templateattribute_id=attribute.pk).exists()
        or AttributeRating.objects.filter(attribute_id=attribute.pk).exists()
    ):
        raise Conflict(
            "Interviews already assess this attribute: reword it instead of removing it.",
            code="attribute_in_use",
        )
    audit_record(
        actor=actor,
        action="hiring.attribute_removed",
        target=attribute,
        data={"name": attribute.name},
    )
    attribute.delete()
