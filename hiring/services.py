"""Every write of structured hiring: templates and their attributes, positions,
candidates and their stages, interviews, scorecards (drafted, then submitted once) and the
decision. Keyword-only, atomic; refusals raise salesops.exceptions errors and change
nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Max, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from coaching import selectors as coaching_selectors
from hiring import rules
from hiring.models import (
    AttributeCategory,
    AttributeRating,
    Candidate,
    CandidateStage,
    Interview,
    InterviewKind,
    OnboardingPlan,
    OnboardingTask,
    OnboardingTemplate,
    Position,
    PositionStatus,
    Recommendation,
    Scorecard,
    ScorecardTemplate,
    TemplateAttribute,
)
from hiring.rules import runs_hiring
from salesops.cleaning import (
    clean_date,
    clean_int,
    clean_text,
    name_taken,
    query_int,
    refuse_unknown_fields,
    save_unique,
)
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import AuditEvent, Role, Team, User
from salesops.people import user_create_invited
from salesops.services import audit_record

MAX_TEXT = 10_000


def _refuse_unless_recruiter(actor: User, what: str) -> None:
    if not runs_hiring(actor):
        raise PermissionDenied(f"Only a recruiter or an administrator can {what}.")


def _by_id(queryset: Any, pk: Any, label: str, *, lock: bool = False) -> Any:
    number = query_int(pk)
    found = None
    if number is not None:
        rows = queryset.select_for_update() if lock else queryset
        found = rows.filter(pk=number).first()
    if found is None:
        raise NotFound(f"No such {label}.")
    return found


# --- scorecard templates ------------------------------------------------------------


TEMPLATE_FIELDS = frozenset({"name", "description"})
ATTRIBUTE_FIELDS = frozenset({"category", "name", "guidance", "questions", "skill", "order"})


def _clean_template(data: dict[str, Any], instance: ScorecardTemplate | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(errors, "name", data["name"], required=True, max_length=120)
        if name_taken(ScorecardTemplate.objects.all(), cleaned["name"], instance=instance):
            errors.setdefault("name", []).append("A template with this name exists.")
    if "description" in data:
        cleaned["description"] = clean_text(
            errors, "description", data["description"], required=False, max_length=MAX_TEXT
        )
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def template_create(*, actor: User, name: str, description: str = "") -> ScorecardTemplate:
    """A new, empty scorecard template. Refuses: not a recruiter; an empty or taken name."""
    _refuse_unless_recruiter(actor, "edit scorecard templates")
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
                .filter(pk=query_int(skill_id))
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
    _refuse_unless_recruiter(actor, "edit scorecard templates")
    refuse_unknown_fields(fields, allowed=ATTRIBUTE_FIELDS - {"category", "name"})
    template = _by_id(ScorecardTemplate.objects.all(), template_id, "template", lock=True)
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
    _refuse_unless_recruiter(actor, "edit scorecard templates")
    refuse_unknown_fields(changes, allowed=ATTRIBUTE_FIELDS)
    attribute = _by_id(
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
    _refuse_unless_recruiter(actor, "edit scorecard templates")
    attribute = _by_id(TemplateAttribute.objects.all(), attribute_id, "attribute", lock=True)
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


# --- positions ----------------------------------------------------------------------


def _clean_position(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "title" in data:
        cleaned["title"] = clean_text(errors, "title", data["title"], required=True, max_length=120)
    if "team" in data:
        cleaned["team"] = Team.objects.filter(pk=query_int(data["team"])).first()
        if cleaned["team"] is None:
            errors["team"] = ["Choose a team."]
    if "hiring_manager" in data:
        manager = User.objects.filter(
            pk=query_int(data["hiring_manager"]),
            is_active=True,
            role__in=[Role.MANAGER, Role.LEADER, Role.ADMIN],
        ).first()
        if manager is None:
            errors["hiring_manager"] = ["Choose an active manager, leader or administrator."]
        cleaned["hiring_manager"] = manager
    if "template" in data:
        cleaned["template"] = ScorecardTemplate.objects.filter(
            pk=query_int(data["template"])
        ).first()
        if cleaned["template"] is None:
            errors["template"] = ["Choose a scorecard template."]
        elif not cleaned["template"].attributes.exists():
            errors["template"] = ["This template has no attributes yet: add some first."]
    if "status" in data:
        if data["status"] not in PositionStatus.values:
            errors["status"] = [f"Choose one of: {', '.join(PositionStatus.values)}."]
        cleaned["status"] = data["status"]
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def position_create(
    *, actor: User, title: str, team: Any, hiring_manager: Any, template: Any
) -> Position:
    """Open a position. Refuses: not a recruiter; an empty title; an unknown team; a
    hiring manager who is not an active manager, leader or administrator; a template
    without attributes."""
    _refuse_unless_recruiter(actor, "open positions")
    cleaned = _clean_position(
        {"title": title, "team": team, "hiring_manager": hiring_manager, "template": template}
    )
    position = Position.objects.create(**cleaned)
    audit_record(actor=actor, action="hiring.position_opened", target=position)
    return position


@transaction.atomic
def position_update(*, actor: User, position_id: Any, **changes: Any) -> Position:
    """Retitle a position, change its hiring manager or status (open, on hold, filled,
    closed). Its template stays once candidates exist (their scorecards use it)."""
    _refuse_unless_recruiter(actor, "change positions")
    refuse_unknown_fields(
        changes, allowed=frozenset({"title", "team", "hiring_manager", "template", "status"})
    )
    position = _by_id(Position.objects.all(), position_id, "position", lock=True)
    cleaned = _clean_position(changes)
    if (
        "template" in cleaned
        and cleaned["template"].pk != position.template_id
        and position.candidates.exists()
    ):
        raise Conflict(
            "Candidates are being assessed on this position's template; open a new position"
            " to use another.",
            code="template_in_use",
        )
    for field, value in cleaned.items():
        setattr(position, field, value)
    if cleaned:
        position.save(update_fields=list(cleaned))
    audit_record(
        actor=actor,
        action="hiring.position_changed",
        target=position,
        data={"fields": sorted(cleaned)},
    )
    return position


# --- candidates ---------------------------------------------------------------------


CANDIDATE_FIELDS = frozenset({"name", "email", "phone", "source", "notes", "cv_url"})


def can_manage_candidate(actor: User, position: Position) -> bool:
    return runs_hiring(actor) or position.hiring_manager_id == actor.pk


def _clean_candidate(data: dict[str, Any]) -> dict[str, Any]:
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator, validate_email

    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    limits = {
        "name": 150,
        "email": 254,
        "phone": 40,
        "source": 80,
        "notes": MAX_TEXT,
        "cv_url": 500,
    }
    for field, limit in limits.items():
        if field in data:
            cleaned[field] = clean_text(
                errors, field, data[field], required=field == "name", max_length=limit
            )
    if cleaned.get("email"):
        try:
            validate_email(cleaned["email"])
        except ValidationError:
            errors.setdefault("email", []).append("Enter a valid email address.")
    if cleaned.get("cv_url"):
        try:
            URLValidator(schemes=["http", "https"])(cleaned["cv_url"])
        except ValidationError:
            errors.setdefault("cv_url", []).append("Enter a link starting with https://.")
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def candidate_create(*, actor: User, position_id: Any, name: str, **fields: Any) -> Candidate:
    """Add a candidate (applied) to an open position. Refuses: not a recruiter or the
    position's hiring manager; no such position (or one not open); an empty name; a bad
    email or CV link."""
    refuse_unknown_fields(fields, allowed=CANDIDATE_FIELDS - {"name"})
    position = _by_id(Position.objects.all(), position_id, "position")
    if not can_manage_candidate(actor, position):
        raise PermissionDenied("Only a recruiter or the position's hiring manager adds candidates.")
    if position.status != PositionStatus.OPEN:
        raise Conflict(
            f"The position is {position.get_status_display().lower()}: open it to add candidates.",
            code="position_not_open",
        )
    cleaned = _clean_candidate({"name": name, **fields})
    candidate = Candidate.objects.create(
        position=position, created_by=actor, stage_changed_at=timezone.now(), **cleaned
    )
    audit_record(actor=actor, action="hiring.candidate_added", target=candidate)
    return candidate


def _lock_candidate(actor: User, candidate_id: Any) -> Candidate:
    candidate = _by_id(
        Candidate.objects.select_related("position"), candidate_id, "candidate", lock=True
    )
    if not can_manage_candidate(actor, candidate.position):
        # Interviewers see the candidate but do not run the process; others may not
        # know the candidate exists.
        if Interview.objects.filter(candidate=candidate, interviewer=actor).exists():
            raise PermissionDenied("Only a recruiter or the hiring manager changes the candidate.")
        raise NotFound("No such candidate.")
    return candidate


@transaction.atomic
def candidate_update(*, actor: User, candidate_id: Any, **changes: Any) -> Candidate:
    """Correct a candidate's details. Refuses as candidate_create does."""
    refuse_unknown_fields(changes, allowed=CANDIDATE_FIELDS)
    candidate = _lock_candidate(actor, candidate_id)
    cleaned = _clean_candidate(changes)
    for field, value in cleaned.items():
        setattr(candidate, field, value)
    candidate.version += 1
    candidate.save(update_fields=[*cleaned, "version"])
    audit_record(
        actor=actor,
        action="hiring.candidate_changed",
        target=candidate,
        data={"fields": sorted(cleaned)},
    )
    return candidate


