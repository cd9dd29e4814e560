"""The pipeline setup pages (administrators and sales leaders): the pipelines and a new
one from a template, and each pipeline's editor — its own fields, its stages in order
(add, edit, delete, move up and down) and each stage's milestones (add, edit, delete).

Thin like every view: read through a selector, validate with a form, call ONE service
(pipeline.services), then redirect — or re-render with the service's refusal at the
field it names, keeping what was typed. Every form works without JavaScript; with htmx
the editor swaps only what changed: an edit form into its stage or milestone, the stage
list after a change. Everyone else gets a 403 page, as the API answers them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from pipeline import selectors, services
from pipeline.models import Milestone, Pipeline, Stage
from pipeline.setup_forms import (
    MilestoneForm,
    PipelineForm,
    PipelineTemplateForm,
    StageForm,
    add_setup_errors,
)
from salesops import access
from salesops.exceptions import ApplicationError, NotFound, ValidationFailed
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest

# Re-rendered forms with errors (and refusals shown in place) answer 422; base.html tells
# htmx to swap 422 responses.
INVALID = 422
STAGES_PARTIAL = "pipeline/setup/partials/stages.html"
# Several forms share the editor: each has ids of its own.
NEW_STAGE_ID = "new-stage-%s"


def configurers_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in (else the login page) as someone who configures the sales process — an
    administrator or a sales leader (else a 403 page saying who may)."""

    @login_required
    @functools.wraps(view)
    def wrapped(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not access.configures_sales_process(request.user):
            return render(request, "pipeline/setup/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _editor_url(pipeline_id: int, anchor: str = "") -> str:
    url = reverse("pipeline:pipeline_setup_edit", kwargs={"pk": pipeline_id})
    return f"{url}#{anchor}" if anchor else url


def _not_found(exc: NotFound) -> Http404:
    return Http404(exc.message)


# --- the list and a new pipeline from a template --------------------------------------


@configurers_only
@require_http_methods(["GET", "POST"])
def pipeline_setup_list(request: AuthenticatedRequest) -> HttpResponse:
    """The pipelines (framework, stages, milestones, open deals) and "New pipeline from
    template": POST creates one (pipeline_create_from_template) and opens its editor;
    a refusal comes back at its field (422)."""
    form = PipelineTemplateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                pipeline = services.pipeline_create_from_template(
                    actor=request.user, **form.cleaned_data
                )
            except ApplicationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"Pipeline “{pipeline.name}” created with "
                    f"{pipeline.stages.count()} stages. Adjust it below.",
                )
                return redirect(_editor_url(pipeline.pk))
        status = INVALID
    return render(
        request,
        "pipeline/setup/pipeline_list.html",
        {"pipelines": selectors.pipeline_setup_list(), "form": form},
        status=status,
    )


# --- the editor ---------------------------------------------------------------------------


def _stages_context(
    pipeline: Pipeline,
    *,
    new_stage_form: StageForm | None = None,
    notice: str = "",
    stage_errors: dict[int, str] | None = None,
) -> dict[str, Any]:
    stages = list(pipeline.stages.all())
    for stage in stages:  # a refusal is shown on the card of the stage it concerns
        stage.setup_error = (stage_errors or {}).get(stage.pk, "")  # type: ignore[attr-defined]  # for the template only
    return {
        "pipeline": pipeline,
        "stages": stages,
        "new_stage_form": new_stage_form or StageForm(auto_id=NEW_STAGE_ID),
        "new_stage_open": new_stage_form is not None and bool(new_stage_form.errors),
        "notice": notice,
    }


def _render_editor(
    request: AuthenticatedRequest,
    pipeline: Pipeline,
    *,
    pipeline_form: PipelineForm | None = None,
    status: int = 200,
    **stages: Any,
) -> HttpResponse:
    if pipeline_form is None:
        pipeline_form = PipelineForm(
            initial={
                "name": pipeline.name,
                "description": pipeline.description,
                "is_active": pipeline.is_active,
                "framework": pipeline.framework_id,
            },
            frameworks=selectors.framework_choices_for(pipeline),
        )
    context = {"pipeline_form": pipeline_form, **_stages_context(pipeline, **stages)}
    return render(request, "pipeline/setup/pipeline_editor.html", context, status=status)


def _stages_changed(
    request: AuthenticatedRequest, pipeline_id: int, text: str, *, anchor: str = ""
) -> HttpResponse:
    """After a change: the stage list again (htmx, wherever the request aimed), else a
    redirect to the editor with a message."""
    if not request.htmx:
        messages.success(request, text)
        return redirect(_editor_url(pipeline_id, anchor))
    pipeline = selectors.pipeline_setup_get(pipeline_id)
    response = render(request, STAGES_PARTIAL, _stages_context(pipeline, notice=text))
    retarget(response, "#stages")
    reswap(response, "outerHTML")
    return response


def _refused_in_place(
    request: AuthenticatedRequest, pipeline_id: int, stage_id: int, message: str
) -> HttpResponse:
    """A refusal of a change to a stage (delete, move), shown on that stage's card."""
    pipeline = selectors.pipeline_setup_get(pipeline_id)
    errors = {stage_id: message}
    if not request.htmx:
        return _render_editor(request, pipeline, stage_errors=errors, status=INVALID)
    response = render(
        request, STAGES_PARTIAL, _stages_context(pipeline, stage_errors=errors), status=INVALID
    )
    retarget(response, "#stages")
    reswap(response, "outerHTML")
    return response


@configurers_only
@require_http_methods(["GET", "POST"])
def pipeline_setup_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The editor. POST saves the pipeline's own fields (pipeline_update): back to the
    editor, or the editor again with the refusal at its field (422)."""
    pipeline = selectors.pipeline_setup_get(pk)
    if request.method == "GET":
        return _render_editor(request, pipeline)
    form = PipelineForm(request.POST, frameworks=selectors.framework_choices_for(pipeline))
    if form.is_valid():
        try:
            services.pipeline_update(
                pipeline_id=pipeline.pk, actor=request.user, **form.service_fields()
            )
        except NotFound as exc:
            raise _not_found(exc) from exc
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Pipeline saved.")
            return redirect(_editor_url(pipeline.pk))
    return _render_editor(request, pipeline, pipeline_form=form, status=INVALID)


# --- stages -------------------------------------------------------------------------------


@configurers_only
@require_http_methods(["GET", "POST"])
def stage_setup_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Add a stage (stage_create: an open stage goes before the closed ones). GET: the
    form on a page of its own (the editor shows it too). A refusal comes back at its
    field with what was typed: in the stage list (htmx), else on the editor (422)."""
    pipeline = selectors.pipeline_setup_get(pk)
    form = StageForm(request.POST or None, auto_id=NEW_STAGE_ID)
    if request.method == "GET":
        return render(
            request, "pipeline/setup/stage_form.html", {"pipeline": pipeline, "form": form}
        )
    if form.is_valid():
        try:
            stage = services.stage_create(
                actor=request.user, pipeline=pipeline, **form.service_fields()
            )
        except ApplicationError as exc:
            add_setup_errors(form, exc, StageForm.ALIASES)
        else:
            return _stages_changed(
                request,
                pipeline.pk,
                f"Stage “{stage.name}” added at position {stage.order}.",
                anchor=f"stage-{stage.pk}",
            )
    if request.htmx:
        context = _stages_context(pipeline, new_stage_form=form)
        return render(request, STAGES_PARTIAL, context, status=INVALID)
    return _render_editor(request, pipeline, new_stage_form=form, status=INVALID)


def _render_stage_form(
    request: AuthenticatedRequest, stage: Stage, form: StageForm, status: int = 200
) -> HttpResponse:
    context = {"pipeline": stage.pipeline, "stage": stage, "form": form}
    if request.htmx:
        return render(
            request, "pipeline/setup/partials/stage_form_card.html", context, status=status
        )
    return render(request, "pipeline/setup/stage_form.html", context, status=status)


@configurers_only
@require_http_methods(["GET", "POST"])
def stage_setup_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Edit a stage (stage_update). GET: its form — in place of its card (htmx), else on a
    page of its own. A refusal comes back in the form with what was typed (422)."""
    stage = selectors.stage_setup_get(pk)
    if request.method == "GET":
        form = StageForm(initial=StageForm.initial_for(stage), auto_id=f"stage-{stage.pk}-%s")
        return _render_stage_form(request, stage, form)
    form = StageForm(request.POST, auto_id=f"stage-{stage.pk}-%s")
    if form.is_valid():
        try:
            services.stage_update(stage_id=stage.pk, actor=request.user, **form.service_fields())
        except NotFound as exc:
            raise _not_found(exc) from exc
        except ApplicationError as exc:
            add_setup_errors(form, exc, StageForm.ALIASES)
        else:
            return _stages_changed(
                request,
                stage.pipeline_id,
                f"Stage “{form.cleaned_data['name']}” saved.",
                anchor=f"stage-{stage.pk}",
            )
    return _render_stage_form(request, stage, form, status=INVALID)


@configurers_only
@require_POST
def stage_setup_move(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Move a stage one place `direction=up|down` (stage_move; the stages are numbered
    1…n). A move past either end is refused on the stage's card (422)."""
    stage = selectors.stage_setup_get(pk)
    direction = request.POST.get("direction")
    ids = list(
        selectors.stage_list(stage.pipeline_id).order_by("order", "id").values_list("pk", flat=True)
    )
    step = {"up": -1, "down": 1}.get(direction or "")
    if step is None:
        return _refused_in_place(
            request, stage.pipeline_id, stage.pk, "Choose to move the stage up or down."
        )
    try:
        moved = services.stage_move(
            stage_id=stage.pk, actor=request.user, position=ids.index(stage.pk) + 1 + step
        )
    except NotFound as exc:
        raise _not_found(exc) from exc
    except ValidationFailed:
        edge = "first" if step < 0 else "last"
        return _refused_in_place(
            request, stage.pipeline_id, stage.pk, f"“{stage.name}” is the {edge} stage already."
        )
    return _stages_changed(
        request,
        stage.pipeline_id,
        f"“{moved.name}” is now stage {moved.order}.",
        anchor=f"stage-{stage.pk}",
    )


@configurers_only
@require_http_methods(["GET", "POST"])
def stage_setup_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """GET: the confirmation page (without JavaScript; htmx asks in a dialog). POST:
    delete the stage with its milestones (stage_delete); refused on the stage's card while
    deals are in it (422)."""
    stage = selectors.stage_setup_get(pk)
    if request.method == "GET":
        return render(
            request,
            "pipeline/setup/confirm_delete.html",
            {
                "pipeline": stage.pipeline,
                "what": f"the stage “{stage.name}”",
                "consequence": "Its milestones and the ticks on them go with it.",
                "action": reverse("pipeline:stage_setup_delete", kwargs={"pk": stage.pk}),
            },
        )
    try:
        services.stage_delete(stage_id=stage.pk, actor=request.user)
    except NotFound as exc:
        raise _not_found(exc) from exc
    except ApplicationError as exc:
        return _refused_in_place(request, stage.pipeline_id, stage.pk, exc.message)
    return _stages_changed(request, stage.pipeline_id, f"Stage “{stage.name}” deleted.")


# --- milestones ---------------------------------------------------------------------------


def _milestone_form(
    stage: Stage,
    data: Any = None,
    *,
    milestone: Milestone | None = None,
) -> MilestoneForm:
    elements = selectors.framework_elements(stage.pipeline.framework_id)
    if milestone is None:
        return MilestoneForm(data, elements=elements, auto_id=f"new-milestone-{stage.pk}-%s")
    return MilestoneForm(
        data,
        initial=MilestoneForm.initial_for(milestone),
        elements=elements,
        auto_id=f"milestone-{milestone.pk}-%s",
    )


def _render_milestone_form(
    request: AuthenticatedRequest,
    stage: Stage,
    form: MilestoneForm,
    *,
    milestone: Milestone | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {"pipeline": stage.pipeline, "stage": stage, "milestone": milestone, "form": form}
    template = (
        "pipeline/setup/partials/milestone_form.html"
        if request.htmx
        else "pipeline/setup/milestone_form.html"
    )
    return render(request, template, context, status=status)


@configurers_only
@require_http_methods(["GET", "POST"])
def milestone_setup_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Add a milestone to a stage (milestone_create; it goes last). GET: the form — under
    the stage's milestones (htmx), else on a page of its own. A refusal comes back in the
    form with what was typed (422)."""
    stage = selectors.stage_setup_get(pk)
    if request.method == "GET":
        return _render_milestone_form(request, stage, _milestone_form(stage))
    form = _milestone_form(stage, request.POST)
    if form.is_valid():
        try:
            milestone = services.milestone_create(
                actor=request.user, stage=stage, **form.service_fields()
            )
        except ApplicationError as exc:
            form.add_errors(exc)
        else:
            return _stages_changed(
                request,
                stage.pipeline_id,
                f"Milestone “{milestone.title}” added to “{stage.name}”.",
                anchor=f"milestone-{milestone.pk}",
            )
    return _render_milestone_form(request, stage, form, status=INVALID)


@configurers_only
@require_http_methods(["GET", "POST"])
def milestone_setup_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Edit a milestone (milestone_update). GET: its form — in its place (htmx), else on a
    page of its own. A refusal comes back in the form with what was typed (422)."""
    milestone = selectors.milestone_setup_get(pk)
    stage = milestone.stage
    if request.method == "GET":
        form = _milestone_form(stage, milestone=milestone)
        return _render_milestone_form(request, stage, form, milestone=milestone)
    form = _milestone_form(stage, request.POST, milestone=milestone)
    if form.is_valid():
        try:
            services.milestone_update(
                milestone_id=milestone.pk, actor=request.user, **form.service_fields()
            )
        except NotFound as exc:
            raise _not_found(exc) from exc
        except ApplicationError as exc:
            form.add_errors(exc)
        else:
            return _stages_changed(
                request,
                stage.pipeline_id,
                f"Milestone “{form.cleaned_data['title']}” saved.",
                anchor=f"milestone-{milestone.pk}",
            )
    return _render_milestone_form(request, stage, form, milestone=milestone, status=INVALID)


@configurers_only
@require_http_methods(["GET", "POST"])
def milestone_setup_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """GET: the confirmation page (without JavaScript). POST: delete the milestone with
    the ticks deals have on it (milestone_delete)."""
    milestone = selectors.milestone_setup_get(pk)
    stage = milestone.stage
    if request.method == "GET":
        return render(
            request,
            "pipeline/setup/confirm_delete.html",
            {
                "pipeline": stage.pipeline,
                "what": f"the milestone “{milestone.title}” of “{stage.name}”",
                "consequence": "Deals that ticked it lose the tick.",
                "action": reverse("pipeline:milestone_setup_delete", kwargs={"pk": milestone.pk}),
            },
        )
    try:
        services.milestone_delete(milestone_id=milestone.pk, actor=request.user)
    except NotFound as exc:
        raise _not_found(exc) from exc
    return _stages_changed(
        request,
        stage.pipeline_id,
        f"Milestone “{milestone.title}” deleted.",
        anchor=f"stage-{stage.pk}",
    )
