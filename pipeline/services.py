"""Every write of the pipeline. Pages, the API, imports and tasks all call these.

Each service is keyword-only and atomic; it locks the opportunity it changes,
checks that the actor may see it (outside the actor's scope is NotFound), and
states in its docstring what it refuses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from pipeline import providers, rule_changes, rules
from pipeline.blueprints import BLUEPRINTS, Blueprint, MilestoneSeed
from pipeline.flags import flags_refresh
from pipeline.models import (
    CUSTOMER_ACTIVITY_KINDS,
    Account,
    Activity,
    ActivityKind,
    AutoCheck,
    BusinessIssue,
    ChangeField,
    EvidenceSource,
    ForecastCategory,
    Milestone,
    MilestoneCompleter,
    MilestoneCompletion,
    MilestoneElementLevel,
    MilestoneKind,
    Opportunity,
    OpportunityChange,
    OpportunityStatus,
    Pipeline,
    Product,
    Qualification,
    QualificationElement,
    QualificationFramework,
    QualificationScore,
    Stage,
)
from pipeline.standard_frameworks import ELEMENTS as STANDARD_ELEMENTS
from pipeline.standard_frameworks import FRAMEWORKS
from salesops import access, organisation
from salesops.cleaning import (
    MAX_INT,
    MAX_SMALL_INT,
    clean_amount,
    clean_currency,
    clean_date,
    clean_int,
    clean_name_and_description,
    clean_text,
    name_taken,
    refuse_unknown_fields,
    save_unique,
)
from salesops.exceptions import (
    Conflict,
    GateNotMet,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from salesops.locking import lock_then_get
from salesops.models import User
from salesops.services import audit_record
from salesops.text import counted

MAX_TEXT = 10_000


# --- helpers -----------------------------------------------------------------


def _lock_for(actor: User, opportunity_id: int) -> Opportunity:
    """Lock the opportunity for update, if `actor` may see it; else NotFound.

    Locked by primary key, then read with its joins (salesops.locking): a move that
    waited for another move of the same deal sees where the deal is now and is refused
    with a Conflict, never a NotFound."""
    opp = lock_then_get(
        Opportunity.objects.select_related("stage", "pipeline", "owner", "account").filter(
            access.owner_scope_q(actor)
        ),
        opportunity_id,
    )
    if opp is None:
        raise NotFound("No such opportunity.")
    return opp


def _check_version(opp: Opportunity, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != opp.version:
        raise StaleVersion(
            details={"current_version": opp.version, "expected_version": expected_version}
        )


def _current_state(opp: Opportunity) -> dict[str, Any]:
    """Where the deal is now, in a Conflict's details: a client that lost a race (another
    move committed first) learns what happened without another request."""
    return {
        "current_status": opp.status,
        "current_stage": opp.stage_id,
        "current_stage_name": opp.stage.name,
        "current_version": opp.version,
    }


def _refuse_if_closed(opp: Opportunity) -> None:
    if opp.status != OpportunityStatus.OPEN:
        raise Conflict(
            f"This opportunity is closed ({opp.get_status_display().lower()}); "
            "it can no longer change.",
            code="opportunity_closed",
            details=_current_state(opp),
        )


def _record_change(
    opp: Opportunity,
    *,
    field: str,
    old: Any,
    new: Any,
    actor: User | None,
    now: dt.datetime,
    old_display: str = "",
    new_display: str = "",
    override_reason: str = "",
    note: str = "",
) -> OpportunityChange:
    return OpportunityChange(
        opportunity=opp,
        field=field,
        old_value=_as_text(old),
        new_value=_as_text(new),
        old_display=old_display or _as_text(old),
        new_display=new_display or _as_text(new),
        changed_by=actor,
        changed_at=now,
        override_reason=override_reason,
        note=note,
    )


def _category_change(
    opp: Opportunity, new: str, *, actor: User | None, now: dt.datetime, **extra: str
) -> OpportunityChange:
    return _record_change(
        opp,
        field=ChangeField.FORECAST_CATEGORY,
        old=opp.forecast_category,
        new=new,
        old_display=ForecastCategory(opp.forecast_category).label,
        new_display=ForecastCategory(new).label,
        actor=actor,
        now=now,
        **extra,
    )


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(is_won=False, is_lost=False).order_by("order").first()
    if stage is None:
        raise ValidationFailed(
            details={"pipeline": ["This pipeline has no open stage to start in."]}
        )
    return stage


def _closed_stage(pipeline: Pipeline, *, won: bool) -> Stage:
    stage = pipeline.stages.filter(is_won=won, is_lost=not won).order_by("order").first()
    if stage is None:
        kind = "won" if won else "lost"
        raise Conflict(
            f"The pipeline '{pipeline}' has no closed-{kind} stage.", code="no_closed_stage"
        )
    return stage


def _check_owner(actor: User, owner: User | None, errors: dict[str, list[str]]) -> User:
    if owner is None:
        return actor
    if not owner.is_active:
        errors.setdefault("owner", []).append("This user is deactivated.")
    elif not access.can_assign_owner(actor, owner):
        errors.setdefault("owner", []).append(
            "You can only assign opportunities to yourself"
            + (" or members of your teams." if actor.is_manager else ".")
        )
    return owner


def _check_product(
    product: Product | None, errors: dict[str, list[str]], *, current_id: int | None = None
) -> Product | None:
    """A deal's product (None: none). Only an active product is offered; a deal keeps a
    product that was deactivated after it was chosen."""
    if product is not None and not product.is_active and product.pk != current_id:
        errors.setdefault("product", []).append(
            f"'{product.name}' is no longer offered; choose an active product."
        )
    return product


# --- gate ----------------------------------------------------------------------


def met_milestone_ids(opp: Opportunity, milestones: list[Milestone]) -> set[int]:
    """Milestones met for `opp`: ticked ones plus automatic checks that hold now."""
    met = set(
        MilestoneCompletion.objects.filter(opportunity=opp).values_list("milestone_id", flat=True)
    )
    gaps = automatic_milestone_gaps(opp, milestones)
    met.update(m_id for m_id, missing in gaps.items() if not missing)
    return met


def automatic_milestone_gaps(opp: Opportunity, milestones: list[Milestone]) -> dict[int, list[str]]:
    """For each automatic milestone, what it still lacks in words (empty list: met)."""
    auto = [m for m in milestones if m.auto_check]
    result: dict[int, list[str]] = {}
    if any(m.auto_check == AutoCheck.BUSINESS_ISSUE_MAPPED for m in auto):
        mapped = BusinessIssue.objects.filter(opportunity=opp).exclude(our_value="").count()
        for m in auto:
            if m.auto_check == AutoCheck.BUSINESS_ISSUE_MAPPED:
                met = rules.auto_check_met(auto_check=m.auto_check, mapped_business_issues=mapped)
                result[m.id] = [] if met else [
                    "Record a business issue of the customer and the value we offer against it."
                ]  # fmt: skip
    if any(m.auto_check == AutoCheck.PROPOSAL_APPROVED for m in auto):
        approved = providers.approved_proposals(opp.pk)  # registered by proposals
        for m in auto:
            if m.auto_check == AutoCheck.PROPOSAL_APPROVED:
                met = rules.auto_check_met(auto_check=m.auto_check, approved_proposals=approved)
                result[m.id] = [] if met else [
                    "Have a proposal approved: write it, pass the executive summary checks and"
                    " submit it to your manager for review."
                ]  # fmt: skip
    qualification_milestones = [m for m in auto if m.auto_check == AutoCheck.QUALIFICATION]
    if qualification_milestones:
        latest = latest_valid_qualification(opp)
        scores = dict(latest.scores.values_list("element_id", "score")) if latest else {}
        levels = list(
            MilestoneElementLevel.objects.filter(
                milestone__in=qualification_milestones
            ).select_related("element")
        )
        for m in qualification_milestones:
            mine = [lvl for lvl in levels if lvl.milestone_id == m.id]
            result[m.id] = rules.qualification_gaps(
                score_pct=latest.score_pct if latest else None,
                element_scores=scores,
                min_score=m.min_qualification_score,
                element_minimums={lvl.element_id: lvl.min_level for lvl in mine},
                element_names={lvl.element_id: lvl.element.name for lvl in mine},
            )
    return result


def gate_missing(opp: Opportunity, target: Stage) -> list[Milestone]:
    """The required milestones that block moving `opp` to `target` (empty when it may move)."""
    stages = list(opp.pipeline.stages.all())
    milestones = list(
        Milestone.objects.filter(stage__pipeline_id=opp.pipeline_id).order_by(
            "stage__order", "order", "id"
        )
    )
    by_id = {m.id: m for m in milestones}
    specs = {s.id: rules.StageSpec(s.id, s.order, s.name, s.is_won, s.is_lost) for s in stages}
    missing = rules.missing_milestones(
        stages=specs.values(),
        milestones=[
            rules.MilestoneSpec(m.id, m.stage_id, m.title, m.kind, m.required, m.auto_check)
            for m in milestones
        ],
        current=specs[opp.stage_id],
        target=specs[target.id],
        met_ids=met_milestone_ids(opp, milestones),
    )
    return [by_id[m.id] for m in missing]


def _missing_details(
    opp: Opportunity, missing: list[Milestone], stages: dict[int, Stage]
) -> list[dict[str, Any]]:
    gaps = automatic_milestone_gaps(opp, missing)
    return [
        {
            "id": m.id,
            "title": m.title,
            "kind": m.kind,
            "stage": stages[m.stage_id].name,
            "stage_id": m.stage_id,
            "requires_evidence": m.requires_evidence,
            "automatic": bool(m.auto_check),
            "completable_by": m.completable_by,
            # For automatic milestones: what exactly is lacking, in words.
            "gaps": gaps.get(m.id, []),
        }
        for m in missing
    ]


# --- opportunities -------------------------------------------------------------


@transaction.atomic
def opportunity_create(
    *,
    actor: User,
    name: str,
    account: Account | None,
    close_date: Any,
    amount: Any = "0",
    currency: str | None = None,
    pipeline: Pipeline | None = None,
    owner: User | None = None,
    next_step: str = "",
    next_step_date: Any = None,
    source: str = "",
    external_id: str = "",
    forecast_category: str | None = None,
    forecast_category_override_reason: str = "",
    new_account_name: str = "",
    product: Product | None = None,
) -> Opportunity:
    """Create an open opportunity in the first stage of its pipeline.

    Refuses: missing name/account/close date, a negative or non-numeric amount, an
    owner the actor may not assign, a (source, external_id) already in use, an
    inactive pipeline, a forecast category differing from the stage's without reason,
    an inactive product. A close date in the past is not refused (the pages ask first; the
    API and the upsert do not): the deal's attention flags are decided at once.
    The stage is never chosen here: later stages are reached through the gate.
    """
    errors: dict[str, list[str]] = {}
    name = clean_text(errors, "name", name, required=True, max_length=200)
    new_account_name = clean_text(
        errors, "new_account_name", new_account_name, required=False, max_length=200
    )
    if account is None and not new_account_name:
        errors.setdefault("account", []).append("Choose an account or name a new one.")
    amount_value = clean_amount(errors, "amount", amount)
    close = clean_date(errors, "close_date", close_date, required=True)
    step_date = clean_date(errors, "next_step_date", next_step_date, required=False)
    next_step = clean_text(errors, "next_step", next_step, required=False, max_length=300)
    # No currency given: the organisation's.
    currency = clean_currency(errors, currency or organisation.current().default_currency)
    source = clean_text(errors, "source", source, required=False, max_length=40)
    external_id = clean_text(errors, "external_id", external_id, required=False, max_length=100)
    owner = _check_owner(actor, owner, errors)
    product = _check_product(product, errors)
    if pipeline is None:
        pipeline = Pipeline.objects.filter(is_active=True).order_by("id").first()
        if pipeline is None:
            errors.setdefault("pipeline", []).append("No active pipeline exists yet.")
    elif not pipeline.is_active:
        errors.setdefault("pipeline", []).append("This pipeline is no longer active.")
    if external_id and Opportunity.objects.filter(source=source, external_id=external_id).exists():
        errors.setdefault("external_id", []).append(
            f"An opportunity with external id '{external_id}' from '{source}' already exists."
        )
    if errors:
        raise ValidationFailed(details=errors)
    stage = _first_open_stage(pipeline)
    category, reason = _resolve_category(
        errors, stage=stage, requested=forecast_category, reason=forecast_category_override_reason
    )
    if errors:
        raise ValidationFailed(details=errors)
    if account is None:
        # The new account and its first opportunity are saved together or not at all.
        account = Account.objects.create(name=new_account_name)
        audit_record(actor=actor, action="account.created", target=account)
    now = timezone.now()
    try:
        with transaction.atomic():
            opp = Opportunity.objects.create(
                name=name,
                account=account,
                owner=owner,
                pipeline=pipeline,
                stage=stage,
                amount=amount_value,
                currency=currency,
                close_date=close,
                forecast_category=category,
                forecast_category_override_reason=reason,
                next_step=next_step,
                next_step_date=step_date,
                source=source,
                external_id=external_id,
                stage_entered_at=now,
                product=product,
            )
    except IntegrityError as exc:  # a concurrent insert won the race for the external id
        raise ValidationFailed(
            details={
                "external_id": [f"An opportunity with external id '{external_id}' already exists."]
            }
        ) from exc
    OpportunityChange.objects.bulk_create(
        [
            _record_change(
                opp,
                field=ChangeField.STAGE,
                old=None,
                new=stage.pk,
                new_display=stage.name,
                actor=actor,
                now=now,
                note="Created",
            ),
            _record_change(
                opp,
                field=ChangeField.AMOUNT,
                old=None,
                new=opp.amount,
                actor=actor,
                now=now,
                note="Created",
            ),
            _record_change(
                opp,
                field=ChangeField.CLOSE_DATE,
                old=None,
                new=close,
                actor=actor,
                now=now,
                note="Created",
            ),
            _record_change(
                opp,
                field=ChangeField.FORECAST_CATEGORY,
                old=None,
                new=category,
                new_display=ForecastCategory(category).label,
                actor=actor,
                now=now,
                override_reason=reason,
                note="Created",
            ),
        ]
    )
    audit_record(actor=actor, action="opportunity.created", target=opp)
    # Its flags at once (a close date already passed, say), not at the next hourly run.
    flags_refresh(now=now, opportunity_ids=[opp.pk])
    return opp


def _resolve_category(
    errors: dict[str, list[str]], *, stage: Stage, requested: str | None, reason: str
) -> tuple[str, str]:
    """The category to store and its override reason: the stage's default unless overridden."""
    default = rules.default_forecast_category(stage_category=stage.forecast_category)
    if requested in (None, "", default):
        return default, ""
    if requested not in ForecastCategory.values:
        errors.setdefault("forecast_category", []).append(
            f"Unknown category '{requested}'. Choose one of: {', '.join(ForecastCategory.values)}."
        )
        return default, ""
    if requested == ForecastCategory.CLOSED:
        errors.setdefault("forecast_category", []).append(
            "'Closed' is set by closing the opportunity as won, not chosen by hand."
        )
        return default, ""
    reason = (reason or "").strip()
    if len(reason) > MAX_TEXT:
        errors.setdefault("forecast_category_override_reason", []).append(
            f"Use at most {MAX_TEXT} characters (got {len(reason)})."
        )
    elif not reason:
        errors.setdefault("forecast_category_override_reason", []).append(
            f"Say why this deal is '{ForecastCategory(requested).label}' although its stage "
            f"'{stage.name}' defaults to '{ForecastCategory(default).label}'."
        )
    return requested, reason


UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "account",
        "amount",
        "currency",
        "close_date",
        "next_step",
        "next_step_date",
        "forecast_category",
        "forecast_category_override_reason",
        "owner",
        "product",
    }
)


# Editable fields that raise, clear or re-grade attention flags (an amount change voids
# the qualification). The next step's wording only appears in an explanation: the next
# run catches that up, a save of the text alone costs no refresh.
FLAG_INPUT_FIELDS = frozenset({"close_date", "next_step_date", "amount"})


@transaction.atomic
def opportunity_update(
    *, opportunity_id: int, actor: User, expected_version: int | None = None, **changes: Any
) -> Opportunity:
    """Change the editable fields of an open opportunity; records history for amount,
    close date, forecast category and owner. A changed close date, account or amount that
    an import had filled by a rule leaves `import_gaps` (its import_incomplete flag).

    Refuses: fields that are not editable (stage, status, version, history — use the
    actions), a stale `expected_version` (StaleVersion), a closed opportunity, bad values
    as in `opportunity_create` (a deal keeps a product deactivated since; choosing an
    inactive one is refused).
    """
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ValidationFailed(
            details={f: ["This field cannot be changed directly."] for f in sorted(unknown)}
        )
    opp = _lock_for(actor, opportunity_id)
    _check_version(opp, expected_version)
    _refuse_if_closed(opp)
    old_close, old_amount = opp.close_date, opp.amount
    errors: dict[str, list[str]] = {}
    now = timezone.now()
    history: list[OpportunityChange] = []
    updated: list[str] = []

    def assign(field: str, value: Any) -> None:
        if getattr(opp, field) != value:
            setattr(opp, field, value)
            updated.append(field)

    if "name" in changes:
        assign("name", clean_text(errors, "name", changes["name"], required=True, max_length=200))
    if "account" in changes:
        if changes["account"] is None:
            errors.setdefault("account", []).append("This field is required.")
        else:
            assign("account", changes["account"])
    if "currency" in changes:
        assign("currency", clean_currency(errors, changes["currency"]))
    if "product" in changes:
        assign("product", _check_product(changes["product"], errors, current_id=opp.product_id))
    if "next_step" in changes:
        assign(
            "next_step",
            clean_text(errors, "next_step", changes["next_step"], required=False, max_length=300),
        )
    if "next_step_date" in changes:
        assign(
            "next_step_date",
            clean_date(errors, "next_step_date", changes["next_step_date"], required=False),
        )
    if "amount" in changes:
        amount = clean_amount(errors, "amount", changes["amount"])
        if amount is not None and amount != opp.amount:
            history.append(
                _record_change(
                    opp, field=ChangeField.AMOUNT, old=opp.amount, new=amount, actor=actor, now=now
                )
            )
            assign("amount", amount)
    if "close_date" in changes:
        close = clean_date(errors, "close_date", changes["close_date"], required=True)
        if close is not None and close != opp.close_date:
            history.append(
                _record_change(
                    opp,
                    field=ChangeField.CLOSE_DATE,
                    old=opp.close_date,
                    new=close,
                    actor=actor,
                    now=now,
                )
            )
            assign("close_date", close)
    if "owner" in changes and changes["owner"] is not None and changes["owner"].pk != opp.owner_id:
        new_owner = _check_owner(actor, changes["owner"], errors)
        if "owner" not in errors:
            history.append(
                _record_change(
                    opp,
                    field=ChangeField.OWNER,
                    old=opp.owner_id,
                    new=new_owner.pk,
                    old_display=opp.owner.username,
                    new_display=new_owner.username,
                    actor=actor,
                    now=now,
                )
            )
            assign("owner", new_owner)
    if "forecast_category" in changes or "forecast_category_override_reason" in changes:
        requested = changes.get("forecast_category", opp.forecast_category)
        reason = changes.get(
            "forecast_category_override_reason", opp.forecast_category_override_reason
        )
        category, reason = _resolve_category(
            errors, stage=opp.stage, requested=requested, reason=reason or ""
        )
        if category != opp.forecast_category:
            history.append(
                _category_change(opp, category, actor=actor, now=now, override_reason=reason)
            )
        assign("forecast_category", category)
        assign("forecast_category_override_reason", reason)
    if errors:
        raise ValidationFailed(details=errors)
    if updated:
        opp.version += 1
        # A field an import filled by a rule (its flag asks the owner for the real value)
        # is no longer a gap once anyone sets it, on whatever path.
        gaps = [gap for gap in opp.import_gaps if gap not in updated]
        filled = len(gaps) != len(opp.import_gaps)
        opp.import_gaps = gaps
        opp.save(
            update_fields=[*updated, *(["import_gaps"] if filled else []), "version", "updated_at"]
        )
        OpportunityChange.objects.bulk_create(history)
        _void_qualifications(
            opp,
            rules.qualification_void_reason(
                old_close=old_close,
                new_close=opp.close_date,
                old_amount=old_amount,
                new_amount=opp.amount,
            ),
            now=now,
        )
        audit_record(
            actor=actor, action="opportunity.updated", target=opp, data={"fields": sorted(updated)}
        )
        if filled or FLAG_INPUT_FIELDS.intersection(updated):
            # The deal's flags follow at once (one statement, no lock), not at the next run.
            flags_refresh(now=now, opportunity_ids=[opp.pk])
    return opp


# What a gate override with a reason of only spaces is told, next to the reason.
OVERRIDE_REASON_BLANK = (
    "Write why the deal may move without these milestones: the reason is recorded in the "
    "history and shows up in reviews."
)