@transaction.atomic
def candidate_move(*, actor: User, candidate_id: Any, stage: str, reason: str = "") -> Candidate:
    """Move a candidate between applied, screen, interviews and offer, or end the process:
    rejected or withdrawn, with the reason. Refuses: not a recruiter or the hiring
    manager; a candidate whose process has ended (hired, rejected, withdrawn); "hired"
    (that is the decision, candidate_hire); a rejection or withdrawal without a reason."""
    candidate = _lock_candidate(actor, candidate_id)
    problem = rules.stage_move_problem(candidate.stage, stage, reason or "")
    if problem:
        if candidate.stage not in rules.OPEN_STAGES:
            raise Conflict(problem, code="candidate_closed")
        raise ValidationFailed(details={"reason" if "reason" in problem else "stage": [problem]})
    before = candidate.stage
    candidate.stage = stage
    candidate.stage_reason = (reason or "").strip() if stage in rules.CLOSING_STAGES else ""
    candidate.stage_changed_at = timezone.now()
    fields = ["stage", "stage_reason", "stage_changed_at", "version"]
    if stage in rules.CLOSING_STAGES:
        candidate.decided_by = actor
        fields.append("decided_by")
    candidate.version += 1
    candidate.save(update_fields=fields)
    audit_record(
        actor=actor, action="hiring.candidate_moved", target=candidate,
        data={"from": before, "to": stage, "reason": candidate.stage_reason},
    )  # fmt: skip
    return candidate


