"""The people import's pure rules: role words, names, usernames, the team tree (cycles) and
a team's manager — known answers, no database."""

from __future__ import annotations

import datetime as dt

import pytest

from exchange.deals import Problem
from exchange.people import (
    ADMIN,
    LEADER,
    MANAGER,
    REP,
    PeopleContext,
    PersonRow,
    choose_manager,
    parse_role,
    plan_teams,
    read_person,
    role_key,
    split_name,
    unique_among,
    username_from,
)
from exchange.rules import CellError, DateOrder
from salesops.models import Role

# --- roles ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "role"),
    [
        ("Sales Representative", REP),
        ("Account Executive", REP),
        ("AE", REP),
        ("SDR", REP),
        ("sales rep", REP),
        ("Sales Manager", MANAGER),
        ("Team Lead", MANAGER),
        ("team-lead", MANAGER),
        ("VP Sales", LEADER),
        ("V.P. Sales", LEADER),
        ("Head of Sales", LEADER),
        ("CRO", LEADER),
        ("Administrator", ADMIN),
        ("System Administrator", ADMIN),
        # our own values and labels (what our export writes)
        ("rep", REP),
        ("manager", MANAGER),
        ("leader", LEADER),
        ("admin", ADMIN),
        ("Sales leader", LEADER),
        ("  SALES   MANAGER ", MANAGER),
    ],
)
def test_crm_role_words(word, role):
    assert parse_role(word) == role


def test_every_role_value_and_label_reads_as_itself():
    for value, label in Role.choices:
        assert parse_role(value) == value
        assert parse_role(label) == value


def test_an_unknown_role_lists_the_accepted_words():
    with pytest.raises(CellError) as exc:
        parse_role("Wizard")
    message = str(exc.value)
    assert "'Wizard' is not a role we know" in message
    for word in ("Sales rep:", "account executive", "Sales manager:", "team lead", "vp sales",
                 "Administrator:", "system administrator"):  # fmt: skip
        assert word in message


def test_a_blank_role_is_not_given():
    assert parse_role("") is None and parse_role("   ") is None


def test_role_key():
    assert role_key("V.P. Sales") == "vp sales"
    assert role_key("Team-Lead") == "team lead"
    assert role_key("Administrateur-système") == "administrateur systeme"


# --- names and usernames ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("full", "parts"),
    [
        ("Ana Souza", ("Ana", "Souza")),
        ("Souza, Ana", ("Ana", "Souza")),
        ("Ana Maria  Souza", ("Ana", "Maria Souza")),
        ("Cher", ("Cher", "")),
    ],
)
def test_split_name(full, parts):
    assert split_name(full) == parts


def test_usernames_come_from_the_email_else_the_name():
    assert username_from("ana.souza@acme.com", "Ana Souza") == "ana.souza"
    assert username_from("o'brien+sales@acme.com", "") == "o.brien+sales"
    assert username_from("", "Chloé Durand") == "chloe.durand"
    assert username_from("", "") == "user"


def test_usernames_are_made_unique_whatever_the_case():
    taken = {"ana", "ana.2"}
    assert unique_among("Ana", taken) == "Ana.3"
    assert unique_among("ben", taken) == "ben"
    assert unique_among("ben", taken) == "ben.2"
    assert {"ana.3", "ben", "ben.2"} <= taken


# --- one row ------------------------------------------------------------------------------


def read(cells: dict[str, str], **ctx) -> PersonRow | list[Problem]:
    return read_person(7, cells, PeopleContext(**ctx))


