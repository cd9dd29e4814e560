"""/api/v1/hiring/: positions, candidates (with their stage moves and the decision grid),
interviews and scorecards (read, and submitted in one call), onboarding plans and their
tasks, and the new hires' ramp. Thin: reads through hiring.selectors (404 for what one
may not see — independence included), writes through hiring.services."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from hiring import selectors, services
from hiring.models import (
    AttributeCategory,
    CandidateStage,
    Interview,
    InterviewKind,
    OnboardingTaskKind,
    Position,
    Rating,
    Recommendation,
)
from hiring.rules import RAMP_LABELS, RAMP_MILESTONES
from salesops.api.schema import IDEMPOTENCY_KEY, errors, one_object
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import MAX_ID, ApiViewSet, int_or_404, valid
from salesops.exceptions import PermissionDenied
from salesops.services import audit_records

# --- output -------------------------------------------------------------------------------


class AttributeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    category = serializers.ChoiceField(choices=AttributeCategory.choices)
    name = serializers.CharField()
    guidance = serializers.CharField()
    questions = serializers.ListField(child=serializers.CharField(), source="question_list")
    skill = serializers.IntegerField(source="skill_id", allow_null=True)


class PositionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    team = serializers.IntegerField(source="team_id")
    hiring_manager = serializers.IntegerField(source="hiring_manager_id")
    template = serializers.IntegerField(source="template_id")
    status = serializers.CharField()
    attributes = AttributeOutput(many=True, source="template.attributes.all")


class CandidateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField(source="position_id")
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    source = serializers.CharField()
    notes = serializers.CharField()
    cv_url = serializers.CharField()
    stage = serializers.ChoiceField(choices=CandidateStage.choices)
    stage_reason = serializers.CharField()
    stage_changed_at = serializers.DateTimeField()
    hired_user = serializers.IntegerField(source="hired_user_id", allow_null=True)


class RatingOutput(serializers.Serializer):
    attribute = serializers.IntegerField(source="attribute_id")
    rating = serializers.ChoiceField(choices=Rating.choices)
    evidence = serializers.CharField()


class ScorecardOutput(serializers.Serializer):
    interview = serializers.IntegerField(source="interview_id")
    candidate = serializers.IntegerField(source="interview.candidate_id")
    interviewer = serializers.IntegerField(source="interview.interviewer_id")
    kind = serializers.CharField(source="interview.kind")
    focus = serializers.SerializerMethodField()
    ratings = RatingOutput(many=True, source="ratings.all")
    recommendation = serializers.ChoiceField(choices=Recommendation.choices, allow_null=True)
    summary = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)

    def get_focus(self, card: Any) -> list[int]:
        return sorted(a.pk for a in card.interview.focus.all())


class InterviewOutput(serializers.Serializer):
    id = serializers.IntegerField()
    candidate = serializers.IntegerField(source="candidate_id")
    interviewer = serializers.IntegerField(source="interviewer_id")
    kind = serializers.ChoiceField(choices=InterviewKind.choices)
    scheduled_at = serializers.DateTimeField()
    focus = serializers.SerializerMethodField()

    def get_focus(self, interview: Interview) -> list[int]:
        return sorted(a.pk for a in interview.focus.all())


class GridLineOutput(serializers.Serializer):
    attribute = serializers.IntegerField(source="attribute_id")
    name = serializers.CharField()
    category = serializers.CharField()
    ratings = serializers.ListField(child=serializers.IntegerField(allow_null=True))
    mean = serializers.FloatField(allow_null=True)
    assessed = serializers.BooleanField()
    disagreement = serializers.BooleanField()


class GridColumnOutput(serializers.Serializer):
    interview = serializers.IntegerField(source="interview_id")
    interviewer = serializers.CharField()
    kind = serializers.CharField()
    recommendation = serializers.CharField()


class DecisionOutput(serializers.Serializer):
    candidate = serializers.IntegerField(source="candidate.pk")
    columns = GridColumnOutput(many=True)
    lines = GridLineOutput(many=True)
    weighted = serializers.FloatField(allow_null=True)
    pending = serializers.IntegerField()


# --- input --------------------------------------------------------------------------------


class PositionInput(StrictInputSerializer):
    title = serializers.CharField(allow_blank=True, max_length=500)
    team = serializers.IntegerField(min_value=1)
    hiring_manager = serializers.IntegerField(min_value=1)
    template = serializers.IntegerField(min_value=1)


class CandidateInput(StrictInputSerializer):
    position = serializers.IntegerField(min_value=1)
    name = serializers.CharField(allow_blank=True, max_length=500)
    email = serializers.CharField(allow_blank=True, required=False, max_length=500)
    phone = serializers.CharField(allow_blank=True, required=False, max_length=500)
    source = serializers.CharField(allow_blank=True, required=False, max_length=500)
    notes = serializers.CharField(allow_blank=True, required=False, max_length=20000)
    cv_url = serializers.CharField(allow_blank=True, required=False, max_length=1000)


class MoveInput(StrictInputSerializer):
    stage = serializers.CharField(max_length=20)
    reason = serializers.CharField(allow_blank=True, required=False, max_length=10000)


class HireInput(StrictInputSerializer):
    started_on = serializers.DateField()
    reason = serializers.CharField(allow_blank=True, max_length=10000)
    role = serializers.CharField(required=False, max_length=20)
    team = serializers.IntegerField(required=False, min_value=1)
    full_quota = serializers.DecimalField(
        required=False,
        allow_null=True,
        max_digits=14,
        decimal_places=2,
        min_value=0,
        help_text="A fully ramped rep's monthly quota: their first months' quotas are "
        "NEW_HIRE_RAMP_PERCENTS of it.",
    )


class InterviewInput(StrictInputSerializer):
    candidate = serializers.IntegerField(min_value=1)
    interviewer = serializers.IntegerField(min_value=1)
    kind = serializers.CharField(max_length=40)
    scheduled_at = serializers.DateTimeField()
    focus = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=100)


class RatingInput(StrictInputSerializer):
    attribute = serializers.IntegerField(min_value=1)
    rating = serializers.IntegerField(help_text="1 Definitely not … 5 Strong yes")
    evidence = serializers.CharField(allow_blank=True, max_length=10000)


class SubmitInput(StrictInputSerializer):
    ratings = RatingInput(many=True)
    recommendation = serializers.IntegerField(help_text="1, 2, 4 or 5")
    summary = serializers.CharField(allow_blank=True, required=False, max_length=10000)


# --- views --------------------------------------------------------------------------------


class _HiringViewSet(ApiViewSet):
    queryset = Position.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []


@extend_schema(tags=["hiring"])
class PositionViewSet(_HiringViewSet):
    @extend_schema(responses={200: PositionOutput(many=True), **errors(401, 404)})
    def list(self, request: Request) -> Response:
        rows = selectors.position_list_for(request.user).prefetch_related("template__attributes")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(PositionOutput(page, many=True).data)

    @extend_schema(
        request=PositionInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: PositionOutput, **errors(400, 403)},
        description="Open a position (recruiters and administrators).",
    )
    def create(self, request: Request) -> Response:
        data = valid(PositionInput, request)
        position = services.position_create(actor=request.user, **data)
        return Response(PositionOutput(position).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["hiring"])
class CandidateViewSet(_HiringViewSet):
    @extend_schema(
        responses={200: CandidateOutput(many=True), **errors(401, 404)},
        description="The candidates one may see: recruiters all, a hiring manager their "
        "positions', an interviewer those they interview. Each one listed is written to "
        "the audit log as viewed.",
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.candidate_list_for(request.user))
        # Personal data in full: each candidate listed counts as viewed.
        audit_records(actor=request.user, action="hiring.candidate_viewed", targets=page)
        return self.get_paginated_response(CandidateOutput(page, many=True).data)

    @extend_schema(
        responses={200: CandidateOutput, **errors(404)},
        description="One candidate (the view is written to the audit log).",
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(CandidateOutput(selectors.candidate_for(request.user, pk)).data)

    @extend_schema(
        request=CandidateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: CandidateOutput, **errors(400, 403, 404, 409)},
    )
    def create(self, request: Request) -> Response:
        data = valid(CandidateInput, request)
        candidate = services.candidate_create(
            actor=request.user, position_id=data.pop("position"), **data
        )
        return Response(CandidateOutput(candidate).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=MoveInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: CandidateOutput, **errors(400, 403, 404, 409)},
        description="Move between applied, screen, interviews and offer, or end the process "
        "(rejected, withdrawn) with the reason.",
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        data = valid(MoveInput, request)
        candidate = services.candidate_move(actor=request.user, candidate_id=int_or_404(pk), **data)
        return Response(CandidateOutput(candidate).data)

    @extend_schema(
        request=HireInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: CandidateOutput, **errors(400, 403, 404, 409)},
        description="Hire a candidate at the offer stage (the hiring manager or an "
        "administrator): creates their account (role, team, start date) and, once committed, "
        "emails them an invitation to set their password. `hired_user` is the new account.",
    )
    @action(detail=True, methods=["post"])
    def hire(self, request: Request, pk: str) -> Response:
        data = valid(HireInput, request)
        candidate = services.candidate_hire(actor=request.user, candidate_id=int_or_404(pk), **data)
        return Response(CandidateOutput(candidate).data)

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, **errors(404)},
        description="Everything stored about the candidate (recruiters and administrators), "
        "for a request to see their data. Audited.",
    )
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: str) -> Response:
        return Response(selectors.candidate_export(request.user, pk))

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: CandidateOutput, **errors(403, 404, 409)},
        description="Erase the candidate's personal data now, on their request (recruiters "
        "and administrators); the ratings stay, anonymous. Not for a hired candidate (409).",
    )
    @action(detail=True, methods=["post"])
    def erase(self, request: Request, pk: str) -> Response:
        selectors.candidate_for(request.user, pk, audit=False)
        candidate = services.candidate_erase(actor=request.user, candidate_id=int_or_404(pk))
        return Response(CandidateOutput(candidate).data)

    @extend_schema(
        responses={200: DecisionOutput, **errors(404)},
        description="Who said what: one column per submitted scorecard, one line per "
        "attribute (ratings, mean, disagreement), the weighted view and the scorecards still "
        "to come. For recruiters and the hiring manager, once they owe no scorecard.",
    )
    @action(detail=True, methods=["get"])
    def decision(self, request: Request, pk: str) -> Response:
        return Response(DecisionOutput(selectors.decision_grid_for(request.user, pk)).data)


@extend_schema(tags=["hiring"])
class InterviewViewSet(_HiringViewSet):
    @extend_schema(
        responses={200: InterviewOutput(many=True), **errors(401, 404)},
        description="The interviews one gives.",
    )
    def list(self, request: Request) -> Response:
        rows = selectors.interviews_given(request.user)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(InterviewOutput(page, many=True).data)

    @extend_schema(
        request=InterviewInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: InterviewOutput, **errors(400, 403, 404, 409)},
    )
    def create(self, request: Request) -> Response:
        data = valid(InterviewInput, request)
        interview = services.interview_schedule(
            actor=request.user, candidate_id=data.pop("candidate"), **data
        )
        return Response(InterviewOutput(interview).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["hiring"])
class ScorecardViewSet(_HiringViewSet):
    """Scorecards by interview id."""

    @extend_schema(
        responses={200: ScorecardOutput, **errors(404)},
        description="An interview's scorecard: one's own, or — once one owes none for the "
        "candidate — another's submitted one; anything else is a 404.",
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ScorecardOutput(selectors.scorecard_for(request.user, pk)).data)

    @extend_schema(
        request=SubmitInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: ScorecardOutput, **errors(400, 404, 409)},
        description="Rate every focus attribute (1–5, with evidence), give the overall "
        "recommendation and submit, in one call: all or nothing. Only the interviewer, "
        "once; a submitted scorecard never changes (409).",
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        data = valid(SubmitInput, request)
        with transaction.atomic():
            services.scorecard_save(
                actor=request.user,
                interview_id=int_or_404(pk),
                ratings={
                    r["attribute"]: {"rating": r["rating"], "evidence": r["evidence"]}
                    for r in data["ratings"]
                },
                recommendation=data["recommendation"],
                summary=data.get("summary", ""),
            )
            card = services.scorecard_submit(actor=request.user, interview_id=int_or_404(pk))
        return Response(
            ScorecardOutput(selectors.scorecard_for(request.user, card.interview_id)).data
        )


# --- onboarding and ramp ------------------------------------------------------------------
# GET onboarding-plans/ (the plans one may see, as the plan page), onboarding-plans/{rep_id}/
# (one, with its tasks), POST onboarding-tasks/{id}/done/, GET ramp/ (not for reps).


class FocusSkillOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class OnboardingPlanOutput(serializers.Serializer):
    """A new hire's onboarding plan and how far along it is."""

    # Serializes a selectors.Onboarding: the plan, its tasks and the organisation's today.
    rep = serializers.IntegerField(source="plan.rep_id")
    rep_name = serializers.CharField(source="plan.rep.__str__")
    started_on = serializers.DateField(source="plan.started_on")
    template_name = serializers.CharField(
        source="plan.template.name", allow_null=True, help_text="Null: the template is gone."
    )
    focus_skills = FocusSkillOutput(
        many=True, source="plan.focus_skills.all", help_text="What the first 1:1s focus on."
    )
    tasks_total = serializers.SerializerMethodField()
    tasks_done = serializers.IntegerField(source="done")
    tasks_overdue = serializers.SerializerMethodField(
        help_text="Not done and due before today (the organisation's time zone)."
    )

    def get_tasks_total(self, onboarding: selectors.Onboarding) -> int:
        return len(onboarding.tasks)

    def get_tasks_overdue(self, onboarding: selectors.Onboarding) -> int:
        return len(onboarding.overdue)


class OnboardingTaskOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=OnboardingTaskKind.choices)
    title = serializers.CharField()
    description = serializers.CharField()
    due_on = serializers.DateField()
    manager_signs_off = serializers.BooleanField(
        help_text="Done when the new hire's manager signs it off, not when they tick it."
    )
    done_at = serializers.DateTimeField(allow_null=True)
    done_by = serializers.IntegerField(source="done_by_id", allow_null=True)
    overdue = serializers.SerializerMethodField(
        help_text="Not done and due before today (the organisation's time zone)."
    )

    def get_overdue(self, task: Any) -> bool:
        # The plan's overdue tasks (selectors.Onboarding.overdue), given by the caller; a
        # task just done is not overdue.
        return task.pk in self.context.get("overdue", ())


class OnboardingPlanDetailOutput(OnboardingPlanOutput):
    tasks = OnboardingTaskOutput(many=True)


class OnboardingPlanQuery(serializers.Serializer):
    rep = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="This new hire's plan only (none when you may not see it).",
    )


def _per_milestone(name: str, doc: str, field: Any) -> type[serializers.Serializer]:
    """A serializer with one `field(help_text=label)` per rules.RAMP_MILESTONES key, so the
    schema names every milestone."""
    fields = {key: field(help_text=RAMP_LABELS[key]) for key in RAMP_MILESTONES}
    return type(name, (serializers.Serializer,), {"__doc__": doc, **fields})