# --- interviews and scorecards --------------------------------------------------------


@transaction.atomic
def interview_schedule(
    *,
    actor: User,
    candidate_id: Any,
    interviewer: Any,
    kind: str,
    scheduled_at: dt.datetime | None,
    focus: list[Any],
) -> Interview:
    """Schedule an interview with its focus attributes (of the position's template).
    Refuses: not a recruiter or the hiring manager; a candidate whose process has ended;
    an inactive or unknown interviewer; an unknown kind; no time; no focus attribute, or
    one of another template."""
    candidate = _lock_candidate(actor, candidate_id)
    if candidate.is_final:
        raise Conflict("The candidate's process has ended.", code="candidate_closed")
    errors: dict[str, list[str]] = {}
    person = User.objects.filter(pk=query_int(interviewer), is_active=True).first()
    if person is None:
        errors["interviewer"] = ["Choose an active colleague."]
    if kind not in InterviewKind.values:
        errors["kind"] = [f"Choose one of: {', '.join(InterviewKind.values)}."]
    if not isinstance(scheduled_at, dt.datetime):
        errors["scheduled_at"] = ["Give the date and time."]
    ids = {query_int(pk) for pk in focus or []}
    attributes = list(
        TemplateAttribute.objects.filter(
            pk__in=[i for i in ids if i is not None], template_id=candidate.position.template_id
        )
    )
    if not ids:
        errors["focus"] = ["Choose at least one attribute to assess."]
    elif len(attributes) != len(ids):
        errors["focus"] = ["Choose attributes of this position's scorecard."]
    if errors:
        raise ValidationFailed(details=errors)
    interview = Interview.objects.create(
        candidate=candidate, interviewer=person, kind=kind, scheduled_at=scheduled_at
    )
    interview.focus.set(attributes)
    Scorecard.objects.create(interview=interview)
    if candidate.stage in ("applied", "screen") and kind != InterviewKind.SCREEN:
        candidate.stage, candidate.stage_changed_at = CandidateStage.INTERVIEWS, timezone.now()
        candidate.version += 1
        candidate.save(update_fields=["stage", "stage_changed_at", "version"])
    audit_record(
        actor=actor,
        action="hiring.interview_scheduled",
        target=interview,
        data={"interviewer": person.pk},
    )
    return interview


