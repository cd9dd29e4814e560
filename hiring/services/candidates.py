"""Candidates: their details, their stage and its reason, the hire (their account and
onboarding), and their personal data — anonymised after the retention period or erased
on request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from forecasting import services as forecasting_services
from hiring import rules
from hiring.models import (
    AttributeRating,
    Candidate,
    CandidateStage,
    Interview,
    Position,
    PositionStatus,
    Scorecard,
)
from hiring.rules import runs_hiring
from hiring.services.common import MAX_TEXT, by_id, refuse_unless_recruiter
from hiring.services.onboarding import onboarding_start, weakest_selling_skills
from salesops.cleaning import (
    clean_amount,
    clean_date,
    clean_text,
    query_int,
    refuse_unknown_fields,
)
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import AuditEvent, Role, Team, User
from salesops.people import user_create_invited
from salesops.services import audit_record

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
    position = by_id(Position.objects.all(), position_id, "position")
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


def lock_candidate_to_manage(actor: User, candidate_id: Any) -> Candidate:
    candidate = by_id(
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
    candidate = lock_candidate_to_manage(actor, candidate_id)
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
    candidate = lock_candidate_to_manage(actor, candidate_id)
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
    full_quota: Any = None,
) -> Candidate:
    """Hire: the candidate becomes a person here — their account (the role, the position's
    team unless another is given, so its manager is theirs; `started_on`, which the
    coaching cadence counts the first 90 days from) with an invitation to set their
    password, sent once this commits, and their onboarding plan (the weakest selling
    skills on their scorecards as the first 1:1s' focus) — and the candidate is marked
    hired with the reason. With `full_quota` (a fully ramped rep's monthly quota), their
    ramped quotas for the first months are written through
    forecasting.services.quota_ramp_set (settings.NEW_HIRE_RAMP_PERCENTS of it).

    Refuses: anyone but the hiring manager or an administrator; a candidate not at the
    offer stage (a rejected or withdrawn one: Conflict); no reason; no or a bad start
    date; a candidate without an email address, or with one a colleague already has;
    an unknown team; a bad quota, or one the hirer may not set. Nothing is created then."""
    candidate = lock_candidate_to_manage(actor, candidate_id)
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
    chosen_team: Team | None = candidate.position.team
    if team not in (None, ""):
        chosen_team = Team.objects.filter(pk=query_int(team) or 0).first()
        if chosen_team is None:
            errors["team"] = ["Choose a team."]
    wants_ramp = full_quota not in (None, "")
    if wants_ramp:
        clean_amount(errors, "full_quota", full_quota)
    if errors:
        raise ValidationFailed(details=errors)
    assert start is not None  # required: clean_date recorded an error otherwise
    first, _, last = candidate.name.partition(" ")
    person = user_create_invited(
        actor=actor, first_name=first, last_name=last, email=candidate.email, role=role,
        team=chosen_team, started_on=start,
    )  # fmt: skip
    onboarding_start(rep=person, started_on=start, focus_skills=weakest_selling_skills(candidate))
    if wants_ramp:
        try:
            forecasting_services.quota_ramp_set(
                actor=actor, rep_id=person.pk, full_amount=full_quota
            )
        except (PermissionDenied, Conflict) as exc:  # the transaction undoes the account
            raise ValidationFailed(
                details={"full_quota": [f"{exc.message} Leave it blank to hire without one."]}
            ) from exc
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
    count = _anonymise(due, now)
    if count:  # one event for the run, no names: what it removed is gone
        audit_record(actor=None, action="hiring.candidates_anonymised", data={"count": count})
    return count


@transaction.atomic
def candidate_erase(*, actor: User, candidate_id: Any) -> Candidate:
    """Erase a candidate's personal data on their request, now (recruiters and
    administrators); keeps only what the statistics need. Refuses: anyone else; a hired
    candidate (they work here: their account is managed under People)."""
    refuse_unless_recruiter(actor, "erase a candidate's data")
    candidate = by_id(Candidate.objects.all(), candidate_id, "candidate", lock=True)
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