RampDaysOutput = _per_milestone(
    "RampDaysOutput",
    "Days from the start to each first; null: not reached yet.",
    partial(serializers.IntegerField, allow_null=True),
)
CohortMediansOutput = _per_milestone(
    "CohortMediansOutput",
    "Median days to each first of those who got there; null: nobody yet.",
    partial(serializers.FloatField, allow_null=True),
)
CohortReachedOutput = _per_milestone(
    "CohortReachedOutput", "How many of the cohort got to each first.", serializers.IntegerField
)
RampLabelsOutput = _per_milestone(
    "RampLabelsOutput", "Each milestone's label, in order.", serializers.CharField
)


class RampRowOutput(serializers.Serializer):
    rep = serializers.IntegerField(source="rep.pk")
    rep_name = serializers.CharField(source="rep.__str__")
    started_on = serializers.DateField()
    cohort = serializers.CharField(help_text='The start quarter, e.g. "2026-Q3".')
    days = RampDaysOutput()


class CohortOutput(serializers.Serializer):
    label = serializers.CharField(help_text='The start quarter, e.g. "2026-Q3".')
    count = serializers.IntegerField(source="hires")
    median_days = CohortMediansOutput()
    reached = CohortReachedOutput()


class AttributeQualityOutput(serializers.Serializer):
    name = serializers.CharField()
    category = serializers.ChoiceField(choices=AttributeCategory.choices)
    count = serializers.IntegerField(source="hires", help_text="Hires with ratings and results.")
    rho = serializers.FloatField(
        source="correlation",
        allow_null=True,
        help_text="Spearman's rank correlation of the rating with attainment; null: not "
        "enough data.",
    )
    enough_data = serializers.BooleanField()