@transaction.atomic
def opportunity_advance(
    *,
    opportunity_id: int,
    stage_id: int,
    actor: User,
    override_reason: str = "",
    loss_reason: str = "",
    expected_version: int | None = None,
    forecast_category_on_move: str | None = None,
) -> Opportunity:
    """Move an open opportunity to another stage of its pipeline.

    Forward moves are gated: every required milestone of the current stage and of any
    skipped stage must be met. Refuses with GateNotMet (details: missing milestones)
    unless a manager of the owner (or a leader) gives an override reason, which is
    recorded. Moving to a won stage closes as won; to a lost stage closes as lost and
    needs a loss reason. Refuses: a stage of another pipeline, the current stage, a
    closed opportunity, a rep's override, a stale version, an override reason of only
    spaces where the gate needs one (GateNotMet with `details.override_reason`).

    Forecast category: without a manual override it follows the target stage's default.
    A manual override (one with a reason) whose category differs from the open target
    stage's default is never silently kept or replaced: `forecast_category_on_move`
    "keep" keeps it (and its reason), "follow" takes the stage's default, clears the
    reason and records that the override was replaced, by whom. Without a decision the
    move is refused with Conflict `category_override_decision` (details: current_category,
    override_reason, stage_default, target_stage, choices) and nothing is saved. The gate
    is checked first: a move that fails the gate answers the gate. An override equal to
    the stage's default is kept without a question; closing sets closed/omitted and
    never asks. Any other value of `forecast_category_on_move` is ValidationFailed.
    """
    opp = _lock_for(actor, opportunity_id)
    _check_version(opp, expected_version)
    _refuse_if_closed(opp)
    target = Stage.objects.filter(pk=stage_id).first()
    if target is None:
        raise ValidationFailed(details={"stage": [f"No stage with id {stage_id}."]})
    if target.pipeline_id != opp.pipeline_id:
        raise ValidationFailed(
            details={
                "stage": [
                    f"Stage '{target.name}' belongs to another pipeline; "
                    f"this opportunity is in '{opp.pipeline.name}'."
                ]
            }
        )
    if target.pk == opp.stage_id:
        raise Conflict(
            f"The opportunity is already in '{target.name}'.",
            code="same_stage",
            details=_current_state(opp),
        )
    # Anything sent as a reason is an attempt to override, even only spaces: it is refused
    # with a message about the reason, never taken for "no override" in silence.
    override_attempted = bool(override_reason)
    override_reason = (override_reason or "").strip()
    loss_reason = (loss_reason or "").strip()
    if target.is_lost and not loss_reason:
        raise ValidationFailed(
            "Say why the opportunity was lost.",
            details={"loss_reason": ["A loss reason is required to close as lost."]},
        )
    for field, text in (("override_reason", override_reason), ("loss_reason", loss_reason)):
        if len(text) > MAX_TEXT:
            raise ValidationFailed(details={field: [f"Use at most {MAX_TEXT} characters."]})
    category_decision = _clean_category_on_move(forecast_category_on_move)

    missing = gate_missing(opp, target)
    may_override = access.can_override_gate(actor, opp.owner)
    used_override = ""
    if missing:
        if override_attempted and not may_override:
            raise PermissionDenied(
                "Only the owner's manager or a sales leader can override a stage gate.",
                code="override_not_allowed",
                details={
                    "missing": _missing_details(
                        opp, missing, {s.id: s for s in opp.pipeline.stages.all()}
                    )
                },
            )
        if not override_reason:
            stages = {s.id: s for s in opp.pipeline.stages.all()}
            titles = "; ".join(m.title for m in missing)
            message = (
                f"{counted(len(missing), 'required milestone')} must be met before moving to "
                f"'{target.name}': {titles}."
            )
            details: dict[str, Any] = {
                "missing": _missing_details(opp, missing, stages),
                "target_stage": target.pk,
                "can_override": may_override,
            }
            if override_attempted:  # a reason of only spaces
                message = f"An override needs a written reason; only spaces were sent. {message}"
                details["override_reason"] = [OVERRIDE_REASON_BLANK]
            raise GateNotMet(message, details=details)
        used_override = override_reason
    # After the gate, so a move that fails the gate answers the gate first; closing never asks.
    on_move = None if target.is_closed else _category_on_move(opp, target, category_decision)

    now = timezone.now()
    old_stage = opp.stage
    history = [
        _record_change(
            opp,
            field=ChangeField.STAGE,
            old=old_stage.pk,
            new=target.pk,
            old_display=old_stage.name,
            new_display=target.name,
            actor=actor,
            now=now,
            override_reason=used_override,
            note=f"Gate overridden; missing: {'; '.join(m.title for m in missing)}"
            if used_override
            else "",
        )
    ]
    fields = ["stage", "stage_entered_at", "version", "updated_at"]
    opp.stage = target
    opp.stage_entered_at = now
    new_category = opp.forecast_category
    category_note = f"Follows stage '{target.name}'"
    if target.is_won:
        new_category = ForecastCategory.CLOSED
    elif target.is_lost:
        new_category = ForecastCategory.OMITTED
    elif on_move is not None:
        new_category = on_move.category
        if on_move.replaced_override:
            category_note = (
                f"Manual override replaced by the default of stage '{target.name}' on the "
                f"stage move, by {actor.username} (it was: "
                f"{opp.forecast_category_override_reason})"
            )
            opp.forecast_category_override_reason = ""
            fields.append("forecast_category_override_reason")
    if new_category != opp.forecast_category:
        history.append(
            _category_change(opp, new_category, actor=actor, now=now, note=category_note)
        )
        opp.forecast_category = new_category
        fields.append("forecast_category")
    if target.is_closed:
        new_status = OpportunityStatus.WON if target.is_won else OpportunityStatus.LOST
        history.append(
            _record_change(
                opp,
                field=ChangeField.STATUS,
                old=opp.status,
                new=new_status,
                actor=actor,
                now=now,
                note=loss_reason,
            )
        )
        opp.status = new_status
        opp.closed_at = now
        opp.loss_reason = loss_reason if target.is_lost else ""
        opp.forecast_category_override_reason = ""
        fields += ["status", "closed_at", "loss_reason", "forecast_category_override_reason"]
    opp.version += 1
    opp.save(update_fields=fields)
    OpportunityChange.objects.bulk_create(history)
    _void_qualifications(
        opp,
        rules.qualification_void_reason(
            old_stage_order=old_stage.order, new_stage_order=target.order
        ),
        now=now,
    )
    # Its flags follow the new stage at once; closing clears them all.
    flags_refresh(now=now, opportunity_ids=[opp.pk])
    audit_record(
        actor=actor,
        action="opportunity.advanced",
        target=opp,
        data={
            "from": old_stage.pk,
            "to": target.pk,
            "override_reason": used_override,
            "forecast_category_on_move": category_decision or "",
        },
    )
    return opp


# --- pipeline: category override on stage moves ---

# The Conflict code of "keep the manual forecast category or use the stage's default?".
CATEGORY_DECISION_CODE = "category_override_decision"


def _clean_category_on_move(value: Any) -> str | None:
    """The mover's decision about a manual forecast category, or None (not given)."""
    if value is None or value == "":
        return None
    if value not in rules.CATEGORY_ON_MOVE_CHOICES:
        raise ValidationFailed(
            details={
                "forecast_category_on_move": [
                    f"Choose '{rules.KEEP_OVERRIDE}' (keep the manual forecast category) or "
                    f"'{rules.FOLLOW_STAGE}' (use the new stage's default)."
                ]
            }
        )
    return value


def _category_on_move(
    opp: Opportunity, target: Stage, decision: str | None
) -> rules.CategoryOnMove:
    """What the move does to the forecast category of `opp`; refuses (nothing saved yet)
    when a manual override meets a different stage default and nobody decided."""
    stage_default = rules.default_forecast_category(stage_category=target.forecast_category)
    on_move = rules.category_on_stage_move(
        current=opp.forecast_category,
        override_reason=opp.forecast_category_override_reason,
        stage_default=stage_default,
        decision=decision,
    )
    if on_move.needs_decision:
        current = ForecastCategory(opp.forecast_category).label
        default = ForecastCategory(stage_default).label
        reason = opp.forecast_category_override_reason
        shown_reason = reason if len(reason) <= 200 else reason[:199] + "…"
        raise Conflict(
            f"This deal's forecast category was set by hand to {current} (reason: "
            f"{shown_reason}). Stage '{target.name}' defaults to {default}. "
            f"Keep {current} or use {default}?",
            code=CATEGORY_DECISION_CODE,
            details={
                "current_category": opp.forecast_category,
                "override_reason": reason,
                "stage_default": stage_default,
                "target_stage": target.pk,
                "target_stage_name": target.name,
                "choices": [
                    {
                        "value": rules.KEEP_OVERRIDE,
                        "category": opp.forecast_category,
                        "label": f"Keep {current}",
                    },
                    {
                        "value": rules.FOLLOW_STAGE,
                        "category": stage_default,
                        "label": f"Use {default}",
                    },
                ],
            },
        )
    return on_move


@transaction.atomic
def opportunity_close_won(
    *,
    opportunity_id: int,
    actor: User,
    override_reason: str = "",
    expected_version: int | None = None,
) -> Opportunity:
    """Close as won: moves to the pipeline's won stage through the same gate."""
    opp = _lock_for(actor, opportunity_id)
    return opportunity_advance(
        opportunity_id=opp.pk,
        stage_id=_closed_stage(opp.pipeline, won=True).pk,
        actor=actor,
        override_reason=override_reason,
        expected_version=expected_version,
    )


@transaction.atomic
def opportunity_close_lost(
    *, opportunity_id: int, actor: User, loss_reason: str, expected_version: int | None = None
) -> Opportunity:
    """Close as lost: needs a loss reason; no milestone gate."""
    opp = _lock_for(actor, opportunity_id)
    return opportunity_advance(
        opportunity_id=opp.pk,
        stage_id=_closed_stage(opp.pipeline, won=False).pk,
        actor=actor,
        loss_reason=loss_reason,
        expected_version=expected_version,
    )


@transaction.atomic
def opportunity_delete(*, opportunity_id: int, actor: User) -> None:
    """Delete an opportunity and its history. Admins only (PermissionDenied otherwise)."""
    opp = _lock_for(actor, opportunity_id)
    if not actor.is_admin_role:
        raise PermissionDenied("Only an administrator can delete opportunities.")
    audit_record(
        actor=actor,
        action="opportunity.deleted",
        target=opp,
        data={"name": opp.name, "external_id": opp.external_id, "source": opp.source},
    )
    opp.delete()


@transaction.atomic
def opportunity_upsert_by_external_id(
    *, actor: User, source: str, external_id: str, data: dict[str, Any]
) -> tuple[Opportunity, bool]:
    """Create or update the opportunity known to `source` as `external_id` — syncing the
    same record twice never makes a duplicate. Returns (opportunity, created).

    Refuses like create/update. An existing record outside the actor's scope is NotFound,
    worded as reading it by external id is (selectors.opportunity_get_by_external_id_for):
    never a second copy, and no sign to an outsider that the record exists.
    """
    source = (source or "").strip()
    external_id = (external_id or "").strip()
    if not source or not external_id:
        raise ValidationFailed(details={"external_id": ["Source and external id are required."]})
    # Serialise concurrent syncs of the same record on a transaction-scoped advisory lock.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"opp:{source}:{external_id}"]
        )
    existing = Opportunity.objects.filter(source=source, external_id=external_id).first()
    if existing is None:
        # Missing required fields are refused by opportunity_create, not a TypeError.
        data = {"name": None, "account": None, "close_date": None, **data}
        opp = opportunity_create(actor=actor, source=source, external_id=external_id, **data)
        return opp, True
    if not Opportunity.objects.filter(access.owner_scope_q(actor), pk=existing.pk).exists():
        raise NotFound("No such opportunity.")
    data = {k: v for k, v in data.items() if k != "pipeline"}
    return opportunity_update(opportunity_id=existing.pk, actor=actor, **data), False


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
    opp = _lock_for(actor, opportunity_id)
    _refuse_if_closed(opp)
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
    opp = _lock_for(actor, opportunity_id)
    _refuse_if_closed(opp)
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


