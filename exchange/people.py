"""Reading one row of a people export (a CRM's users) — pure, no database.

`read_person` turns a row's cells (by our field names) into a `PersonRow`, or every
problem of the row. The rest of this module decides what only the whole file tells:
`plan_teams` builds the team tree the rows describe (a team's parent from `parent_team`,
refusing a team that would end up inside itself) and `choose_manager` picks a team's
manager among the people its rows name in the `manager` column.

What a people file looks like, and how it reads:
- `name` is the full name ("Ana Souza", "Souza, Ana"), or `first_name` and `last_name`;
- `role` in a CRM's words ("Account Executive", "Sales Manager", "VP Sales", "System
  Administrator") or ours (rep, manager, leader, admin); blank: a sales rep (a new
  person) or as it is (someone already here);
- `manager` names the manager of the row's team (our export writes the team manager's
  email), by email, username or full name, of a person in the file or already here;
- `active` yes/no (also "Active"/"Inactive"); blank: yes for a new person.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from exchange.deals import Problem
from exchange.rules import (
    CellError,
    DateOrder,
    clean_cell,
    looks_like_formula,
    parse_date,
    parse_yes_no,
)
from salesops.cleaning import name_key, person_key

# The lengths salesops.models.User and Team hold.
MAX_LENGTHS = {
    "first_name": 150,
    "last_name": 150,
    "email": 254,
    "username": 150,
    "team": 120,
    "parent_team": 120,
}

# salesops.models.Role's values: kept as text so that this module needs no model.
REP, MANAGER, LEADER, ADMIN = "rep", "manager", "leader", "admin"
ROLES = (REP, MANAGER, LEADER, ADMIN)

# A CRM's words for the roles, compared after `role_key`; our own values and labels too.
ROLE_WORDS: dict[str, str] = {
    **{word: REP for word in (
        "rep", "sales rep", "sales representative", "representative", "account executive",
        "ae", "sdr", "bdr", "sales development representative",
        "business development representative", "inside sales", "inside sales rep",
        "sales executive", "salesperson", "account manager", "standard user",
        "regular user", "sales user",
    )},
    **{word: MANAGER for word in (
        "manager", "sales manager", "team lead", "team leader", "sales team lead",
        "sales team leader",
    )},
    **{word: LEADER for word in (
        "leader", "sales leader", "vp sales", "vp of sales", "vice president sales",
        "vice president of sales", "head of sales", "cro", "chief revenue officer",
    )},
    **{word: ADMIN for word in (
        "admin", "administrator", "system administrator", "sysadmin", "super admin",
    )},
}  # fmt: skip

_USERNAME = UnicodeUsernameValidator()
_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]+")


def role_key(text: str) -> str:
    """How a role word compares: case, accents, dots, dashes and spacing do not matter
    ("V.P. Sales" and "vp-sales" are "vp sales")."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    text = re.sub(r"(?<=\b[a-zA-Z])\.(?=[a-zA-Z]\b)", "", text)  # V.P. → VP
    text = re.sub(r"[^a-z0-9]+", " ", text.casefold())
    return " ".join(text.split())


def parse_role(text: str) -> str | None:
    """Our role for a CRM's role word; "" → None (not given). Raises CellError with the
    words accepted for each role."""
    if not (text or "").strip():
        return None
    role = ROLE_WORDS.get(role_key(text))
    if role is None:
        raise CellError(f"'{text.strip()}' is not a role we know. {accepted_role_words()}")
    return role


def accepted_role_words() -> str:
    by_role: dict[str, list[str]] = {}
    for word, role in ROLE_WORDS.items():
        by_role.setdefault(role, []).append(word)
    labels = {REP: "Sales rep", MANAGER: "Sales manager", LEADER: "Sales leader",
              ADMIN: "Administrator"}  # fmt: skip
    return (
        "Use one of: "
        + "; ".join(f"{labels[role]}: {', '.join(by_role[role])}" for role in ROLES)
        + "."
    )


