"""Bulk writes for imports: accounts, products and deals as they already stand in a CRM.

A first import records where each deal stands: a closed deal closed at its real date,
created at its real date; an open deal in its stage without passing the gate (its
milestones show as open). Every deal is marked imported (`imported_at`) and its history
says so. Later moves of an imported deal are moves like any other: they go through
`services.opportunity_advance` and its gate.

These are set-based (one INSERT per table and batch of rows, history rows by
INSERT … SELECT), because a CRM export holds years of deals: 100,000 rows must import in
well under a minute. The callers (exchange.services) have read every row with the same
rules the pages' services apply; these functions check the invariants they own once more
and refuse the whole call (ValidationFailed, details by row) rather than store a bad row.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg2.extras import execute_values

from pipeline import flags
from pipeline.models import (
    Account,
    ForecastCategory,
    Opportunity,
    OpportunityStatus,
    Product,
    Stage,
)
from salesops.cleaning import MAX_AMOUNT
from salesops.exceptions import PermissionDenied, ValidationFailed
from salesops.models import AuditEvent, User
from salesops.services import audit_record
from salesops.text import counted

CHUNK = 5_000


@dataclass(frozen=True)
class NewAccount:
    name: str
    external_id: str = ""
    domain: str = ""
    industry: str = ""
    employees: int | None = None
    country: str = ""


@dataclass(frozen=True)
class NewProduct:
    name: str
    external_id: str = ""
    family: str = ""
    list_price: Decimal | None = None
    currency: str = ""


@dataclass(frozen=True)
class ImportedDeal:
    """A deal as the CRM has it today; `status` open/won/lost."""

    external_id: str
    name: str
    account_id: int
    owner_id: int
    stage_id: int
    status: str
    amount: Decimal
    currency: str
    close_date: dt.date
    created_at: dt.datetime
    closed_at: dt.datetime | None = None
    product_id: int | None = None
    loss_reason: str = ""
    next_step: str = ""
    next_step_date: dt.date | None = None
    gaps: tuple[str, ...] = ()


def refuse_unless_importer(actor: User) -> None:
    """Imports write the whole company's records: admins and sales leaders only."""
    if not actor.sees_everything:
        raise PermissionDenied(
            "Only administrators and sales leaders can import records.", code="import_not_allowed"
        )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: object) -> str:
    """One value in COPY's text format: NULL as \\N; backslash, tab and line breaks escaped;
    a list as an array of simple words (import_gaps)."""
    if type(value) is str:
        return value.translate(_COPY_ESCAPES)
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (list, tuple)):
        return "{" + ",".join(str(item) for item in value) + "}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _insert(table: str, columns: Sequence[str], rows: list[tuple]) -> list[int]:
    """Insert the rows with COPY (an order of magnitude faster than INSERT … VALUES for
    100,000 rows); their ids in row order, drawn from the table's sequence first."""
    if not rows:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        buffer = io.StringIO()
        for pk, row in zip(ids, rows, strict=True):
            buffer.write("\t".join(_copy_text(v) for v in (pk, *row)))
            buffer.write("\n")
        buffer.seek(0)
        cursor.cursor.copy_expert(f"COPY {table} (id, {', '.join(columns)}) FROM STDIN", buffer)
    return ids


@transaction.atomic
def accounts_import_create(
    *, actor: User, source: str, accounts: Sequence[NewAccount]
) -> list[int]:
    """Create accounts in bulk; their ids in order. Refuses a blank or too long name, a
    negative number of employees, an external id already used by `source`."""
    refuse_unless_importer(actor)
    errors: dict[str, list[str]] = {}
    for index, account in enumerate(accounts):
        if not account.name or len(account.name) > 200:
            errors.setdefault(f"accounts[{index}]", []).append("A name of 1-200 characters.")
        if account.employees is not None and account.employees < 0:
            errors.setdefault(f"accounts[{index}]", []).append("Employees cannot be negative.")
    if errors:
        raise ValidationFailed(details=errors)
    now = timezone.now()
    rows = [
        (a.name, a.domain, a.industry, a.employees, a.country,
         source if a.external_id else "", a.external_id, now)
        for a in accounts
    ]  # fmt: skip
    ids = _insert(
        Account._meta.db_table,
        ("name", "domain", "industry", "employees", "country", "source", "external_id",
         "created_at"),
        rows,
    )  # fmt: skip
    # One event for the statement, as for the deals (not one per row).
    if ids:
        audit_record(
            actor=actor, action="account.imported", data={"source": source, "count": len(ids)}
        )
    return ids