# --- business issues -----------------------------------------------------------


def _clean_business_issue(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned = {
        "issue": clean_text(errors, "issue", data.get("issue"), required=True, max_length=300),
        "impact": clean_text(
            errors, "impact", data.get("impact"), required=False, max_length=MAX_TEXT
        ),
        "our_value": clean_text(
            errors, "our_value", data.get("our_value"), required=False, max_length=MAX_TEXT
        ),
        "quantified_value": clean_amount(
            errors, "quantified_value", data.get("quantified_value"), required=False
        ),
    }
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def business_issue_create(
    *,
    opportunity_id: int,
    actor: User,
    issue: str,
    impact: str = "",
    our_value: str = "",
    quantified_value: Any = None,
) -> BusinessIssue:
    """Record a customer's business issue and the value we offer against it.

    Refuses: an empty issue, a negative or non-numeric quantified value, a closed opportunity.
    """
    opp = _lock_for(actor, opportunity_id)
    _refuse_if_closed(opp)
    cleaned = _clean_business_issue(
        {
            "issue": issue,
            "impact": impact,
            "our_value": our_value,
            "quantified_value": quantified_value,
        }
    )
    bi = BusinessIssue.objects.create(opportunity=opp, created_by=actor, **cleaned)
    audit_record(actor=actor, action="business_issue.created", target=opp, data={"id": bi.pk})
    return bi


@transaction.atomic
def business_issue_update(*, business_issue_id: int, actor: User, **data: Any) -> BusinessIssue:
    """Change a business issue (only the fields given) — e.g. map our value to an issue
    recorded without it. The automatic milestone "a business issue is mapped to our value"
    is read from the issues, so the gate follows at once.

    Refuses like create: an empty issue, a negative or non-numeric quantified value, a
    closed opportunity; an issue outside the actor's scope is NotFound.
    """
    bi = BusinessIssue.objects.filter(pk=business_issue_id).first()
    if bi is None:
        raise NotFound("No such business issue.")
    opp = _lock_for(actor, bi.opportunity_id)
    _refuse_if_closed(opp)
    current = {
        "issue": bi.issue,
        "impact": bi.impact,
        "our_value": bi.our_value,
        "quantified_value": bi.quantified_value,
    }
    current.update({k: v for k, v in data.items() if k in current})
    cleaned = _clean_business_issue(current)
    changed = [field for field, value in cleaned.items() if getattr(bi, field) != value]
    for field in changed:
        setattr(bi, field, cleaned[field])
    if changed:
        bi.save(update_fields=changed)
        audit_record(
            actor=actor,
            action="business_issue.updated",
            target=opp,
            data={"id": bi.pk, "fields": changed},
        )
    return bi


@transaction.atomic
def business_issue_delete(*, business_issue_id: int, actor: User) -> None:
    """Delete a business issue. Refuses a closed opportunity; outside scope is NotFound."""
    bi = BusinessIssue.objects.filter(pk=business_issue_id).first()
    if bi is None:
        raise NotFound("No such business issue.")
    opp = _lock_for(actor, bi.opportunity_id)
    _refuse_if_closed(opp)
    bi.delete()
    audit_record(
        actor=actor, action="business_issue.deleted", target=opp, data={"id": business_issue_id}
    )


# --- activities ----------------------------------------------------------------


@transaction.atomic
def activity_log(
    *,
    opportunity_id: int,
    actor: User,
    kind: str,
    subject: str,
    body: str = "",
    occurred_at: dt.datetime | None = None,
) -> Activity:
    """Log a call, meeting, email or note. Customer-facing kinds move `last_activity_at`.

    Refuses: an unknown kind, an empty subject, a time more than 5 minutes in the future.
    Activities may be logged on closed opportunities (follow-ups happen).
    """
    opp = _lock_for(actor, opportunity_id)
    errors: dict[str, list[str]] = {}
    if kind not in ActivityKind.values:
        errors["kind"] = [f"Choose one of: {', '.join(ActivityKind.values)}."]
    subject = clean_text(errors, "subject", subject, required=True, max_length=200)
    body = clean_text(errors, "body", body, required=False, max_length=MAX_TEXT)
    now = timezone.now()
    occurred_at = occurred_at or now
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at)
    if occurred_at > now + dt.timedelta(minutes=5):
        errors["occurred_at"] = ["An activity that happened cannot be in the future."]
    if errors:
        raise ValidationFailed(details=errors)
    activity = Activity.objects.create(
        opportunity=opp,
        kind=kind,
        subject=subject,
        body=body,
        occurred_at=occurred_at,
        logged_by=actor,
    )
    if kind in CUSTOMER_ACTIVITY_KINDS and (
        opp.last_activity_at is None or occurred_at > opp.last_activity_at
    ):
        opp.last_activity_at = occurred_at
        opp.save(update_fields=["last_activity_at"])
        flags_refresh(now=now, opportunity_ids=[opp.pk])  # no_activity clears at once
    audit_record(
        actor=actor,
        action="activity.logged",
        target=opp,
        data={"activity": activity.pk, "kind": kind},
    )
    return activity


# --- accounts ------------------------------------------------------------------