def split_name(full: str) -> tuple[str, str]:
    """(first name, last name) of a full name: "Souza, Ana" → ("Ana", "Souza"); "Ana
    Maria Souza" → ("Ana", "Maria Souza") — the first word is the first name, as the
    placeholder people a deal import creates (salesops.people) are named."""
    text = " ".join((full or "").split())
    if text.count(",") == 1:
        last, first = (part.strip() for part in text.split(","))
        if first and last:
            return first, last
    first, _, last = text.partition(" ")
    return first, last


def full_name(first: str, last: str) -> str:
    """The name as Salesops shows it (User.get_full_name)."""
    return f"{first} {last}".strip()


def username_from(email: str, name: str) -> str:
    """The username a person without one gets: their email's local part ("ana.souza" of
    ana.souza@acme.com), else their name ("ana.souza" of "Ana Souza"), in the characters
    Django accepts in a username."""
    if email and "@" in email:
        base = email.rsplit("@", 1)[0]
    else:
        base = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        base = base.lower().replace(" ", ".")
    base = _USERNAME_UNSAFE.sub(".", base).strip(".")
    return base[:140] or "user"


def unique_among(wanted: str, taken: set[str]) -> str:
    """`wanted`, or `wanted.2`, `wanted.3`… — the first not in `taken` (casefolded names);
    the one returned is added to `taken`."""
    candidate = wanted
    number = 2
    while candidate.casefold() in taken:
        candidate = f"{wanted}.{number}"
        number += 1
    taken.add(candidate.casefold())
    return candidate


# --- one row ----------------------------------------------------------------------------


@dataclass
class PeopleContext:
    date_orders: dict[str, DateOrder | None] = field(default_factory=dict)


@dataclass
class PersonRow:
    line: int
    first_name: str
    last_name: str
    email: str
    username: str  # as given; "" when the file has none
    role: str | None  # None: not given
    team: str
    parent_team: str
    manager: str
    started_on: dt.date | None
    active: bool | None  # None: not given
    # Which fields the file gives (mapped and not blank): an update changes only these.
    given: frozenset[str] = frozenset()
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return full_name(self.first_name, self.last_name)

    @property
    def email_key(self) -> str:
        return self.email.casefold()


def _text(cells: Mapping[str, str], name: str, problems: list[str]) -> str:
    text = " ".join(clean_cell(cells.get(name)).split())
    limit = MAX_LENGTHS.get(name)
    if limit and len(text) > limit:
        problems.append(f"{name}: use at most {limit} characters (got {len(text)}).")
    return text


def _names(cells: Mapping[str, str], errors: list[str]) -> tuple[str, str]:
    full = " ".join(clean_cell(cells.get("name")).split())
    first = _text(cells, "first_name", errors)
    last = _text(cells, "last_name", errors)
    if full and not (first or last):
        first, last = split_name(full)
    elif not (first or last):
        errors.append("name: the person has no name.")
    for part, value in (("first_name", first), ("last_name", last)):
        if len(value) > MAX_LENGTHS[part]:
            errors.append(f"name: use at most {MAX_LENGTHS[part]} characters per name part.")
            break
    return first, last


