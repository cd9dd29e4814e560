"""Every write of the import: a batch from upload to undo. The pages, the API, the command
and the Celery task call these functions, so an import runs the same rules on every path.

The steps of a batch:
1. `batch_upload` keeps the file, reads its shape (encoding, delimiter, header) and proposes
   a mapping: the one saved for this source and kind, else the columns' names.
2. `batch_configure` takes the user's mapping, value mappings (stages, owners) and options.
3. `batch_preview` reads every row as the import will, writing nothing.
4. `batch_start` imports at once, or queues the Celery task for large files;
   `batch_run` is the import itself (one transaction: a failure leaves nothing behind).
5. `batch_undo` deletes what a batch created, when it only created records.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.http import StreamingHttpResponse
from django.utils import timezone

from exchange import catalogue_import, deal_import, people_import
from exchange.engine import ImportPass, Outcome
from exchange.models import BatchStatus, ImportBatch, ImportMapping
from exchange.options import parse_options
from exchange.reading import FileShape, file_shape, read_rows
from exchange.rules import FIELDS, ImportKind, field_names, propose_mapping, required_fields
from pipeline import bulk
from salesops import audit_context
from salesops import people as salesops_people
from salesops.audit_context import Channel
from salesops.cleaning import clean_text
from salesops.columns import Column
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.exports import csv_stream, export_filename
from salesops.models import User
from salesops.outbox import enqueue_on_commit
from salesops.services import audit_record

RUN_TASK = "exchange.import_batch_run"  # exchange/tasks.py
# Tests only: seconds to wait at each progress step of a run (ignored unless TESTING).
TEST_DELAY_ENV = "SALESOPS_IMPORT_TEST_DELAY"
PROGRESS_KEY = "exchange:progress:{}"
# What the page and the report show at most; the download has every rejected row.
MAX_STORED_PROBLEMS = 5_000


def refuse_unless_importer(actor: User, kind: ImportKind) -> None:
    """People become users who can sign in: admins only. Accounts, products and deals:
    admins and sales leaders (they see the whole company)."""
    if kind == ImportKind.PEOPLE and not actor.is_admin_role:
        raise PermissionDenied("Only administrators can import people.", code="import_not_allowed")
    bulk.refuse_unless_importer(actor)


def _kind(value: Any) -> ImportKind:
    try:
        return ImportKind(value)
    except ValueError:
        raise ValidationFailed(
            details={"kind": [f"Choose one of: {', '.join(k.value for k in ImportKind)}."]}
        ) from None


def _shape(batch: ImportBatch) -> FileShape:
    return FileShape(batch.encoding, batch.delimiter, list(batch.header), batch.row_count)


def _rows(batch: ImportBatch) -> Callable[[], Iterator[tuple[int, dict[str, str]]]]:
    """A fresh pass over the batch's rows, cells keyed by our field names."""
    content = bytes(batch.content)
    shape = _shape(batch)
    mapping = {column: name for column, name in batch.mapping.items() if name}

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for line, cells in read_rows(content, shape):
            yield line, {name: cells.get(column, "") for column, name in mapping.items()}

    return rows


# --- 1. upload ---


@transaction.atomic
def batch_upload(
    *, actor: User, kind: str, source: str, file_name: str, content: bytes
) -> ImportBatch:
    """Keep a file for import and propose its mapping. Refuses an unknown kind, a blank
    source, a file over the size limit, an empty or unreadable file (ValidationFailed on
    the field), and actors who may not import this kind."""
    kind = _kind(kind)
    refuse_unless_importer(actor, kind)
    errors: dict[str, list[str]] = {}
    source = clean_text(errors, "source", source, required=True, max_length=40)
    file_name = (file_name or "upload.csv").strip()[:255]
    if len(content) > settings.IMPORT_MAX_FILE_BYTES:
        errors.setdefault("file", []).append(
            f"The file is {len(content) / 1e6:.1f} MB; at most "
            f"{settings.IMPORT_MAX_FILE_BYTES / 1e6:.0f} MB can be imported at once. Split it."
        )
    if errors:
        raise ValidationFailed(details=errors)
    shape = file_shape(content)
    saved = ImportMapping.objects.filter(kind=kind.value, source__iexact=source).first()
    samples: dict[str, str] = {}
    for _, cells in itertools.islice(read_rows(content, shape), 50):
        for column, value in cells.items():
            if value.strip() and column not in samples:
                samples[column] = value.strip()[:80]
    batch = ImportBatch.objects.create(
        kind=kind.value,
        source=source,
        file_name=file_name,
        file_size=len(content),
        content=content,
        encoding=shape.encoding,
        delimiter=shape.delimiter,
        header=shape.header,
        row_count=shape.row_count,
        mapping=propose_mapping(kind, shape.header, saved.mapping if saved else None),
        value_maps=saved.value_maps if saved else {},
        options=saved.options if saved else {},
        preview={"column_samples": samples},
        created_by=actor,
        created_at=timezone.now(),
        warnings=[{"line": 0, "field": "file", "message": shape.note}] if shape.note else [],
    )
    audit_record(
        actor=actor,
        action="import.uploaded",
        target=batch,
        data={"kind": kind.value, "rows": shape.row_count, "file": file_name},
    )
    return batch