@transaction.atomic
def products_import_create(
    *, actor: User, source: str, products: Sequence[NewProduct]
) -> list[int]:
    """Create products in bulk; their ids in order. Refuses a blank name or one already
    taken (whatever the case), a negative list price."""
    refuse_unless_importer(actor)
    errors: dict[str, list[str]] = {}
    names = {p.name.casefold() for p in Product.objects.only("name")}
    for index, product in enumerate(products):
        if not product.name or len(product.name) > 200:
            errors.setdefault(f"products[{index}]", []).append("A name of 1-200 characters.")
        elif product.name.casefold() in names:
            errors.setdefault(f"products[{index}]", []).append(
                f"A product named '{product.name}' exists already."
            )
        names.add(product.name.casefold())
        if product.list_price is not None and not 0 <= product.list_price < MAX_AMOUNT:
            errors.setdefault(f"products[{index}]", []).append("A list price of 0 or more.")
    if errors:
        raise ValidationFailed(details=errors)
    now = timezone.now()
    rows = [
        (p.name, p.family, p.list_price, p.currency, True,
         source if p.external_id else "", p.external_id, now)
        for p in products
    ]  # fmt: skip
    ids = _insert(
        Product._meta.db_table,
        ("name", "family", "list_price", "currency", "is_active", "source", "external_id",
         "created_at"),
        rows,
    )  # fmt: skip
    if ids:
        audit_record(
            actor=actor, action="product.imported", data={"source": source, "count": len(ids)}
        )
    return ids


def _check_deals(deals: Sequence[ImportedDeal], stages: dict[int, Stage]) -> None:
    errors: dict[str, list[str]] = {}
    for index, deal in enumerate(deals):
        problems = []
        stage = stages.get(deal.stage_id)
        if stage is None:
            problems.append("The stage is not one of the pipeline's.")
        elif deal.status == OpportunityStatus.WON and not stage.is_won:
            problems.append("A won deal belongs in a won stage.")
        elif deal.status == OpportunityStatus.LOST and not stage.is_lost:
            problems.append("A lost deal belongs in a lost stage.")
        elif deal.status == OpportunityStatus.OPEN and stage.is_closed:
            problems.append("An open deal cannot be in a closed stage.")
        if deal.status not in OpportunityStatus.values:
            problems.append(f"Unknown status '{deal.status}'.")
        if (deal.closed_at is None) != (deal.status == OpportunityStatus.OPEN):
            problems.append("A closed deal has the moment it closed; an open one has none.")
        if deal.status == OpportunityStatus.LOST and not deal.loss_reason:
            problems.append("A lost deal needs a loss reason.")
        if not deal.external_id or len(deal.external_id) > 100:
            problems.append("An external id of 1-100 characters.")
        if not deal.name or len(deal.name) > 200:
            problems.append("A name of 1-200 characters.")
        if not Decimal("0") <= deal.amount < MAX_AMOUNT:
            problems.append("An amount of 0 or more, below 10¹².")
        if len(deal.currency) != 3 or not deal.currency.isalpha():
            problems.append("A three-letter currency code.")
        if len(deal.next_step) > 300:
            problems.append("A next step of at most 300 characters.")
        if problems:
            errors[f"deals[{index}] ({deal.external_id})"] = problems
    if errors:
        raise ValidationFailed("Some deals cannot be stored as given.", details=errors)


