"""The accounts and products imports: a file's rows → records created, updated or unchanged.

Like the opportunity import (exchange.deal_import), one pass serves the preview and the
import (`write=False` / `True`): rows are read (exchange.catalogue), matched, compared and
— in chunks of `CHUNK` rows — written in bulk through pipeline.bulk.

How a row finds its record:
- by (source, external id) — a re-import of the same file finds its records again;
- else, for a row without an external id or with one that is new, by name
  (salesops.cleaning.name_key: case, accents' Unicode forms and spacing do not matter).
  An account takes over an account of that name *without* an external id (one a deal
  import created from a deal's account name): it gets the row's external id and details
  instead of a duplicate; an account of that name with another external id is another
  CRM record, so the row creates its own. A product name is unique (whatever the case):
  a row whose name is another product's is refused, unless that product has no external
  id yet (it takes the row's).
- A row that matches its record is unchanged (nothing written, not a failure); a blank
  cell never clears a value (only the columns a row fills are compared and changed).
- Two rows for one record: the first wins, the second is refused with the first's line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from exchange.catalogue import AccountRow, ProductRow, read_account, read_product
from exchange.deals import Problem
from exchange.engine import CHUNK, SAMPLE_ROWS, ColumnFacts, ImportPass, Outcome
from exchange.rules import clean_cell, guess_decimal_comma
from pipeline import bulk, lookups
from salesops.cleaning import name_key

_PRICE_SAMPLE = 2_000

Rows = Callable[[], Iterator[tuple[int, dict[str, str]]]]


class _CatalogueImport(ImportPass):
    """What the accounts and the products imports share: the pass, the index of the
    records here, matching, chunks. Subclasses say how a row reads, matches and writes."""

    what = "record"
    fields: tuple[str, ...] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The records here: by (source, external id), by name_key (oldest first), and each
        # one's own (source, external id).
        self.by_external: dict[tuple[str, str], int] = {}
        self.by_name: dict[str, list[int]] = {}
        self.external_of: dict[int, tuple[str, str]] = {}
        # record id → the line that matched it first
        self.claimed: dict[int, int] = {}
        # name_key → line, of rows without an external id (two of them are one record)
        self.names_seen: dict[str, int] = {}
        self.external_seen: dict[str, int] = {}

    # --- to be said by the kind ---

    def _facts(self) -> ColumnFacts:
        return ColumnFacts()

    def _read(self, line: int, cells: dict[str, str]) -> Any:
        raise NotImplementedError

    def _keys(self) -> list[tuple[int, str, str, str]]:
        raise NotImplementedError

    def _match(self, row: Any) -> int | Problem | None:
        raise NotImplementedError

    def _states(self, ids: list[int]) -> dict[int, Any]:
        raise NotImplementedError

    def _changes(self, row: Any, state: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _create(self, rows: list[Any]) -> list[int]:
        raise NotImplementedError

    def _update(self, updates: list[tuple[Any, Any, dict[str, Any]]]) -> None:
        raise NotImplementedError

    # --- the pass ---

    def run(self) -> Outcome:
        self.outcome.facts = self._facts()
        for pk, name, source, external_id in self._keys():
            if external_id:
                self.by_external[(source, external_id)] = pk
                self.external_of[pk] = (source, external_id)
            self.by_name.setdefault(name_key(name), []).append(pk)
        chunk: list[tuple[Any, int | None]] = []
        done = 0
        for line, cells in self.rows():
            done += 1
            row = self._read(line, cells)
            if isinstance(row, list):
                self._reject(line, row)
                continue
            duplicate = self._duplicate(row)
            if duplicate is not None:
                self._reject(line, [duplicate])
                continue
            match = self._match(row)
            if isinstance(match, Problem):
                self._reject(line, [match])
                continue
            if match is not None:
                if match in self.claimed:
                    self._reject(
                        line,
                        [
                            Problem(
                                line,
                                "name",
                                f"name: '{row.name}' is the same {self.what} as line "
                                f"{self.claimed[match]}; only that row is imported.",
                            )
                        ],
                    )
                    continue
                self.claimed[match] = line
            self.outcome.warnings += [Problem(line, w.split(":")[0], w) for w in row.warnings]
            chunk.append((row, match))
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

    def _duplicate(self, row: Any) -> Problem | None:
        """The second row of one external id, or of one name among rows without one."""
        if row.external_id:
            first = self.external_seen.setdefault(row.external_id, row.line)
            if first != row.line:
                return Problem(
                    row.line,
                    "external_id",
                    f"external_id: '{row.external_id}' is also on line {first}; only that "
                    "row is imported.",
                )
            return None
        first = self.names_seen.setdefault(name_key(row.name), row.line)
        if first != row.line:
            return Problem(
                row.line,
                "name",
                f"name: '{row.name}' is also on line {first} (without an external id, a "
                f"name is the {self.what}); only that row is imported.",
            )
        return None

    def _chunk(self, chunk: list[tuple[Any, int | None]]) -> None:
        states = self._states([pk for _, pk in chunk if pk is not None])
        creates: list[Any] = []
        updates: list[tuple[Any, Any, dict[str, Any]]] = []
        for row, pk in chunk:
            if pk is None:
                creates.append(row)
                self._sample(row, "created")
                continue
            changes = self._changes(row, states[pk])
            if changes:
                updates.append((row, states[pk], changes))
                self._sample(row, "updated")
            else:
                self.outcome.counts["unchanged"] += 1
        self.outcome.counts["created"] += len(creates)
        self.outcome.counts["updated"] += len(updates)
        if not self.write:
            return
        if creates:
            self.outcome.created_ids += self._create(creates)
        if updates:
            self._update(updates)

    def _sample(self, row: Any, action: str) -> None:
        if len(self.outcome.sample) < SAMPLE_ROWS:
            self.outcome.sample.append(
                {"line": row.line, "action": action}
                | {name: getattr(row, name) for name in self.fields}
            )

    def _merged(self, state: Any, changes: dict[str, Any]) -> dict[str, Any]:
        """The record's values after the changes (a bulk update writes every column)."""
        values = {name: getattr(state, name) for name in (*self.fields, "source")}
        values.update(changes)
        return values