# --- 2. the mapping ---


def _batch_for_change(actor: User, batch_id: int) -> ImportBatch:
    batch = ImportBatch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("No such import.")
    refuse_unless_importer(actor, ImportKind(batch.kind))
    return batch


def _clean_mapping(kind: ImportKind, header: list[str], mapping: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    known = set(field_names(kind))
    clean: dict[str, str] = {}
    for column, name in mapping.items():
        name = (name or "").strip()
        if column not in header:
            errors.setdefault("mapping", []).append(f"The file has no column '{column}'.")
        elif name and name not in known:
            errors.setdefault("mapping", []).append(
                f"'{column}': '{name}' is not a field of {kind.value}."
            )
        else:
            clean[column] = name
    for column in header:
        clean.setdefault(column, "")
    used: dict[str, str] = {}
    for column, name in clean.items():
        if name and name in used:
            errors.setdefault("mapping", []).append(
                f"'{column}' and '{used[name]}' are both mapped to {name}; choose one."
            )
        used.setdefault(name, column)
    missing = [name for name in required_fields(kind) if name not in used]
    if missing:
        labels = {f.name: f.label for f in FIELDS[kind]}
        errors.setdefault("mapping", []).append(
            "Map a column to: " + ", ".join(labels[m] for m in missing) + "."
        )
    if errors:
        raise ValidationFailed("The mapping is not complete.", details=errors)
    return clean


def _clean_value_maps(value_maps: dict[str, Any]) -> dict[str, dict[str, int | str]]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, dict[str, int | str]] = {}
    for field_name, values in (value_maps or {}).items():
        if field_name not in ("stage", "owner") or not isinstance(values, dict):
            errors.setdefault("value_maps", []).append(f"'{field_name}' has no value mapping.")
            continue
        clean[field_name] = {}
        for value, target in values.items():
            if target in ("", None):
                continue
            try:
                clean[field_name][str(value)] = int(target)
            except (TypeError, ValueError):
                errors.setdefault("value_maps", []).append(
                    f"{field_name} '{value}': '{target}' is not an id."
                )
    if errors:
        raise ValidationFailed(details=errors)
    return clean