def _category(deal: ImportedDeal, stage: Stage) -> str:
    if deal.status == OpportunityStatus.WON:
        return ForecastCategory.CLOSED
    if deal.status == OpportunityStatus.LOST:
        return ForecastCategory.OMITTED
    return stage.forecast_category


# History of the deals just inserted, in one statement: what the import knew of each deal.
# Stage: an open deal entered its stage at the import (its earlier stages are unknown), a
# closed one reached its won/lost stage when it closed. Amount, close date and category as
# of its creation; the status change at the moment it closed.
_HISTORY_SQL = """
INSERT INTO pipeline_opportunitychange
    (opportunity_id, field, old_value, new_value, old_display, new_display, changed_by_id,
     changed_at, override_reason, note)
SELECT o.id, c.field, c.old_value, c.new_value, c.old_display, c.new_display, %(actor)s,
       c.changed_at, '', c.note
FROM pipeline_opportunity o
JOIN pipeline_stage s ON s.id = o.stage_id
CROSS JOIN LATERAL (VALUES
    ('stage', '', o.stage_id::text, '', s.name,
     CASE WHEN o.status = 'open' THEN o.stage_entered_at ELSE o.closed_at END,
     CASE WHEN o.status = 'open'
          THEN %(note)s || ': in this stage at the import; earlier stages are not in the file.'
          ELSE %(note)s || ': ' || o.status || ' on '
               || to_char(o.closed_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD') || '.' END),
    ('amount', '', o.amount::text, '', o.amount::text, o.created_at, %(note)s),
    ('close_date', '', o.close_date::text, '', o.close_date::text, o.created_at, %(note)s),
    ('forecast_category', '', o.forecast_category, '',
     CASE o.forecast_category %(category_labels)s END, o.created_at, %(note)s),
    ('status', 'open', o.status, 'Open', initcap(o.status), o.closed_at,
     CASE WHEN o.status = 'lost' THEN o.loss_reason ELSE %(note)s END)
) AS c(field, old_value, new_value, old_display, new_display, changed_at, note)
WHERE o.id = ANY(%(ids)s) AND (c.field <> 'status' OR o.status <> 'open')
"""


@transaction.atomic
def opportunities_import_create(
    *,
    actor: User,
    source: str,
    pipeline_id: int,
    deals: Sequence[ImportedDeal],
    note: str,
    tz: dt.tzinfo,
) -> list[int]:
    """Store deals as they stand in the CRM; their ids in order.

    Closed deals are stored closed at `closed_at`, open ones in their stage (no gate: the
    stage's milestones show as open), all created at `created_at`, marked imported, with
    history rows whose note starts with `note` (e.g. "Imported from Salesforce, batch 12").
    Their attention flags are decided at once. Refuses (ValidationFailed, by row) a deal
    whose stage is not of the pipeline or does not fit its status, a closed deal without
    the moment it closed, a lost one without a reason, a bad amount, currency or text;
    and (Conflict-free) relies on the (source, external_id) constraint against duplicates,
    which the caller looked up under its import lock."""
    refuse_unless_importer(actor)
    if not deals:
        return []
    stages = {s.pk: s for s in Stage.objects.filter(pipeline_id=pipeline_id)}
    _check_deals(deals, stages)
    now = timezone.now()
    rows = [
        (
            d.name, d.account_id, d.owner_id, pipeline_id, d.stage_id, d.product_id,
            d.amount, d.currency, d.close_date, _category(d, stages[d.stage_id]), "",
            d.next_step, d.next_step_date, d.status, d.loss_reason, source, d.external_id,
            d.closed_at if d.closed_at is not None else now, d.closed_at, 1, now,
            d.created_at, now, list(d.gaps),
        )
        for d in deals
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    ids = _insert(
        Opportunity._meta.db_table,
        ("name", "account_id", "owner_id", "pipeline_id", "stage_id", "product_id", "amount",
         "currency", "close_date", "forecast_category", "forecast_category_override_reason",
         "next_step", "next_step_date", "status", "loss_reason", "source", "external_id",
         "stage_entered_at", "closed_at", "version", "imported_at", "created_at",
         "updated_at", "import_gaps"),
        rows,
    )  # fmt: skip
    labels = " ".join(f"WHEN '{c.value}' THEN '{c.label}'" for c in ForecastCategory)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK):
            cursor.execute(
                _HISTORY_SQL.replace("%(category_labels)s", labels),
                {
                    "ids": ids[start : start + CHUNK],
                    "actor": actor.pk,
                    "note": note,
                    "tz": str(tz),
                },
            )
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    open_ids = [i for i, d in zip(ids, deals, strict=True) if d.status == OpportunityStatus.OPEN]
    for start in range(0, len(open_ids), CHUNK):
        flags.flags_refresh(now=now, opportunity_ids=open_ids[start : start + CHUNK])
    audit_record(
        actor=actor,
        action="opportunity.imported",
        data={"source": source, "count": len(ids), "note": note},
    )
    return ids


