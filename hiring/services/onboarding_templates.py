"""Onboarding templates and their tasks — the 30/60/90-day plans a new hire's plan is copied
from — and which template is the default. Editing a template never changes a plan already
started: onboarding_start copied the tasks, with their due dates, into the new hire's plan."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from hiring.models import OnboardingTaskKind, OnboardingTemplate, OnboardingTemplateTask
from hiring.services.common import MAX_TEXT, by_id, refuse_unless_recruiter
from salesops.cleaning import (
    Errors,
    clean_int,
    clean_name_and_description,
    clean_text,
    refuse_unknown_fields,
    save_unique,
)
from salesops.exceptions import Conflict, ValidationFailed
from salesops.models import User
from salesops.services import audit_record

ONBOARDING_TEMPLATE_FIELDS = frozenset({"name", "description", "is_default"})
ONBOARDING_TASK_FIELDS = frozenset({"kind", "title", "description", "due_day", "manager_signs_off"})
MAX_DUE_DAY = 365  # a plan covers the first year at most
_EDIT = "edit onboarding templates"
# Taken by whoever makes a template the default, so two of them cannot both un-default
# the old one and each set their own (the partial unique constraint would refuse the
# second with an IntegrityError instead).
_DEFAULT_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('hiring:onboarding_default'))"


def _clean_flag(errors: Errors, field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    errors.setdefault(field, []).append("Choose yes or no.")
    return False


# --- onboarding templates ------------------------------------------------------------------


def _clean_template(data: dict[str, Any], instance: OnboardingTemplate | None) -> dict[str, Any]:
    errors: Errors = {}
    cleaned = clean_name_and_description(
        errors, data, queryset=OnboardingTemplate.objects.all(), instance=instance,
        taken="An onboarding template with this name exists.", max_description=MAX_TEXT,
    )  # fmt: skip
    if "is_default" in data:
        cleaned["is_default"] = _clean_flag(errors, "is_default", data["is_default"])
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def onboarding_template_create(
    *, actor: User, name: str, description: str = ""
) -> OnboardingTemplate:
    """A new, empty onboarding template, not the default. Refuses: not a recruiter; an
    empty or taken name."""
    refuse_unless_recruiter(actor, _EDIT)
    template = OnboardingTemplate(
        **_clean_template({"name": name, "description": description}, None)
    )
    save_unique(template, fields=None, field_for_conflict="name")
    audit_record(actor=actor, action="hiring.onboarding_template_created", target=template)
    return template


@transaction.atomic
def onboarding_template_update(
    *, actor: User, template_id: Any, **changes: Any
) -> OnboardingTemplate:
    """Rename or redescribe a template, or make it the default (`is_default=True`: the one
    that was the default stops being it, in this transaction) or stop it being the default
    (new hires then get the first template by name). Plans already started keep their
    tasks. Refuses: not a recruiter; no such template; an unknown field; an empty or taken
    name; a default flag that is not a bool."""
    refuse_unless_recruiter(actor, _EDIT)
    refuse_unknown_fields(changes, allowed=ONBOARDING_TEMPLATE_FIELDS)
    if changes.get("is_default") is True:
        with connection.cursor() as cursor:  # before any row lock: one order, no deadlock
            cursor.execute(_DEFAULT_LOCK_SQL)
    template = by_id(
        OnboardingTemplate.objects.all(), template_id, "onboarding template", lock=True
    )
    cleaned = _clean_template(changes, template)
    replaced: list[int] = []
    if cleaned.get("is_default"):
        others = OnboardingTemplate.objects.filter(is_default=True).exclude(pk=template.pk)
        replaced = list(others.values_list("pk", flat=True))
        others.update(is_default=False)
    for field, value in cleaned.items():
        setattr(template, field, value)
    save_unique(template, fields=list(cleaned) or None, field_for_conflict="name")
    audit_record(
        actor=actor,
        action="hiring.onboarding_template_changed",
        target=template,
        data={"fields": sorted(cleaned), **({"replaced_default": replaced} if replaced else {})},
    )
    return template


@transaction.atomic
def onboarding_template_delete(*, actor: User, template_id: Any) -> None:
    """Delete a template and its tasks. Plans started from it keep their copied tasks
    (they only lose the link to it). Refuses: not a recruiter; no such template; the
    default template (Conflict: make another one the default first)."""
    refuse_unless_recruiter(actor, _EDIT)
    template = by_id(
        OnboardingTemplate.objects.all(), template_id, "onboarding template", lock=True
    )
    if template.is_default:
        raise Conflict(
            "New hires get this plan: make another template the default before deleting it.",
            code="onboarding_template_default",
        )
    audit_record(
        actor=actor,
        action="hiring.onboarding_template_deleted",
        target=template,
        data={"name": template.name},
    )
    template.delete()


# --- their tasks ---------------------------------------------------------------------------


def _clean_task(data: dict[str, Any]) -> dict[str, Any]:
    errors: Errors = {}
    cleaned: dict[str, Any] = {}
    if "kind" in data:
        if data["kind"] not in OnboardingTaskKind.values:
            errors["kind"] = [f"Choose one of: {', '.join(OnboardingTaskKind.values)}."]
        else:
            cleaned["kind"] = data["kind"]
    if "title" in data:
        cleaned["title"] = clean_text(errors, "title", data["title"], required=True, max_length=200)
    if "description" in data:
        cleaned["description"] = clean_text(
            errors, "description", data["description"], required=False, max_length=MAX_TEXT
        )
    if "due_day" in data:
        cleaned["due_day"] = clean_int(
            errors, "due_day", data["due_day"], required=True, maximum=MAX_DUE_DAY
        )
    if "manager_signs_off" in data:
        cleaned["manager_signs_off"] = _clean_flag(
            errors, "manager_signs_off", data["manager_signs_off"]
        )
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def onboarding_template_task_add(
    *,
    actor: User,
    template_id: Any,
    kind: str,
    title: str,
    description: str = "",
    due_day: Any,
    manager_signs_off: bool = False,
) -> OnboardingTemplateTask:
    """Add a task due `due_day` days after a new hire's start (0–365), ticked by the new
    hire or, with `manager_signs_off`, signed off by their manager. Plans already started
    do not get it. Refuses: not a recruiter; no such template; an unknown kind; an empty
    or too long title; a due day that is not a whole number from 0 to 365."""
    refuse_unless_recruiter(actor, _EDIT)
    template = by_id(
        OnboardingTemplate.objects.all(), template_id, "onboarding template", lock=True
    )
    cleaned = _clean_task(
        {"kind": kind, "title": title, "description": description, "due_day": due_day,
         "manager_signs_off": manager_signs_off}
    )  # fmt: skip
    task = OnboardingTemplateTask.objects.create(template=template, **cleaned)
    audit_record(actor=actor, action="hiring.onboarding_template_task_added", target=task)
    return task


@transaction.atomic
def onboarding_template_task_update(
    *, actor: User, task_id: Any, **changes: Any
) -> OnboardingTemplateTask:
    """Reword, re-kind or move a task, or change who signs it off. Plans already started
    keep their copy. Refuses as onboarding_template_task_add does, and an unknown field."""
    refuse_unless_recruiter(actor, _EDIT)
    refuse_unknown_fields(changes, allowed=ONBOARDING_TASK_FIELDS)
    task = by_id(OnboardingTemplateTask.objects.all(), task_id, "task", lock=True)
    cleaned = _clean_task(changes)
    if cleaned:
        for field, value in cleaned.items():
            setattr(task, field, value)
        task.save(update_fields=list(cleaned))
    audit_record(
        actor=actor,
        action="hiring.onboarding_template_task_changed",
        target=task,
        data={"fields": sorted(cleaned)},
    )
    return task


@transaction.atomic
def onboarding_template_task_remove(*, actor: User, task_id: Any) -> None:
    """Remove a task from its template; plans already started keep their copy. Refuses:
    not a recruiter; no such task."""
    refuse_unless_recruiter(actor, _EDIT)
    task = by_id(OnboardingTemplateTask.objects.all(), task_id, "task", lock=True)
    audit_record(
        actor=actor,
        action="hiring.onboarding_template_task_removed",
        target=task,
        data={"template": task.template_id, "title": task.title},
    )
    task.delete()
