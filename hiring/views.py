"""The hiring pages: /hiring/ (positions and candidates one runs, interviews one gives),
a candidate, the scorecard of an interview (filled by its interviewer, read by others
once independence allows) and the decision page (who said what). Thin: reads through
hiring.selectors (404 for what one may not see), writes through hiring.services."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from coaching import selectors as coaching_selectors
from hiring import rules, selectors, services
from hiring.models import (
    AttributeCategory,
    CandidateStage,
    InterviewKind,
    OnboardingTask,
    OnboardingTaskKind,
    OnboardingTemplate,
    OnboardingTemplateTask,
    Rating,
    Recommendation,
)
from hiring.rules import OPEN_STAGES, RAMP_LABELS, RAMP_MILESTONES, runs_hiring
from salesops import organisation
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.http import AuthenticatedRequest
from salesops.models import Role


def _not_found(exc: NotFound) -> HttpResponse:
    raise Http404(exc.message)


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    positions = list(selectors.position_list_for(user))
    candidates = list(selectors.candidate_list_for(user).filter(position__in=positions))
    by_position: dict[int, Counter] = {p.pk: Counter() for p in positions}
    for c in candidates:
        by_position[c.position_id][c.stage] += 1
    interviews = list(selectors.interviews_given(user))
    own_plan = selectors.own_onboarding_plan(user)
    return render(
        request,
        "hiring/home.html",
        {
            "positions": [
                (p, [by_position[p.pk][value] for value, _ in CandidateStage.choices])
                for p in positions
            ],
            "candidates": candidates,
            "interviews": interviews,
            "stages": CandidateStage.choices,
            "runs_hiring": runs_hiring(user),
            "own_plan": own_plan,
        },
    )


@login_required
def candidate_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        candidate = selectors.candidate_for(request.user, pk)
    except NotFound as exc:
        return _not_found(exc)
    manages = services.can_manage_candidate(request.user, candidate.position)
    return render(
        request,
        "hiring/candidate.html",
        {
            "candidate": candidate,
            "interviews": candidate.interviews.select_related("interviewer", "scorecard"),
            "scorecards": selectors.scorecards_for(request.user, candidate),
            "manages": manages,
            "runs_hiring": runs_hiring(request.user),
            "moves": [(v, label) for v, label in CandidateStage.choices if v != "hired"],
            "open_stages": OPEN_STAGES,
            "kinds": InterviewKind.choices,
            "attributes": candidate.position.template.attributes.all() if manages else [],
            "colleagues": selectors.interviewer_choices() if manages else [],
        },
    )


@login_required
@require_POST
def candidate_move(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        services.candidate_move(
            actor=request.user,
            candidate_id=pk,
            stage=request.POST.get("stage", ""),
            reason=request.POST.get("reason", ""),
        )
    except NotFound as exc:
        return _not_found(exc)
    except PermissionDenied as exc:
        return HttpResponse(exc.message, status=403)
    except ValidationFailed as exc:
        problems = "; ".join(m for ms in exc.details.values() for m in ms) or exc.message
        messages.error(request, problems)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Stage updated.")
    return redirect("hiring:candidate", pk=pk)


def _ratings_from(post: Any, focus: list[Any]) -> dict[int, dict[str, str]]:
    return {
        a.pk: {
            "rating": post.get(f"rating_{a.pk}", ""),
            "evidence": post.get(f"evidence_{a.pk}", ""),
        }
        for a in focus
    }


@login_required
@require_http_methods(["GET", "POST"])
def scorecard(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        card = selectors.scorecard_for(request.user, pk)
    except NotFound as exc:
        return _not_found(exc)
    interview = card.interview
    focus = list(interview.focus.all())
    mine = interview.interviewer_id == request.user.pk and not card.is_submitted
    entered = {
        r.attribute_id: {"rating": str(r.rating), "evidence": r.evidence}
        for r in card.ratings.all()
    }
    values = {"recommendation": str(card.recommendation or ""), "summary": card.summary}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        if not mine:
            return HttpResponse("This scorecard cannot change.", status=409)
        entered = _ratings_from(request.POST, focus)
        values = {
            "recommendation": request.POST.get("recommendation", ""),
            "summary": request.POST.get("summary", ""),
        }
        try:
            services.scorecard_save(actor=request.user, interview_id=pk, ratings=entered, **values)
            if "submit" in request.POST:
                services.scorecard_submit(actor=request.user, interview_id=pk)
                messages.success(request, "Scorecard submitted. You can now see the others'.")
                return redirect("hiring:candidate", pk=interview.candidate_id)
            messages.success(request, "Draft saved.")
            return redirect("hiring:scorecard", pk=pk)
        except ValidationFailed as exc:
            errors, status = exc.details, 400
            if "submit" in request.POST:
                messages.error(request, "Draft saved, but not submitted: " + exc.message)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("hiring:candidate", pk=interview.candidate_id)
    rows = [
        {
            "attribute": a,
            "rating": entered.get(a.pk, {}).get("rating", ""),
            "evidence": entered.get(a.pk, {}).get("evidence", ""),
            "errors": errors.get(f"ratings.{a.pk}", []),
        }
        for a in focus
    ]
    return render(
        request,
        "hiring/scorecard.html",
        {
            "card": card,
            "interview": interview,
            "rows": rows,
            "values": values,
            "errors": errors,
            "editable": mine,
            "scale": Rating.choices,
            "recommendations": Recommendation.choices,
        },
        status=status,
    )


HIRE_INPUTS = ("started_on", "role", "team", "full_quota", "reason")


@login_required
def decision(
    request: AuthenticatedRequest,
    pk: int,
    *,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
) -> HttpResponse:
    try:
        grid = selectors.decision_grid_for(request.user, pk)
    except NotFound as exc:
        return _not_found(exc)
    candidate = grid.candidate
    return render(
        request,
        "hiring/decision.html",
        {
            "grid": grid,
            "rows": [
                (line, AttributeCategory(line.category).label, list(line.ratings))
                for line in grid.lines
            ],
            "can_hire": candidate.stage == CandidateStage.OFFER
            and services.can_decide(request.user, candidate),
            "roles": Role.choices,
            "teams": selectors.team_choices(),
            "errors": errors or {},
            "values": values
            or {
                "role": Role.REP,
                "team": str(candidate.position.team_id),
                "started_on": "",
                "full_quota": selectors.suggested_full_quota(candidate.position.team_id) or "",
            },
            "ramp_percents": settings.NEW_HIRE_RAMP_PERCENTS,
            "currency": organisation.current().default_currency,
        },
        status=400 if errors else 200,
    )


@login_required
@require_POST
def hire(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    values = {k: request.POST.get(k, "") for k in HIRE_INPUTS}
    try:
        candidate = services.candidate_hire(actor=request.user, candidate_id=pk, **values)
    except NotFound as exc:
        return _not_found(exc)
    except PermissionDenied as exc:
        return HttpResponse(exc.message, status=403)
    except ValidationFailed as exc:
        return decision(request, pk, errors=exc.details, values=values)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("hiring:candidate", pk=pk)
    person = candidate.hired_user
    assert person is not None  # candidate_hire returns the candidate with their account
    messages.success(
        request,
        f"{candidate.name} is hired: their account ({person.username}) starts on "
        f"{person.started_on:%d %b %Y}, and an invitation to set a password is on its way "
        f"to {person.email}.",
    )
    return redirect("hiring:candidate", pk=pk)


# --- what recruiters (and hiring managers) set up ----------------------------------------


def _refuse_unless_recruiter(request: AuthenticatedRequest) -> None:
    if not runs_hiring(request.user):
        raise DjangoPermissionDenied("Only recruiters and administrators manage this.")


@dataclass
class _Form:
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    saved: Any = None


def _post(request: HttpRequest, inputs: tuple[str, ...], save: Callable[..., Any]) -> _Form:
    """The form's values — blank on GET; on POST what was typed, handed to `save` (one
    service call): its result, or the field errors it raised with the typed values kept."""
    if request.method != "POST":
        return _Form(values=dict.fromkeys(inputs, ""))
    values = {k: request.POST.get(k, "") for k in inputs}
    try:
        return _Form(values=values, saved=save(**values))
    except ValidationFailed as exc:
        return _Form(values=values, errors=exc.details)


def _form_page(
    request: HttpRequest, template: str, form: _Form, context: dict[str, Any]
) -> HttpResponse:
    return render(
        request,
        template,
        {**context, "errors": form.errors, "values": form.values},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_list(request: AuthenticatedRequest) -> HttpResponse:
    _refuse_unless_recruiter(request)
    form = _post(
        request,
        ("name", "description"),
        lambda **values: services.template_create(actor=request.user, **values),
    )
    if form.saved:
        messages.success(request, f"Template “{form.saved.name}” created: add its attributes.")
        return redirect("hiring:template", pk=form.saved.pk)
    return _form_page(
        request, "hiring/templates.html", form, {"templates": selectors.template_list()}
    )


ATTRIBUTE_INPUTS = ("category", "name", "guidance", "questions", "skill")


@login_required
@require_http_methods(["GET", "POST"])
def template_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _refuse_unless_recruiter(request)
    template = selectors.template_list().filter(pk=pk).first()
    if template is None:
        raise Http404("No such template.")
    form = _post(
        request,
        ATTRIBUTE_INPUTS,
        lambda **values: services.template_attribute_add(
            actor=request.user, template_id=pk, **values
        ),
    )
    if form.saved:
        messages.success(request, f"“{form.saved.name}” added.")
        return redirect("hiring:template", pk=pk)
    return _form_page(
        request,
        "hiring/template.html",
        form,
        {
            "template": template,
            "categories": AttributeCategory.choices,
            "skills": coaching_selectors.skill_list(active_only=True),
        },
    )


@login_required
@require_POST
def attribute_remove(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _refuse_unless_recruiter(request)
    template_id = selectors.attribute_template_id(pk)
    try:
        services.template_attribute_remove(actor=request.user, attribute_id=pk)
    except NotFound as exc:
        return _not_found(exc)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Attribute removed.")
    if template_id is None:
        return redirect("hiring:templates")
    return redirect("hiring:template", pk=template_id)


@login_required
@require_http_methods(["GET", "POST"])
def position_new(request: AuthenticatedRequest) -> HttpResponse:
    _refuse_unless_recruiter(request)
    form = _post(
        request,
        ("title", "team", "hiring_manager", "template"),
        lambda **values: services.position_create(actor=request.user, **values),
    )
    if form.saved:
        messages.success(request, f"Position “{form.saved.title}” opened.")
        return redirect("hiring:position", pk=form.saved.pk)
    return _form_page(
        request,
        "hiring/position_new.html",
        form,
        {
            "teams": selectors.team_choices(),
            "managers": selectors.hiring_manager_choices(),
            "templates": selectors.template_list(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def position_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    position = selectors.position_list_for(request.user).filter(pk=pk).first()
    if position is None:
        raise Http404("No such position.")
    try:
        form = _post(
            request,
            ("name", "email", "phone", "source", "cv_url", "notes"),
            lambda **values: services.candidate_create(
                actor=request.user, position_id=pk, **values
            ),
        )
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("hiring:position", pk=pk)
    if form.saved:
        messages.success(request, f"{form.saved.name} added.")
        return redirect("hiring:candidate", pk=form.saved.pk)
    return _form_page(
        request,
        "hiring/position.html",
        form,
        {
            "position": position,
            "candidates": selectors.candidate_list_for(request.user).filter(position=position),
        },
    )


@login_required
@require_POST
def interview_new(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        services.interview_schedule(
            actor=request.user,
            candidate_id=pk,
            interviewer=request.POST.get("interviewer"),
            kind=request.POST.get("kind", ""),
            scheduled_at=parse_datetime_local(request.POST.get("scheduled_at", "")),
            focus=request.POST.getlist("focus"),
        )
    except NotFound as exc:
        return _not_found(exc)
    except PermissionDenied as exc:
        return HttpResponse(exc.message, status=403)
    except ValidationFailed as exc:
        messages.error(
            request,
            "The interview was not scheduled: "
            + "; ".join(m for ms in exc.details.values() for m in ms),
        )
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Interview scheduled; the interviewer finds it under Hiring.")
    return redirect("hiring:candidate", pk=pk)


def parse_datetime_local(text: str) -> dt.datetime | None:
    """A browser's datetime-local value (YYYY-MM-DDTHH:MM), in the current time zone."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


