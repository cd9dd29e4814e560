"""What the demo's deal history is made of, shared by its parts: the rows it collects
(Rows), a deal's journey through the stages (Journey), a stage's qualification gate (Gate),
and HistoryBase — the drawing state and the helpers that record a moment or a change."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from demo.company.cast import Experiment
from pipeline import rule_changes
from pipeline.models import (
    Activity,
    BusinessIssue,
    Milestone,
    MilestoneCompletion,
    Opportunity,
    OpportunityChange,
    Qualification,
    QualificationElement,
    QualificationScore,
    Stage,
)
from salesops.models import User


@dataclass
class Rows:
    opportunities: list[Opportunity] = field(default_factory=list)
    changes: list[OpportunityChange] = field(default_factory=list)
    completions: list[MilestoneCompletion] = field(default_factory=list)
    issues: list[BusinessIssue] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    qualifications: list[Qualification] = field(default_factory=list)
    scores: list[QualificationScore] = field(default_factory=list)
    created_at: dict[int, dt.datetime] = field(default_factory=dict)  # id(opp) -> when


@dataclass(frozen=True)
class Journey:
    """When a deal went through which stages — drawn before any of its rows."""

    outcome: str  # "open", "won" or "lost"
    path: list[Stage]  # the open stages it entered, in order
    entered: list[dt.datetime]  # when it entered each of them
    left: list[dt.datetime]  # when it left each (the last: when it closed, or now)
    closed_at: dt.datetime | None

    @property
    def created(self) -> dt.datetime:
        return self.entered[0]

    @property
    def exits(self) -> int:
        """How many stages it left forward (all of a won deal's)."""
        return len(self.path) if self.outcome == "won" else len(self.path) - 1


@dataclass(frozen=True)
class Gate:
    """What a stage's automatic qualification milestone asks of a deal leaving it."""

    min_score: int
    levels: dict[int, int]  # element id -> minimum level


class HistoryBase:
    """The state History draws a deal's past from, and the helpers its parts share."""

    def __init__(
        self,
        rng: random.Random,
        now: dt.datetime,
        stages: list[Stage],
        milestones: dict[int, list[Milestone]],
        rows: Rows,
        elements: list[QualificationElement],
        experiment: Experiment | None = None,
    ) -> None:
        self.rng, self.now, self.rows = rng, now, rows
        self.open_stages = [s for s in stages if not s.is_closed]
        self.won = next(s for s in stages if s.is_won)
        self.lost = next(s for s in stages if s.is_lost)
        self.milestones = milestones
        self.elements = elements
        self.experiment = experiment
        self.gates = {
            stage.pk: Gate(min_score=rule.min_score, levels=dict(rule.levels))
            for stage in self.open_stages
            for rule in rule_changes.gate_rules(stage.pk).values()
            if rule.min_score is not None
        }

    def _at(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        """A moment between start and end (business-hours-ish, never after now)."""
        if end <= start:
            return start
        moment = start + (end - start) * self.rng.random()
        return min(moment, self.now - dt.timedelta(minutes=5))

    def _change(
        self, opp: Opportunity, f: str, old: Any, new: Any, by: User, at: dt.datetime, **extra: Any
    ) -> None:
        old_s = "" if old is None else (old.isoformat() if isinstance(old, dt.date) else str(old))
        new_s = new.isoformat() if isinstance(new, dt.date) else str(new)
        self.rows.changes.append(
            OpportunityChange(
                opportunity=opp,
                field=f,
                old_value=old_s,
                new_value=new_s,
                old_display=extra.pop("old_display", old_s),
                new_display=extra.pop("new_display", new_s),
                changed_by=by,
                changed_at=at,
                **extra,
            )
        )

    def _gate(self, stage: Stage, at: dt.datetime) -> Gate | None:
        """The qualification gate of `stage` as it stood at `at` (before the experiment's
        change, its old minimum score)."""
        gate, experiment = self.gates.get(stage.pk), self.experiment
        if (
            gate is not None
            and experiment is not None
            and stage.pk == experiment.stage_id
            and at < experiment.at
            and experiment.min_score_before is not None
        ):
            return Gate(min_score=experiment.min_score_before, levels=gate.levels)
        return gate