@transaction.atomic
def batch_configure(
    *,
    actor: User,
    batch_id: int,
    mapping: dict[str, Any] | None = None,
    value_maps: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> ImportBatch:
    """Set the columns' fields, the value mappings and the options of a batch not yet
    imported (each left as it is when not given). Refuses a column the file does not
    have, an unknown field, two columns on one field, a required field left unmapped,
    unknown options (ValidationFailed), and a batch already imported (Conflict)."""
    batch = _batch_for_change(actor, batch_id)
    if batch.status != BatchStatus.DRAFT:
        raise Conflict("This import has already run.", code="import_not_draft")
    kind = ImportKind(batch.kind)
    if mapping is not None:
        batch.mapping = _clean_mapping(kind, list(batch.header), mapping)
    if value_maps is not None:
        batch.value_maps = _clean_value_maps(value_maps)
    if options is not None:
        batch.options = parse_options(options).as_json()
    batch.save(update_fields=["mapping", "value_maps", "options"])
    given = {"mapping": mapping, "value_maps": value_maps, "options": options}
    audit_record(
        actor=actor,
        action="import.configured",
        target=batch,
        data={"set": sorted(name for name, value in given.items() if value is not None)},
    )
    return batch


# --- 3./4. preview and import ---


@dataclass
class Report:
    """What a preview found or an import did."""

    batch: ImportBatch
    counts: dict[str, int]
    problems: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    sample: list[dict[str, Any]] = field(default_factory=list)
    new_accounts: int = 0
    new_products: list[str] = field(default_factory=list)
    unknown_owners: dict[str, int] = field(default_factory=dict)
    unmapped_stages: dict[str, int] = field(default_factory=dict)
    stage_matches: dict[str, int | None] = field(default_factory=dict)
    stage_values: dict[str, int] = field(default_factory=dict)
    owner_values: dict[str, int] = field(default_factory=dict)
    date_questions: dict[str, dict[str, Any]] = field(default_factory=dict)
    decimal_comma: bool = False
    new_teams: list[str] = field(default_factory=list)


def _engine(
    batch: ImportBatch, actor: User, *, write: bool, progress: Callable[[int], None] | None
) -> ImportPass:
    """The import of the batch's kind; each has the same constructor and `run() ->
    Outcome`, one pass for the preview (write=False) and the import."""
    engine = {
        ImportKind.OPPORTUNITIES: deal_import.DealImport,
        ImportKind.PEOPLE: people_import.PeopleImport,
        ImportKind.ACCOUNTS: catalogue_import.AccountImport,
        ImportKind.PRODUCTS: catalogue_import.ProductImport,
    }[ImportKind(batch.kind)]
    return engine(
        actor=actor,
        source=batch.source,
        rows=_rows(batch),
        value_maps=batch.value_maps,
        options=parse_options(batch.options),
        write=write,
        note=f"Imported from {batch.source} (import #{batch.pk}, {batch.file_name})",
        progress=progress,
    )


def _problem_dicts(batch: ImportBatch, problems: list[deal_import.Problem]) -> list[dict]:
    columns = {name: column for column, name in batch.mapping.items() if name}
    return [
        {
            "line": p.line,
            "field": p.field,
            "column": columns.get(p.field, ""),
            "message": p.message,
        }
        for p in problems[:MAX_STORED_PROBLEMS]
    ]


def _report(batch: ImportBatch, outcome: Outcome) -> Report:
    facts = outcome.facts
    questions = {}
    if facts is not None:
        options = parse_options(batch.options)
        for name, guess in facts.date_guesses.items():
            if name in options.date_orders:
                continue
            if guess.ambiguous or guess.conflicting:
                questions[name] = {
                    "ambiguous": guess.ambiguous,
                    "conflicting": guess.conflicting,
                    "slashed": guess.slashed,
                    "example": guess.example,
                }
    return Report(
        batch=batch,
        # The rows' counts, then what a kind counts besides (people: teams, invitations).
        counts={k: outcome.counts.get(k, 0) for k in
                ("created", "updated", "moved", "unchanged", "rejected")}
        | {k: n for k, n in sorted(outcome.counts.items()) if k not in _ROW_COUNTS},
        problems=_problem_dicts(batch, outcome.problems),
        warnings=_problem_dicts(batch, outcome.warnings),
        sample=outcome.sample,
        new_accounts=len(outcome.new_accounts),
        new_products=sorted(outcome.new_products),
        unknown_owners=dict(outcome.unknown_owners.most_common()),
        unmapped_stages=dict(outcome.unmapped_stages.most_common()),
        stage_matches=outcome.stage_matches,
        stage_values=dict(facts.stage_values.most_common()) if facts else {},
        owner_values=dict(facts.owner_values.most_common()) if facts else {},
        date_questions=questions,
        decimal_comma=facts.decimal_comma if facts else False,
        new_teams=sorted(outcome.new_teams),
    )  # fmt: skip


_ROW_COUNTS = frozenset({"created", "updated", "moved", "unchanged", "rejected"})


def report_json(report: Report) -> dict[str, Any]:
    """A report as the batch keeps it (dates as ISO text, amounts as strings)."""
    data = asdict(report)
    data.pop("batch")
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def batch_preview(*, actor: User, batch_id: int) -> Report:
    """Read every row as the import would — what it would create, update, leave unchanged
    or refuse, and every problem with its line — writing nothing but the report on the
    batch (so the page shows it again, and its rejected rows can be downloaded). Refuses
    a mapping that is not complete."""
    batch = ImportBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("No such import.")
    refuse_unless_importer(actor, ImportKind(batch.kind))
    _clean_mapping(ImportKind(batch.kind), list(batch.header), batch.mapping)
    with transaction.atomic():
        outcome = _engine(batch, actor, write=False, progress=None).run()
        transaction.set_rollback(True)  # nothing the engine did is kept
    report = _report(batch, outcome)
    if batch.status == BatchStatus.DRAFT:
        kept = report_json(report)
        kept["column_samples"] = (batch.preview or {}).get("column_samples", {})
        ImportBatch.objects.filter(pk=batch.pk, status=BatchStatus.DRAFT).update(
            preview=kept,
            problems=report.problems,
            rejected_lines=outcome.rejected_lines,
        )
    return report


def batch_start(
    *,
    actor: User,
    batch_id: int,
    background: bool | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportBatch:
    """Import now, or — from settings.IMPORT_BACKGROUND_ROWS rows on, or when `background`
    says so — queue
    the import for the worker (the page then shows its progress). `on_progress(done,
    total)` hears the rows read so far of an import run here. Refuses an incomplete
    mapping and a batch that is not a draft."""
    with transaction.atomic():
        batch = _batch_for_change(actor, batch_id)
        if batch.status != BatchStatus.DRAFT:
            raise Conflict("This import has already run.", code="import_not_draft")
        _clean_mapping(ImportKind(batch.kind), list(batch.header), batch.mapping)
        batch.status = BatchStatus.QUEUED
        batch.save(update_fields=["status"])
        if background is None:
            background = batch.row_count >= settings.IMPORT_BACKGROUND_ROWS
        if background:
            # By name: the tasks module imports this one (tasks call services). Through the
            # outbox: a broker away at the commit delays the run, never loses it.
            enqueue_on_commit(RUN_TASK, [batch.pk])
            return batch
    return batch_run(batch_id=batch.pk, on_progress=on_progress)


def _claim(batch_id: int) -> ImportBatch | None:
    """Take a queued batch for running (a conditional UPDATE: a second worker that got the
    same task finds nothing to do)."""
    claimed = ImportBatch.objects.filter(pk=batch_id, status=BatchStatus.QUEUED).update(
        status=BatchStatus.RUNNING, started_at=timezone.now()
    )
    return ImportBatch.objects.get(pk=batch_id) if claimed else None


def batch_run(
    *, batch_id: int, on_progress: Callable[[int, int], None] | None = None
) -> ImportBatch:
    """The import itself, for a queued batch: every row in one transaction under a lock
    of its source (two imports of one source run one after the other, so the second
    finds the first's deals and duplicates nothing). On an unexpected failure nothing is
    kept and the batch says it failed. Running a batch twice does nothing the second
    time."""
    with transaction.atomic():
        batch = _claim(batch_id)
        if batch is None:
            return ImportBatch.objects.get(pk=batch_id)
    progress_key = PROGRESS_KEY.format(batch.pk)

    def progress(done: int) -> None:
        cache.set(progress_key, {"done": done, "total": batch.row_count}, 3600)
        if on_progress is not None:
            on_progress(done, batch.row_count)
        if settings.TESTING and (delay := os.environ.get(TEST_DELAY_ENV)):
            time.sleep(float(delay))  # a browser test watches the progress bar move

    progress(0)
    try:
        # Its rows' writes are "import" events, whichever task or request runs it.
        with (
            audit_context.bound(Channel.IMPORT, origin=f"import #{batch.pk}"),
            transaction.atomic(),
        ):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))",
                    [f"exchange:{batch.kind}:{batch.source.casefold()}"],
                )
            outcome = _engine(batch, batch.created_by, write=True, progress=progress).run()
            _finish(batch, outcome)
    except Exception as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"[:2000],
        )
        raise
    finally:
        cache.delete(progress_key)
    batch.refresh_from_db()
    return batch


