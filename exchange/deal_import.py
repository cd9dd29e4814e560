"""The opportunity import: a file's rows → deals created, updated, moved or unchanged.

One pass serves the preview and the import (`write=False` / `True`), so the preview shows
exactly what the import will do. The file is read twice, row by row: once for what only
the whole column tells (date order, decimal comma), once to read, classify and — in
chunks of `CHUNK` rows — write:

- a row whose (source, external id) is new → created in bulk (pipeline.bulk): closed deals
  at their real dates, open deals in their stage without the gate, marked imported;
- a row of an existing open deal that differs → `services.opportunity_update` for its
  fields and, when its stage or status differs, `opportunity_advance` / close — the same
  gate as every other path; a refusal rejects the row (its savepoint is rolled back);
- a row that matches its deal → unchanged (nothing written, not a failure);
- an existing closed deal does not change: its row is unchanged when it matches, else
  refused with what differs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, cast

from django.db import transaction
from django.utils import timezone

from exchange.deals import (
    UNKNOWN_ACCOUNT,
    DealContext,
    DealRow,
    Problem,
    StageInfo,
    owner_lookup_keys,
    read_deal,
)
from exchange.engine import CHUNK, SAMPLE_ROWS, ColumnFacts, ImportPass, Outcome
from exchange.rules import (
    DATE_FIELDS,
    DateOrder,
    Status,
    clean_cell,
    guess_date_order,
    guess_decimal_comma,
    stage_status_hint,
)
from forecasting import services as forecasting_services
from pipeline import bulk, lookups
from pipeline import rules as pipeline_rules
from pipeline import services as pipeline_services
from pipeline.models import Account, ForecastCategory, Product
from salesops import organisation
from salesops import people as salesops_people
from salesops.cleaning import name_key
from salesops.exceptions import ApplicationError, Conflict, ValidationFailed
from salesops.models import User
from salesops.selectors import people_lookup

_AMOUNT_SAMPLE = 2_000


def column_facts(rows: Iterator[tuple[int, dict[str, str]]]) -> ColumnFacts:
    facts = ColumnFacts()
    dates: dict[str, list[str]] = {}
    amounts: list[str] = []
    for _, cells in rows:
        for name in DATE_FIELDS & cells.keys():
            if "/" in (value := cells[name]):
                dates.setdefault(name, []).append(value)
        if len(amounts) < _AMOUNT_SAMPLE and (value := clean_cell(cells.get("amount"))):
            amounts.append(value)
        for name, counter in (
            ("stage", facts.stage_values),
            ("owner", facts.owner_values),
            ("status", facts.status_values),
        ):
            if value := clean_cell(cells.get(name)):
                counter[value] += 1
    facts.date_guesses = {name: guess_date_order(values) for name, values in dates.items()}
    facts.decimal_comma = guess_decimal_comma(amounts)
    return facts


def _local_moment(day: dt.date, tz: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """Noon of `day` in the organisation's time zone — it stays on that day whatever zone
    reads it — but never after now."""
    return min(dt.datetime.combine(day, dt.time(12), tzinfo=tz), now)


class DealImport(ImportPass):
    """One pass over a batch's file; see the module docstring."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.organisation = organisation.current()
        self.tz = self.organisation.tz()
        self.now = timezone.now()

    # --- the context ---

    def _context(self, facts: ColumnFacts) -> DealContext:
        pipeline = lookups.import_pipeline(self.options.pipeline_id)
        if pipeline is None:
            raise ValidationFailed(
                "There is no active pipeline to import deals into.",
                details={"pipeline_id": ["Create a pipeline first (Setup → Pipelines)."]},
            )
        self.pipeline = pipeline
        stages = {
            s.pk: StageInfo(s.pk, s.name, s.order, s.is_won, s.is_lost)
            for s in lookups.stages_of(pipeline.pk)
        }
        if not any(not (s.is_won or s.is_lost) for s in stages.values()):
            raise ValidationFailed(
                details={"pipeline_id": [f"'{pipeline.name}' has no open stage."]}
            )
        stage_map = {name_key(s.name): s.id for s in stages.values()}
        for value, stage_id in (self.value_maps.get("stage") or {}).items():
            if stage_id in stages:
                stage_map[name_key(value)] = stage_id
        people = people_lookup()
        owner_map = {
            value: user_id
            for value, user_id in (self.value_maps.get("owner") or {}).items()
            if isinstance(user_id, int)
        }
        orders: dict[str, DateOrder | None] = {
            name: guess.order for name, guess in facts.date_guesses.items()
        }
        orders.update(self.options.date_orders)
        calendar = forecasting_services.fiscal_calendar()
        today = forecasting_services.local_today(self.now)
        quarter = calendar.period_of(today, "quarter")
        return DealContext(
            today=today,
            quarter_end=quarter.end - dt.timedelta(days=1),
            default_currency=self.organisation.default_currency,
            importer_id=self.actor.pk,
            stages=stages,
            stage_map=stage_map,
            people=people,
            owner_map=owner_map,
            date_orders=orders,
            decimal_comma=self.options.decimal_comma
            if self.options.decimal_comma is not None
            else facts.decimal_comma,
            blank_close_date=self.options.blank_close_date,
            blank_account=self.options.blank_account,
            blank_amount=self.options.blank_amount,
            blank_owner=self.options.blank_owner,
            source=self.source,
        )

    # --- the pass ---

    def run(self) -> Outcome:
        facts = column_facts(self.rows())
        self.outcome.facts = facts
        ctx = self._context(facts)
        self.ctx = ctx
        self.outcome.stage_matches = {value: _stage_of(value, ctx) for value in facts.stage_values}
        if self.options.create_unknown_owners:
            self._create_unknown_owners(facts, ctx)
        self.accounts_by_external, self.accounts_by_name = lookups.account_index()
        self.products_by_external, self.products_by_name = lookups.product_index()
        seen: dict[str, int] = {}
        chunk: list[DealRow] = []
        done = 0
        for line, cells in self.rows():
            done += 1
            deal = read_deal(line, cells, ctx)
            if isinstance(deal, list):
                self._reject(line, deal)
                self._note_unknowns(cells, deal)
                continue
            if deal.external_id in seen:
                self._reject(
                    line,
                    [
                        Problem(
                            line,
                            "external_id",
                            f"external_id: '{deal.external_id}' is also on line "
                            f"{seen[deal.external_id]}; only that row is imported.",
                        )
                    ],
                )
                continue
            seen[deal.external_id] = line
            self.outcome.warnings += [Problem(line, w.split(":")[0], w) for w in deal.warnings]
            chunk.append(deal)
            if len(chunk) >= CHUNK:
                self._chunk(chunk)
                chunk = []
                self.progress(done)
        if chunk:
            self._chunk(chunk)
        self.progress(done)
        self.outcome.rejected_lines.sort()
        self.outcome.counts["rejected"] = len(self.outcome.rejected_lines)
        return self.outcome

    def _reject(self, line: int, problems: list[Problem]) -> None:
        self.outcome.problems += problems
        self.outcome.rejected_lines.append(line)

    def _note_unknowns(self, cells: dict[str, str], problems: list[Problem]) -> None:
        for problem in problems:
            if problem.field == "owner" and (value := clean_cell(cells.get("owner"))):
                self.outcome.unknown_owners[value] += 1
            if problem.field == "stage" and (value := clean_cell(cells.get("stage"))):
                self.outcome.unmapped_stages[value] += 1

    def _create_unknown_owners(self, facts: ColumnFacts, ctx: DealContext) -> None:
        """Owners the file names and nobody here matches become inactive reps (named as in
        the file); their deals then import and can be handed over later."""
        unknown = [
            value
            for value in facts.owner_values
            if value not in ctx.owner_map
            and not any(key in ctx.people for key in owner_lookup_keys(value))
        ]
        if not unknown:
            return
        if not self.write:
            # The preview shows them as people to create; their deals as importable.
            for value in unknown:
                ctx.owner_map[value] = self.actor.pk
                self.outcome.unknown_owners[value] += facts.owner_values[value]
            return
        for value in unknown:
            user = salesops_people.user_create_placeholder(actor=self.actor, display=value)
            ctx.owner_map[value] = user.pk
            self.outcome.created_users.append(user.pk)

    # --- a chunk of read rows ---

    def _chunk(self, chunk: list[DealRow]) -> None:
        existing = lookups.deals_by_external_id(self.source, (d.external_id for d in chunk))
        creates: list[DealRow] = []
        for deal in chunk:
            state = existing.get(deal.external_id)
            if state is None:
                creates.append(deal)
            else:
                self._existing(deal, state)
        if not creates:
            return
        account_ids = self._accounts_for(creates)
        product_ids = self._products_for(creates)
        if len(self.outcome.sample) < SAMPLE_ROWS:
            for deal in creates[: SAMPLE_ROWS - len(self.outcome.sample)]:
                self.outcome.sample.append(self._as_stored(deal))
        self.outcome.counts["created"] += len(creates)
        if not self.write:
            return
        # Writing, _accounts_for has found or created every deal's account: no None left.
        written_account_ids = cast("list[int]", account_ids)
        deals = [
            bulk.ImportedDeal(
                external_id=d.external_id,
                name=d.name,
                account_id=written_account_ids[i],
                owner_id=d.owner_id,
                stage_id=d.stage_id,
                status=d.status.value,
                amount=d.amount,
                currency=d.currency,
                close_date=d.close_date,
                created_at=self._created_at(d),
                closed_at=_local_moment(d.closed_on, self.tz, self.now) if d.closed_on else None,
                product_id=product_ids[i],
                loss_reason=d.loss_reason,
                next_step=d.next_step,
                next_step_date=d.next_step_date,
                gaps=d.gaps,
            )
            for i, d in enumerate(creates)
        ]
        self.outcome.created_ids += bulk.opportunities_import_create(
            actor=self.actor,
            source=self.source,
            pipeline_id=self.pipeline.pk,
            deals=deals,
            note=self.note,
            tz=self.tz,
        )

    def _created_at(self, deal: DealRow) -> dt.datetime:
        closed = _local_moment(deal.closed_on, self.tz, self.now) if deal.closed_on else None
        if deal.created_on is None:
            return closed or self.now
        created = _local_moment(deal.created_on, self.tz, self.now)
        return min(created, closed) if closed else created

    def _as_stored(self, deal: DealRow) -> dict[str, Any]:
        stage = self.ctx.stages[deal.stage_id]
        owner = self._user(deal.owner_id)
        return {
            "line": deal.line,
            "external_id": deal.external_id,
            "name": deal.name,
            "account": deal.account_name or deal.account_external_id,
            "owner": str(owner) if owner else "",
            "stage": stage.name,
            "status": deal.status.value,
            "amount": deal.amount,
            "currency": deal.currency,
            "created": deal.created_on,
            "close_date": deal.close_date,
            "closed_on": deal.closed_on,
            "gaps": list(deal.gaps),
        }

    def _user(self, pk: int) -> User | None:
        cache = self.__dict__.setdefault("_users", {})
        if pk not in cache:
            cache[pk] = User.objects.filter(pk=pk).first()
        return cache[pk]

    # --- accounts and products the rows need ---

    def _accounts_for(self, deals: list[DealRow]) -> list[int | None]:
        ids: list[int | None] = []
        wanted: dict[tuple[str, str], bulk.NewAccount] = {}
        for deal in deals:
            found = None
            if deal.account_external_id:
                found = self.accounts_by_external.get((self.source, deal.account_external_id))
            if found is None and deal.account_name:
                found = self.accounts_by_name.get(name_key(deal.account_name))
            if found is None:
                key = (deal.account_external_id, name_key(deal.account_name))
                wanted.setdefault(
                    key,
                    bulk.NewAccount(
                        name=deal.account_name or deal.account_external_id,
                        external_id=deal.account_external_id,
                    ),
                )
            ids.append(found)
        if wanted:
            self.outcome.new_accounts |= {a.name for a in wanted.values()}
            if self.write:
                created = bulk.accounts_import_create(
                    actor=self.actor, source=self.source, accounts=list(wanted.values())
                )
                self.outcome.created_accounts += created
                for account, pk in zip(wanted.values(), created, strict=True):
                    if account.external_id:
                        self.accounts_by_external[(self.source, account.external_id)] = pk
                    self.accounts_by_name.setdefault(name_key(account.name), pk)
                ids = [
                    pk
                    if pk is not None
                    else (
                        self.accounts_by_external.get((self.source, d.account_external_id))
                        or self.accounts_by_name[name_key(d.account_name or d.account_external_id)]
                    )
                    for pk, d in zip(ids, deals, strict=True)
                ]
        return ids

    def _products_for(self, deals: list[DealRow]) -> list[int | None]:
        wanted: dict[str, bulk.NewProduct] = {}
        for deal in deals:
            key = name_key(deal.product_name)
            if key and key not in self.products_by_name:
                wanted.setdefault(key, bulk.NewProduct(name=deal.product_name))
        if wanted:
            self.outcome.new_products |= {p.name for p in wanted.values()}
            if self.write:
                created = bulk.products_import_create(
                    actor=self.actor, source=self.source, products=list(wanted.values())
                )
                self.outcome.created_products += created
                self.products_by_name.update(zip(wanted.keys(), created, strict=True))
        return [self.products_by_name.get(name_key(d.product_name)) for d in deals]

    # --- a row of a deal that exists ---

    def _existing(self, deal: DealRow, state: lookups.DealState) -> None:
        account_id = self._account_of_existing(deal, state)
        product_id = (
            self.products_by_name.get(name_key(deal.product_name))
            if "product" in deal.given
            else state.product_id
        )
        changes: dict[str, Any] = {}
        compare = {
            "name": (deal.name, state.name),
            "amount": (deal.amount, state.amount),
            "currency": (deal.currency, state.currency),
            "close_date": (deal.close_date, state.close_date),
            "next_step": (deal.next_step, state.next_step),
            "next_step_date": (deal.next_step_date, state.next_step_date),
        }
        for name, (new, old) in compare.items():
            if name in deal.given and new != old:
                changes[name] = new
        if "owner" in deal.given and deal.owner_id != state.owner_id:
            changes["owner"] = deal.owner_id
        if account_id is not None and account_id != state.account_id:
            changes["account"] = account_id
        if "product" in deal.given and product_id != state.product_id:
            changes["product"] = product_id
        moves = ("stage" in deal.given or "status" in deal.given) and (
            deal.stage_id != state.stage_id or deal.status.value != state.status
        )
        if state.status != Status.OPEN:
            if changes or moves:
                what = ", ".join(sorted(changes) + (["stage/status"] if moves else []))
                self._reject(
                    deal.line,
                    [
                        Problem(
                            deal.line,
                            "external_id",
                            f"external_id: '{deal.external_id}' is {state.status} in Salesops "
                            f"and closed deals do not change; the file differs in: {what}.",
                        )
                    ],
                )
            else:
                self.outcome.counts["unchanged"] += 1
            return
        if not changes and not moves:
            self.outcome.counts["unchanged"] += 1
            return
        if not self.write:
            self.outcome.counts["updated" if changes else "moved"] += 1
            if changes and moves:
                self.outcome.counts["moved"] += 1
            return
        try:
            with transaction.atomic():  # the row is saved whole or not at all
                if changes:
                    self._update(state.id, changes)
                if moves:
                    self._move(state.id, deal)
        except ApplicationError as exc:
            self._reject(deal.line, _problems_of(deal.line, exc))
            return
        self.outcome.counts["updated" if changes else "moved"] += 1
        if changes and moves:
            self.outcome.counts["moved"] += 1

    def _account_of_existing(self, deal: DealRow, state: lookups.DealState) -> int | None:
        if "account" not in deal.given and "account_external_id" not in deal.given:
            return None
        found = None
        if deal.account_external_id:
            found = self.accounts_by_external.get((self.source, deal.account_external_id))
        if found is None and deal.account_name and deal.account_name != UNKNOWN_ACCOUNT:
            found = self.accounts_by_name.get(name_key(deal.account_name))
        if found is None:
            ids = self._accounts_for([deal])
            found = ids[0]
        return found

    def _update(self, opportunity_id: int, changes: dict[str, Any]) -> None:
        values = dict(changes)
        if "owner" in values:
            values["owner"] = User.objects.get(pk=values["owner"])
        if "account" in values:
            values["account"] = Account.objects.get(pk=values["account"])
        if "product" in values:
            values["product"] = (
                Product.objects.get(pk=values["product"]) if values["product"] else None
            )
        pipeline_services.opportunity_update(
            opportunity_id=opportunity_id, actor=self.actor, **values
        )

    def _move(self, opportunity_id: int, deal: DealRow) -> None:
        if deal.status == Status.WON:
            pipeline_services.opportunity_close_won(opportunity_id=opportunity_id, actor=self.actor)
        elif deal.status == Status.LOST:
            pipeline_services.opportunity_close_lost(
                opportunity_id=opportunity_id, actor=self.actor, loss_reason=deal.loss_reason
            )
        else:
            self.outcome.warnings += _category_kept(
                deal,
                lambda decision: pipeline_services.opportunity_advance(
                    opportunity_id=opportunity_id,
                    stage_id=deal.stage_id,
                    actor=self.actor,
                    forecast_category_on_move=decision,
                ),
            )


