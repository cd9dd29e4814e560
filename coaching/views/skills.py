"""The skills pages: the skills framework (levels and coaching guides), the skills
matrix of a team, and the form a manager assesses a rep's skill with."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from coaching import selectors, services
from coaching.forms import (
    AssessmentForm,
)
from coaching.models import Skill
from coaching.views.common import INVALID
from salesops.cleaning import query_int
from salesops.exceptions import ApplicationError, NotFound, ValidationFailed
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest


@login_required
@require_GET
def skill_framework(request: AuthenticatedRequest) -> HttpResponse:
    """The skills framework: each active skill with its level descriptors and the coaching
    guide (questions, what good looks like, common mistakes)."""
    return render(
        request,
        "coaching/skill_framework.html",
        {
            "skills": list(selectors.skill_list(active_only=True)),
            "can_assess": services.can_assess(request.user),
        },
    )


@login_required
@require_GET
def skills_matrix(request: AuthenticatedRequest) -> HttpResponse:
    """Reps × skills of a team: the latest level of each, with the trend since the
    previous assessment. A rep sees their own row."""
    user = request.user
    matrix = selectors.skills_matrix_for(user, request.GET.get("team") or None)
    return render(
        request,
        "coaching/skills_matrix.html",
        {
            "matrix": matrix,
            "can_assess": services.can_assess(user),
            "levels": [1, 2, 3, 4, 5],
        },
    )


def _form(request: AuthenticatedRequest, data=None) -> AssessmentForm:
    people = list(selectors.assessable_people_for(request.user))
    skills = list(selectors.skill_list(active_only=True))
    initial: dict[str, dt.date | int] = {"assessed_on": timezone.localdate()}
    for name in ("rep", "skill"):
        if (value := query_int(request.GET.get(name))) is not None:
            initial[name] = value
    form = AssessmentForm(data, initial=initial, people=people, skills=skills)
    form.skills = skills
    return form


def _chosen_skill(form: AssessmentForm) -> Skill | None:
    """The skill whose levels and guide the page shows next to the form."""
    raw = form["skill"].value()
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        return None
    return next((s for s in form.skills if s.pk == pk), None)


def _render(request: AuthenticatedRequest, form: AssessmentForm, status: int = 200) -> HttpResponse:
    skill = _chosen_skill(form)
    if skill is not None:
        # Each level says what it means for this skill, right where it is chosen.
        form.fields["level"].choices = [(n, f"{n} — {text}") for n, text in skill.levels]  # type: ignore[attr-defined]  # a TypedChoiceField
    return render(
        request,
        "coaching/assessment_form.html",
        {"form": form, "skill": skill},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def assessment_create(request: AuthenticatedRequest) -> HttpResponse:
    """Assess a rep's skill. Reps assess nobody: they are sent to their matrix (GET), and
    the service refuses what they post (403)."""
    if request.method == "GET":
        if not services.can_assess(request.user):
            messages.info(request, "Skills are assessed by your manager; here are yours.")
            return redirect("coaching:matrix")
        return _render(request, _form(request))
    form = _form(request, request.POST)
    if not form.is_valid():
        return _render(request, form, status=INVALID)
    try:
        assessment = services.skill_assessment_create(actor=request.user, **form.service_fields())
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ValidationFailed as exc:
        add_service_errors(form, exc)
        return _render(request, form, status=INVALID)
    except ApplicationError as exc:
        add_service_errors(form, exc)
        return _render(request, form, status=exc.status)
    messages.success(
        request,
        f"{assessment.rep}: {assessment.skill.name} assessed at level {assessment.level}.",
    )
    url = reverse("coaching:matrix")
    # The rep's team is one the assessor may pick (they manage it, or lead everyone).
    team_id = assessment.rep.team_id
    return redirect(f"{url}?team={team_id}" if team_id else url)
