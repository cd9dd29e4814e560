"""Onboarding: a new hire's plan from the template, its tasks done by them or signed off by
their manager, and the first 1:1s' focus skills."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from hiring import onboarding_flags, rules
from hiring.models import (
    AttributeRating,
    Candidate,
    OnboardingPlan,
    OnboardingTask,
    OnboardingTemplate,
    TemplateAttribute,
)
from hiring.services.common import by_id
from salesops.exceptions import Conflict, NotFound, PermissionDenied
from salesops.models import User
from salesops.services import audit_record

# --- onboarding -------------------------------------------------------------------------

FOCUS_SKILLS = 2  # the weakest selling skills that become the first 1:1s' focus


def weakest_selling_skills(candidate: Candidate) -> list[Any]:
    """The coaching skills of the candidate's lowest-rated selling-skill attributes on
    their submitted scorecards (mean rating, lowest first; ties by the template's order)."""
    means = rules.attribute_means(
        [
            (r.attribute_id, r.attribute.order, r.rating)
            for r in AttributeRating.objects.filter(
                scorecard__interview__candidate=candidate,
                scorecard__submitted_at__isnull=False,
                attribute__skill__isnull=False,
            ).select_related("attribute")
        ]
    )
    skills = {
        a.pk: a.skill
        for a in TemplateAttribute.objects.filter(pk__in=[pk for pk, _ in means]).select_related(
            "skill"
        )
    }
    return [skills[pk] for pk, _ in means[:FOCUS_SKILLS]]


def onboarding_start(
    *, rep: User, started_on: dt.date, focus_skills: list[Any] | None = None
) -> OnboardingPlan:
    """The new hire's plan from the default onboarding template (its tasks due at their
    offsets from `started_on`). Called by candidate_hire, in its transaction."""
    template = (
        OnboardingTemplate.objects.prefetch_related("tasks").order_by("-is_default", "name").first()
    )
    plan = OnboardingPlan.objects.create(rep=rep, template=template, started_on=started_on)
    if template is not None:
        OnboardingTask.objects.bulk_create(
            OnboardingTask(
                plan=plan, kind=t.kind, title=t.title, description=t.description,
                due_on=started_on + dt.timedelta(days=t.due_day),
                manager_signs_off=t.manager_signs_off,
            )
            for t in template.tasks.all()
        )  # fmt: skip
    plan.focus_skills.set([s for s in focus_skills or [] if s is not None])
    # A start date in the past may leave tasks overdue from the first day.
    onboarding_flags.refresh_on_commit(plan.tasks.values_list("pk", flat=True))
    return plan


def can_sign_off(actor: User, rep: User) -> bool:
    return actor.is_admin_role or (rep.team is not None and rep.team.manager_id == actor.pk)


@transaction.atomic
def onboarding_task_done(*, actor: User, task_id: Any) -> OnboardingTask:
    """Mark an onboarding task done: the new hire their own tasks, their manager (or an
    administrator) those the manager signs off. Refuses: anyone else; a task done
    already (Conflict)."""
    task = by_id(OnboardingTask.objects.select_related("plan__rep"), task_id, "task", lock=True)
    rep = task.plan.rep
    allowed = can_sign_off(actor, rep) if task.manager_signs_off else actor.pk == rep.pk
    if not allowed:
        if actor.pk == rep.pk or can_sign_off(actor, rep) or actor.sees_everything:
            raise PermissionDenied(
                "Your manager signs this off." if task.manager_signs_off
                else "The new hire ticks their own tasks."
            )  # fmt: skip
        raise NotFound("No such task.")
    if task.done_at is not None:
        raise Conflict("This task is done already.", code="task_done")
    task.done_at, task.done_by = timezone.now(), actor
    task.save(update_fields=["done_at", "done_by"])
    onboarding_flags.refresh_on_commit([task.pk])  # an overdue flag clears at once
    audit_record(actor=actor, action="hiring.onboarding_task_done", target=task)
    return task