def _stage_of(value: str, ctx: DealContext) -> int | None:
    """Where a file's stage value lands: the user's mapping or our stage of that name, else
    the won/lost stage its words name (as read_deal decides)."""
    if (stage_id := ctx.stage_map.get(name_key(value))) is not None:
        return stage_id
    hint = stage_status_hint(value)
    stage = ctx.closed_stage(hint) if hint is not None else None
    return stage.id if stage is not None else None


def _category_kept(deal: DealRow, move: Callable[[str | None], Any]) -> list[Problem]:
    """Move; when the service asks about a forecast category set by hand and the row does
    not answer (forecast_category_on_move), keep it — nobody loses a judgement they wrote
    down — and say so."""
    try:
        move(deal.category_on_move or None)
    except Conflict as exc:
        if exc.code != pipeline_services.CATEGORY_DECISION_CODE:
            raise
        move(pipeline_rules.KEEP_OVERRIDE)
        current = ForecastCategory(exc.details["current_category"]).label
        default = ForecastCategory(exc.details["stage_default"]).label
        return [
            Problem(
                deal.line,
                "forecast_category_on_move",
                f"Kept the manual forecast category {current} (reason: "
                f"{exc.details['override_reason'][:200]}); the stage defaults to {default}. "
                "Set forecast_category_on_move to 'follow' to use the default.",
            )
        ]
    return []


def _problems_of(line: int, exc: ApplicationError) -> list[Problem]:
    details = exc.details or {}
    problems = []
    if isinstance(details, dict):
        for name, messages in details.items():
            if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
                problems += [Problem(line, name, f"{name}: {m}") for m in messages]
    missing = details.get("missing") if isinstance(details, dict) else None
    if missing:
        titles = "; ".join(m.get("title", "") for m in missing if isinstance(m, dict))
        return [Problem(line, "stage", f"stage: {exc.message} Missing: {titles}".strip())]
    return problems or [Problem(line, "row", f"row: {exc.message}")]
