"""What every kind of import's pass shares (deal_import, people_import, catalogue_import):
the batch's rows and choices, whether it writes (import) or not (preview), and the
Outcome it fills. Each kind's class says how its rows read, match and write."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from exchange.deals import Problem
from exchange.options import ImportOptions
from exchange.rules import DateGuess
from salesops.models import User

Rows = Callable[[], Iterator[tuple[int, dict[str, str]]]]
# Rows read and written at a time (bounded memory; progress after each).
CHUNK = 5_000
# How many of the first new records the preview shows as they will be stored.
SAMPLE_ROWS = 20


@dataclass
class ColumnFacts:
    """What the whole file says about its columns (the first pass)."""

    date_guesses: dict[str, DateGuess] = field(default_factory=dict)
    decimal_comma: bool = False
    # distinct values of the columns the user maps value by value, with their counts
    stage_values: Counter[str] = field(default_factory=Counter)
    owner_values: Counter[str] = field(default_factory=Counter)
    status_values: Counter[str] = field(default_factory=Counter)


@dataclass
class Outcome:
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    sample: list[dict[str, Any]] = field(default_factory=list)
    rejected_lines: list[int] = field(default_factory=list)
    new_accounts: set[str] = field(default_factory=set)
    new_products: set[str] = field(default_factory=set)
    unknown_owners: Counter[str] = field(default_factory=Counter)
    unmapped_stages: Counter[str] = field(default_factory=Counter)
    # The stage each of the file's stage values lands in ({value: stage id or None}).
    stage_matches: dict[str, int | None] = field(default_factory=dict)
    created_ids: list[int] = field(default_factory=list)
    created_accounts: list[int] = field(default_factory=list)
    created_products: list[int] = field(default_factory=list)
    created_users: list[int] = field(default_factory=list)
    # The people import: the teams it created (undo deletes them) and their names.
    created_teams: list[int] = field(default_factory=list)
    new_teams: set[str] = field(default_factory=set)
    facts: ColumnFacts | None = None


class ImportPass:
    def __init__(
        self,
        *,
        actor: User,
        source: str,
        rows: Rows,
        value_maps: dict[str, dict[str, Any]],
        options: ImportOptions,
        write: bool,
        note: str = "",
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.actor = actor
        self.source = source
        self.rows = rows
        self.value_maps = value_maps
        self.options = options
        self.write = write
        self.note = note or f"Imported from {source}"
        self.progress = progress or (lambda done: None)
        self.outcome = Outcome()

    def run(self) -> Outcome:
        raise NotImplementedError