@transaction.atomic
def imported_records_delete(
    *,
    actor: User,
    opportunity_ids: Sequence[int],
    account_ids: Sequence[int] = (),
    product_ids: Sequence[int] = (),
) -> dict[str, int]:
    """Undo of an import that only created records: delete its deals (with their history,
    flags and snapshots) and the accounts and products it created that no other deal uses.
    Refuses (Conflict-free: ValidationFailed) deals that are not imported ones or that
    changed since (their version moved)."""
    refuse_unless_importer(actor)
    deals = Opportunity.objects.filter(pk__in=list(opportunity_ids))
    not_imported = deals.filter(imported_at__isnull=True).count()
    changed = deals.filter(version__gt=1).count()
    if not_imported or changed:
        raise ValidationFailed(
            "The import cannot be undone: some of its deals changed since.",
            details={
                "deals": [
                    f"{counted(changed, 'deal')} changed after the import."
                    if changed
                    else f"{counted(not_imported, 'deal')} "
                    f"{'was' if not_imported == 1 else 'were'} not imported."
                ]
            },
        )
    deleted = deals.delete()[1].get(Opportunity._meta.label, 0)
    accounts = (
        Account.objects.filter(pk__in=list(account_ids)).filter(opportunities__isnull=True).delete()
    )
    products = (
        Product.objects.filter(pk__in=list(product_ids)).filter(opportunities__isnull=True).delete()
    )
    audit_record(actor=actor, action="opportunity.import_undone", data={"opportunities": deleted})
    return {
        "opportunities": deleted,
        "accounts": accounts[1].get(Account._meta.label, 0),
        "products": products[1].get(Product._meta.label, 0),
    }


# --- accounts and products files: changes and undo ---------------------------------------
# An accounts or products file updates the records it matches (by external id, else by
# name). Set-based like the creations above: one UPDATE … FROM (VALUES …) per chunk, with
# the checks account_update / product_update make, and an audit event per record.


@dataclass(frozen=True)
class AccountUpdate:
    """An account's values after the import; `fields` names those that changed."""

    id: int
    name: str
    domain: str
    industry: str
    employees: int | None
    country: str
    source: str
    external_id: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProductUpdate:
    id: int
    name: str
    family: str
    list_price: Decimal | None
    currency: str
    source: str
    external_id: str
    fields: tuple[str, ...] = ()


MAX_EMPLOYEES = 2_147_483_647  # Account.employees, a PostgreSQL integer