def _finish(batch: ImportBatch, outcome: Outcome) -> None:
    report = _report(batch, outcome)
    batch.status = BatchStatus.DONE
    batch.finished_at = timezone.now()
    batch.counts = report.counts
    batch.problems = report.problems
    batch.warnings = batch.warnings + report.warnings
    batch.rejected_lines = outcome.rejected_lines
    batch.created_ids = outcome.created_ids
    batch.created_other = {
        "accounts": outcome.created_accounts,
        "products": outcome.created_products,
        "users": outcome.created_users,
        "teams": outcome.created_teams,
    }
    batch.changed_existing = bool(
        report.counts["updated"] or report.counts["moved"] or report.counts.get("teams_updated")
    )
    batch.save()
    ImportMapping.objects.update_or_create(
        kind=batch.kind,
        source=batch.source,
        defaults={
            "mapping": batch.mapping,
            "value_maps": batch.value_maps,
            "options": batch.options,
            "updated_at": batch.finished_at,
            "updated_by": batch.created_by,
        },
    )
    audit_record(actor=batch.created_by, action="import.done", target=batch, data=report.counts)


def batch_progress(batch: ImportBatch) -> dict[str, int]:
    """{"done", "total"} rows of a running batch (kept in the cache by the run)."""
    if batch.status == BatchStatus.DONE:
        return {"done": batch.row_count, "total": batch.row_count}
    return cache.get(PROGRESS_KEY.format(batch.pk)) or {"done": 0, "total": batch.row_count}


