"""Every write of the insights app: suggestions drawn from the study, and an
administrator's decision on them. Accepting changes the stage's exit rules through the
pipeline services (pipeline.services.milestone_create / milestone_update), so the change
is made, checked and logged (a new rules version, a StageRuleChange) as on any other path."""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import asdict, dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from insights import rules, selectors
from insights.models import Suggestion, SuggestionKind, SuggestionStatus
from insights.scope import company_scope
from pipeline import selectors as pipeline_selectors
from pipeline import services as pipeline_services
from pipeline.models import AutoCheck, MilestoneKind, StageRuleChange
from salesops import access
from salesops.cleaning import clean_text
from salesops.exceptions import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from salesops.models import User
from salesops.services import audit_record

# A suggestion an administrator decided on is not made again for this long.
DECIDED_QUIET_DAYS = 180

_REFRESH_LOCK = zlib.crc32(b"insights.suggestions_refresh")


@dataclass(frozen=True)
class Candidate:
    behaviour: str
    stage_id: int
    kind: str
    title: str
    proposal: dict[str, Any]
    evidence: dict[str, Any]


def _evidence(gap: rules.Gap, study: selectors.Study) -> dict[str, Any]:
    return {
        "sentence": rules.sentence(gap),
        "label": gap.label,
        "unit": gap.unit,
        "top": gap.top_value,
        "rest": gap.rest_value,
        "top_reps": gap.top_reps,
        "rest_reps": gap.rest_reps,
        "deals": gap.deals,
        "effect": gap.effect.estimate if gap.effect else None,
        "interval": [gap.effect.interval.low, gap.effect.interval.high] if gap.effect else None,
        "range": [study.scope.start.isoformat(), study.scope.end.isoformat()],
        "rank_by": study.group.rank_by,
    }


def candidates(study: selectors.Study) -> list[Candidate]:
    """The study's clear gaps that map to a stage, as changes to its exit rules."""
    found: list[Candidate] = []
    for gap in study.gaps:
        behaviour = study.behaviours.get(gap.key)
        if behaviour is None or behaviour.stage_id is None or not rules.worth_suggesting(gap):
            continue
        stage_id, stage = behaviour.stage_id, behaviour.stage
        evidence = _evidence(gap, study)
        if gap.key.startswith("milestone:") and behaviour.milestone_required is False:
            title = behaviour.label.split("' done before", 1)[0].lstrip("'")
            found.append(
                Candidate(
                    behaviour=gap.key,
                    stage_id=stage_id,
                    kind=SuggestionKind.REQUIRE_MILESTONE,
                    title=f"Require '{title}' before a deal leaves {stage}",
                    proposal={"milestone": behaviour.milestone_id},
                    evidence=evidence,
                )
            )
        elif gap.key.startswith("score:"):
            gate = pipeline_selectors.qualification_gate(stage_id)
            proposed = rules.suggested_min_score(
                gap.top_lower_quartile, gate.min_score if gate is not None else None
            )
            if proposed is None or not pipeline_selectors.stage_has_framework(stage_id):
                continue
            if gate is not None:
                found.append(
                    Candidate(
                        behaviour=gap.key,
                        stage_id=stage_id,
                        kind=SuggestionKind.RAISE_MIN_SCORE,
                        title=(
                            f"Raise the minimum qualification score to leave {stage} "
                            f"from {gate.min_score or 0} % to {proposed} %"
                        ),
                        proposal={"milestone": gate.milestone_id, "min_score": proposed},
                        evidence=evidence,
                    )
                )
            else:
                found.append(
                    Candidate(
                        behaviour=gap.key,
                        stage_id=stage_id,
                        kind=SuggestionKind.NEW_MILESTONE,
                        title=f"Require a qualification score of {proposed} % to leave {stage}",
                        proposal={
                            "title": f"Qualification score of at least {proposed} %",
                            "kind": MilestoneKind.SELLER_ACTION,
                            "auto_check": AutoCheck.QUALIFICATION,
                            "min_score": proposed,
                        },
                        evidence=evidence,
                    )
                )
        elif gap.key.startswith("stage_activities:"):
            found.append(
                Candidate(
                    behaviour=gap.key,
                    stage_id=stage_id,
                    kind=SuggestionKind.NEW_MILESTONE,
                    title=f"Require a logged customer conversation in {stage}",
                    proposal={
                        "title": f"Customer conversation in {stage} logged (call or meeting)",
                        "kind": MilestoneKind.SELLER_ACTION,
                    },
                    evidence=evidence,
                )
            )
    return found


@dataclass(frozen=True)
class RefreshResult:
    created: int
    updated: int
    withdrawn: int


