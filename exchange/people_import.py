"""The people import: a file's rows → users and the nested team tree they work in.

One pass serves the preview and the import (`write=False` / `True`), like the opportunity
import. A people file is a company's sales team — dozens to a few thousand rows — so the
rows are read whole, decided in memory and written by one service call
(salesops.people.people_import_upsert: atomic, audited, invitations on commit).

How a row finds its person: by email (casefolded), else by username, else — for someone
a deal import created as a placeholder owner (no email, inactive, never signed in) — by
full name. Nobody matches: a new user, with the username given or made from the email's
local part (made unique), no password, and (option `invite`, on by default) an email with
a link to set one.

What only the whole file tells:
- the team tree: a team's parent from `parent_team` (created when missing; a parent that
  would put a team inside itself is refused — exchange.people.plan_teams);
- each team's manager, among the people its rows name in `manager`
  (exchange.people.choose_manager);
- two rows of one person (same email, username or matched user): the first wins.
A row refused for its team or its manager may make other rows fail (they named that
person as their manager): the decision repeats until every row left holds together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from exchange.deals import Problem
from exchange.engine import CHUNK, SAMPLE_ROWS, ColumnFacts, ImportPass, Outcome
from exchange.people import (
    REP,
    PeopleContext,
    PersonRow,
    TeamPlan,
    choose_manager,
    full_name,
    manager_lookup_keys,
    person_keys,
    plan_teams,
    read_person,
    unique_among,
    username_from,
)
from exchange.rules import clean_cell, guess_date_order
from salesops import lookups
from salesops import people as salesops_people
from salesops.cleaning import name_key, person_key

Ref = tuple[str, int]  # ("user", id) for someone here, ("row", line) for a new person


@dataclass
class _Person:
    """A row on its way: what its person will be after the import."""

    row: PersonRow
    state: lookups.PersonState | None
    adopted: bool  # a placeholder owner taken over
    username: str
    email: str
    first_name: str
    last_name: str
    role: str
    team_key: str | None
    started_on: dt.date | None
    is_active: bool
    changes: list[str] = field(default_factory=list)
    invite: bool = False

    @property
    def ref(self) -> Ref:
        return ("user", self.state.id) if self.state else ("row", self.row.line)

    @property
    def line(self) -> int:
        return self.row.line


class PeopleImport(ImportPass):
    """One pass over a people file; see the module docstring."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rejected_keys: dict[str, int] = {}

    # --- the pass ---

    def run(self) -> Outcome:
        if self.write:
            # Decided on what is here now, written before anyone else's people import reads.
            salesops_people.people_import_lock()
        facts = self._facts()
        self.outcome.facts = facts
        orders = {name: guess.order for name, guess in facts.date_guesses.items()}
        orders.update(self.options.date_orders)
        self._index(lookups.people_states(), lookups.team_states())
        rows = self._read(PeopleContext(date_orders=orders))
        people = self._match(rows)
        plan, managers = self._settle(people)
        self._classify(people, plan, managers)
        if self.write:
            self._write(people, plan, managers)
        self.outcome.rejected_lines.sort()
        self.outcome.problems.sort(key=lambda p: p.line)
        self.outcome.counts["rejected"] = len(self.outcome.rejected_lines)
        return self.outcome

    def _facts(self) -> ColumnFacts:
        dates = [cells.get("start_date", "") for _, cells in self.rows()]
        guess = guess_date_order(d for d in dates if "/" in d)
        return ColumnFacts(date_guesses={"start_date": guess} if guess.slashed else {})

    def _index(self, states: list[lookups.PersonState], teams: list[lookups.TeamState]) -> None:
        self.states = {s.id: s for s in states}
        self.by_email: dict[str, list[int]] = {}
        self.by_username: dict[str, list[int]] = {}
        self.placeholders: dict[str, list[int]] = {}
        for s in states:
            if s.email:
                self.by_email.setdefault(s.email.casefold(), []).append(s.id)
            self.by_username.setdefault(s.username.casefold(), []).append(s.id)
            if s.is_placeholder:
                key = person_key(full_name(s.first_name, s.last_name))
                self.placeholders.setdefault(key, []).append(s.id)
        self.teams = {name_key(t.name): t for t in teams}
        by_id = {t.id: t for t in teams}
        self.team_key_of = {t.id: name_key(t.name) for t in teams}
        # {team key: (name, parent's key)} — what plan_teams starts from
        self.existing_teams = {
            name_key(t.name): (
                t.name,
                name_key(by_id[t.parent_id].name) if t.parent_id in by_id else None,
            )
            for t in teams
        }

    def _reject(self, line: int, problems: list[Problem]) -> None:
        self.outcome.problems += problems
        self.outcome.rejected_lines.append(line)

    def _reject_person(self, person: _Person, problems: list[Problem]) -> None:
        self._reject(person.line, problems)
        for key in person_keys(person.email, person.username, person.first_name, person.last_name):
            self.rejected_keys.setdefault(key, person.line)

    def _note_refused(self, line: int, cells: dict[str, str]) -> None:
        """How other rows' manager cells may name a person whose row is refused."""
        name = " ".join(clean_cell(cells.get(f)) for f in ("first_name", "last_name"))
        name = name.strip() or clean_cell(cells.get("name"))
        for key in (
            clean_cell(cells.get("email")).casefold(),
            clean_cell(cells.get("username")).casefold(),
            person_key(name),
        ):
            if key:
                self.rejected_keys.setdefault(key, line)

    # --- rows ---

    def _read(self, ctx: PeopleContext) -> list[PersonRow]:
        rows: list[PersonRow] = []
        emails: dict[str, int] = {}
        usernames: dict[str, int] = {}
        done = 0
        for line, cells in self.rows():
            done += 1
            if done % CHUNK == 0:
                self.progress(done)
            row = read_person(line, cells, ctx)
            if isinstance(row, list):
                self._reject(line, row)
                self._note_refused(line, cells)
                continue
            problems = []
            if row.email and emails.setdefault(row.email_key, line) != line:
                problems.append(
                    Problem(line, "email", f"email: '{row.email}' is also on line "
                            f"{emails[row.email_key]}; only that row is imported.")
                )  # fmt: skip
            if row.username and usernames.setdefault(row.username.casefold(), line) != line:
                problems.append(
                    Problem(line, "username", f"username: '{row.username}' is also on line "
                            f"{usernames[row.username.casefold()]}; only that row is imported.")
                )  # fmt: skip
            if problems:
                self._reject(line, problems)
                continue
            rows.append(row)
        self.progress(done)
        return rows

    def _find(self, row: PersonRow) -> tuple[lookups.PersonState | None, bool] | Problem:
        """The person here a row is about: (state, adopted placeholder), or why it is
        unclear who is meant."""
        if row.email:
            ids = self.by_email.get(row.email_key, [])
            if row.username and len(ids) > 1:
                ids = [
                    i for i in ids if self.states[i].username.casefold() == row.username.casefold()
                ]
            if len(ids) == 1:
                return self.states[ids[0]], False
            if len(ids) > 1:
                return Problem(
                    row.line,
                    "email",
                    f"email: {len(ids)} people here have the email '{row.email}'; add a "
                    "username column to say which one is meant.",
                )
        if row.username:
            ids = self.by_username.get(row.username.casefold(), [])
            exact = [i for i in ids if self.states[i].username == row.username]
            ids = exact or ids
            if len(ids) == 1:
                return self.states[ids[0]], False
            if len(ids) > 1:
                return Problem(
                    row.line,
                    "username",
                    f"username: '{row.username}' is the username of {len(ids)} people here "
                    "(in different cases); write it exactly.",
                )
        ids = self.placeholders.get(person_key(row.name), [])
        if len(ids) == 1:
            return self.states[ids[0]], True
        return None, False

    def _match(self, rows: list[PersonRow]) -> list[_Person]:
        taken = {name.casefold() for name in self.by_username}
        taken |= {row.username.casefold() for row in rows if row.username}
        claimed: dict[int, int] = {}
        people: list[_Person] = []
        for row in rows:
            found = self._find(row)
            if isinstance(found, Problem):
                self._reject(row.line, [found])
                continue
            state, adopted = found
            if state is not None:
                if state.id in claimed:
                    self._reject(
                        row.line,
                        [Problem(row.line, "email", f"email: this is the same person as line "
                                 f"{claimed[state.id]}; only that row is imported.")],
                    )  # fmt: skip
                    continue
                claimed[state.id] = row.line
                person = self._existing(row, state, adopted)
            else:
                username = row.username or unique_among(username_from(row.email, row.name), taken)
                person = _Person(
                    row=row,
                    state=None,
                    adopted=False,
                    username=username,
                    email=row.email,
                    first_name=row.first_name,
                    last_name=row.last_name,
                    role=row.role or REP,
                    team_key=name_key(row.team) or None,
                    started_on=row.started_on,
                    is_active=True if row.active is None else row.active,
                )
            if isinstance(person, list):
                self._reject(row.line, person)
                continue
            people.append(person)
        return people

    def _existing(
        self, row: PersonRow, state: lookups.PersonState, adopted: bool
    ) -> _Person | list[Problem]:
        """An existing person as the row leaves them: a blank cell keeps what is here; a
        placeholder taken over becomes active unless the row says otherwise."""
        problems: list[Problem] = []
        given = row.given
        username = state.username
        if "username" in given and row.username != state.username:
            others = [i for i in self.by_username.get(row.username.casefold(), []) if i != state.id]
            if others:
                problems.append(
                    Problem(row.line, "username", f"username: '{row.username}' belongs to "
                            "someone else here.")
                )  # fmt: skip
            username = row.username
        email = state.email
        if "email" in given and row.email_key != state.email.casefold():
            email = row.email
        first, last = state.first_name, state.last_name
        if "name" in given and row.name != full_name(first, last):
            first, last = row.first_name, row.last_name
        role = row.role if row.role is not None else state.role
        team_key = (
            name_key(row.team) if "team" in given else self.team_key_of.get(state.team_id or 0)
        )
        started_on = row.started_on if "start_date" in given else state.started_on
        is_active = row.active if row.active is not None else (adopted or state.is_active)
        if state.id == self.actor.pk and (role != state.role or not is_active):
            problems.append(
                Problem(row.line, "role" if role != state.role else "active",
                        f"{'role' if role != state.role else 'active'}: this row is you; an "
                        "import does not change your own role or deactivate you (another "
                        "administrator can).")
            )  # fmt: skip
        if problems:
            return problems
        return _Person(
            row=row,
            state=state,
            adopted=adopted,
            username=username,
            email=email,
            first_name=first,
            last_name=last,
            role=role,
            team_key=team_key,
            started_on=started_on,
            is_active=is_active,
        )

    # --- the teams and their managers ---

    def _settle(self, people: list[_Person]) -> tuple[TeamPlan, dict[str, Ref | None]]:
        """The team tree and each team's manager, refusing the rows that do not fit until
        every row left holds together."""
        while True:
            plan = plan_teams(
                ((p.line, p.row.team, p.row.parent_team) for p in people if p.row.team),
                self.existing_teams,
            )
            refused = self._refuse(people, plan.problems)
            if refused:
                people[:] = [p for p in people if p.line not in refused]
                continue
            managers, problems = self._managers(people, plan)
            refused = self._refuse(people, problems)
            if refused:
                people[:] = [p for p in people if p.line not in refused]
                continue
            return plan, managers

    def _refuse(self, people: list[_Person], problems: list[Problem]) -> set[int]:
        by_line: dict[int, list[Problem]] = {}
        for problem in problems:
            by_line.setdefault(problem.line, []).append(problem)
        for person in people:
            if person.line in by_line:
                self._reject_person(person, by_line[person.line])
        return set(by_line)

    def _people_index(self, people: list[_Person]) -> dict[str, Ref | None]:
        """How a manager cell finds a person of the file or here; None: two people."""
        index: dict[str, Ref | None] = {}

        def add(key: str, ref: Ref) -> None:
            index[key] = ref if index.get(key, ref) == ref else None

        for p in people:
            for key in person_keys(p.email, p.username, p.first_name, p.last_name):
                add(key, p.ref)
        for s in self.states.values():
            for key in person_keys(s.email, s.username, s.first_name, s.last_name):
                add(key, ("user", s.id))
        return index

    def _managers(
        self, people: list[_Person], plan: TeamPlan
    ) -> tuple[dict[str, Ref | None], list[Problem]]:
        index = self._people_index(people)
        problems: list[Problem] = []
        named: dict[str, list[tuple[int, Ref]]] = {}
        for p in people:
            if not (p.row.manager and p.team_key):
                continue
            value = p.row.manager
            keys = [k for k in manager_lookup_keys(value) if k in index]
            if keys and index[keys[0]] is None:
                problems.append(
                    Problem(p.line, "manager", f"manager: more than one person is called "
                            f"'{value}'; name the manager by email or username.")
                )  # fmt: skip
            elif not keys:
                refused = next(
                    (self.rejected_keys[k] for k in manager_lookup_keys(value)
                     if k in self.rejected_keys),
                    None,
                )  # fmt: skip
                problems.append(
                    Problem(
                        p.line,
                        "manager",
                        f"manager: nobody called '{value}' in the file or here (by email, "
                        "username or full name)"
                        + (f"; they are on line {refused}, which is refused." if refused else "."),
                    )
                )
            else:
                ref = index[keys[0]]
                assert ref is not None
                named.setdefault(p.team_key, []).append((p.line, ref))
        if problems:
            return {}, problems
        username_of = {p.ref: p.username for p in people}
        role_of = {p.username: p.role for p in people}
        for s in self.states.values():
            username_of.setdefault(("user", s.id), s.username)
            role_of.setdefault(username_of[("user", s.id)], s.role)
        ref_of = {username: ref for ref, username in username_of.items()}
        managers: dict[str, Ref | None] = {}
        for team_key, claims in named.items():
            choice = choose_manager(
                plan.names[team_key], [username_of[ref] for _, ref in claims], role_of
            )
            if choice.note:
                self.outcome.warnings.append(
                    Problem(claims[0][0], "manager", f"manager: {choice.note}")
                )
            if choice.username is not None:
                managers[team_key] = ref_of[choice.username]
        return managers, []

    # --- what changes ---

    def _classify(
        self, people: list[_Person], plan: TeamPlan, managers: dict[str, Ref | None]
    ) -> None:
        counts = self.outcome.counts
        self.team_changes: dict[str, list[str]] = {}
        for key in sorted(plan.parents, key=lambda k: plan.names[k].casefold()):
            team = self.teams.get(key)
            if team is None:
                counts["teams_created"] += 1
                self.outcome.new_teams.add(plan.names[key])
                continue
            changes = []
            if key in plan.set_parents and plan.set_parents[key] != self.existing_teams[key][1]:
                changes.append("parent")
            if key in managers and managers[key] != (
                ("user", team.manager_id) if team.manager_id else None
            ):
                changes.append("manager")
            if changes:
                self.team_changes[key] = changes
                counts["teams_updated"] += 1
        people_by_ref = {p.ref: p for p in people}
        for p in people:
            if p.state is None:
                counts["created"] += 1
                action = "created"
            else:
                p.changes = self._changed_fields(p)
                action = "updated" if p.changes else "unchanged"
                counts[action] += 1
            p.invite = self.options.invite and salesops_people.invitation_due(
                created=p.state is None,
                was_active=bool(p.state and p.state.is_active),
                is_active=p.is_active,
                email=p.email,
                has_password=bool(p.state and p.state.has_password),
            )
            if p.invite:
                counts["invited"] += 1
            elif self.options.invite and p.state is None and p.is_active and not p.email:
                self.outcome.warnings.append(
                    Problem(p.line, "email", "email: no email address, so no invitation: "
                            "they cannot sign in until an administrator sets their password.")
                )  # fmt: skip
            if action != "unchanged" and len(self.outcome.sample) < SAMPLE_ROWS:
                self.outcome.sample.append(
                    self._as_stored(p, action, plan, managers, people_by_ref)
                )
            self.outcome.warnings += [Problem(p.line, w.split(":")[0], w) for w in p.row.warnings]

    def _changed_fields(self, p: _Person) -> list[str]:
        state = p.state
        assert state is not None
        current_team = self.team_key_of.get(state.team_id or 0)
        pairs = {
            "username": (p.username, state.username),
            "email": (p.email, state.email),
            "first_name": (p.first_name, state.first_name),
            "last_name": (p.last_name, state.last_name),
            "role": (p.role, state.role),
            "team": (p.team_key, current_team),
            "started_on": (p.started_on, state.started_on),
            "is_active": (p.is_active, state.is_active),
        }
        return [name for name, (new, old) in pairs.items() if new != old]

    def _username_of(self, ref: Ref, people_by_ref: dict[Ref, _Person]) -> str:
        if ref in people_by_ref:
            return people_by_ref[ref].username
        state = self.states.get(ref[1]) if ref[0] == "user" else None
        return state.username if state else ""

    def _as_stored(
        self,
        p: _Person,
        action: str,
        plan: TeamPlan,
        managers: dict[str, Ref | None],
        people_by_ref: dict[Ref, _Person],
    ) -> dict[str, Any]:
        team = plan.names.get(p.team_key or "", "") if p.team_key else ""
        parent = plan.parents.get(p.team_key) if p.team_key else None
        manager = managers.get(p.team_key) if p.team_key else None
        if (
            manager is None
            and p.team_key in self.teams
            and (manager_id := self.teams[p.team_key].manager_id)
        ):
            manager = ("user", manager_id)
        return {
            "line": p.line,
            "action": action,
            "name": full_name(p.first_name, p.last_name),
            "email": p.email,
            "username": p.username,
            "role": p.role,
            "team": team,
            "parent_team": plan.names.get(parent, "") if parent else "",
            "team_manager": self._username_of(manager, people_by_ref) if manager else "",
            "start_date": p.started_on,
            "active": p.is_active,
            "invite": p.invite,
            "changes": p.changes,
        }

    # --- the write ---

    def _write(
        self, people: list[_Person], plan: TeamPlan, managers: dict[str, Ref | None]
    ) -> None:
        username_of: dict[Ref, str] = {p.ref: p.username for p in people}
        for s in self.states.values():
            username_of.setdefault(("user", s.id), s.username)

        def team_name(key: str | None) -> str | None:
            return plan.names[key] if key else None

        teams = []
        for key, parent in plan.parents.items():
            team = self.teams.get(key)
            if team is not None and key not in self.team_changes:
                continue
            manager = managers.get(key)
            if manager is None and team is not None and team.manager_id:
                manager = ("user", team.manager_id)
            teams.append(
                salesops_people.ImportedTeam(
                    id=team.id if team else None,
                    name=plan.names[key],
                    parent=team_name(parent),
                    manager=username_of[manager] if manager else None,
                )
            )
        persons = [
            salesops_people.ImportedPerson(
                id=p.state.id if p.state else None,
                username=p.username,
                first_name=p.first_name,
                last_name=p.last_name,
                email=p.email,
                role=p.role,
                team=team_name(p.team_key),
                started_on=p.started_on,
                is_active=p.is_active,
            )
            for p in people
            if p.state is None or p.changes
        ]
        if not teams and not persons:
            return
        result = salesops_people.people_import_upsert(
            actor=self.actor,
            teams=teams,
            people=persons,
            invite=self.options.invite,
            note=self.note,
        )
        self.outcome.created_ids += result.created_user_ids
        self.outcome.created_teams += result.created_team_ids