def read_person(
    line: int, cells: Mapping[str, str], ctx: PeopleContext
) -> PersonRow | list[Problem]:
    """The person of one row, or every problem of the row (nothing of it is stored then)."""
    errors: list[str] = []
    warnings: list[str] = []
    given = frozenset(name for name, value in cells.items() if clean_cell(value))
    if "first_name" in given or "last_name" in given:
        given |= {"name"}

    first, last = _names(cells, errors)
    if looks_like_formula(full_name(first, last)):
        warnings.append("name: starts with '=' like a spreadsheet formula; kept as text.")
    email = _text(cells, "email", errors)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.append(f"email: '{email}' is not an email address.")
    username = _text(cells, "username", errors)
    if username:
        try:
            _USERNAME(username)
        except ValidationError:
            errors.append(f"username: '{username}' may hold only letters, digits and @ . + - _.")
    if not email and not username:
        errors.append(
            "email: every person needs an email or a username (to sign in, and to be found "
            "again by the next import)."
        )
    try:
        role = parse_role(clean_cell(cells.get("role")))
    except CellError as exc:
        errors.append(f"role: {exc}")
        role = None
    team = _text(cells, "team", errors)
    parent_team = _text(cells, "parent_team", errors)
    if parent_team and not team:
        warnings.append(
            f"parent_team: '{parent_team}' ignored: the row names no team to put under it."
        )
        parent_team = ""
    manager = " ".join(clean_cell(cells.get("manager")).split())
    if manager and not team:
        warnings.append(
            f"manager: '{manager}' ignored: the manager column names the manager of the "
            "person's team, and the row names no team."
        )
        manager = ""
    try:
        started_on = parse_date(
            clean_cell(cells.get("start_date")), ctx.date_orders.get("start_date")
        )
    except CellError as exc:
        errors.append(f"start_date: {exc}")
        started_on = None
    try:
        active_text = clean_cell(cells.get("active"))
        active = parse_yes_no(active_text) if active_text else None
    except CellError as exc:
        errors.append(f"active: {exc}")
        active = None

    if errors:
        return [Problem(line, e.split(":", 1)[0], e) for e in errors]
    return PersonRow(
        line=line,
        first_name=first,
        last_name=last,
        email=email,
        username=username,
        role=role,
        team=team,
        parent_team=parent_team,
        manager=manager,
        started_on=started_on,
        active=active,
        given=given,
        warnings=warnings,
    )


def person_keys(email: str, username: str, first: str, last: str) -> set[str]:
    """The ways a `manager` cell may name this person: email, username (casefolded) and
    full name (salesops.cleaning.person_key, as the deal import looks up owners)."""
    return {email.casefold(), username.casefold(), person_key(full_name(first, last))} - {""}


def manager_lookup_keys(value: str) -> list[str]:
    return [value.strip().casefold(), person_key(value)]


# --- the team tree ----------------------------------------------------------------------


@dataclass
class TeamPlan:
    """The teams a file names, by name_key: their names and parents after the import."""

    names: dict[str, str]
    # team key → parent key (None: a top-level team), for every team the file names,
    # existing parents included where the file does not set one.
    parents: dict[str, str | None]
    # team key → the parent the file sets (only teams whose parent the file gives).
    set_parents: dict[str, str]
    # lines refused for their team or parent_team, with why
    problems: list[Problem] = field(default_factory=list)


def _path_up(start: str, parents: Mapping[str, str | None], stop: str) -> list[str] | None:
    """The chain of parents from `start` up to `stop`, or None when `stop` is not above."""
    path = [start]
    seen = {start}
    current: str | None = start
    while current is not None:
        if current == stop:
            return path
        current = parents.get(current)
        if current is None or current in seen:
            return None
        seen.add(current)
        path.append(current)
    return None