# --- personal data ------------------------------------------------------------------------


@login_required
def candidate_export(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Everything stored about the candidate, as a JSON download (recruiters)."""
    try:
        data = selectors.candidate_export(request.user, pk)
    except NotFound as exc:
        return _not_found(exc)
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="candidate-{pk}.json"'
    return response


@login_required
@require_POST
def candidate_erase(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        selectors.candidate_for(request.user, pk, audit=False)
        services.candidate_erase(actor=request.user, candidate_id=pk)
    except NotFound as exc:
        return _not_found(exc)
    except PermissionDenied as exc:
        return HttpResponse(exc.message, status=403)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Their personal data is erased; the ratings stay, anonymous.")
    return redirect("hiring:candidate", pk=pk)


# --- onboarding ---------------------------------------------------------------------------


@login_required
def onboarding(request: AuthenticatedRequest, rep_id: int) -> HttpResponse:
    try:
        found = selectors.onboarding_for(request.user, rep_id)
    except NotFound as exc:
        return _not_found(exc)
    rep = found.plan.rep
    return render(
        request,
        "hiring/onboarding.html",
        {
            "onboarding": found,
            "rep": rep,
            "is_rep": request.user.pk == rep.pk,
            "signs_off": services.can_sign_off(request.user, rep),
        },
    )


@login_required
@require_POST
def onboarding_task_done(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        task = services.onboarding_task_done(actor=request.user, task_id=pk)
    except NotFound as exc:
        return _not_found(exc)
    except PermissionDenied as exc:
        return HttpResponse(exc.message, status=403)
    except Conflict as exc:
        messages.info(request, exc.message)
        rep_id = OnboardingTask.objects.filter(pk=pk).values_list("plan__rep_id", flat=True)[0]
        return redirect("hiring:onboarding", rep_id=rep_id)
    messages.success(request, f"“{task.title}” done.")
    return redirect("hiring:onboarding", rep_id=task.plan.rep_id)


@login_required
def ramp(request: AuthenticatedRequest) -> HttpResponse:
    """New hires' ramp from their real activity, and cohorts by start quarter (managers:
    their teams; leaders and admins: everyone)."""
    if request.user.is_rep:
        raise DjangoPermissionDenied("Ramp is for managers, leaders and administrators.")
    rows, cohorts = selectors.ramp_for(request.user)
    milestones = [(key, RAMP_LABELS[key]) for key in RAMP_MILESTONES]
    return render(
        request,
        "hiring/ramp.html",
        {
            "rows": [(r, [r.days[k] for k, _ in milestones]) for r in rows],
            "cohorts": [
                (c, [(c.median_days[k], c.reached[k]) for k, _ in milestones]) for c in cohorts
            ],
            "milestones": milestones,
            "quality": selectors.quality_of_hire(request.user),
            "quality_min": selectors.QUALITY_MIN_HIRES,
        },
    )


# --- onboarding templates -----------------------------------------------------------------

# The stretches of a plan its tasks are grouped in: (label, first day, last day or None).
ONBOARDING_TEMPLATE_INPUTS = ("name", "description", "is_default")
ONBOARDING_TASK_INPUTS = ("kind", "title", "description", "due_day", "manager_signs_off")


def _in_period(first: int, last: int | None, day: int) -> bool:
    return first <= day and (last is None or day <= last)


def _ticked(values: dict[str, str], *boxes: str) -> dict[str, Any]:
    """The form's values for a service, its checkboxes as booleans (a ticked one posts
    "on", an unticked one nothing)."""
    return {**values, **{box: values.get(box) == "on" for box in boxes}}


def _template_or_404(pk: int) -> OnboardingTemplate:
    template = selectors.onboarding_template(pk)
    if template is None:
        raise Http404("No such onboarding template.")
    return template


def _task_values(task: OnboardingTemplateTask) -> dict[str, str]:
    return {
        "kind": task.kind,
        "title": task.title,
        "description": task.description,
        "due_day": str(task.due_day),
        "manager_signs_off": "on" if task.manager_signs_off else "",
    }


def _onboarding_template_page(
    request: HttpRequest,
    template: OnboardingTemplate,
    *,
    edit: _Form | None = None,
    add: _Form | None = None,
    task_id: int | None = None,
    task_form: _Form | None = None,
) -> HttpResponse:
    """The template's page; a form that was refused shows what was typed, with its errors
    (400)."""
    tasks = list(template.tasks.all())
    refused = task_form if task_form is not None and task_form.errors else None
    groups = [
        (
            label,
            [
                {
                    "task": t,
                    "values": refused.values if refused and t.pk == task_id else _task_values(t),
                    "errors": refused.errors if refused and t.pk == task_id else {},
                }
                for t in tasks
                if _in_period(first, last, t.due_day)
            ],
        )
        for label, first, last in rules.ONBOARDING_PERIODS
    ]
    edit = edit or _Form(
        values={
            "name": template.name,
            "description": template.description,
            "is_default": "on" if template.is_default else "",
        }
    )
    add = add or _Form(values=dict.fromkeys(ONBOARDING_TASK_INPUTS, ""))
    return render(
        request,
        "hiring/onboarding_template.html",
        {
            "template": template,
            "groups": groups,
            "task_count": len(tasks),
            "edit": edit,
            "add": add,
            "kinds": OnboardingTaskKind.choices,
        },
        status=400 if edit.errors or add.errors or refused else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def onboarding_template_list(request: AuthenticatedRequest) -> HttpResponse:
    _refuse_unless_recruiter(request)
    form = _post(
        request,
        ("name", "description"),
        lambda **values: services.onboarding_template_create(actor=request.user, **values),
    )
    if form.saved:
        messages.success(
            request, f"Onboarding template “{form.saved.name}” created: add its tasks."
        )
        return redirect("hiring:onboarding_template", pk=form.saved.pk)
    return _form_page(
        request,
        "hiring/onboarding_templates.html",
        form,
        {"rows": selectors.onboarding_template_rows()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def onboarding_template_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _refuse_unless_recruiter(request)
    template = _template_or_404(pk)
    if request.method != "POST":
        return _onboarding_template_page(request, template)
    try:
        form = _post(
            request,
            ONBOARDING_TEMPLATE_INPUTS,
            lambda **values: services.onboarding_template_update(
                actor=request.user, template_id=pk, **_ticked(values, "is_default")
            ),
        )
    except NotFound as exc:
        return _not_found(exc)
    if form.saved:
        messages.success(request, f"“{form.saved.name}” saved.")
        return redirect("hiring:onboarding_template", pk=pk)
    return _onboarding_template_page(request, template, edit=form)


@login_required
@require_POST
def onboarding_template_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _refuse_unless_recruiter(request)
    try:
        services.onboarding_template_delete(actor=request.user, template_id=pk)
    except NotFound as exc:
        return _not_found(exc)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("hiring:onboarding_template", pk=pk)
    messages.success(request, "Onboarding template deleted; plans already started keep theirs.")
    return redirect("hiring:onboarding_templates")


@login_required
@require_POST
def onboarding_template_task_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _refuse_unless_recruiter(request)
    template = _template_or_404(pk)
    try:
        form = _post(
            request,
            ONBOARDING_TASK_INPUTS,
            lambda **values: services.onboarding_template_task_add(
                actor=request.user, template_id=pk, **_ticked(values, "manager_signs_off")
            ),
        )
    except NotFound as exc:
        return _not_found(exc)
    if form.saved:
        messages.success(request, f"“{form.saved.title}” added.")
        return redirect(_task_anchor(pk, form.saved.pk))
    return _onboarding_template_page(request, template, add=form)


def _task_anchor(template_id: int, task_id: int) -> str:
    return reverse("hiring:onboarding_template", args=[template_id]) + f"#task-{task_id}"


@login_required
@require_POST
def onboarding_template_task_update(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _refuse_unless_recruiter(request)
    task = selectors.onboarding_template_task(pk)
    if task is None:
        raise Http404("No such task.")
    try:
        form = _post(
            request,
            ONBOARDING_TASK_INPUTS,
            lambda **values: services.onboarding_template_task_update(
                actor=request.user, task_id=pk, **_ticked(values, "manager_signs_off")
            ),
        )
    except NotFound as exc:
        return _not_found(exc)
    if form.saved:
        messages.success(request, f"“{form.saved.title}” saved.")
        return redirect(_task_anchor(task.template_id, pk))
    return _onboarding_template_page(request, task.template, task_id=pk, task_form=form)


@login_required
@require_POST
def onboarding_template_task_remove(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _refuse_unless_recruiter(request)
    task = selectors.onboarding_template_task(pk)
    if task is None:
        raise Http404("No such task.")
    try:
        services.onboarding_template_task_remove(actor=request.user, task_id=pk)
    except NotFound as exc:
        return _not_found(exc)
    messages.success(request, "Task removed; plans already started keep it.")
    return redirect("hiring:onboarding_template", pk=task.template_id)
