"""salesops.people's import services: people_import_upsert, people_invite and
people_import_undo — the database after success and after every refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from salesops import people
from salesops.exceptions import PermissionDenied, ValidationFailed
from salesops.models import AuditEvent, Role, Team, User
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def person(username: str, **values) -> people.ImportedPerson:
    data = {
        "username": username,
        "first_name": username.capitalize(),
        "last_name": "Example",
        "email": f"{username}@acme.io",
        "role": Role.REP,
        "team": None,
        "started_on": None,
        "is_active": True,
    }
    return people.ImportedPerson(**(data | values))


def state() -> tuple:
    return (
        sorted(User.objects.values_list("username", "role", "team_id", "is_active", "email")),
        sorted(Team.objects.values_list("name", "parent_id", "manager_id")),
        AuditEvent.objects.count(),
    )


def test_upsert_creates_teams_people_and_managers(
    admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = people.people_import_upsert(
            actor=admin_user,
            teams=[
                people.ImportedTeam(name="Sales", manager="lee"),
                people.ImportedTeam(name="East", parent="Sales", manager="mia"),
            ],
            people=[
                person("lee", role=Role.LEADER),
                person("mia", role=Role.MANAGER, team="East", started_on=dt.date(2024, 1, 2)),
                person("ana", team="east"),
                person("old", team="East", is_active=False),
                person("nomail", email="", team="East"),
            ],
            invite=True,
            note="Imported from hr",
        )
    east = Team.objects.get(name="East")
    assert east.parent.name == "Sales" and east.manager.username == "mia"
    assert Team.objects.get(name="Sales").manager.username == "lee"
    ana = User.objects.get(username="ana")
    assert ana.team == east and not ana.has_usable_password()
    assert User.objects.get(username="mia").started_on == dt.date(2024, 1, 2)
    assert len(result.created_user_ids) == 5 and len(result.created_team_ids) == 2
    assert result.invited == 3  # lee, mia, ana: not the inactive one nor the one without email
    assert sorted(m.to[0] for m in mailoutbox) == ["ana@acme.io", "lee@acme.io", "mia@acme.io"]
    assert AuditEvent.objects.filter(action="user.created_by_import").count() == 5
    assert AuditEvent.objects.filter(action="team.created_by_import").count() == 2
    summary = AuditEvent.objects.get(action="people.imported")
    assert summary.data["people_created"] == 5 and summary.data["note"] == "Imported from hr"


def test_upsert_updates_only_what_changed(admin_user, team_a):
    ana = UserFactory(username="ana", email="ana@acme.io", role=Role.REP, team=team_a)
    people.people_import_upsert(
        actor=admin_user,
        teams=[],
        people=[
            person(
                "ana",
                id=ana.pk,
                first_name=ana.first_name,
                last_name=ana.last_name,
                role=Role.MANAGER,
                team="Team A",
            )
        ],
        invite=True,
    )
    ana.refresh_from_db()
    assert ana.role == Role.MANAGER and ana.has_usable_password()  # her password stays
    event = AuditEvent.objects.get(action="user.updated_by_import")
    assert event.data["fields"] == ["role"]


@pytest.mark.parametrize(
    ("teams", "persons", "where"),
    [
        ([], [person("bad name!")], "people[0] (bad name!)"),
        ([], [person("ana", email="nope")], "people[0] (ana)"),
        ([], [person("ana", role="wizard")], "people[0] (ana)"),
        ([], [person("ana", team="Nowhere")], "people[0] (ana)"),
        ([], [person("ana"), person("ANA")], "people[1] (ANA)"),
        ([], [person("admin")], "people[0] (admin)"),  # taken by the admin
        ([people.ImportedTeam(name="A", parent="B"), people.ImportedTeam(name="B", parent="A")],
         [], "teams[0] (A)"),
        ([people.ImportedTeam(name="Team A")], [], "teams[0] (Team A)"),  # exists: give its id
        ([people.ImportedTeam(name="X", manager="ghost")], [], "teams[0] (X)"),
        ([people.ImportedTeam(name="X", parent="Nowhere")], [], "teams[0] (X)"),
    ],
)  # fmt: skip
def test_upsert_refuses_and_stores_nothing(admin_user, team_a, teams, persons, where):
    before = state()
    with pytest.raises(ValidationFailed) as exc:
        people.people_import_upsert(
            actor=admin_user, teams=[*teams, people.ImportedTeam(name="Fine")],
            people=[*persons, person("fine")], invite=True,
        )  # fmt: skip
    assert where in exc.value.details
    assert state() == before


def test_upsert_refuses_to_demote_the_actor(admin_user):
    before = state()
    with pytest.raises(ValidationFailed):
        people.people_import_upsert(
            actor=admin_user,
            teams=[],
            people=[person("admin", id=admin_user.pk, email=admin_user.email, role=Role.REP)],
            invite=False,
        )
    assert state() == before


def test_only_administrators_upsert_undo_or_invite(leader, rep):
    before = state()
    with pytest.raises(PermissionDenied):
        people.people_import_upsert(actor=leader, teams=[], people=[person("x")], invite=True)
    with pytest.raises(PermissionDenied):
        people.people_import_undo(actor=leader, user_ids=[rep.pk], team_ids=[])
    with pytest.raises(PermissionDenied):
        people.people_invite(actor=leader, user_ids=[rep.pk])
    assert state() == before


def test_people_invite(admin_user, mailoutbox, django_capture_on_commit_callbacks):
    invited = UserFactory(username="new", email="new@acme.io")
    invited.set_unusable_password()
    invited.save()
    has_password = UserFactory(username="old", email="old@acme.io")
    with pytest.raises(ValidationFailed) as exc:
        people.people_invite(actor=admin_user, user_ids=[invited.pk, has_password.pk])
    assert list(exc.value.details) == [str(has_password.pk)]
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        assert people.people_invite(actor=admin_user, user_ids=[invited.pk]) == 1
    assert [m.to for m in mailoutbox] == [["new@acme.io"]]
    assert "/accounts/reset/" in mailoutbox[0].body


def test_a_failing_mail_server_does_not_undo_the_import(
    admin_user, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        people.people_import_upsert(actor=admin_user, teams=[], people=[person("ana")], invite=True)
    assert User.objects.filter(username="ana").exists()
    assert people.invitations_send(user_ids=[User.objects.get(username="ana").pk],
                                   inviter_id=admin_user.pk) == 0  # fmt: skip


def test_undo_deletes_what_the_import_created(admin_user):
    result = people.people_import_upsert(
        actor=admin_user,
        teams=[people.ImportedTeam(name="Sales", manager="mia"),
               people.ImportedTeam(name="East", parent="Sales")],
        people=[person("mia", role=Role.MANAGER, team="Sales"), person("ana", team="East")],
        invite=False,
    )  # fmt: skip
    counts = people.people_import_undo(
        actor=admin_user, user_ids=result.created_user_ids, team_ids=result.created_team_ids
    )
    assert counts == {"people": 2, "teams": 2}
    assert not Team.objects.exists() and list(User.objects.all()) == [admin_user]


def test_undo_refuses_when_the_teams_have_other_people_or_the_people_have_records(admin_user):
    result = people.people_import_upsert(
        actor=admin_user, teams=[people.ImportedTeam(name="Sales")],
        people=[person("ana", team="Sales")], invite=False,
    )  # fmt: skip
    newcomer = UserFactory(username="newcomer", team=Team.objects.get(name="Sales"))
    before = state()
    with pytest.raises(ValidationFailed, match="changed since"):
        people.people_import_undo(
            actor=admin_user, user_ids=result.created_user_ids, team_ids=result.created_team_ids
        )
    assert state() == before
    newcomer.delete()
    ana = User.objects.get(username="ana")
    ana.api_keys.create(name="sync", prefix="sk_x", hashed_key="h" * 64, scopes=["read"])
    before = state()
    with pytest.raises(ValidationFailed, match="records of its own"):
        people.people_import_undo(
            actor=admin_user, user_ids=result.created_user_ids, team_ids=result.created_team_ids
        )
    assert state() == before and TeamFactory._meta.model.objects.filter(name="Sales").exists()