@transaction.atomic
def suggestions_refresh(*, now: dt.datetime | None = None) -> RefreshResult:
    """Draw suggestions from the company-wide study of the last twelve months: a new one
    for each clear gap that maps to a stage, the evidence of open ones brought up to date,
    open ones whose gap is gone withdrawn (deleted: nobody decided on them). A behaviour
    decided on in the last DECIDED_QUIET_DAYS is not suggested again. Safe to run twice or
    concurrently: runs are serialised by an advisory lock."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REFRESH_LOCK])
    scope = company_scope()
    study = selectors.compute_study(scope, rank_by="won_amount")
    wanted = {c.behaviour: c for c in candidates(study)}
    quiet = set(
        Suggestion.objects.filter(
            decided_at__gte=now - dt.timedelta(days=DECIDED_QUIET_DAYS)
        ).values_list("behaviour", flat=True)
    )
    open_ones = {s.behaviour: s for s in Suggestion.objects.filter(status=SuggestionStatus.OPEN)}
    created = updated = 0
    for behaviour, candidate in wanted.items():
        existing = open_ones.get(behaviour)
        if existing is not None:
            existing.title = candidate.title
            existing.proposal = candidate.proposal
            existing.evidence = candidate.evidence
            existing.kind = candidate.kind
            existing.version += 1
            existing.save(update_fields=["title", "proposal", "evidence", "kind", "version"])
            updated += 1
        elif behaviour not in quiet:
            Suggestion.objects.create(
                stage_id=candidate.stage_id,
                kind=candidate.kind,
                behaviour=behaviour,
                title=candidate.title,
                proposal=candidate.proposal,
                evidence=candidate.evidence,
                created_at=now,
            )
            created += 1
    gone = [s.pk for b, s in open_ones.items() if b not in wanted]
    Suggestion.objects.filter(pk__in=gone).delete()
    result = RefreshResult(created=created, updated=updated, withdrawn=len(gone))
    # One event per run that made or withdrew any (a withdrawn one leaves no row behind);
    # evidence brought up to date alone is not news.
    if created or gone:
        audit_record(actor=None, action="insights.suggestions_refreshed", data=asdict(result))
    return result


def _refuse_unless_configurer(actor: User) -> None:
    # The same people who edit the stages' exit rules on the setup pages decide on them here.
    if not access.configures_sales_process(actor):
        raise PermissionDenied(
            "Only an administrator or a sales leader changes the stage framework."
        )


def _lock_open(suggestion_id: int, expected_version: int | None) -> Suggestion:
    suggestion = (
        Suggestion.objects.select_for_update(of=("self",))
        .select_related("stage")
        .filter(pk=suggestion_id)
        .first()
    )
    if suggestion is None:
        raise NotFound("No such suggestion.")
    if expected_version is not None and suggestion.version != expected_version:
        raise StaleVersion()
    if suggestion.status != SuggestionStatus.OPEN:
        raise Conflict(
            f"This suggestion was already {suggestion.get_status_display().lower()}.",
            code="suggestion_decided",
        )
    return suggestion


def _apply(suggestion: Suggestion, actor: User, note: str) -> None:
    """Make the suggested change through the pipeline services."""
    proposal = suggestion.proposal
    if suggestion.kind == SuggestionKind.REQUIRE_MILESTONE:
        pipeline_services.milestone_update(
            milestone_id=proposal["milestone"], actor=actor, required=True, rule_change_note=note
        )
    elif suggestion.kind == SuggestionKind.RAISE_MIN_SCORE:
        pipeline_services.milestone_update(
            milestone_id=proposal["milestone"],
            actor=actor,
            min_qualification_score=proposal["min_score"],
            rule_change_note=note,
        )
    else:
        extra: dict[str, Any] = {"required": True}
        if proposal.get("auto_check"):
            extra["auto_check"] = proposal["auto_check"]
            extra["min_qualification_score"] = proposal.get("min_score")
        pipeline_services.milestone_create(
            actor=actor,
            stage=suggestion.stage,
            title=proposal["title"],
            kind=proposal["kind"],
            rule_change_note=note,
            **extra,
        )


@transaction.atomic
def suggestion_accept(
    *, suggestion_id: int, actor: User, expected_version: int | None = None
) -> Suggestion:
    """Make the suggested change to the stage's exit rules — a new version of the stage's
    rules; completions already made are kept. Refuses: anyone but an administrator or a
    sales leader (403), a suggestion already decided (409), a stale version (412), a change
    the pipeline refuses (its error), and a change already in place (409: nothing would
    change)."""
    _refuse_unless_configurer(actor)
    suggestion = _lock_open(suggestion_id, expected_version)
    last = (
        StageRuleChange.objects.filter(stage_id=suggestion.stage_id)
        .order_by("-version")
        .values_list("id", flat=True)
        .first()
    )
    _apply(
        suggestion, actor, note=f"Accepted insights suggestion #{suggestion.pk}: {suggestion.title}"
    )
    change = (
        StageRuleChange.objects.filter(stage_id=suggestion.stage_id).order_by("-version").first()
    )
    if change is None or change.pk == last:
        raise Conflict(
            "The stage already asks for this; nothing would change. Dismiss the suggestion.",
            code="suggestion_in_place",
        )
    suggestion.status = SuggestionStatus.ACCEPTED
    suggestion.decided_at = timezone.now()
    suggestion.decided_by = actor
    suggestion.rule_change = change
    suggestion.version += 1
    suggestion.save(update_fields=["status", "decided_at", "decided_by", "rule_change", "version"])
    audit_record(
        actor=actor,
        action="insights.suggestion_accepted",
        target=suggestion,
        data={"rule_change": change.pk},
    )
    return suggestion


@transaction.atomic
def suggestion_dismiss(
    *, suggestion_id: int, actor: User, reason: Any, expected_version: int | None = None
) -> Suggestion:
    """Dismiss a suggestion with a reason (kept with it). Refuses: anyone but an
    administrator or a sales leader (403), an empty reason (400), a suggestion already
    decided (409), a stale version (412)."""
    _refuse_unless_configurer(actor)
    errors: dict[str, list[str]] = {}
    text = clean_text(errors, "reason", reason, required=True, max_length=2000)
    if errors:
        raise ValidationFailed(details=errors)
    suggestion = _lock_open(suggestion_id, expected_version)
    suggestion.status = SuggestionStatus.DISMISSED
    suggestion.decided_at = timezone.now()
    suggestion.decided_by = actor
    suggestion.dismiss_reason = text
    suggestion.version += 1
    suggestion.save(
        update_fields=["status", "decided_at", "decided_by", "dismiss_reason", "version"]
    )
    audit_record(actor=actor, action="insights.suggestion_dismissed", target=suggestion)
    return suggestion