def _clean_account(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(errors, "name", data["name"], required=True, max_length=200)
    for field, limit in (
        ("domain", 200),
        ("industry", 100),
        ("country", 100),
        ("source", 40),
        ("external_id", 100),
    ):
        if field in data:
            cleaned[field] = clean_text(
                errors, field, data[field], required=False, max_length=limit
            )
    if "employees" in data:
        # Bounded by the column (a PositiveIntegerField): 10**11 was a 500 (DataError).
        cleaned["employees"] = clean_int(
            errors, "employees", data["employees"], required=False, maximum=MAX_INT
        )
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def account_create(*, actor: User, name: str, **data: Any) -> Account:
    """Create a customer account. Refuses an empty name or a taken (source, external_id)."""
    cleaned = _clean_account({"name": name, **data})
    if (
        cleaned.get("external_id")
        and Account.objects.filter(
            source=cleaned.get("source", ""), external_id=cleaned["external_id"]
        ).exists()
    ):
        raise ValidationFailed(
            details={"external_id": ["An account with this external id exists."]}
        )
    account = Account.objects.create(**cleaned)
    audit_record(actor=actor, action="account.created", target=account)
    return account


ACCOUNT_SHARED = "This account is used by other people's deals; ask your manager to change it."


def accounts_locked_for(user: User, account_ids: Iterable[int]) -> set[int]:
    """Of `account_ids`, the accounts `user` may not change. Accounts are one catalogue
    every deal shares (a rep renaming a customer renames it on everyone's deals): a rep
    may change an account only while no deal of someone else uses it, open or closed;
    managers, sales leaders and administrators change any (access.edits_any_account).
    The one rule the service, the pages and the API follow. One query; none for those
    who change any."""
    ids = list(account_ids)
    if not ids or access.edits_any_account(user):
        return set()
    return set(
        Opportunity.objects.filter(account_id__in=ids)
        .exclude(owner_id=user.pk)
        .values_list("account_id", flat=True)
        .distinct()
    )


def can_edit_account(user: User, account_id: int) -> bool:
    return account_id not in accounts_locked_for(user, [account_id])


@transaction.atomic
def account_update(*, account_id: int, actor: User, **data: Any) -> Account:
    """Change an account's fields. Refuses an account that is gone (NotFound), a rep
    changing an account someone else's deal uses (PermissionDenied, "account_shared";
    before any value is checked), an empty name, too long text, a bad number of employees
    and an external id another account has."""
    # The row lock also holds back a deal being put on this account meanwhile (its
    # foreign key check waits for the lock), so the check below stays true until commit.
    account = Account.objects.select_for_update().filter(pk=account_id).first()
    if account is None:
        raise NotFound("No such account.")
    if not can_edit_account(actor, account.pk):
        raise PermissionDenied(ACCOUNT_SHARED, code="account_shared")
    cleaned = _clean_account(data)
    for field, value in cleaned.items():
        setattr(account, field, value)
    if cleaned:
        try:
            with transaction.atomic():
                account.save(update_fields=list(cleaned))
        except IntegrityError as exc:
            raise ValidationFailed(
                details={"external_id": ["An account with this external id exists."]}
            ) from exc
        audit_record(
            actor=actor, action="account.updated", target=account, data={"fields": list(cleaned)}
        )
    return account


@transaction.atomic
def account_delete(*, account_id: int, actor: User) -> None:
    """Admins only; refuses while opportunities reference the account."""
    if not actor.is_admin_role:
        raise PermissionDenied("Only an administrator can delete accounts.")
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise NotFound("No such account.")
    if account.opportunities.exists():
        raise Conflict(
            "This account still has opportunities; reassign or delete them first.",
            code="account_in_use",
        )
    audit_record(actor=actor, action="account.deleted", target=account, data={"name": account.name})
    account.delete()


# --- products --------------------------------------------------------------------
# The catalogue is configuration: everyone reads it, only administrators change it.

PRODUCT_FIELDS = frozenset(
    {"name", "family", "list_price", "currency", "is_active", "source", "external_id"}
)


def can_manage_products(user: User) -> bool:
    return user.is_authenticated and user.is_admin_role


def _refuse_unless_product_admin(actor: User) -> None:
    if not can_manage_products(actor):
        raise PermissionDenied("Only an administrator can change the products.")


def _clean_product(data: dict[str, Any], *, instance: Product | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(errors, "name", data["name"], required=True, max_length=200)
        if name_taken(Product.objects.all(), cleaned["name"], instance=instance):
            errors.setdefault("name", []).append("A product with this name exists.")
    for field, limit in (("family", 100), ("source", 40), ("external_id", 100)):
        if field in data:
            cleaned[field] = clean_text(
                errors, field, data[field], required=False, max_length=limit
            )
    if "list_price" in data:
        cleaned["list_price"] = clean_amount(
            errors, "list_price", data["list_price"], required=False
        )
    if "currency" in data:
        # Optional: a product may have no list price, or one without a stated currency.
        code = str(data["currency"] or "").strip()
        cleaned["currency"] = clean_currency(errors, code) if code else ""
    if "is_active" in data:
        cleaned["is_active"] = bool(data["is_active"])
    source = cleaned.get("source", instance.source if instance else "")
    external_id = cleaned.get("external_id", instance.external_id if instance else "")
    if ({"source", "external_id"} & cleaned.keys()) and external_id:
        others = Product.objects.filter(source=source, external_id=external_id)
        if instance is not None:
            others = others.exclude(pk=instance.pk)
        if others.exists():
            errors.setdefault("external_id", []).append(
                f"A product with external id '{external_id}' from '{source}' exists."
            )
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def product_create(*, actor: User, name: str, **data: Any) -> Product:
    """Add a product to the catalogue (active unless `is_active` is false).

    Refuses: a non-administrator (PermissionDenied), an empty or taken name (whatever
    the case), a negative or non-numeric list price, a currency that is not three
    letters, a (source, external_id) already in use, fields a product does not have.
    """
    _refuse_unless_product_admin(actor)
    refuse_unknown_fields(data, allowed=PRODUCT_FIELDS - {"name"})
    cleaned = _clean_product({"name": name, **data}, instance=None)
    product = Product(**cleaned)
    save_unique(product, fields=None, field_for_conflict="name")
    audit_record(actor=actor, action="product.created", target=product)
    return product


@transaction.atomic
def product_update(*, product_id: int, actor: User, **changes: Any) -> Product:
    """Change a product; `is_active=False` takes it off the offer (deals keep it).

    Refuses like `product_create`; an unknown product is NotFound."""
    _refuse_unless_product_admin(actor)
    refuse_unknown_fields(changes, allowed=PRODUCT_FIELDS)
    product = Product.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotFound("No such product.")
    cleaned = _clean_product(changes, instance=product)
    cleaned = {k: v for k, v in cleaned.items() if getattr(product, k) != v}
    _apply_changes(product, cleaned, actor=actor, action="product.updated", unique_field="name")
    return product


@transaction.atomic
def product_delete(*, product_id: int, actor: User) -> None:
    """Remove a product nobody sold. Refuses: a non-administrator (PermissionDenied), an
    unknown product (NotFound), a product deals use (Conflict `product_in_use`:
    deactivate it instead, so their history keeps it)."""
    _refuse_unless_product_admin(actor)
    product = Product.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotFound("No such product.")
    used = product.opportunities.count()
    if used:
        raise Conflict(
            f"'{product.name}' is on {used} deal{'s' if used != 1 else ''}; deactivate it "
            "instead, so those deals keep it.",
            code="product_in_use",
            details={"opportunities": used},
        )
    audit_record(actor=actor, action="product.deleted", target=product, data={"name": product.name})
    product.delete()


# --- pipeline framework administration ------------------------------------------
# Pipelines, stages and milestones are configuration: administrators and sales leaders
# change them (access.configures_sales_process).

PIPELINE_FIELDS = frozenset({"name", "description", "is_active", "framework"})


def _refuse_unless_admin(actor: User, *, what: str = "pipelines, stages and milestones") -> None:
    if not access.configures_sales_process(actor):
        raise PermissionDenied(f"Only an administrator or a sales leader can change {what}.")


def _apply_changes(
    obj: Any, cleaned: dict[str, Any], *, actor: User, action: str, unique_field: str
) -> None:
    """Set the cleaned fields, save only those (a unique clash becomes a field error on
    `unique_field`) and audit which fields changed. Nothing to do when nothing changed."""
    for field, value in cleaned.items():
        setattr(obj, field, value)
    if cleaned:
        save_unique(obj, fields=list(cleaned), field_for_conflict=unique_field)
        audit_record(actor=actor, action=action, target=obj, data={"fields": sorted(cleaned)})


def _clean_pipeline(data: dict[str, Any], *, instance: Pipeline | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned = clean_name_and_description(
        errors, data, queryset=Pipeline.objects.all(), instance=instance,
        taken="A pipeline with this name exists.", max_description=MAX_TEXT,
    )  # fmt: skip
    if "is_active" in data:
        cleaned["is_active"] = bool(data["is_active"])
    if "framework" in data:
        cleaned["framework"] = _clean_pipeline_framework(errors, data["framework"], instance)
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


def _clean_pipeline_framework(
    errors: dict[str, list[str]], value: Any, instance: Pipeline | None
) -> QualificationFramework | None:
    """The qualification framework a pipeline names (None: none). Refuses an unknown or
    inactive framework, and a change that would strand the pipeline's automatic
    qualification milestones (they check elements of the framework in use)."""
    framework = None
    if value is not None:
        framework_id = value.pk if isinstance(value, QualificationFramework) else value
        framework = QualificationFramework.objects.filter(
            pk=framework_id
            if isinstance(framework_id, int) and not isinstance(framework_id, bool)
            else None
        ).first()
        if framework is None:
            errors.setdefault("framework", []).append("No such framework.")
            return None
        if not framework.is_active and (instance is None or instance.framework_id != framework.pk):
            errors.setdefault("framework", []).append("This framework is not active.")
    if instance is not None and instance.framework_id != (framework.pk if framework else None):
        checking = Milestone.objects.filter(
            stage__pipeline=instance, auto_check=AutoCheck.QUALIFICATION
        ).order_by("id")
        if framework is None and checking.exists():
            titles = ", ".join(f"'{m.title}'" for m in checking[:5])
            errors.setdefault("framework", []).append(
                f"Automatic qualification milestones ({titles}) need a framework."
            )
        stranded = (
            MilestoneElementLevel.objects.filter(milestone__stage__pipeline=instance)
            .exclude(element__framework=framework)
            .select_related("milestone")
            .order_by("milestone_id")
        )
        if framework is not None and stranded.exists():
            titles = ", ".join(sorted({f"'{lvl.milestone.title}'" for lvl in stranded[:5]}))
            errors.setdefault("framework", []).append(
                f"Milestones {titles} require levels of elements of another framework; "
                "change them first."
            )
    return framework


@transaction.atomic
def pipeline_create(
    *,
    actor: User,
    name: str,
    description: str = "",
    is_active: bool = True,
    framework: QualificationFramework | int | None = None,
) -> Pipeline:
    """Create a pipeline (stages are added separately). Refuses: a rep or a manager, an empty or
    taken name, an unknown or inactive qualification framework."""
    _refuse_unless_admin(actor)
    cleaned = _clean_pipeline(
        {"name": name, "description": description, "is_active": is_active, "framework": framework},
        instance=None,
    )
    pipeline = Pipeline(**cleaned)
    save_unique(pipeline, fields=None, field_for_conflict="name")
    audit_record(actor=actor, action="pipeline.created", target=pipeline)
    return pipeline


@transaction.atomic
def pipeline_update(*, pipeline_id: int, actor: User, **changes: Any) -> Pipeline:
    """Rename, describe, (de)activate a pipeline or choose its qualification framework
    (`framework`: a framework, its id, or None). Refuses: a rep or a manager, unknown fields, an
    empty or taken name, an unknown or inactive framework, removing the framework while
    automatic qualification milestones check it, changing it while milestones require
    levels of the old framework's elements."""
    _refuse_unless_admin(actor)
    refuse_unknown_fields(changes, allowed=PIPELINE_FIELDS)
    pipeline = Pipeline.objects.select_for_update().filter(pk=pipeline_id).first()
    if pipeline is None:
        raise NotFound("No such pipeline.")
    cleaned = _clean_pipeline(changes, instance=pipeline)
    _apply_changes(pipeline, cleaned, actor=actor, action="pipeline.updated", unique_field="name")
    return pipeline


STAGE_FIELDS = frozenset(
    {
        "name",
        "order",
        "probability",
        "forecast_category",
        "guidance",
        "expected_days",
        "warn_days",
        "rot_days",
        "is_won",
        "is_lost",
        "qualification_validity_days",
        "no_activity_days",
    }
)


def _clean_stage(
    data: dict[str, Any], *, pipeline: Pipeline, instance: Stage | None
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(errors, "name", data["name"], required=True, max_length=80)
    if "order" in data:
        cleaned["order"] = clean_int(
            errors, "order", data["order"], required=True, maximum=MAX_SMALL_INT
        )
    if "probability" in data:
        cleaned["probability"] = clean_int(
            errors, "probability", data["probability"], required=True, maximum=100
        )
    if "forecast_category" in data:
        category = data["forecast_category"]
        if category not in ForecastCategory.values:
            errors.setdefault("forecast_category", []).append(
                f"Choose one of: {', '.join(ForecastCategory.values)}."
            )
        cleaned["forecast_category"] = category
    if "guidance" in data:
        cleaned["guidance"] = clean_text(
            errors, "guidance", data["guidance"], required=False, max_length=MAX_TEXT
        )
    for field in ("expected_days", "warn_days", "rot_days"):
        if field in data:
            cleaned[field] = clean_int(errors, field, data[field], required=False)
    for field in ("is_won", "is_lost"):
        if field in data:
            cleaned[field] = bool(data[field])
    # Blank: the organisation's default (QUALIFICATION_VALIDITY_DAYS, NO_ACTIVITY_DAYS).
    for field in ("qualification_validity_days", "no_activity_days"):
        if field in data:
            cleaned[field] = clean_int(
                errors, field, data[field], required=False, minimum=1, maximum=MAX_SMALL_INT
            )
    if errors:
        raise ValidationFailed(details=errors)

    def final(field: str) -> Any:
        return cleaned[field] if field in cleaned else getattr(instance, field, None)

    if final("is_won") and final("is_lost"):
        errors["is_lost"] = ["A stage cannot be both won and lost."]
    warn, rot = final("warn_days"), final("rot_days")
    if warn is not None and rot is not None and warn > rot:
        errors["warn_days"] = [
            "The warning must come before the stage rots (warn_days ≤ rot_days)."
        ]
    siblings = Stage.objects.filter(pipeline=pipeline)
    if instance is not None:
        siblings = siblings.exclude(pk=instance.pk)
    if "name" in cleaned and siblings.filter(name__iexact=cleaned["name"]).exists():
        errors["name"] = [f"The pipeline '{pipeline.name}' already has a stage with this name."]
    if "order" in cleaned and siblings.filter(order=cleaned["order"]).exists():
        errors["order"] = [f"The pipeline '{pipeline.name}' already has a stage at this position."]
    if (
        instance is not None
        and ({"is_won", "is_lost"} & set(cleaned))
        and (final("is_won") != instance.is_won or final("is_lost") != instance.is_lost)
        and instance.opportunities.exists()
    ):
        errors["is_won" if "is_won" in cleaned else "is_lost"] = [
            "Opportunities are in this stage; its open/closed kind cannot change."
        ]
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def stage_create(
    *,
    actor: User,
    pipeline: Pipeline,
    name: str,
    probability: int,
    order: int | None = None,
    **data: Any,
) -> Stage:
    """Add a stage to a pipeline. Without `order`, an open stage goes just before the
    pipeline's closed (won/lost) stages and a closed one last, and the pipeline's stages
    are numbered 1…n. Refuses: a rep or a manager, a taken name or position, a probability
    outside 0-100, an unknown forecast category, a stage both won and lost, warn_days
    after rot_days, validity or no-activity days below 1, unknown fields."""
    _refuse_unless_admin(actor)
    unknown = set(data) - STAGE_FIELDS
    if unknown:
        raise ValidationFailed(details={f: ["Unknown field."] for f in sorted(unknown)})
    data.setdefault("forecast_category", ForecastCategory.PIPELINE)
    siblings: list[Stage] | None = None
    if order is None:
        siblings = _lock_stages(pipeline.pk)
        order = _parking_orders(siblings, 1)[0]
    cleaned = _clean_stage(
        {"name": name, "order": order, "probability": probability, **data},
        pipeline=pipeline,
        instance=None,
    )
    stage = Stage(pipeline=pipeline, **cleaned)
    save_unique(stage, fields=None, field_for_conflict="order")
    if siblings is not None:
        closed_at = next((i for i, s in enumerate(siblings) if s.is_closed), len(siblings))
        siblings.insert(len(siblings) if stage.is_closed else closed_at, stage)
        _renumber_stages(siblings)
    audit_record(actor=actor, action="stage.created", target=stage)
    return stage


def _lock_stages(pipeline_id: int) -> list[Stage]:
    """The pipeline's stages in order, locked; the pipeline row is locked first, so
    placing and reordering stages of one pipeline take turns."""
    if not Pipeline.objects.select_for_update().filter(pk=pipeline_id).exists():
        raise NotFound("No such pipeline.")
    return list(
        Stage.objects.select_for_update().filter(pipeline_id=pipeline_id).order_by("order", "id")
    )


def _parking_orders(stages: list[Stage], count: int) -> list[int]:
    """`count` orders that none of `stages` holds and that lie after 1…len(stages)."""
    taken = {s.order for s in stages}
    free = (o for o in range(len(stages) + 1, MAX_SMALL_INT + 1) if o not in taken)
    return [next(free) for _ in range(count)]


def _renumber_stages(ordered: list[Stage]) -> None:
    """Number `ordered` — every stage of one pipeline, locked — 1…n in that order.

    The unique (pipeline, order) constraint is checked row by row, not at the end of a
    statement, so a plain swap would clash: the stages that move are first parked on
    orders nobody holds (after n), then set to their places, which by then are free."""
    moving = [s for i, s in enumerate(ordered, start=1) if s.order != i]
    if not moving:
        return
    for stage, parked in zip(moving, _parking_orders(ordered, len(moving)), strict=True):
        stage.order = parked
    Stage.objects.bulk_update(moving, ["order"])
    for i, stage in enumerate(ordered, start=1):
        stage.order = i
    Stage.objects.bulk_update(moving, ["order"])


@transaction.atomic
def stage_move(*, stage_id: int, actor: User, position: Any) -> Stage:
    """Move a stage to `position` (1 = first) among its pipeline's stages; the stages in
    between shift by one and the pipeline's stages are numbered 1…n. Moving changes which
    stages a move skips and what counts as moving back (the gate and re-qualification
    read the order). Refuses: a rep or a manager; a position that is not a whole number from 1
    to the number of stages (ValidationFailed on `position`)."""
    _refuse_unless_admin(actor)
    pipeline_id = Stage.objects.filter(pk=stage_id).values_list("pipeline_id", flat=True).first()
    if pipeline_id is None:
        raise NotFound("No such stage.")
    stages = _lock_stages(pipeline_id)
    errors: dict[str, list[str]] = {}
    number = clean_int(errors, "position", position, required=True, minimum=1, maximum=len(stages))
    stage = next((s for s in stages if s.pk == stage_id), None)
    if stage is None:  # deleted between the two reads
        raise NotFound("No such stage.")
    if errors or number is None:
        raise ValidationFailed(details=errors)
    before = stages.index(stage) + 1
    stages.remove(stage)
    stages.insert(number - 1, stage)
    _renumber_stages(stages)
    if number != before:
        audit_record(
            actor=actor,
            action="stage.moved",
            target=stage,
            data={"from": before, "to": number, "pipeline": pipeline_id},
        )
    return stage


@transaction.atomic
def stage_update(*, stage_id: int, actor: User, **changes: Any) -> Stage:
    """Change a stage. Refuses like `stage_create`, plus moving it to another pipeline and
    turning a stage with opportunities from open to closed (or back)."""
    _refuse_unless_admin(actor)
    refuse_unknown_fields(changes, allowed=STAGE_FIELDS)
    stage = Stage.objects.select_for_update().select_related("pipeline").filter(pk=stage_id).first()
    if stage is None:
        raise NotFound("No such stage.")
    cleaned = _clean_stage(changes, pipeline=stage.pipeline, instance=stage)
    _apply_changes(stage, cleaned, actor=actor, action="stage.updated", unique_field="order")
    return stage


@transaction.atomic
def stage_delete(*, stage_id: int, actor: User) -> None:
    """Delete a stage and its milestones. Refuses: a rep or a manager, a stage that holds
    opportunities (Conflict `stage_in_use`) — move or close them first."""
    _refuse_unless_admin(actor)
    stage = Stage.objects.select_for_update().filter(pk=stage_id).first()
    if stage is None:
        raise NotFound("No such stage.")
    count = stage.opportunities.count()
    if count:
        raise Conflict(
            f"{count} opportunit{'y is' if count == 1 else 'ies are'} in the stage "
            f"'{stage.name}'; move them first.",
            code="stage_in_use",
            details={"opportunities": count},
        )
    audit_record(
        actor=actor,
        action="stage.deleted",
        target=stage,
        data={"name": stage.name, "pipeline": stage.pipeline_id},
    )
    stage.delete()


MILESTONE_FIELDS = frozenset(
    {
        "title",
        "description",
        "kind",
        "required",
        "requires_evidence",
        "auto_check",
        "completable_by",
        "order",
        "min_qualification_score",
        "element_levels",
    }
)


def _clean_milestone(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "title" in data:
        cleaned["title"] = clean_text(errors, "title", data["title"], required=True, max_length=200)
    if "description" in data:
        cleaned["description"] = clean_text(
            errors, "description", data["description"], required=False, max_length=MAX_TEXT
        )
    if "kind" in data:
        if data["kind"] not in MilestoneKind.values:
            errors["kind"] = [f"Choose one of: {', '.join(MilestoneKind.values)}."]
        cleaned["kind"] = data["kind"]
    if "auto_check" in data:
        value = data["auto_check"] or ""
        if value not in AutoCheck.values:
            errors["auto_check"] = [
                f"Choose one of: {', '.join(v for v in AutoCheck.values if v)} (or empty)."
            ]
        cleaned["auto_check"] = value
    if "completable_by" in data:
        if data["completable_by"] not in MilestoneCompleter.values:
            errors["completable_by"] = [
                f"Choose one of: {', '.join(MilestoneCompleter.values)} (an automatic "
                "milestone is ticked by nobody: set auto_check instead)."
            ]
        cleaned["completable_by"] = data["completable_by"]
    for field in ("required", "requires_evidence"):
        if field in data:
            cleaned[field] = bool(data[field])
    if "order" in data:
        cleaned["order"] = clean_int(
            errors, "order", data["order"], required=True, maximum=MAX_SMALL_INT
        )
    if "min_qualification_score" in data:
        cleaned["min_qualification_score"] = clean_int(
            errors,
            "min_qualification_score",
            data["min_qualification_score"],
            required=False,
            maximum=100,
        )
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


_UNSET: Any = object()


def _clean_element_levels(
    errors: dict[str, Any], value: Any, framework: QualificationFramework | None
) -> list[tuple[int, int]] | None:
    """[{"element": id, "min_level": 1–3}, …] as (element id, level) pairs; problems go to
    errors["element_levels"] keyed by element id (or "#<index>"), like qualification scores."""
    if not isinstance(value, list):
        errors["element_levels"] = ['Give a list of {"element": id, "min_level": 1–3}.']
        return None
    elements = (
        set(QualificationElement.objects.filter(framework=framework).values_list("id", flat=True))
        if framework is not None
        else set()
    )
    problems: dict[str, dict[str, list[str]]] = {}
    levels: dict[int, int] = {}
    for i, entry in enumerate(value):
        raw = entry.get("element") if isinstance(entry, dict) else None
        element_id = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        key = str(element_id) if element_id is not None else f"#{i}"
        mine = problems.setdefault(key, {})
        if element_id not in elements:
            mine.setdefault("element", []).append(
                f"Not an element of the framework '{framework.name}' of this pipeline."
                if framework is not None
                else "The pipeline has no qualification framework."
            )
        elif element_id in levels:
            mine.setdefault("element", []).append("Given twice.")
        level = entry.get("min_level") if isinstance(entry, dict) else None
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 3:
            mine.setdefault("min_level", []).append(
                "Enter a level from 1 to 3: 1 identified, 2 partly validated, "
                "3 validated with evidence."
            )
        if not mine:
            del problems[key]
            levels[element_id] = level  # type: ignore[index]
    if problems:
        errors["element_levels"] = problems
        return None
    return list(levels.items())


def _clean_qualification_requirement(
    cleaned: dict[str, Any], element_levels: Any, *, stage: Stage, instance: Milestone | None
) -> list[tuple[int, int]] | None:
    """Check an automatic qualification milestone's minimum score and element levels
    against its final `auto_check`; return the levels to store (None: leave them).

    Refuses: `auto_check="qualification"` on a pipeline without a framework; elements of
    another framework; a minimum score or levels on a milestone that does not check
    qualification. Turning the check off drops its minimums."""
    errors: dict[str, Any] = {}
    auto = cleaned.get("auto_check", instance.auto_check if instance is not None else "")
    framework = stage.pipeline.framework
    levels = None
    if element_levels is not _UNSET:
        levels = _clean_element_levels(errors, element_levels, framework)
    if auto == AutoCheck.QUALIFICATION:
        if framework is None:
            errors.setdefault("auto_check", []).append(
                f"The pipeline '{stage.pipeline.name}' has no qualification framework; "
                "choose one first."
            )
    else:
        if cleaned.get("min_qualification_score") is not None:
            errors.setdefault("min_qualification_score", []).append(
                "Only a milestone with auto_check 'qualification' has a minimum score."
            )
        if levels:
            errors["element_levels"] = [
                "Only a milestone with auto_check 'qualification' has element levels."
            ]
        if (
            instance is not None
            and instance.min_qualification_score is not None
            and "min_qualification_score" not in cleaned
        ):
            cleaned["min_qualification_score"] = None
        if levels is None and instance is not None and instance.auto_check:
            levels = []
    if errors:
        raise ValidationFailed(details=errors)
    return levels


def _clean_completer(cleaned: dict[str, Any], *, instance: Milestone | None) -> None:
    """An automatic milestone is ticked by nobody, so it cannot name the manager: refused
    when both are asked for; turning a manager's milestone automatic drops the manager."""
    auto = cleaned.get("auto_check", instance.auto_check if instance is not None else "")
    if not auto:
        return
    if cleaned.get("completable_by") == MilestoneCompleter.MANAGER:
        raise ValidationFailed(
            details={
                "completable_by": [
                    "An automatic milestone is checked by the system, not ticked by anyone: "
                    "leave it to the owner, or turn the automatic check off."
                ]
            }
        )
    if instance is not None and instance.completable_by != MilestoneCompleter.OWNER:
        cleaned["completable_by"] = MilestoneCompleter.OWNER


def _store_element_levels(milestone: Milestone, levels: list[tuple[int, int]] | None) -> None:
    if levels is None:
        return
    MilestoneElementLevel.objects.filter(milestone=milestone).delete()
    MilestoneElementLevel.objects.bulk_create(
        MilestoneElementLevel(milestone=milestone, element_id=element_id, min_level=level)
        for element_id, level in levels
    )


@transaction.atomic
def milestone_create(
    *, actor: User, stage: Stage, title: str, kind: str, rule_change_note: str = "", **data: Any
) -> Milestone:
    """Add a milestone (an exit criterion) to a stage. Refuses: a rep or a manager, an empty
    title, an unknown kind, automatic check or `completable_by` ("owner", the default, or
    "manager": only the owner's manager ticks it), "manager" on an automatic milestone
    (nobody ticks it), a milestone on a closed (won/lost) stage —
    closed stages have no exit criteria. Without `order` it goes last. With
    `auto_check="qualification"`:
    `min_qualification_score` (0–100) and `element_levels` ([{"element": id, "min_level":
    1–3}], elements of the pipeline's framework), refused as `_clean_qualification_requirement`
    says. A new required milestone is a new version of the stage's rules
    (`rule_changes.record_if_changed`, with `rule_change_note` as its note)."""
    _refuse_unless_admin(actor)
    unknown = set(data) - MILESTONE_FIELDS
    if unknown:
        raise ValidationFailed(details={f: ["Unknown field."] for f in sorted(unknown)})
    if stage.is_closed:
        raise ValidationFailed(details={"stage": ["A closed stage has no exit milestones."]})
    element_levels = data.pop("element_levels", _UNSET)
    cleaned = _clean_milestone({"title": title, "kind": kind, **data})
    levels = _clean_qualification_requirement(cleaned, element_levels, stage=stage, instance=None)
    _clean_completer(cleaned, instance=None)
    if "order" not in cleaned:  # last of the stage's milestones
        last = (
            Milestone.objects.filter(stage=stage)
            .order_by("-order")
            .values_list("order", flat=True)
            .first()
        )
        cleaned["order"] = 1 if last is None else min(MAX_SMALL_INT, last + 1)
    rules_before = rule_changes.gate_rules(stage.pk)
    milestone = Milestone.objects.create(stage=stage, **cleaned)
    _store_element_levels(milestone, levels)
    rule_changes.record_if_changed(
        stage=stage, before=rules_before, actor=actor, note=rule_change_note
    )
    audit_record(actor=actor, action="milestone.created", target=milestone)
    return milestone


@transaction.atomic
def milestone_update(
    *, milestone_id: int, actor: User, rule_change_note: str = "", **changes: Any
) -> Milestone:
    """Change a milestone. Refuses like `milestone_create`; its stage cannot change. A
    change to what the gate requires is a new version of the stage's rules; completions
    already made are kept."""
    _refuse_unless_admin(actor)
    refuse_unknown_fields(changes, allowed=MILESTONE_FIELDS)
    milestone = (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("stage__pipeline__framework")
        .filter(pk=milestone_id)
        .first()
    )
    if milestone is None:
        raise NotFound("No such milestone.")
    element_levels = changes.pop("element_levels", _UNSET)
    cleaned = _clean_milestone(changes)
    levels = _clean_qualification_requirement(
        cleaned, element_levels, stage=milestone.stage, instance=milestone
    )
    _clean_completer(cleaned, instance=milestone)
    rules_before = rule_changes.gate_rules(milestone.stage_id)
    for field, value in cleaned.items():
        setattr(milestone, field, value)
    if cleaned:
        milestone.save(update_fields=list(cleaned))
    _store_element_levels(milestone, levels)
    rule_changes.record_if_changed(
        stage=milestone.stage, before=rules_before, actor=actor, note=rule_change_note
    )
    if cleaned or element_levels is not _UNSET:
        fields = sorted({*cleaned, *(["element_levels"] if element_levels is not _UNSET else [])})
        audit_record(
            actor=actor, action="milestone.updated", target=milestone, data={"fields": fields}
        )
    return milestone


@transaction.atomic
def milestone_delete(*, milestone_id: int, actor: User) -> None:
    """Delete a milestone with its completions. Refuses a rep or a manager."""
    _refuse_unless_admin(actor)
    milestone = (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("stage")
        .filter(pk=milestone_id)
        .first()
    )
    if milestone is None:
        raise NotFound("No such milestone.")
    rules_before = rule_changes.gate_rules(milestone.stage_id)
    audit_record(
        actor=actor,
        action="milestone.deleted",
        target=milestone,
        data={
            "title": milestone.title,
            "stage": milestone.stage_id,
            "completions": milestone.completions.count(),
        },
    )
    stage = milestone.stage
    milestone.delete()
    rule_changes.record_if_changed(stage=stage, before=rules_before, actor=actor)


# --- qualification -------------------------------------------------------------------


def qualification_validity_days(stage: Stage) -> int:
    return stage.qualification_validity_days or settings.QUALIFICATION_VALIDITY_DAYS


def latest_valid_qualification(opp: Opportunity, *, now: dt.datetime | None = None):
    """The latest qualification if it still counts (not voided, not expired), else None."""
    latest = Qualification.objects.filter(opportunity=opp).order_by("-assessed_at", "-id").first()
    if latest is None:
        return None
    valid = rules.qualification_is_valid(
        assessed_at=latest.assessed_at,
        invalidated_at=latest.invalidated_at,
        validity_days=qualification_validity_days(opp.stage),
        now=now or timezone.now(),
    )
    return latest if valid else None


def _void_qualifications(opp: Opportunity, reason: str | None, *, now: dt.datetime) -> None:
    """Void the deal's standing qualifications when a change makes them stale."""
    if reason:
        Qualification.objects.filter(opportunity=opp, invalidated_at__isnull=True).update(
            invalidated_at=now, invalidated_reason=reason[:300]
        )


@transaction.atomic
def qualification_create(
    *, opportunity_id: int, actor: User, scores: list[dict[str, Any]], note: str = ""
) -> Qualification:
    """Assess an open opportunity: every element of its pipeline's framework scored 0–3,
    with evidence and its source for scores of 2 and 3. Kept as history; the latest counts.

    `scores` is a list of {"element": id, "score": 0–3, "evidence": str, "source": str}.
    Refuses (ValidationFailed, nothing saved): a missing element, an element given twice or
    of another framework, a score outside 0–3, missing evidence or source for a score ≥ 2.
    Refuses (Conflict) when the pipeline has no framework or the deal is closed."""
    opp = _lock_for(actor, opportunity_id)
    _refuse_if_closed(opp)
    framework_id = opp.pipeline.framework_id
    if framework_id is None:
        raise Conflict(
            f"The pipeline '{opp.pipeline.name}' has no qualification framework; an "
            "administrator or a sales leader chooses one first.",
            code="no_framework",
        )
    # FOR KEY SHARE: an element being deleted right now either finishes first (then it is
    # simply not offered) or waits for this assessment — never a foreign-key error.
    # Concurrent assessments don't block each other (key-share locks don't conflict).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM pipeline_qualificationelement WHERE framework_id = %s FOR KEY SHARE",
            [framework_id],
        )
    elements = {e.id: e for e in QualificationElement.objects.filter(framework_id=framework_id)}
    problems: dict[str, dict[str, list[str]]] = {}
    given: dict[int, dict[str, Any]] = {}
    for i, entry in enumerate(scores or []):
        raw_id = entry.get("element") if isinstance(entry, dict) else None
        element_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
        key = str(raw_id if element_id is not None else f"#{i}")
        if element_id not in elements:
            problems.setdefault(key, {}).setdefault("element", []).append(
                "Not an element of this deal's framework."
            )
            continue
        if element_id in given:
            problems.setdefault(key, {}).setdefault("element", []).append("Scored twice.")
            continue
        evidence = str(entry.get("evidence") or "").strip()
        source = str(entry.get("source") or "").strip()
        if len(evidence) > MAX_TEXT:
            problems.setdefault(key, {}).setdefault("evidence", []).append(
                f"Use at most {MAX_TEXT} characters."
            )
        for field, message in rules.score_problems(
            score=entry.get("score"), evidence=evidence, source=source
        ).items():
            problems.setdefault(key, {}).setdefault(field, []).append(message)
        given[element_id] = {"score": entry.get("score"), "evidence": evidence, "source": source}
    missing = [e for e_id, e in elements.items() if e_id not in given]
    for element in missing:
        problems.setdefault(str(element.id), {}).setdefault("score", []).append(
            f"Score '{element.name}' too (0 if unknown)."
        )
    note = (note or "").strip()
    if problems or len(note) > MAX_TEXT:
        details: dict[str, Any] = {"scores": problems} if problems else {}
        if len(note) > MAX_TEXT:
            details["note"] = [f"Use at most {MAX_TEXT} characters."]
        names = ", ".join(e.name for e in missing)
        raise ValidationFailed(
            f"Score every element; missing: {names}." if missing else "Some scores are not valid.",
            details=details,
        )
    pct = rules.weighted_score_pct(
        weighted_scores=[(elements[e_id].weight, v["score"]) for e_id, v in given.items()]
    )
    qualification = Qualification.objects.create(
        opportunity=opp,
        framework_id=framework_id,
        score_pct=pct,
        assessed_by=actor,
        assessed_at=timezone.now(),
        note=note,
    )
    # A database trigger has pointed the deal at it (migration 0008); keep `opp` in step.
    opp.latest_qualification = qualification
    QualificationScore.objects.bulk_create(
        QualificationScore(
            qualification=qualification,
            element_id=e_id,
            score=v["score"],
            # Evidence of a low score is kept only as a note; the source is meaningful ≥ 2.
            evidence=v["evidence"],
            source=v["source"] if v["source"] in EvidenceSource.values else "",
        )
        for e_id, v in given.items()
    )
    flags_refresh(opportunity_ids=[opp.pk])  # requalify_due clears at once
    audit_record(
        actor=actor,
        action="qualification.created",
        target=opp,
        data={"qualification": qualification.pk, "score_pct": str(pct)},
    )
    return qualification


# --- qualification framework administration ------------------------------------------
# Frameworks and their elements are configuration: administrators and sales leaders change
# them (access.configures_sales_process).

FRAMEWORK_FIELDS = frozenset({"name", "description", "is_active"})
ELEMENT_FIELDS = frozenset({"name", "guidance", "weight", "order"})


def _refuse_unless_admin_for_frameworks(actor: User) -> None:
    _refuse_unless_admin(actor, what="qualification frameworks")


def _clean_qualification_framework(
    data: dict[str, Any], *, instance: QualificationFramework | None
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(errors, "name", data["name"], required=True, max_length=60)
        if name_taken(QualificationFramework.objects.all(), cleaned["name"], instance=instance):
            errors.setdefault("name", []).append("A framework with this name exists.")
    if "description" in data:
        cleaned["description"] = clean_text(
            errors, "description", data["description"], required=False, max_length=MAX_TEXT
        )
    if "is_active" in data:
        cleaned["is_active"] = bool(data["is_active"])
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def framework_create(
    *, actor: User, name: str, description: str = "", is_active: bool = True
) -> QualificationFramework:
    """Create a qualification framework (elements are added separately). Refuses: a rep
    or a manager, an empty or taken name (case-insensitive)."""
    _refuse_unless_admin_for_frameworks(actor)
    cleaned = _clean_qualification_framework(
        {"name": name, "description": description, "is_active": is_active}, instance=None
    )
    framework = QualificationFramework(**cleaned)
    save_unique(framework, fields=None, field_for_conflict="name")
    audit_record(actor=actor, action="qualification_framework.created", target=framework)
    return framework


@transaction.atomic
def framework_update(*, framework_id: int, actor: User, **changes: Any) -> QualificationFramework:
    """Rename, describe or (de)activate a framework. Refuses: a rep or a manager, unknown fields,
    an empty or taken name."""
    _refuse_unless_admin_for_frameworks(actor)
    refuse_unknown_fields(changes, allowed=FRAMEWORK_FIELDS)
    framework = QualificationFramework.objects.select_for_update().filter(pk=framework_id).first()
    if framework is None:
        raise NotFound("No such framework.")
    cleaned = _clean_qualification_framework(changes, instance=framework)
    _apply_changes(
        framework,
        cleaned,
        actor=actor,
        action="qualification_framework.updated",
        unique_field="name",
    )
    return framework


def _clean_element(
    data: dict[str, Any],
    *,
    framework: QualificationFramework,
    instance: QualificationElement | None,
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(errors, "name", data["name"], required=True, max_length=80)
        siblings = QualificationElement.objects.filter(framework=framework)
        if name_taken(siblings, cleaned["name"], instance=instance):
            errors.setdefault("name", []).append(
                f"The framework '{framework.name}' already has an element with this name."
            )
    if "guidance" in data:
        cleaned["guidance"] = clean_text(
            errors, "guidance", data["guidance"], required=False, max_length=MAX_TEXT
        )
    if "weight" in data:
        cleaned["weight"] = clean_int(
            errors, "weight", data["weight"], required=True, minimum=1, maximum=100
        )
    if "order" in data:
        cleaned["order"] = clean_int(
            errors, "order", data["order"], required=True, maximum=MAX_SMALL_INT
        )
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def element_create(
    *,
    actor: User,
    framework: QualificationFramework,
    name: str,
    weight: int = 1,
    order: int | None = None,
    guidance: str = "",
) -> QualificationElement:
    """Add an element to a framework; without `order` it goes last. Refuses: a rep or a manager,
    an empty or taken name, a weight outside 1–100, an order outside 0–32767.

    The next qualification of every deal on the framework must score the new element."""
    _refuse_unless_admin_for_frameworks(actor)
    data: dict[str, Any] = {"name": name, "guidance": guidance, "weight": weight}
    if order is not None:
        data["order"] = order
    cleaned = _clean_element(data, framework=framework, instance=None)
    if "order" not in cleaned:
        last = (
            QualificationElement.objects.filter(framework=framework)
            .order_by("-order")
            .values_list("order", flat=True)
            .first()
        )
        cleaned["order"] = min(MAX_SMALL_INT, 0 if last is None else last + 1)
    element = QualificationElement(framework=framework, **cleaned)
    save_unique(element, fields=None, field_for_conflict="name")
    audit_record(actor=actor, action="qualification_element.created", target=element)
    return element


@transaction.atomic
def element_update(*, element_id: int, actor: User, **changes: Any) -> QualificationElement:
    """Rename, reweight, reorder or re-describe an element. Refuses like `element_create`;
    its framework cannot change. A new weight counts from the next qualification on
    (stored scores keep their percentage)."""
    _refuse_unless_admin_for_frameworks(actor)
    refuse_unknown_fields(changes, allowed=ELEMENT_FIELDS)
    element = (
        QualificationElement.objects.select_for_update(of=("self",))
        .select_related("framework")
        .filter(pk=element_id)
        .first()
    )
    if element is None:
        raise NotFound("No such element.")
    cleaned = _clean_element(changes, framework=element.framework, instance=element)
    _apply_changes(
        element, cleaned, actor=actor, action="qualification_element.updated", unique_field="name"
    )
    return element


@transaction.atomic
def element_delete(*, element_id: int, actor: User) -> None:
    """Delete an element. Refuses: a rep or a manager; an element that qualifications scored
    (Conflict `element_in_use`: the history keeps its scores — rename it instead) or that
    an automatic milestone requires a level of (remove the requirement first)."""
    _refuse_unless_admin_for_frameworks(actor)
    # The row lock waits for a qualification being saved with a score of this element
    # (its foreign-key check holds a share lock on the row), so the count below sees it.
    element = QualificationElement.objects.select_for_update().filter(pk=element_id).first()
    if element is None:
        raise NotFound("No such element.")
    scores = QualificationScore.objects.filter(element=element).count()
    levels = list(
        MilestoneElementLevel.objects.filter(element=element)
        .order_by("milestone_id")
        .values_list("milestone_id", "milestone__title", "milestone__stage__name")
    )
    if scores or levels:
        reasons = []
        if scores:
            reasons.append(
                f"{scores} qualification score{'' if scores == 1 else 's'} use it (the "
                "history keeps them: rename it instead)"
            )
        if levels:
            named = ", ".join(f"'{title}' ({stage})" for _, title, stage in levels[:5])
            more = f" and {len(levels) - 5} more" if len(levels) > 5 else ""
            reasons.append(
                f"the milestone{'s' if len(levels) > 1 else ''} {named}{more} require"
                f"{'' if len(levels) > 1 else 's'} a minimum level of it (remove that "
                "minimum in the pipeline setup first)"
            )
        raise Conflict(
            f"The element '{element.name}' cannot be removed: {'; '.join(reasons)}.",
            code="element_in_use",
            details={"scores": scores, "milestones": [pk for pk, _, _ in levels]},
        )
    audit_record(
        actor=actor,
        action="qualification_element.deleted",
        target=element,
        data={"name": element.name, "framework": element.framework_id},
    )
    element.delete()


# --- pipeline templates ----------------------------------------------------------------


def _clean_template(template: Any, errors: dict[str, list[str]]) -> Blueprint | None:
    blueprint = BLUEPRINTS.get(template) if isinstance(template, str) else None
    if blueprint is None:
        errors.setdefault("template", []).append(f"Choose one of: {', '.join(BLUEPRINTS)}.")
    return blueprint


def _template_framework(
    actor: User, blueprint: Blueprint
) -> tuple[QualificationFramework, dict[str, QualificationElement]]:
    """The framework the template names, with its elements by name (case-insensitive).
    Recreated from the standard definition, through the framework services, when it was
    deleted; refused when it is inactive or lacks an element the template's milestones
    set a minimum for — changing an administrator's framework behind their back would
    change every deal assessed with it."""
    name = blueprint.framework or ""
    framework = QualificationFramework.objects.filter(name__iexact=name).first()
    if framework is None:
        framework = framework_create(actor=actor, name=name)
        for order, element in enumerate(FRAMEWORKS[name], start=1):
            element_create(
                actor=actor,
                framework=framework,
                name=element,
                guidance=STANDARD_ELEMENTS[element],
                order=order,
            )
    elif not framework.is_active:
        raise ValidationFailed(
            details={
                "template": [
                    f"This template assesses deals with the framework '{framework.name}', "
                    "which is inactive: activate it first, or start from the blank template."
                ]
            }
        )
    elements = {e.name.casefold(): e for e in framework.elements.all()}
    needed = {
        element
        for stage in blueprint.stages
        for milestone in stage.milestones
        for element, _ in milestone.levels
    }
    missing = sorted(e for e in needed if e.casefold() not in elements)
    if missing:
        raise ValidationFailed(
            details={
                "template": [
                    f"The framework '{framework.name}' has no element "
                    f"{', '.join(repr(e) for e in missing)}, which the template's milestones "
                    "set minimums for: add it back, or start from the blank template."
                ]
            }
        )
    return framework, elements


def _template_milestone_data(
    seed: MilestoneSeed, elements: dict[str, QualificationElement]
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "description": seed.description,
        "required": seed.required,
        "requires_evidence": seed.requires_evidence,
        "auto_check": seed.auto_check,
        "completable_by": seed.completable_by,
    }
    if seed.auto_check == AutoCheck.QUALIFICATION:
        data["min_qualification_score"] = seed.min_score
        data["element_levels"] = [
            {"element": elements[name.casefold()].pk, "min_level": level}
            for name, level in seed.levels
        ]
    return data


@transaction.atomic
def pipeline_create_from_template(*, actor: User, template: Any, name: Any) -> Pipeline:
    """Create a pipeline named `name` from a template of pipeline.blueprints ("new_business"
    or "blank"): its stages in order with their probabilities, forecast categories,
    guidance and day limits; their milestones with automatic checks and qualification
    minimums; and the template's qualification framework, recreated from the standard
    definition (pipeline.standard_frameworks) when it was deleted. Every row is written by
    the services the pages and the API use (pipeline_create, stage_create,
    milestone_create, framework_create, element_create): the same validation, the same
    audit trail.

    Refuses, writing nothing: a rep or a manager; an unknown template (`template`); an empty or
    taken name (`name`); a template framework that is inactive or lacks an element the
    template's milestones set a minimum for (`template`, saying which)."""
    _refuse_unless_admin(actor)
    errors: dict[str, list[str]] = {}
    blueprint = _clean_template(template, errors)
    try:
        _clean_pipeline({"name": name}, instance=None)
    except ValidationFailed as exc:
        errors.update(exc.details)
    if errors or blueprint is None:
        raise ValidationFailed(details=errors)
    framework, elements = (
        _template_framework(actor, blueprint) if blueprint.framework else (None, {})
    )
    pipeline = pipeline_create(
        actor=actor, name=name, description=blueprint.description, framework=framework
    )
    for order, spec in enumerate(blueprint.stages, start=1):
        stage = stage_create(
            actor=actor,
            pipeline=pipeline,
            name=spec.name,
            order=order,
            probability=spec.probability,
            forecast_category=spec.category,
            guidance=spec.guidance,
            expected_days=spec.expected,
            warn_days=spec.warn,
            rot_days=spec.rot,
            is_won=spec.is_won,
            is_lost=spec.is_lost,
        )
        for position, seed in enumerate(spec.milestones, start=1):
            milestone_create(
                actor=actor,
                stage=stage,
                title=seed.title,
                kind=seed.kind,
                order=position,
                **_template_milestone_data(seed, elements),
            )
    audit_record(
        actor=actor,
        action="pipeline.created_from_template",
        target=pipeline,
        data={"template": blueprint.key},
    )
    return pipeline