# --- accounts ---------------------------------------------------------------------------


class AccountImport(_CatalogueImport):
    """An accounts file (name, domain, industry, employees, country, external id)."""

    what = "account"
    fields = ("external_id", "name", "domain", "industry", "employees", "country")

    def _read(self, line: int, cells: dict[str, str]) -> AccountRow | list[Problem]:
        return read_account(line, cells)

    def _keys(self) -> list[tuple[int, str, str, str]]:
        return lookups.account_keys()

    def _match(self, row: AccountRow) -> int | None:
        candidates = [
            pk for pk in self.by_name.get(name_key(row.name), []) if pk not in self.claimed
        ]
        if row.external_id:
            found = self.by_external.get((self.source, row.external_id))
            if found is not None:
                return found
            # A new external id takes over an account of its name that has none yet.
            return next((pk for pk in candidates if pk not in self.external_of), None)
        # Without an external id the name is the account: one without an external id first.
        return next(
            (pk for pk in candidates if pk not in self.external_of),
            candidates[0] if candidates else None,
        )

    def _states(self, ids: list[int]) -> dict[int, lookups.AccountState]:
        return lookups.account_states(ids)

    def _changes(self, row: AccountRow, state: lookups.AccountState) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name in ("name", "domain", "industry", "employees", "country"):
            if name in row.given and getattr(row, name) != getattr(state, name):
                changes[name] = getattr(row, name)
        if row.external_id and not state.external_id:
            changes["source"] = self.source
            changes["external_id"] = row.external_id
        return changes

    def _create(self, rows: list[AccountRow]) -> list[int]:
        return bulk.accounts_import_create(
            actor=self.actor,
            source=self.source,
            accounts=[
                bulk.NewAccount(
                    name=r.name,
                    external_id=r.external_id,
                    domain=r.domain,
                    industry=r.industry,
                    employees=r.employees,
                    country=r.country,
                )
                for r in rows
            ],
        )

    def _update(self, updates: list[tuple[AccountRow, Any, dict[str, Any]]]) -> None:
        bulk.accounts_import_update(
            actor=self.actor,
            accounts=[
                bulk.AccountUpdate(
                    id=state.id, **self._merged(state, changes), fields=tuple(changes)
                )
                for _, state, changes in updates
            ],
        )


