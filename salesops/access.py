"""Who may see what: the visibility rules every app uses.

- a rep sees their own records;
- a manager sees the records of the members of the teams they manage, sub-teams
  included, and their own;
- a leader and an admin see everything.
Selectors apply these rules; a record outside the scope is a 404, never a 403.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Q
from django.db.models.expressions import RawSQL

from salesops.models import Role, Team, User


def managed_team_ids(user: User) -> set[int]:
    """Teams `user` manages, with all their sub-teams (one query; the team table is small)."""
    if not user.is_authenticated:
        return set()
    rows = list(Team.objects.values_list("id", "parent_id", "manager_id"))
    return _with_sub_teams(rows, [team for team, _, manager in rows if manager == user.pk])


def team_subtree(team_id: int) -> set[int]:
    """The team and all its sub-teams (one query); empty when there is no such team."""
    rows = list(Team.objects.values_list("id", "parent_id", "manager_id"))
    return _with_sub_teams(rows, [team for team, _, _ in rows if team == team_id])


def sub_teams_among(teams: Iterable[Team], root: int) -> set[int]:
    """`root` and its sub-teams among already-loaded `teams` (no query)."""
    return _with_sub_teams([(t.pk, t.parent_id, t.manager_id) for t in teams], [root])


def _with_sub_teams(
    rows: Sequence[tuple[int, int | None, int | None]], roots: list[int]
) -> set[int]:
    """`roots` and every team below them; a cycle of parents stops where it closes."""
    children: dict[int | None, list[int]] = {}
    for team_id, parent_id, _ in rows:
        children.setdefault(parent_id, []).append(team_id)
    result: set[int] = set()
    stack = list(roots)
    while stack:
        team_id = stack.pop()
        if team_id in result:
            continue
        result.add(team_id)
        stack.extend(children.get(team_id, []))
    return result


def owner_scope_q(user: User, *, field: str = "owner") -> Q:
    """A filter on `<field>` (a FK to User) that keeps only what `user` may see."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.sees_everything:
        return Q()
    if user.role == Role.MANAGER:
        # The owners first (the manager and the managed teams' members), then their records:
        # an index on the owner serves it, where "owner = me OR owner's team in (…)" made
        # PostgreSQL join every record to its owner to test it.
        owners = User.objects.filter(visible_users_q(user)).values("pk")
        return Q(**{f"{field}__in": owners})
    return Q(**{field: user})


def visible_users_q(user: User) -> Q:
    """Users whose records `user` may see (for owner pickers and filters)."""
    if user.sees_everything:
        return Q()
    if user.role == Role.MANAGER:
        return Q(pk=user.pk) | Q(team_id__in=managed_team_ids(user))
    return Q(pk=user.pk)


def manages(manager: User, person: User) -> bool:
    """True when `manager` is a leader/admin, or manages `person`'s team (or a parent team)."""
    if manager.sees_everything:
        return True
    if manager.role != Role.MANAGER or person.team_id is None:
        return False
    return person.team_id in managed_team_ids(manager)


def can_override_gate(actor: User, owner: User) -> bool:
    """A manager of the owner (or a leader/admin) may override a stage gate; a rep never."""
    if actor.sees_everything:
        return True
    return actor.pk != owner.pk and manages(actor, owner)


def configures_sales_process(user: User) -> bool:
    """Administrators and sales leaders set up how the company sells: pipelines, stages
    and milestones, qualification frameworks, quotas. The one rule the services, the
    setup pages, the API and the navbar follow."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_admin_role or user.role == Role.LEADER)
    )


def edits_any_account(user: User) -> bool:
    """Accounts are one catalogue every deal shares: managers, sales leaders and
    administrators change any account; a rep only one no one else's deal uses (the query
    is pipeline.services.accounts_locked_for, which asks this first)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.sees_everything or user.role == Role.MANAGER)
    )


def can_assign_owner(actor: User, new_owner: User) -> bool:
    """Reps keep their own deals; managers assign within their teams; leaders anywhere."""
    if actor.sees_everything:
        return True
    if actor.role == Role.MANAGER:
        return new_owner.pk == actor.pk or manages(actor, new_owner)
    return new_owner.pk == actor.pk


def managed_team_ids_sql(user: User) -> RawSQL:
    """`managed_team_ids` as a subquery (a recursive CTE) instead of a query of its own.

    For reads that must stay exactly one query, like the counts in the navbar on every
    page. UNION (not UNION ALL) stops at a cycle of parent teams."""
    table = Team._meta.db_table
    return RawSQL(
        f"WITH RECURSIVE managed(id) AS ("
        f"SELECT id FROM {table} WHERE manager_id = %s "
        f"UNION SELECT t.id FROM {table} t JOIN managed m ON t.parent_id = m.id"
        f") SELECT id FROM managed",
        (user.pk,),
    )


def owner_scope_sql_q(user: User, *, field: str = "owner") -> Q:
    """The same rule as `owner_scope_q`, with a manager's teams resolved inside the SQL."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.sees_everything:
        return Q()
    if user.role == Role.MANAGER:
        return Q(**{field: user}) | Q(**{f"{field}__team_id__in": managed_team_ids_sql(user)})
    return Q(**{field: user})
