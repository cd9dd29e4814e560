"""Importing opportunities from a CRM export — the same services as every other path.

Each row goes through `services.opportunity_upsert_by_external_id` (so a re-import
never duplicates) and, when the row names a stage, `services.opportunity_advance`
(so the gate holds for imports exactly as on the page and the API). A row is saved
whole or not at all; a refused row is reported with its line and the reason.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.db import transaction

from pipeline import services
from pipeline.models import Account, Stage
from salesops.exceptions import ApplicationError, ValidationFailed
from salesops.models import User

COLUMNS = (
    "external_id", "name", "account", "amount", "currency", "close_date", "owner",
    "next_step", "next_step_date", "stage", "loss_reason",
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
class ImportReport:
    created: int = 0
    updated: int = 0
    moved: int = 0
    failures: list[RowFailure] = field(default_factory=list)
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
            if stage_name and stage_name.casefold() != opp.stage.name.casefold():
                target = _stage_for(opp.pipeline_id, stage_name)
                services.opportunity_advance(
                    opportunity_id=opp.pk, stage_id=target.pk, actor=actor,
                    loss_reason=row.get("loss_reason", ""),
                )  # fmt: skip
                moved = True
    except ApplicationError as exc:
        report.failures.append(RowFailure(line, external_id, exc.code, exc.message, exc.details))
        return
    report.created += created
    report.updated += not created
    report.moved += moved


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