# --- products ---------------------------------------------------------------------------


class ProductImport(_CatalogueImport):
    """A products file (name, family, list price, currency, external id)."""

    what = "product"
    fields = ("external_id", "name", "family", "list_price", "currency")

    def _facts(self) -> ColumnFacts:
        prices = []
        for _, cells in self.rows():
            if value := clean_cell(cells.get("list_price")):
                prices.append(value)
                if len(prices) >= _PRICE_SAMPLE:
                    break
        facts = ColumnFacts(decimal_comma=guess_decimal_comma(prices))
        self.decimal_comma = (
            self.options.decimal_comma
            if self.options.decimal_comma is not None
            else facts.decimal_comma
        )
        return facts

    def _read(self, line: int, cells: dict[str, str]) -> ProductRow | list[Problem]:
        return read_product(line, cells, decimal_comma=self.decimal_comma)

    def _keys(self) -> list[tuple[int, str, str, str]]:
        return lookups.product_keys()

    def _duplicate(self, row: ProductRow) -> Problem | None:
        """A product name is unique: a second row of one name is refused too."""
        problem = super()._duplicate(row)
        if problem is None and row.external_id:
            first = self.names_seen.setdefault(name_key(row.name), row.line)
            if first != row.line:
                problem = Problem(
                    row.line,
                    "name",
                    f"name: '{row.name}' is also on line {first}; a product name is unique.",
                )
        return problem

    def _match(self, row: ProductRow) -> int | Problem | None:
        named = self.by_name.get(name_key(row.name), [])
        if not row.external_id:
            return named[0] if named else None
        found = self.by_external.get((self.source, row.external_id))
        others = [pk for pk in named if pk != found]
        if found is not None and not others:
            return found
        if found is None and others and others[0] not in self.external_of:
            return others[0]  # takes over the product of that name that has no external id
        if others:
            source, external_id = self.external_of.get(others[0], ("", ""))
            return Problem(
                row.line,
                "name",
                f"name: '{row.name}' is the name of another product (external id "
                f"'{external_id}' from {source}); a product name is unique, whatever the case.",
            )
        return None

    def _states(self, ids: list[int]) -> dict[int, lookups.ProductState]:
        return lookups.product_states(ids)

    def _changes(self, row: ProductRow, state: lookups.ProductState) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name in ("name", "family", "list_price", "currency"):
            if name in row.given and getattr(row, name) != getattr(state, name):
                changes[name] = getattr(row, name)
        if row.external_id and not state.external_id:
            changes["source"] = self.source
            changes["external_id"] = row.external_id
        return changes

    def _create(self, rows: list[ProductRow]) -> list[int]:
        return bulk.products_import_create(
            actor=self.actor,
            source=self.source,
            products=[
                bulk.NewProduct(
                    name=r.name,
                    external_id=r.external_id,
                    family=r.family,
                    list_price=r.list_price,
                    currency=r.currency,
                )
                for r in rows
            ],
        )

    def _update(self, updates: list[tuple[ProductRow, Any, dict[str, Any]]]) -> None:
        bulk.products_import_update(
            actor=self.actor,
            products=[
                bulk.ProductUpdate(
                    id=state.id, **self._merged(state, changes), fields=tuple(changes)
                )
                for _, state, changes in updates
            ],
        )
