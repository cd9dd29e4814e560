"""Positions: a title, a team, a hiring manager and the scorecard template its candidates
are assessed on."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from hiring.models import (
    Position,
    PositionStatus,
    ScorecardTemplate,
)
from hiring.services.common import by_id, refuse_unless_recruiter
from salesops.cleaning import (
    clean_text,
    query_int,
    refuse_unknown_fields,
)
from salesops.exceptions import Conflict, ValidationFailed
from salesops.models import Role, Team, User
from salesops.services import audit_record

# --- positions ----------------------------------------------------------------------


def _clean_position(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "title" in data:
        cleaned["title"] = clean_text(errors, "title", data["title"], required=True, max_length=120)
    if "team" in data:
        cleaned["team"] = Team.objects.filter(pk=query_int(data["team"]) or 0).first()
        if cleaned["team"] is None:
            errors["team"] = ["Choose a team."]
    if "hiring_manager" in data:
        manager = User.objects.filter(
            pk=query_int(data["hiring_manager"]) or 0,
            is_active=True,
            role__in=[Role.MANAGER, Role.LEADER, Role.ADMIN],
        ).first()
        if manager is None:
            errors["hiring_manager"] = ["Choose an active manager, leader or administrator."]
        cleaned["hiring_manager"] = manager
    if "template" in data:
        cleaned["template"] = ScorecardTemplate.objects.filter(
            pk=query_int(data["template"]) or 0
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
    refuse_unless_recruiter(actor, "open positions")
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
    refuse_unless_recruiter(actor, "change positions")
    refuse_unknown_fields(
        changes, allowed=frozenset({"title", "team", "hiring_manager", "template", "status"})
    )
    position = by_id(Position.objects.all(), position_id, "position", lock=True)
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