def test_a_full_row_reads():
    person = read(
        {
            "name": "Souza, Ana",
            "email": "Ana.Souza@Acme.com",
            "role": "Account Executive",
            "team": "Enterprise  East",
            "parent_team": "Enterprise",
            "manager": "ben@acme.com",
            "start_date": "3/14/2024",
            "active": "Active",
        },
        date_orders={"start_date": DateOrder.MDY},
    )
    assert isinstance(person, PersonRow)
    assert (person.first_name, person.last_name, person.name) == ("Ana", "Souza", "Ana Souza")
    assert person.email_key == "ana.souza@acme.com"
    assert person.role == REP
    assert (person.team, person.parent_team, person.manager) == (
        "Enterprise East",
        "Enterprise",
        "ben@acme.com",
    )
    assert person.started_on == dt.date(2024, 3, 14)
    assert person.active is True
    assert {"name", "email", "role", "team", "start_date", "active"} <= person.given


def test_first_and_last_name_columns():
    person = read({"first_name": "Ana", "last_name": "Souza", "email": "a@x.io"})
    assert isinstance(person, PersonRow)
    assert person.name == "Ana Souza" and "name" in person.given


def test_every_problem_of_a_row_at_once():
    problems = read(
        {
            "name": "",
            "email": "not-an-email",
            "username": "ana souza",
            "role": "Wizard",
            "start_date": "31/02/2024",
            "active": "perhaps",
        },
        date_orders={"start_date": DateOrder.DMY},
    )
    assert isinstance(problems, list)
    assert {p.field for p in problems} == {
        "name", "email", "username", "role", "start_date", "active",
    }  # fmt: skip
    assert all(p.line == 7 for p in problems)
    assert "'31/02/2024' is not a date" in next(
        p.message for p in problems if p.field == "start_date"
    )


def test_a_person_needs_an_email_or_a_username():
    problems = read({"name": "Ana Souza"})
    assert [p.field for p in problems] == ["email"]
    assert isinstance(read({"name": "Ana Souza", "username": "ana"}), PersonRow)


def test_a_manager_or_parent_without_a_team_is_ignored_with_a_note():
    person = read({"name": "Ana", "email": "a@x.io", "manager": "Ben", "parent_team": "EMEA"})
    assert person.manager == "" and person.parent_team == ""
    assert [w.split(":")[0] for w in person.warnings] == ["parent_team", "manager"]


def test_blank_role_and_active_are_not_given():
    person = read({"name": "Ana", "email": "a@x.io"})
    assert person.role is None and person.active is None
    assert "role" not in person.given and "active" not in person.given


# --- the team tree ------------------------------------------------------------------------


def test_teams_and_parents_from_the_rows():
    plan = plan_teams(
        [(2, "Enterprise East", "Enterprise"), (3, "Enterprise", "Sales"), (4, "SMB", "")],
        existing={},
    )
    assert plan.problems == []
    assert plan.parents == {
        "enterprise east": "enterprise", "enterprise": "sales", "sales": None, "smb": None,
    }  # fmt: skip
    assert plan.names["enterprise east"] == "Enterprise East"
    assert plan.set_parents == {"enterprise east": "enterprise", "enterprise": "sales"}


def test_a_team_keeps_its_parent_here_unless_a_row_gives_one():
    existing = {"emea": ("EMEA", None), "dach": ("DACH", "emea")}
    plan = plan_teams([(2, "dach", ""), (3, "Nordics", "emea")], existing)
    assert plan.parents == {"dach": "emea", "nordics": "emea", "emea": None}
    assert plan.names["dach"] == "DACH"  # the name here wins over the file's spelling
    assert plan.set_parents == {"nordics": "emea"}


def test_a_team_cannot_be_its_own_parent():
    plan = plan_teams([(2, "Sales", "sales")], existing={})
    assert [(p.line, p.field) for p in plan.problems] == [(2, "parent_team")]
    assert "cannot be its own parent" in plan.problems[0].message
    assert plan.parents == {"sales": None}


def test_the_row_that_closes_a_cycle_within_the_file_is_refused():
    plan = plan_teams(
        [(2, "A", "B"), (3, "B", "C"), (4, "C", "A"), (5, "A", "B"), (6, "D", "A"),
         (7, "c", "a")],
        existing={},
    )  # fmt: skip
    assert [p.line for p in plan.problems] == [4, 7]
    assert "'C' would be inside itself (C → A → B → C)" in plan.problems[0].message
    assert plan.parents == {"a": "b", "b": "c", "c": None, "d": "a"}
    assert plan.set_parents == {"a": "b", "b": "c", "d": "a"}