def _lock_own_scorecard(actor: User, interview_id: Any) -> Scorecard:
    interview = _by_id(
        Interview.objects.select_related("candidate__position"), interview_id, "interview"
    )
    if interview.interviewer_id != actor.pk:
        # Someone else's interview: the scorecard is theirs alone to fill.
        raise NotFound("No such interview among yours.")
    scorecard = Scorecard.objects.select_for_update().get(interview=interview)
    if scorecard.is_submitted:
        raise Conflict(
            "This scorecard was submitted; it can no longer change.", code="scorecard_submitted"
        )
    return scorecard


@transaction.atomic
def scorecard_save(
    *,
    actor: User,
    interview_id: Any,
    ratings: dict[Any, dict[str, Any]],
    recommendation: Any = None,
    summary: str = "",
) -> Scorecard:
    """Save one's draft scorecard: `ratings` maps focus attribute ids to {"rating": 1–5,
    "evidence": text}; an attribute left out keeps no rating. Refuses: someone else's
    interview (404); a submitted scorecard (Conflict); an attribute that is not a focus of
    the interview; a rating off the scale; a recommendation off its scale — nothing is
    saved then."""
    scorecard = _lock_own_scorecard(actor, interview_id)
    focus = {a.pk: a for a in scorecard.interview.focus.all()}
    errors: dict[str, list[str]] = {}
    cleaned: dict[int, tuple[int, str]] = {}
    for key, given in (ratings or {}).items():
        pk = query_int(key)
        field = f"ratings.{key}"
        if pk not in focus:
            errors[field] = ["Rate only the attributes this interview focuses on."]
            continue
        given = given or {}
        value = given.get("rating")
        evidence = clean_text(
            errors, field, given.get("evidence"), required=False, max_length=MAX_TEXT
        )
        if value in (None, ""):
            continue
        rating = query_int(value)
        if rating is None or not 1 <= rating <= 5:
            errors[field] = ["Rate from 1 (Definitely not) to 5 (Strong yes)."]
            continue
        cleaned[pk] = (rating, evidence)
    chosen = None
    if recommendation not in (None, ""):
        chosen = query_int(recommendation)
        if chosen not in Recommendation.values:
            errors["recommendation"] = ["Choose Definitely not, No, Yes or Strong yes."]
    summary = clean_text(errors, "summary", summary, required=False, max_length=MAX_TEXT)
    if errors:
        raise ValidationFailed(details=errors)
    scorecard.ratings.all().delete()
    AttributeRating.objects.bulk_create(
        AttributeRating(scorecard=scorecard, attribute_id=pk, rating=r, evidence=e)
        for pk, (r, e) in cleaned.items()
    )
    scorecard.recommendation = chosen
    scorecard.summary = summary
    scorecard.save(update_fields=["recommendation", "summary", "updated_at"])
    return scorecard