def plan_teams(
    claims: Iterable[tuple[int, str, str]],
    existing: Mapping[str, tuple[str, str | None]],
) -> TeamPlan:
    """The team tree after the import, from the rows' (line, team, parent_team) and the
    teams here ({name_key: (name, parent's name_key)}).

    A team's parent is the one its rows give (blank: as it is here, or top-level for a new
    team). Refused, by line: a team named as its own parent, a second parent for a team
    (the first row's wins), and a parent that would put a team inside itself — a cycle
    with the teams here or within the file: the rows that would close it are refused (the
    parents of the other rows are taken first), and the team keeps the parent it has."""
    names = {key: name for key, (name, _) in existing.items()}
    mentioned: set[str] = set()
    problems: list[Problem] = []
    edges: dict[str, tuple[str, int]] = {}  # team → (parent, first line)
    edge_lines: dict[str, list[int]] = {}
    for line, team, parent in claims:
        team_key = name_key(team)
        names.setdefault(team_key, team)
        mentioned.add(team_key)
        if not parent:
            continue
        parent_key = name_key(parent)
        names.setdefault(parent_key, parent)
        mentioned.add(parent_key)
        if parent_key == team_key:
            problems.append(
                Problem(line, "parent_team", f"parent_team: '{team}' cannot be its own parent.")
            )
            continue
        if team_key in edges and edges[team_key][0] != parent_key:
            first_parent, first_line = edges[team_key]
            problems.append(
                Problem(
                    line,
                    "parent_team",
                    f"parent_team: '{names[team_key]}' is under '{names[first_parent]}' on "
                    f"line {first_line}; a team has one parent.",
                )
            )
            continue
        edges.setdefault(team_key, (parent_key, line))
        edge_lines.setdefault(team_key, []).append(line)

    # Each parent the file gives is taken in line order unless it closes a cycle with the
    # parents taken so far (and those here); one refused is tried again once the others
    # are in (a reorganisation may need them first). What still closes a cycle is refused.
    parents: dict[str, str | None] = {key: parent for key, (_, parent) in existing.items()}
    pending = sorted(edges, key=lambda t: edges[t][1])
    progress = True
    while pending and progress:
        progress = False
        for team in list(pending):
            if _path_up(edges[team][0], parents, team) is None:
                parents[team] = edges[team][0]
                pending.remove(team)
                progress = True
    refused = set(pending)
    for team in pending:
        cycle = _path_up(edges[team][0], parents, team) or [team]
        chain = " → ".join(names[key] for key in [team, *cycle])
        problems += [
            Problem(
                line,
                "parent_team",
                f"parent_team: '{names[team]}' would be inside itself ({chain}); a team "
                "cannot be its own ancestor.",
            )
            for line in edge_lines[team]
        ]
    return TeamPlan(
        names=names,
        parents={key: parents.get(key) for key in mentioned},
        set_parents={t: p for t, (p, _) in edges.items() if t not in refused},
        problems=sorted(problems, key=lambda p: p.line),
    )


# --- a team's manager -------------------------------------------------------------------


@dataclass(frozen=True)
class ManagerChoice:
    username: str | None  # None: no one the file names may manage the team
    note: str = ""


def choose_manager(team: str, named: Sequence[str], roles: Mapping[str, str]) -> ManagerChoice:
    """The manager of `team` among the people its rows name (`named`: usernames, one per
    row that names one, in file order; `roles`: each one's role after the import).

    A sales manager named for the team becomes its manager; when the rows name several,
    the one named on the most rows (the first on a tie), and the note says so. When no
    sales manager is named, a leader or an administrator named for it manages it (a team
    that reports to a leader directly). A sales rep never manages a team: the note says
    the team keeps the manager it has."""
    if not named:
        return ManagerChoice(None)
    counts = Counter(named)
    order = list(dict.fromkeys(named))
    for wanted in ((MANAGER,), (LEADER, ADMIN)):
        fitting = [u for u in order if roles.get(u) in wanted]
        if not fitting:
            continue
        chosen = max(fitting, key=lambda u: (counts[u], -order.index(u)))
        if len(order) == 1:
            return ManagerChoice(chosen)
        why = "named on the most rows" if len(fitting) > 1 else f"the {roles[chosen]} among them"
        return ManagerChoice(
            chosen,
            f"team '{team}': its rows name {len(order)} managers ({', '.join(order)}); "
            f"{chosen} manages it ({why}).",
        )
    reps = ", ".join(order)
    return ManagerChoice(
        None,
        f"team '{team}': {reps} {'is a sales rep' if len(order) == 1 else 'are sales reps'}; "
        "a team is managed by a sales manager (or a leader), so it keeps the manager it has.",
    )