def _check_external_ids(
    model: type[Account | Product], rows: Sequence[AccountUpdate | ProductUpdate], label: str
) -> dict[str, list[str]]:
    """(source, external_id) stays unique: among the rows, and against the other records."""
    errors: dict[str, list[str]] = {}
    wanted: dict[tuple[str, str], int] = {}
    for index, row in enumerate(rows):
        if not row.external_id:
            continue
        key = (row.source, row.external_id)
        if key in wanted:
            errors.setdefault(f"{label}[{index}]", []).append(
                f"External id '{row.external_id}' is also given to {label}[{wanted[key]}]."
            )
        wanted.setdefault(key, index)
    if wanted:
        ids = [row.id for row in rows]
        taken = set(
            model.objects.filter(external_id__in={e for _, e in wanted})
            .exclude(pk__in=ids)
            .values_list("source", "external_id")
        )
        for key in taken & wanted.keys():
            errors.setdefault(f"{label}[{wanted[key]}]", []).append(
                f"Another record from '{key[0]}' has the external id '{key[1]}'."
            )
    return errors


def _update_rows(table: str, columns: Sequence[tuple[str, str]], rows: list[tuple]) -> int:
    """UPDATE `table` from VALUES rows (id first, then `columns` as (name, SQL type))."""
    names = ", ".join(name for name, _ in columns)
    sets = ", ".join(f"{name} = v.{name}" for name, _ in columns)
    template = "(%s::bigint, " + ", ".join(f"%s::{kind}" for _, kind in columns) + ")"
    sql = f"UPDATE {table} AS t SET {sets} FROM (VALUES %s) AS v(id, {names}) WHERE t.id = v.id"
    updated = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            execute_values(raw, sql, chunk, template=template, page_size=len(chunk))
            updated += raw.rowcount
    return updated


def _audit_updates(actor: User, target_type: str, action: str, rows: Sequence) -> None:
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=actor,
                action=action,
                target_type=target_type,
                target_id=row.id,
                data={"fields": sorted(row.fields), "via": "import"},
            )
            for row in rows
        ],
        batch_size=CHUNK,
    )


@transaction.atomic
def accounts_import_update(*, actor: User, accounts: Sequence[AccountUpdate]) -> int:
    """Store accounts' new values (set-based); returns how many were updated. Refuses
    (ValidationFailed, by row) what `account_update` refuses: a blank or too long name, too
    long domain, industry, country, source or external id, a negative or too large number
    of employees, an external id another account of the source has; and an account that
    no longer exists."""
    refuse_unless_importer(actor)
    if not accounts:
        return 0
    errors: dict[str, list[str]] = {}
    for index, a in enumerate(accounts):
        problems = []
        if not a.name or len(a.name) > 200:
            problems.append("A name of 1-200 characters.")
        for label, value, limit in (("domain", a.domain, 200), ("industry", a.industry, 100),
                                    ("country", a.country, 100), ("source", a.source, 40),
                                    ("external id", a.external_id, 100)):  # fmt: skip
            if len(value) > limit:
                problems.append(f"A {label} of at most {limit} characters.")
        if a.employees is not None and not 0 <= a.employees <= MAX_EMPLOYEES:
            problems.append("A number of employees from 0 to 2,147,483,647.")
        if problems:
            errors[f"accounts[{index}]"] = problems
    for key, messages in _check_external_ids(Account, accounts, "accounts").items():
        errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationFailed("Some accounts cannot be stored as given.", details=errors)
    rows = [
        (a.id, a.name, a.domain, a.industry, a.employees, a.country, a.source, a.external_id)
        for a in accounts
    ]
    try:
        with transaction.atomic():
            updated = _update_rows(
                Account._meta.db_table,
                (("name", "varchar"), ("domain", "varchar"), ("industry", "varchar"),
                 ("employees", "integer"), ("country", "varchar"), ("source", "varchar"),
                 ("external_id", "varchar")),
                rows,
            )  # fmt: skip
    except IntegrityError as exc:  # a concurrent write took an external id meanwhile
        raise ValidationFailed(details={"accounts": ["An external id is already in use."]}) from exc
    if updated != len(rows):
        raise ValidationFailed(details={"accounts": ["Some of the accounts no longer exist."]})
    _audit_updates(actor, Account._meta.label_lower, "account.updated", accounts)
    return updated


