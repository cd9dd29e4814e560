"""Administration of qualification frameworks and their elements."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from pipeline.models import (
    MilestoneElementLevel,
    QualificationElement,
    QualificationFramework,
    QualificationScore,
)
from pipeline.services.common import MAX_TEXT, apply_changes, refuse_unless_admin
from salesops.cleaning import (
    MAX_SMALL_INT,
    clean_int,
    clean_text,
    name_taken,
    refuse_unknown_fields,
    save_unique,
)
from salesops.exceptions import Conflict, NotFound, ValidationFailed
from salesops.models import User
from salesops.services import audit_record

# --- qualification framework administration ------------------------------------------
# Frameworks and their elements are configuration: administrators and sales leaders change
# them (access.configures_sales_process).

FRAMEWORK_FIELDS = frozenset({"name", "description", "is_active"})
ELEMENT_FIELDS = frozenset({"name", "guidance", "weight", "order"})


def _refuse_unless_admin_for_frameworks(actor: User) -> None:
    refuse_unless_admin(actor, what="qualification frameworks")


def _clean_qualification_framework(
    data: dict[str, Any], *, instance: QualificationFramework | None
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(errors, "name", data["name"], required=True, max_length=60)
        if name_taken(QualificationFramework.objects.all(), cleaned["name"], instance=instance):
            errors.setdefault("name", []).append("A framework with this name exists.")
    if "description" in data:
        cleaned["description"] = clean_text(
            errors, "description", data["description"], required=False, max_length=MAX_TEXT
        )
    if "is_active" in data:
        cleaned["is_active"] = bool(data["is_active"])
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def framework_create(
    *, actor: User, name: str, description: str = "", is_active: bool = True
) -> QualificationFramework:
    """Create a qualification framework (elements are added separately). Refuses: a rep
    or a manager, an empty or taken name (case-insensitive)."""
    _refuse_unless_admin_for_frameworks(actor)
    cleaned = _clean_qualification_framework(
        {"name": name, "description": description, "is_active": is_active}, instance=None
    )
    framework = QualificationFramework(**cleaned)
    save_unique(framework, fields=None, field_for_conflict="name")
    audit_record(actor=actor, action="qualification_framework.created", target=framework)
    return framework


@transaction.atomic
def framework_update(*, framework_id: int, actor: User, **changes: Any) -> QualificationFramework:
    """Rename, describe or (de)activate a framework. Refuses: a rep or a manager, unknown fields,
    an empty or taken name."""
    _refuse_unless_admin_for_frameworks(actor)
    refuse_unknown_fields(changes, allowed=FRAMEWORK_FIELDS)
    framework = QualificationFramework.objects.select_for_update().filter(pk=framework_id).first()
    if framework is None:
        raise NotFound("No such framework.")
    cleaned = _clean_qualification_framework(changes, instance=framework)
    apply_changes(
        framework,
        cleaned,
        actor=actor,
        action="qualification_framework.updated",
        unique_field="name",
    )
    return framework


def _clean_element(
    data: dict[str, Any],
    *,
    framework: QualificationFramework,
    instance: QualificationElement | None,
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(errors, "name", data["name"], required=True, max_length=80)
        siblings = QualificationElement.objects.filter(framework=framework)
        if name_taken(siblings, cleaned["name"], instance=instance):
            errors.setdefault("name", []).append(
                f"The framework '{framework.name}' already has an element with this name."
            )
    if "guidance" in data:
        cleaned["guidance"] = clean_text(
            errors, "guidance", data["guidance"], required=False, max_length=MAX_TEXT
        )
    if "weight" in data:
        cleaned["weight"] = clean_int(
            errors, "weight", data["weight"], required=True, minimum=1, maximum=100
        )
    if "order" in data:
        cleaned["order"] = clean_int(
            errors, "order", data["order"], required=True, maximum=MAX_SMALL_INT
        )
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def element_create(
    *,
    actor: User,
    framework: QualificationFramework,
    name: str,
    weight: int = 1,
    order: int | None = None,
    guidance: str = "",
) -> QualificationElement:
    """Add an element to a framework; without `order` it goes last. Refuses: a rep or a manager,
    an empty or taken name, a weight outside 1–100, an order outside 0–32767.

    The next qualification of every deal on the framework must score the new element."""
    _refuse_unless_admin_for_frameworks(actor)
    data: dict[str, Any] = {"name": name, "guidance": guidance, "weight": weight}
    if order is not None:
        data["order"] = order
    cleaned = _clean_element(data, framework=framework, instance=None)
    if "order" not in cleaned:
        last = (
            QualificationElement.objects.filter(framework=framework)
            .order_by("-order")
            .values_list("order", flat=True)
            .first()
        )
        cleaned["order"] = min(MAX_SMALL_INT, 0 if last is None else last + 1)
    element = QualificationElement(framework=framework, **cleaned)
    save_unique(element, fields=None, field_for_conflict="name")
    audit_record(actor=actor, action="qualification_element.created", target=element)
    return element


@transaction.atomic
def element_update(*, element_id: int, actor: User, **changes: Any) -> QualificationElement:
    """Rename, reweight, reorder or re-describe an element. Refuses like `element_create`;
    its framework cannot change. A new weight counts from the next qualification on
    (stored scores keep their percentage)."""
    _refuse_unless_admin_for_frameworks(actor)
    refuse_unknown_fields(changes, allowed=ELEMENT_FIELDS)
    element = (
        QualificationElement.objects.select_for_update(of=("self",))
        .select_related("framework")
        .filter(pk=element_id)
        .first()
    )
    if element is None:
        raise NotFound("No such element.")
    cleaned = _clean_element(changes, framework=element.framework, instance=element)
    apply_changes(
        element, cleaned, actor=actor, action="qualification_element.updated", unique_field="name"
    )
    return element


@transaction.atomic
def element_delete(*, element_id: int, actor: User) -> None:
    """Delete an element. Refuses: a rep or a manager; an element that qualifications scored
    (Conflict `element_in_use`: the history keeps its scores — rename it instead) or that
    an automatic milestone requires a level of (remove the requirement first)."""
    _refuse_unless_admin_for_frameworks(actor)
    # The row lock waits for a qualification being saved with a score of this element
    # (its foreign-key check holds a share lock on the row), so the count below sees it.
    element = QualificationElement.objects.select_for_update().filter(pk=element_id).first()
    if element is None:
        raise NotFound("No such element.")
    scores = QualificationScore.objects.filter(element=element).count()
    levels = list(
        MilestoneElementLevel.objects.filter(element=element)
        .order_by("milestone_id")
        .values_list("milestone_id", "milestone__title", "milestone__stage__name")
    )
    if scores or levels:
        reasons = []
        if scores:
            reasons.append(
                f"{scores} qualification score{'' if scores == 1 else 's'} use it (the "
                "history keeps them: rename it instead)"
            )
        if levels:
            named = ", ".join(f"'{title}' ({stage})" for _, title, stage in levels[:5])
            more = f" and {len(levels) - 5} more" if len(levels) > 5 else ""
            reasons.append(
                f"the milestone{'s' if len(levels) > 1 else ''} {named}{more} require"
                f"{'' if len(levels) > 1 else 's'} a minimum level of it (remove that "
                "minimum in the pipeline setup first)"
            )
        raise Conflict(
            f"The element '{element.name}' cannot be removed: {'; '.join(reasons)}.",
            code="element_in_use",
            details={"scores": scores, "milestones": [pk for pk, _, _ in levels]},
        )
    audit_record(
        actor=actor,
        action="qualification_element.deleted",
        target=element,
        data={"name": element.name, "framework": element.framework_id},
    )
    element.delete()
