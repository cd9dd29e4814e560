"""Row locks that never hide a row a concurrent writer changed.

`Model.objects.select_for_update(of=("self",)).select_related(...).filter(scope, pk=...)`
looks like one tidy query but loses rows under concurrency. When the row is locked by
another transaction, PostgreSQL (READ COMMITTED) waits, then re-checks the *new* version
of the locked row against the *old* rows it had joined. If the winner changed a joined
foreign key (an advance changes `stage_id`, a reassignment `owner_id`), the join no longer
matches and the row is silently dropped: the loser sees "no such row" — a false 404 for
a deal that exists and that it may see.

So: lock by primary key alone (no join, nothing to re-check but the key), then read the
row with its joins and the visibility filter in a new statement, which under READ
COMMITTED sees what the winner committed.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def lock_then_get(queryset: QuerySet[M], pk: Any) -> M | None:
    """Lock the row `pk` of `queryset`'s model for this transaction, then return it read
    through `queryset` (its joins and filters, e.g. the actor's scope) — None when there
    is no such row or `queryset` does not include it. Call it inside a transaction."""
    model = queryset.model
    if not list(model._base_manager.select_for_update().filter(pk=pk).values_list("pk")):
        return None
    return queryset.filter(pk=pk).first()