@transaction.atomic
def scorecard_submit(*, actor: User, interview_id: Any) -> Scorecard:
    """Submit one's scorecard: then it is frozen, and the others' submitted scorecards
    for the candidate become visible to its author. Refuses: someone else's interview;
    submitting twice (Conflict); a focus attribute without a rating or without evidence;
    no overall recommendation."""
    scorecard = _lock_own_scorecard(actor, interview_id)
    rated = {r.attribute_id: r for r in scorecard.ratings.all()}
    errors: dict[str, list[str]] = {}
    for attribute in scorecard.interview.focus.all():
        given = rated.get(attribute.pk)
        if given is None:
            errors[f"ratings.{attribute.pk}"] = [f"Rate {attribute.name}."]
        elif not given.evidence.strip():
            errors[f"ratings.{attribute.pk}"] = [f"Say what you saw or heard for {attribute.name}."]
    if scorecard.recommendation is None:
        errors["recommendation"] = ["Give your overall recommendation."]
    if errors:
        raise ValidationFailed("The scorecard is not complete.", details=errors)
    scorecard.submitted_at = timezone.now()
    scorecard.save(update_fields=["submitted_at", "updated_at"])
    audit_record(actor=actor, action="hiring.scorecard_submitted", target=scorecard)
    return scorecard


# --- the decision ---------------------------------------------------------------------


def can_decide(actor: User, candidate: Candidate) -> bool:
    """The hiring manager decides; administrators may too."""
    return actor.is_admin_role or candidate.position.hiring_manager_id == actor.pk


@transaction.atomic
def candidate_hire(
    *,
    actor: User,
    candidate_id: Any,
    started_on: Any,
    reason: str,
    role: str = Role.REP,
    team: Any = None,
) -> Candidate:
    """Hire: the candidate becomes a person here — their account (the role, the position's
    team unless another is given, so its manager is theirs; `started_on`, which the
    coaching cadence counts the first 90 days from) with an invitation to set their
    password, sent once this commits, and their onboarding plan (the weakest selling
    skills on their scorecards as the first 1:1s' focus) — and the candidate is marked
    hired with the reason.

    Refuses: anyone but the hiring manager or an administrator; a candidate not at the
    offer stage (a rejected or withdrawn one: Conflict); no reason; no or a bad start
    date; a candidate without an email address, or with one a colleague already has;
    an unknown team. Nothing is created then."""
    candidate = _lock_candidate(actor, candidate_id)
    if not can_decide(actor, candidate):
        raise PermissionDenied("Only the hiring manager or an administrator hires.")
    if candidate.stage != CandidateStage.OFFER:
        raise Conflict(
            f"Only a candidate at the offer stage can be hired ({candidate.name} is "
            f"{candidate.get_stage_display().lower()}).",
            code="candidate_not_at_offer",
        )
    errors: dict[str, list[str]] = {}
    start = clean_date(errors, "started_on", started_on, required=True)
    reason = clean_text(errors, "reason", reason, required=True, max_length=MAX_TEXT)
    chosen_team = candidate.position.team
    if team not in (None, ""):
        chosen_team = Team.objects.filter(pk=query_int(team)).first()
        if chosen_team is None:
            errors["team"] = ["Choose a team."]
    if errors:
        raise ValidationFailed(details=errors)
    first, _, last = candidate.name.partition(" ")
    person = user_create_invited(
        actor=actor, first_name=first, last_name=last, email=candidate.email, role=role,
        team=chosen_team, started_on=start,
    )  # fmt: skip
    onboarding_start(rep=person, started_on=start, focus_skills=weakest_selling_skills(candidate))
    candidate.stage = CandidateStage.HIRED
    candidate.stage_reason = reason
    candidate.stage_changed_at = timezone.now()
    candidate.decided_by = actor
    candidate.hired_user = person
    candidate.version += 1
    candidate.save(
        update_fields=[
            "stage", "stage_reason", "stage_changed_at", "decided_by", "hired_user", "version",
        ]
    )  # fmt: skip
    audit_record(
        actor=actor, action="hiring.candidate_hired", target=candidate,
        data={"user": person.pk, "started_on": start.isoformat()},
    )  # fmt: skip
    return candidate


