"""Importing opportunities from a CRM export — the same services as every other path.

Each row goes through `services.opportunity_upsert_by_external_id` (so a re-import
never duplicates) and, when the row names a stage, `services.opportunity_advance`
(so the gate holds for imports exactly as on the page and the API). A row is saved
whole or not at all; a refused row is reported with its line and the reason.

A forecast category set by hand: a stage move that would change it asks on the page and
the API (409 `category_override_decision`), but an import cannot ask. The optional column
`forecast_category_on_move` answers for the row (`keep` or `follow`, as in the API); when
it is empty or absent the import keeps the manual category — the safe side: nobody loses a
judgement they wrote down — and reports the row in `ImportReport.warnings` ("kept the
manual forecast category Commit …"). Any other value refuses the row.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.db import transaction

from pipeline import rules, services
from pipeline.models import Account, ForecastCategory, Stage
from salesops.exceptions import ApplicationError, Conflict, ValidationFailed
from salesops.models import User

COLUMNS = (
    "external_id", "name", "account", "amount", "currency", "close_date", "owner",
    "next_step", "next_step_date", "stage", "loss_reason", "forecast_category_on_move",
)  # fmt: skip
REQUIRED_COLUMNS = ("external_id", "name", "account", "close_date")


@dataclass
class RowFailure:
    line: int
    external_id: str
    code: str
    message: str
    details: dict[str, Any]


@dataclass
class RowWarning:
    """A row that was imported, with something the importer should know about it."""

    line: int
    external_id: str
    code: str
    message: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    moved: int = 0
    failures: list[RowFailure] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    rolled_back: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures


class _RollBack(Exception):
    """Raised to undo an all-or-nothing import that had failures."""


def opportunities_import_csv(
    *, actor: User, source: str, stream: TextIO, all_or_nothing: bool = False
) -> ImportReport:
    """Import a CSV with a header row (see COLUMNS). Refuses a file without the
    required columns before touching anything."""
    reader = csv.DictReader(stream)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown:
        details: dict[str, list[str]] = {}
        if missing:
            details["columns"] = [f"Missing required column(s): {', '.join(missing)}."]
        if unknown:
            details.setdefault("columns", []).append(
                f"Unknown column(s): {', '.join(unknown)}. Known: {', '.join(COLUMNS)}."
            )
        raise ValidationFailed("The file's header is not an opportunity export.", details=details)
    rows = (
        (line, {(k or "").strip(): (v or "").strip() for k, v in row.items()})
        for line, row in enumerate(reader, start=2)
    )
    return opportunities_import(
        actor=actor, source=source, rows=rows, all_or_nothing=all_or_nothing
    )


def opportunities_import(
    *,
    actor: User,
    source: str,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    all_or_nothing: bool = False,
) -> ImportReport:
    """Upsert each (line, row); with `all_or_nothing`, any failure undoes every row."""
    source = (source or "").strip()
    if not source:
        raise ValidationFailed(details={"source": ["Name the system the rows come from."]})
    report = ImportReport()
    try:
        with transaction.atomic():
            for line, row in rows:
                _import_row(actor=actor, source=source, line=line, row=row, report=report)
            if all_or_nothing and report.failures:
                raise _RollBack
    except _RollBack:
        report.rolled_back = True
        report.created = report.updated = report.moved = 0
        report.warnings = []  # nothing was kept, so there is nothing to warn about
    return report


def _import_row(
    *, actor: User, source: str, line: int, row: Mapping[str, str], report: ImportReport
) -> None:
    external_id = row.get("external_id", "")
    try:
        with transaction.atomic():  # the row is saved whole or not at all
            data: dict[str, Any] = {
                k: row[k]
                for k in ("name", "amount", "currency", "close_date", "next_step", "next_step_date")
                if k in row and (row[k] or k in ("next_step", "next_step_date"))
            }
            data["account"] = _account_for(actor, row.get("account", ""))
            if row.get("owner"):
                data["owner"] = _owner_for(row["owner"])
            opp, created = services.opportunity_upsert_by_external_id(
                actor=actor, source=source, external_id=external_id, data=data
            )
            stage_name = row.get("stage", "")
            moved = False
            warning = None
            if stage_name and stage_name.casefold() != opp.stage.name.casefold():
                target = _stage_for(opp.pipeline_id, stage_name)
                warning = _advance(actor=actor, opp_id=opp.pk, target=target, row=row)
                moved = True
    except ApplicationError as exc:
        report.failures.append(RowFailure(line, external_id, exc.code, exc.message, exc.details))
        return
    if warning:
        report.warnings.append(RowWarning(line, external_id, *warning))
    report.created += created
    report.updated += not created
    report.moved += moved


# --- pipeline: category override on stage moves ---


def _advance(
    *, actor: User, opp_id: int, target: Stage, row: Mapping[str, str]
) -> tuple[str, str] | None:
    """Move the row's opportunity; when the service asks about a manual forecast category
    and the row does not answer, keep it and return a warning (code, message)."""
    move = functools.partial(
        services.opportunity_advance,
        opportunity_id=opp_id, stage_id=target.pk, actor=actor,
        loss_reason=row.get("loss_reason", ""),
    )  # fmt: skip
    decision = row.get("forecast_category_on_move") or None
    try:
        move(forecast_category_on_move=decision)
    except Conflict as exc:
        if exc.code != services.CATEGORY_DECISION_CODE:
            raise
        # The refused call saved nothing (its savepoint is rolled back); ask no one, keep.
        move(forecast_category_on_move=rules.KEEP_OVERRIDE)
        current = ForecastCategory(exc.details["current_category"]).label
        default = ForecastCategory(exc.details["stage_default"]).label
        return (
            "kept_manual_forecast_category",
            f"Kept the manual forecast category {current} (reason: "
            f"{exc.details['override_reason'][:200]}); stage '{target.name}' defaults to "
            f"{default}. Set forecast_category_on_move to 'follow' to use the default.",
        )
    return None


def _account_for(actor: User, name: str) -> Account:
    name = name.strip()
    if not name:
        raise ValidationFailed(details={"account": ["This field is required."]})
    account = Account.objects.filter(name__iexact=name).order_by("id").first()
    return account or services.account_create(actor=actor, name=name)


def _owner_for(username: str) -> User:
    owner = User.objects.filter(username=username).first()
    if owner is None:
        raise ValidationFailed(details={"owner": [f"No user named '{username}'."]})
    return owner


def _stage_for(pipeline_id: int, name: str) -> Stage:
    stage = Stage.objects.filter(pipeline_id=pipeline_id, name__iexact=name).first()
    if stage is None:
        names = ", ".join(
            Stage.objects.filter(pipeline_id=pipeline_id).values_list("name", flat=True)
        )
        raise ValidationFailed(
            details={"stage": [f"No stage '{name}' in this pipeline. Stages: {names}."]}
        )
    return stage