@one_object
class RampOutput(serializers.Serializer):
    milestones = RampLabelsOutput()
    rows = RampRowOutput(many=True, help_text="The new hires, latest start first.")
    cohorts = CohortOutput(many=True, help_text="By start quarter, latest first.")
    quality = AttributeQualityOutput(many=True, help_text="Quality of hire, per attribute.")
    min_hires = serializers.IntegerField(
        help_text="Below this many hires with results an attribute has no rho."
    )


REP_ID = OpenApiParameter(
    "rep_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The new hire's user id."
)
TASK_ID = OpenApiParameter(
    "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The onboarding task's id."
)


@extend_schema(tags=["hiring"])
class OnboardingPlanViewSet(_HiringViewSet):
    """New hires' onboarding plans, by the new hire's user id."""

    lookup_url_kwarg = "rep_id"

    @extend_schema(
        parameters=[OnboardingPlanQuery],
        responses={200: OnboardingPlanOutput(many=True), **errors(404)},
        description="The onboarding plans one may see, latest start first: one's own; a "
        "manager's also their teams' new hires'; leaders and administrators all.",
    )
    def list(self, request: Request) -> Response:
        query = OnboardingPlanQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.onboarding_plan_list_for(
            request.user, rep_id=query.validated_data.get("rep")
        )
        page = selectors.onboardings(self.paginate_queryset(rows))
        return self.get_paginated_response(OnboardingPlanOutput(page, many=True).data)

    @extend_schema(
        parameters=[REP_ID],
        responses={200: OnboardingPlanDetailOutput, **errors(404)},
        description="A new hire's plan with its tasks: for them, their manager, leaders "
        "and administrators (404 for anyone else, or when they have none).",
    )
    def retrieve(self, request: Request, rep_id: str) -> Response:
        found = selectors.onboarding_for(request.user, rep_id)
        context = {"overdue": {t.pk for t in found.overdue}}
        return Response(OnboardingPlanDetailOutput(found, context=context).data)