def test_a_reorganisation_is_taken_whatever_the_order_of_its_rows():
    # Today A is under B; the file puts B under A and A under C.
    existing = {"a": ("A", "b"), "b": ("B", None), "c": ("C", None)}
    plan = plan_teams([(2, "B", "A"), (3, "A", "C")], existing)
    assert plan.problems == []
    assert plan.parents == {"a": "c", "b": "a", "c": None}


def test_a_cycle_with_the_teams_here():
    existing = {"sales": ("Sales", None), "emea": ("EMEA", "sales")}
    plan = plan_teams([(2, "Sales", "EMEA")], existing)
    assert [p.line for p in plan.problems] == [2]
    assert "Sales → EMEA → Sales" in plan.problems[0].message
    assert plan.parents["sales"] is None and plan.set_parents == {}


def test_a_second_parent_for_a_team_is_refused():
    plan = plan_teams([(2, "DACH", "EMEA"), (3, "dach", "Europe"), (4, "DACH", "emea")], {})
    assert [(p.line, p.field) for p in plan.problems] == [(3, "parent_team")]
    assert "under 'EMEA' on line 2" in plan.problems[0].message
    assert plan.parents["dach"] == "emea"


# --- a team's manager ---------------------------------------------------------------------


def test_the_sales_manager_named_manages_the_team():
    roles = {"mia": MANAGER, "lee": LEADER, "ana": REP}
    # "Reports to": the reps name Mia; Mia's own row names her leader Lee.
    choice = choose_manager("East", ["mia", "mia", "lee"], roles)
    assert choice.username == "mia"
    assert "mia manages it" in choice.note


def test_the_manager_named_on_most_rows_wins_and_a_tie_goes_to_the_first():
    roles = {"mia": MANAGER, "max": MANAGER}
    assert choose_manager("East", ["max", "mia", "mia"], roles).username == "mia"
    tie = choose_manager("East", ["max", "mia"], roles)
    assert tie.username == "max" and "named on the most rows" in tie.note


def test_a_leader_manages_a_team_that_names_no_sales_manager():
    assert choose_manager("East", ["lee"], {"lee": LEADER}) == choose_manager(
        "East", ["lee", "lee"], {"lee": LEADER}
    )
    assert choose_manager("East", ["lee"], {"lee": LEADER}).username == "lee"
    assert choose_manager("East", ["root"], {"root": ADMIN}).username == "root"


def test_a_rep_never_manages_a_team():
    choice = choose_manager("East", ["ana"], {"ana": REP})
    assert choice.username is None
    assert "ana is a sales rep" in choice.note and "keeps the manager it has" in choice.note
    assert choose_manager("East", [], {}).username is None


# --- the columns of CRM exports -----------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["First Name", "Last Name", "Email", "Role", "Primary team", "Additional teams",
          "Last active"],
         {"First Name": "first_name", "Last Name": "last_name", "Email": "email",
          "Role": "role", "Primary team": "team", "Additional teams": "", "Last active": ""}),
        (["Full Name", "Username", "Email", "Profile", "Manager", "Active", "Created Date"],
         {"Full Name": "name", "Username": "username", "Email": "email", "Profile": "role",
          "Manager": "manager", "Active": "active", "Created Date": ""}),
        (["Name", "Email", "Department", "Reports To", "Hire Date", "Status"],
         {"Name": "name", "Email": "email", "Department": "team", "Reports To": "manager",
          "Hire Date": "start_date", "Status": "active"}),
    ],
    ids=["hubspot-users", "salesforce-users", "hr-system"],
)  # fmt: skip
def test_people_headers_of_crms(header, expected):
    from exchange.rules import ImportKind, propose_mapping

    assert propose_mapping(ImportKind.PEOPLE, header) == expected
