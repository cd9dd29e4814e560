"""Ticking and unticking a deal's milestones."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from pipeline import rules
from pipeline.flags import flags_refresh
from pipeline.models import Milestone, MilestoneCompleter, MilestoneCompletion, Opportunity
from pipeline.services.common import MAX_TEXT, lock_for, refuse_if_closed
from salesops import access
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import User
from salesops.services import audit_record

# --- milestones ----------------------------------------------------------------


def _refuse_unless_may_tick(
    actor: User, opp: Opportunity, milestone: Milestone, *, action: str
) -> None:
    """A milestone that states the manager's act is ticked (and un-ticked) by a manager of
    the owner — a leader or an admin counts — and never by the owner themself."""
    if milestone.completable_by != MilestoneCompleter.MANAGER:
        return
    if actor.pk != opp.owner_id and access.manages(actor, opp.owner):
        return
    team = opp.owner.team
    manager = team.manager if team is not None else None
    who = f" ({manager.get_full_name() or manager.username})" if manager is not None else ""
    raise PermissionDenied(
        f"Only the owner's manager{who} can {action} “{milestone.title}”: it records "
        "their decision, not the seller's.",
        code="milestone_manager_only",
        details={"milestone": milestone.pk, "completable_by": milestone.completable_by},
    )


@transaction.atomic
def milestone_complete(
    *, opportunity_id: int, milestone_id: int, actor: User, evidence: str = ""
) -> MilestoneCompletion:
    """Tick a milestone of the opportunity's pipeline, with evidence where required.

    Refuses: a milestone of another pipeline, an automatic milestone (the system checks
    it), a milestone only the owner's manager may tick (`completable_by="manager"`: it
    states their act) ticked by anyone else — the owner included (PermissionDenied
    `milestone_manager_only`), missing evidence where it is required, a closed
    opportunity. Ticking twice keeps the first completion and updates its evidence.
    """
    opp = lock_for(actor, opportunity_id)
    refuse_if_closed(opp)
    milestone = Milestone.objects.select_related("stage").filter(pk=milestone_id).first()
    if milestone is None or milestone.stage.pipeline_id != opp.pipeline_id:
        raise NotFound("No such milestone in this opportunity's pipeline.")
    if milestone.auto_check:
        raise Conflict(
            f"'{milestone.title}' is checked automatically: "
            f"{milestone.get_auto_check_display().lower()}.",
            code="automatic_milestone",
        )
    _refuse_unless_may_tick(actor, opp, milestone, action="tick")
    evidence = (evidence or "").strip()
    if len(evidence) > MAX_TEXT:
        raise ValidationFailed(details={"evidence": [f"Use at most {MAX_TEXT} characters."]})
    if problem := rules.evidence_problem(
        requires_evidence=milestone.requires_evidence, evidence=evidence
    ):
        raise ValidationFailed(problem, details={"evidence": [problem], "milestone": milestone.pk})
    completion, created = MilestoneCompletion.objects.get_or_create(
        opportunity=opp,
        milestone=milestone,
        defaults={"evidence": evidence, "completed_by": actor, "completed_at": timezone.now()},
    )
    if not created and evidence and evidence != completion.evidence:
        completion.evidence = evidence
        completion.save(update_fields=["evidence"])
    audit_record(
        actor=actor,
        action="milestone.completed",
        target=opp,
        data={"milestone": milestone.pk, "evidence": evidence[:300]},
    )
    if created and opp.imported_at is not None:
        flags_refresh(opportunity_ids=[opp.pk])  # import_incomplete follows at once
    return completion


@transaction.atomic
def milestone_uncomplete(*, opportunity_id: int, milestone_id: int, actor: User) -> None:
    """Un-tick a milestone. Refuses on a closed opportunity, and a manager-only milestone
    (`completable_by="manager"`) un-ticked by anyone but the owner's manager, as
    `milestone_complete`; un-ticking an open one is a no-op."""
    opp = lock_for(actor, opportunity_id)
    refuse_if_closed(opp)
    milestone = Milestone.objects.select_related("stage").filter(pk=milestone_id).first()
    if milestone is None or milestone.stage.pipeline_id != opp.pipeline_id:
        raise NotFound("No such milestone in this opportunity's pipeline.")
    _refuse_unless_may_tick(actor, opp, milestone, action="un-tick")
    deleted, _ = MilestoneCompletion.objects.filter(opportunity=opp, milestone=milestone).delete()
    if deleted:
        audit_record(
            actor=actor,
            action="milestone.uncompleted",
            target=opp,
            data={"milestone": milestone.pk},
        )
        if opp.imported_at is not None:
            flags_refresh(opportunity_ids=[opp.pk])  # import_incomplete follows at once