@transaction.atomic
def products_import_update(*, actor: User, products: Sequence[ProductUpdate]) -> int:
    """Store products' new values (set-based); returns how many were updated. Refuses
    (ValidationFailed, by row) what `product_update` refuses: a blank, too long or taken
    name (whatever the case), a negative list price, a currency that is not three letters,
    an external id another product of the source has; and a product that no longer
    exists."""
    refuse_unless_importer(actor)
    if not products:
        return 0
    errors: dict[str, list[str]] = {}
    ids = {p.id for p in products}
    names = {
        name.casefold(): pk
        for pk, name in Product.objects.exclude(pk__in=ids).values_list("id", "name")
    }
    for index, p in enumerate(products):
        problems = []
        if not p.name or len(p.name) > 200:
            problems.append("A name of 1-200 characters.")
        elif p.name.casefold() in names:
            problems.append(f"A product named '{p.name}' exists already.")
        names[p.name.casefold()] = p.id
        for label, value, limit in (("family", p.family, 100), ("source", p.source, 40),
                                    ("external id", p.external_id, 100)):  # fmt: skip
            if len(value) > limit:
                problems.append(f"A {label} of at most {limit} characters.")
        if p.list_price is not None and not 0 <= p.list_price < MAX_AMOUNT:
            problems.append("A list price of 0 or more, below 10¹².")
        if p.currency and (len(p.currency) != 3 or not p.currency.isalpha()):
            problems.append("A three-letter currency code, or none.")
        if problems:
            errors[f"products[{index}]"] = problems
    for key, messages in _check_external_ids(Product, products, "products").items():
        errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationFailed("Some products cannot be stored as given.", details=errors)
    rows = [
        (p.id, p.name, p.family, p.list_price, p.currency, p.source, p.external_id)
        for p in products
    ]
    try:
        with transaction.atomic():
            updated = _update_rows(
                Product._meta.db_table,
                (("name", "varchar"), ("family", "varchar"), ("list_price", "numeric"),
                 ("currency", "varchar"), ("source", "varchar"), ("external_id", "varchar")),
                rows,
            )  # fmt: skip
    except IntegrityError as exc:  # two names swapped, or a concurrent write
        raise ValidationFailed(
            details={"products": ["A name or an external id is already in use."]}
        ) from exc
    if updated != len(rows):
        raise ValidationFailed(details={"products": ["Some of the products no longer exist."]})
    _audit_updates(actor, Product._meta.label_lower, "product.updated", products)
    return updated


def _delete_unused(
    actor: User, model: type[Account | Product], ids: Sequence[int], what: str
) -> int:
    refuse_unless_importer(actor)
    records = model.objects.filter(pk__in=list(ids))
    used = records.filter(opportunities__isnull=False).distinct().count()
    if used:
        raise ValidationFailed(
            f"The import cannot be undone: {used} of its {what} are on deals since.",
            details={what: [f"{used} {what} are used by deals; delete or move those first."]},
        )
    deleted = records.delete()[1].get(model._meta.label, 0)
    audit_record(actor=actor, action=f"{model._meta.model_name}.import_undone",
                 data={what: deleted})  # fmt: skip
    return deleted


@transaction.atomic
def accounts_import_delete(*, actor: User, account_ids: Sequence[int]) -> dict[str, int]:
    """Undo of an accounts import that only created accounts: delete them. Refuses
    (ValidationFailed) when any of them is on a deal now — nothing is deleted then."""
    return {"accounts": _delete_unused(actor, Account, account_ids, "accounts")}


@transaction.atomic
def products_import_delete(*, actor: User, product_ids: Sequence[int]) -> dict[str, int]:
    """Undo of a products import that only created products: delete them. Refuses
    (ValidationFailed) when any of them is on a deal now — nothing is deleted then."""
    return {"products": _delete_unused(actor, Product, product_ids, "products")}