# --- 5. undo ---


@transaction.atomic
def batch_undo(*, actor: User, batch_id: int) -> ImportBatch:
    """Delete everything an import created, through the services of the apps that own it
    (deals, accounts, products: pipeline.bulk; people and teams: salesops.people). Refuses
    (Conflict) a batch that did not finish, one that changed records that existed before it
    (undoing would need the old values back: change them by hand), one already undone, and
    one whose records changed or are used since (deals changed; accounts or products on
    deals; people who signed in or have records; teams with other people)."""
    batch = _batch_for_change(actor, batch_id)
    if batch.status == BatchStatus.UNDONE:
        raise Conflict("This import was undone already.", code="import_undone")
    if batch.status != BatchStatus.DONE:
        raise Conflict("Only a finished import can be undone.", code="import_not_done")
    if batch.changed_existing:
        raise Conflict(
            f"This import changed {batch.kind} that existed before it; it cannot be undone in "
            "one action.",
            code="import_changed_existing",
        )
    kind = ImportKind(batch.kind)
    try:
        if kind == ImportKind.OPPORTUNITIES:
            deleted = bulk.imported_records_delete(
                actor=actor,
                opportunity_ids=batch.created_ids,
                account_ids=batch.created_other.get("accounts", []),
                product_ids=batch.created_other.get("products", []),
            )
            # The owners it created as inactive reps, now without deals.
            if placeholders := batch.created_other.get("users", []):
                deleted |= salesops_people.placeholders_delete(actor=actor, user_ids=placeholders)
        elif kind == ImportKind.ACCOUNTS:
            deleted = bulk.accounts_import_delete(actor=actor, account_ids=batch.created_ids)
        elif kind == ImportKind.PRODUCTS:
            deleted = bulk.products_import_delete(actor=actor, product_ids=batch.created_ids)
        else:
            deleted = salesops_people.people_import_undo(
                actor=actor,
                user_ids=batch.created_ids,
                team_ids=batch.created_other.get("teams", []),
            )
    except ValidationFailed as exc:
        raise Conflict(exc.message, code="import_changed_since", details=exc.details) from exc
    batch.status = BatchStatus.UNDONE
    batch.undone_at = timezone.now()
    batch.undone_by = actor
    batch.save(update_fields=["status", "undone_at", "undone_by"])
    audit_record(actor=actor, action="import.undone", target=batch, data=deleted)
    return batch


def rejected_rows_download(batch: ImportBatch) -> StreamingHttpResponse:
    """The rejected rows as the file had them, with a last column saying why — to fix and
    import again (a streamed CSV; formula-like cells made safe like every export's)."""
    by_line: dict[int, list[str]] = {}
    for problem in batch.problems:
        by_line.setdefault(problem["line"], []).append(problem["message"])
    wanted = set(batch.rejected_lines)
    columns = [Column(name, "") for name in (*batch.header, "problem")]
    rows = (
        [*(cells[c] for c in batch.header), " | ".join(by_line.get(line, []))]
        for line, cells in read_rows(bytes(batch.content), _shape(batch))
        if line in wanted
    )
    stem = batch.file_name.rsplit(".", 1)[0] or "import"
    return csv_stream(export_filename(stem, "rejected"), columns, rows)