# --- personal data ----------------------------------------------------------------------

ANONYMISED_NAME = "Anonymised candidate"


def _anonymise(candidate_ids: Any, now: Any) -> int:
    """Remove the personal data of these candidates, set-based: contact details, notes, CV
    link, the reason's words, the interviewers' evidence and summaries, and what the audit
    trail quoted. Kept: the position, the stage and its dates, the ratings and
    recommendations — the statistics."""
    candidates = Candidate.objects.filter(pk__in=candidate_ids, anonymised_at__isnull=True)
    ids = list(candidates.values_list("pk", flat=True))
    if not ids:
        return 0
    Candidate.objects.filter(pk__in=ids).update(
        name=Concat(Value(f"{ANONYMISED_NAME} #"), Cast("id", CharField())),
        email="", phone="", source="", notes="", cv_url="",
        stage_reason=Value("(removed)"), anonymised_at=now,
    )  # fmt: skip
    AttributeRating.objects.filter(scorecard__interview__candidate_id__in=ids).update(evidence="")
    Scorecard.objects.filter(interview__candidate_id__in=ids).update(summary="")
    AuditEvent.objects.filter(target_type="hiring.candidate", target_id__in=ids).update(data={})
    return len(ids)


@transaction.atomic
def candidates_anonymise(*, now: dt.datetime | None = None) -> int:
    """Anonymise every rejected or withdrawn candidate decided more than
    HIRING_ANONYMISE_AFTER_DAYS ago (the beat runs it daily). Idempotent: an anonymised
    candidate is not touched again. Returns how many were anonymised."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.HIRING_ANONYMISE_AFTER_DAYS)
    due = Candidate.objects.filter(
        stage__in=rules.CLOSING_STAGES, anonymised_at__isnull=True, stage_changed_at__lt=cutoff
    ).values("pk")
    return _anonymise(due, now)


@transaction.atomic
def candidate_erase(*, actor: User, candidate_id: Any) -> Candidate:
    """Erase a candidate's personal data on their request, now (recruiters and
    administrators); keeps only what the statistics need. Refuses: anyone else; a hired
    candidate (they work here: their account is managed under People)."""
    _refuse_unless_recruiter(actor, "erase a candidate's data")
    candidate = _by_id(Candidate.objects.all(), candidate_id, "candidate", lock=True)
    if candidate.stage == CandidateStage.HIRED:
        raise Conflict("They were hired: their data is an employee's now.", code="candidate_hired")
    if candidate.anonymised_at is None:
        if candidate.stage not in rules.CLOSING_STAGES:
            candidate.stage = CandidateStage.WITHDRAWN
            candidate.stage_changed_at = timezone.now()
            candidate.stage_reason = "(removed)"
            candidate.save(update_fields=["stage", "stage_changed_at", "stage_reason"])
        _anonymise([candidate.pk], timezone.now())
    audit_record(actor=actor, action="hiring.candidate_erased", target=candidate)
    candidate.refresh_from_db()
    return candidate


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
    template = OnboardingTemplate.objects.prefetch_related("tasks").order_by("pk").first()
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
    return plan


def can_sign_off(actor: User, rep: User) -> bool:
    return actor.is_admin_role or (rep.team_id is not None and rep.team.manager_id == actor.pk)


@transaction.atomic
def onboarding_task_done(*, actor: User, task_id: Any) -> OnboardingTask:
    """Mark an onboarding task done: the new hire their own tasks, their manager (or an
    administrator) those the manager signs off. Refuses: anyone else; a task done
    already (Conflict)."""
    task = _by_id(OnboardingTask.objects.select_related("plan__rep"), task_id, "task", lock=True)
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
    audit_record(actor=actor, action="hiring.onboarding_task_done", target=task)
    return task