@extend_schema(tags=["hiring"])
class OnboardingTaskViewSet(_HiringViewSet):
    @extend_schema(
        request=None,
        parameters=[TASK_ID, IDEMPOTENCY_KEY],
        responses={200: OnboardingTaskOutput, **errors(403, 404, 409)},
        description="Mark an onboarding task done: the new hire their own tasks, their "
        "manager (or an administrator) those the manager signs off; the other of the two "
        "403, anyone else 404; a task done already 409 `task_done`.",
    )
    @action(detail=True, methods=["post"])
    def done(self, request: Request, pk: str) -> Response:
        task = services.onboarding_task_done(actor=request.user, task_id=int_or_404(pk))
        return Response(OnboardingTaskOutput(task).data)


@extend_schema(tags=["hiring"])
class RampViewSet(_HiringViewSet):
    pagination_class = None

    @extend_schema(
        responses={200: RampOutput, **errors(403)},
        description="The new hires one may see (a manager: their teams'; leaders and "
        "administrators: everyone) with the days from their start to their first "
        "opportunity, qualification ≥ 60 %, approved proposal and win, from their real "
        "activity; the cohorts by start quarter; and quality of hire: does each attribute's "
        "rating at interview predict attainment after two quarters? Reps get 403.",
    )
    def list(self, request: Request) -> Response:
        if request.user.is_rep:
            raise PermissionDenied("Ramp is for managers, leaders and administrators.")
        rows, cohorts = selectors.ramp_for(request.user)
        data = {
            "milestones": {k: RAMP_LABELS[k] for k in RAMP_MILESTONES},
            "rows": rows,
            "cohorts": cohorts,
            "quality": selectors.quality_of_hire(request.user),
            "min_hires": selectors.QUALITY_MIN_HIRES,
        }
        return Response(RampOutput(data).data)
