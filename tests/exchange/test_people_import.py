"""The people import end to end, through exchange.services, on PostgreSQL: users and their
team tree, managers, the database after success and after refusal, re-import, undo, the
invitation email (its link works; no password in it) and `import_csv people`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from exchange import services
from exchange.models import BatchStatus, ImportBatch
from pipeline.models import Opportunity
from salesops import people as salesops_people
from salesops.exceptions import Conflict, PermissionDenied
from salesops.models import AuditEvent, Role, Team, User
from tests.factories import OpportunityFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

# A CRM's user export: its own column names, role words and US dates; the manager column
# says whom each person reports to (a manager's own row names their leader).
HEADER = ["Full Name", "Email", "Username", "Role", "Team", "Parent Team", "Reports To",
          "Start Date", "Active"]  # fmt: skip
ROWS = [
    ["Lee Leader", "lee@acme.io", "", "VP Sales", "Sales", "", "lee@acme.io", "1/15/2019", "yes"],
    ["Mia Manager", "mia@acme.io", "", "Sales Manager", "Enterprise", "Sales", "Lee Leader",
     "6/1/2020", "yes"],
    ["Souza, Ana", "Ana.Souza@acme.io", "", "Account Executive", "Enterprise", "Sales",
     "mia@acme.io", "3/14/2024", "yes"],
    ["Ben Okafor", "ben@acme.io", "", "SDR", "Enterprise", "Sales", "Mia Manager", "", ""],
    ["Max Müller", "max@acme.io", "", "Team Lead", "SMB East", "SMB", "max@acme.io", "", ""],
    ["Cy Rep", "", "cy", "rep", "SMB East", "SMB", "max", "", ""],
    ["Dee Gone", "dee@acme.io", "", "Sales Representative", "SMB East", "SMB", "max", "",
     "no"],
    ["Ola Admin", "ola@acme.io", "", "System Administrator", "", "", "", "", ""],
]  # fmt: skip
USERNAMES = {"lee", "mia", "Ana.Souza", "ben", "max", "cy", "dee", "ola"}


def people_csv(rows: list[list[str]] = ROWS, header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def upload_and_run(actor, content: bytes, *, source: str = "crm", **configure) -> ImportBatch:
    batch = services.batch_upload(
        actor=actor, kind="people", source=source, file_name="people.csv", content=content
    )
    if configure:
        services.batch_configure(actor=actor, batch_id=batch.pk, **configure)
    return services.batch_start(actor=actor, batch_id=batch.pk, background=False)


def imported() -> dict[str, User]:
    return {u.username: u for u in User.objects.exclude(username="admin").select_related("team")}


@pytest.fixture
def mails(mailoutbox, django_capture_on_commit_callbacks):
    """The emails sent once the import's transaction commits (the test's transaction never
    does: its on-commit callbacks run when the block ends)."""

    class Sent:
        def __init__(self):
            self.capture = django_capture_on_commit_callbacks(execute=True)

        def __enter__(self):
            self.capture.__enter__()
            return mailoutbox

        def __exit__(self, *exc):
            return self.capture.__exit__(*exc)

    return Sent()


def test_people_land_with_their_team_tree_managers_and_roles(admin_user, mails):
    with mails as outbox:
        batch = upload_and_run(admin_user, people_csv())
    assert batch.status == BatchStatus.DONE, batch.problems
    assert batch.counts == {
        "created": 8, "updated": 0, "moved": 0, "unchanged": 0, "rejected": 0,
        "invited": 6, "teams_created": 4,
    }  # fmt: skip
    people = imported()
    assert set(people) == USERNAMES
    roles = {name: user.role for name, user in people.items()}
    assert roles == {
        "lee": Role.LEADER, "mia": Role.MANAGER, "Ana.Souza": Role.REP, "ben": Role.REP,
        "max": Role.MANAGER, "cy": Role.REP, "dee": Role.REP, "ola": Role.ADMIN,
    }  # fmt: skip
    ana = people["Ana.Souza"]
    assert (ana.first_name, ana.last_name, ana.email) == ("Ana", "Souza", "Ana.Souza@acme.io")
    assert ana.started_on == dt.date(2024, 3, 14)
    assert not people["dee"].is_active and people["cy"].is_active
    assert all(not user.has_usable_password() for user in people.values())
    # The tree: Sales > Enterprise; SMB > SMB East (SMB created as a parent only).
    teams = {t.name: t for t in Team.objects.select_related("parent", "manager")}
    assert set(teams) == {"Sales", "Enterprise", "SMB", "SMB East"}
    assert teams["Enterprise"].parent == teams["Sales"]
    assert teams["SMB East"].parent == teams["SMB"]
    assert teams["Sales"].parent is None and teams["SMB"].parent is None
    # Managers: Enterprise's reps name Mia, her own row names Lee: the sales manager wins.
    assert teams["Enterprise"].manager == people["mia"]
    assert teams["SMB East"].manager == people["max"]
    assert teams["Sales"].manager == people["lee"]  # a leader named for a team of his own
    assert teams["SMB"].manager is None
    assert {u.username for u in people.values() if u.team_id == teams["Enterprise"].pk} == {
        "mia", "Ana.Souza", "ben",
    }  # fmt: skip
    assert any("mia manages it" in w["message"] for w in batch.warnings)
    assert any(w["line"] == 7 and w["field"] == "email" for w in batch.warnings)  # Cy: no email
    # Undo knows what the batch created.
    assert sorted(batch.created_ids) == sorted(u.pk for u in people.values())
    assert sorted(batch.created_other["teams"]) == sorted(t.pk for t in teams.values())
    assert AuditEvent.objects.filter(action="user.created_by_import").count() == 8
    # One invitation per active person with an email; none to Cy (no email) or Dee.
    assert sorted(m.to[0] for m in outbox) == sorted(
        ["lee@acme.io", "mia@acme.io", "Ana.Souza@acme.io", "ben@acme.io", "max@acme.io",
         "ola@acme.io"]
    )  # fmt: skip


def test_the_preview_shows_it_all_and_writes_nothing(admin_user, mails):
    batch = services.batch_upload(
        actor=admin_user, kind="people", source="crm", file_name="p.csv", content=people_csv()
    )
    with mails as outbox:
        report = services.batch_preview(actor=admin_user, batch_id=batch.pk)
    assert report.counts["created"] == 8 and report.counts["invited"] == 6
    assert report.new_teams == sorted(["Enterprise", "Sales", "SMB", "SMB East"])
    assert report.date_questions == {}  # 1/15/2019 and 3/14/2024 say month first
    first = report.sample[0]
    assert first["username"] == "lee" and first["role"] == "leader" and first["invite"]
    ana = next(row for row in report.sample if row["username"] == "Ana.Souza")
    assert (ana["team"], ana["parent_team"], ana["team_manager"]) == ("Enterprise", "Sales", "mia")
    assert User.objects.count() == 1 and Team.objects.count() == 0 and outbox == []


def test_without_the_invite_option_nobody_is_emailed(admin_user, mails):
    with mails as outbox:
        batch = upload_and_run(admin_user, people_csv(), options={"invite": False})
    assert batch.counts["created"] == 8 and "invited" not in batch.counts
    assert outbox == []
    assert not User.objects.get(username="lee").has_usable_password()


def test_reimporting_the_same_file_changes_nothing(admin_user, mails):
    with mails as outbox:
        upload_and_run(admin_user, people_csv())
        before = {u.pk: (u.username, u.role, u.team_id, u.is_active) for u in User.objects.all()}
        teams = list(Team.objects.values_list("id", "name", "parent_id", "manager_id"))
        again = upload_and_run(admin_user, people_csv())
    assert again.counts == {
        "created": 0, "updated": 0, "moved": 0, "unchanged": 8, "rejected": 0,
    }  # fmt: skip
    assert not again.changed_existing
    assert {u.pk: (u.username, u.role, u.team_id, u.is_active) for u in User.objects.all()} == (
        before
    )
    assert list(Team.objects.values_list("id", "name", "parent_id", "manager_id")) == teams
    assert len(outbox) == 6  # the first import's invitations only


def test_the_invitation_link_sets_a_password_and_no_password_is_in_any_email(admin_user, mails):
    with mails as outbox:
        upload_and_run(admin_user, people_csv())
    mail = next(m for m in outbox if m.to == ["Ana.Souza@acme.io"])
    assert "Your username: Ana.Souza" in mail.body
    for sent in outbox:
        # Nobody has a password to send, and the text never states one.
        assert not re.search(r"password\s*[:=]", sent.body, re.IGNORECASE)
        assert "secret" not in sent.body.casefold()
    links = re.findall(r"https?://\S+/accounts/reset/\S+/", mail.body)
    assert len(links) == 1
    path = urlsplit(links[0]).path

    client = Client()
    page = client.get(path, follow=True)
    assert page.status_code == 200
    assert b"Set your password" in page.content and b"Ana.Souza" in page.content
    set_password_url = page.redirect_chain[-1][0]
    done = client.post(
        set_password_url,
        {"new_password1": "Rainy-harbour-42", "new_password2": "Rainy-harbour-42"},
        follow=True,
    )
    assert done.status_code == 200 and b"Your password is set" in done.content
    ana = User.objects.get(username="Ana.Souza")
    assert ana.check_password("Rainy-harbour-42")
    assert client.session.get("_auth_user_id") == str(ana.pk)  # signed in
    # The link works once.
    again = Client().get(path, follow=True)
    assert b"This link does not work any more" in again.content


def test_rows_that_do_not_fit_are_refused_and_nothing_of_them_is_stored(admin_user):
    rows = [
        *ROWS,
        ["Wiz Ard", "wiz@acme.io", "", "Wizard", "Enterprise", "Sales", "", "", ""],
        ["Ana Again", "ana.souza@ACME.io", "", "rep", "", "", "", "", ""],
        ["Nia North", "nia@acme.io", "", "rep", "North", "", "nobody@acme.io", "", ""],
        # Sales under Enterprise would put Sales inside itself (Enterprise is under Sales).
        ["Cycle Carl", "carl@acme.io", "", "rep", "Sales", "Enterprise", "", "", ""],
    ]
    batch = upload_and_run(admin_user, people_csv(rows))
    assert batch.status == BatchStatus.DONE
    assert batch.counts["created"] == 8 and batch.counts["rejected"] == 4
    assert batch.rejected_lines == [10, 11, 12, 13]
    messages = {p["line"]: p["message"] for p in batch.problems}
    assert "'Wizard' is not a role we know" in messages[10]
    assert "also on line 4" in messages[11]
    assert "nobody called 'nobody@acme.io'" in messages[12]
    assert "'Sales' would be inside itself (Sales → Enterprise → Sales)" in messages[13]
    assert {p["column"] for p in batch.problems} >= {"Role", "Email", "Reports To", "Parent Team"}
    assert not User.objects.filter(email__in=["wiz@acme.io", "nia@acme.io", "carl@acme.io"])
    assert not Team.objects.filter(name="North").exists()  # only the refused row named it
    assert Team.objects.get(name="Sales").parent is None
    # The rejected rows download as the file had them, with why.
    rejected = b"".join(services.rejected_rows_download(batch).streaming_content).decode()
    assert "Wiz Ard" in rejected and "Lee Leader" not in rejected


def test_a_refused_manager_refuses_the_rows_that_name_them(admin_user):
    rows = [
        ["Mia Manager", "mia@acme.io", "", "Overlord", "Enterprise", "", "", "", ""],
        ["Ana Souza", "ana@acme.io", "", "rep", "Enterprise", "", "mia@acme.io", "", ""],
        ["Ben Okafor", "ben@acme.io", "", "rep", "Direct", "", "", "", ""],
    ]
    batch = upload_and_run(admin_user, people_csv(rows))
    assert batch.rejected_lines == [2, 3]
    assert "they are on line 2, which is refused" in batch.problems[-1]["message"]
    assert set(imported()) == {"ben"}
    assert set(Team.objects.values_list("name", flat=True)) == {"Direct"}


def test_only_administrators_import_people(leader, admin_user):
    with pytest.raises(PermissionDenied):
        services.batch_upload(
            actor=leader, kind="people", source="crm", file_name="p.csv", content=people_csv()
        )
    assert not ImportBatch.objects.exists() and User.objects.count() == 2


def test_people_here_are_updated_by_email_else_username(admin_user, team_a):
    ana = UserFactory(username="asouza", email="ana.souza@acme.io", first_name="Ana",
                      last_name="Souza", role=Role.REP, team=team_a, is_active=True)  # fmt: skip
    cy = UserFactory(username="cy", email="old@acme.io", role=Role.REP, team=None)
    header = ["name", "email", "username", "role", "team", "active"]
    rows = [
        # Ana by her email (another case); promoted, moved; blank active keeps her active.
        ["Ana Souza", "ANA.SOUZA@acme.io", "", "Sales Manager", "Enterprise", ""],
        # Cy by his username: his email changes.
        ["Cy Rep", "cy@acme.io", "cy", "", "", ""],
        # The importing admin: an import never demotes you.
        ["Ad Min", admin_user.email, "", "rep", "", ""],
    ]
    batch = upload_and_run(admin_user, people_csv(rows, header))
    assert batch.counts["created"] == 0 and batch.counts["updated"] == 2
    assert batch.rejected_lines == [4]
    assert "an import does not change your own role" in batch.problems[0]["message"]
    ana.refresh_from_db()
    cy.refresh_from_db()
    admin_user.refresh_from_db()
    assert (ana.role, ana.team.name, ana.email, ana.is_active) == (
        Role.MANAGER, "Enterprise", "ana.souza@acme.io", True,
    )  # fmt: skip
    assert Team.objects.get(name="Enterprise").manager is None  # nobody named a manager
    assert (cy.email, cy.first_name, cy.team_id) == ("cy@acme.io", "Cy", None)
    assert admin_user.role == Role.ADMIN
    assert AuditEvent.objects.filter(action="user.updated_by_import").count() == 2
    assert batch.changed_existing
    with pytest.raises(Conflict):
        services.batch_undo(actor=admin_user, batch_id=batch.pk)


def test_a_placeholder_owner_of_a_deal_import_is_taken_over(admin_user, mails):
    placeholder = salesops_people.user_create_placeholder(actor=admin_user, display="Ana Souza")
    with mails as outbox:
        batch = upload_and_run(
            admin_user,
            people_csv([["Ana Souza", "ana@acme.io", "", "Account Executive", "", "", "", "",
                         ""]]),
        )  # fmt: skip
    assert batch.counts["created"] == 0 and batch.counts["updated"] == 1
    placeholder.refresh_from_db()
    assert (placeholder.email, placeholder.is_active) == ("ana@acme.io", True)
    assert [m.to for m in outbox] == [["ana@acme.io"]]  # activated without a password


def test_a_team_here_gets_its_manager_and_parent_from_the_file(admin_user):
    emea = TeamFactory(name="EMEA")
    dach = TeamFactory(name="DACH")
    rows = [["Mia Manager", "mia@acme.io", "", "manager", "dach", "EMEA", "mia@acme.io", "",
             ""]]  # fmt: skip
    batch = upload_and_run(admin_user, people_csv(rows))
    dach.refresh_from_db()
    assert (dach.parent, dach.manager.username, dach.name) == (emea, "mia", "DACH")
    assert batch.counts["teams_updated"] == 1 and batch.changed_existing
    assert Team.objects.count() == 2


def test_undo_deletes_the_people_and_teams_it_created(admin_user):
    TeamFactory(name="Untouched")
    batch = upload_and_run(admin_user, people_csv())
    services.batch_undo(actor=admin_user, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.UNDONE
    assert list(User.objects.values_list("username", flat=True)) == ["admin"]
    assert list(Team.objects.values_list("name", flat=True)) == ["Untouched"]


def test_undo_is_refused_when_someone_it_created_has_used_salesops(admin_user, pipeline):
    batch = upload_and_run(admin_user, people_csv())
    ana = User.objects.get(username="Ana.Souza")
    OpportunityFactory(owner=ana, stage=pipeline.discover)
    with pytest.raises(Conflict) as exc:
        services.batch_undo(actor=admin_user, batch_id=batch.pk)
    assert exc.value.code == "import_changed_since"
    assert User.objects.count() == 9 and Team.objects.count() == 4
    Opportunity.objects.all().delete()
    User.objects.filter(pk=ana.pk).update(last_login=dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    with pytest.raises(Conflict, match="changed since"):
        services.batch_undo(actor=admin_user, batch_id=batch.pk)
    assert User.objects.count() == 9 and Team.objects.count() == 4
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE


# --- the command ----------------------------------------------------------------------------


def run_command(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_csv", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def test_import_csv_people(admin_user, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(people_csv())
    code, out = run_command("people", str(path), "--source", "hr", "--dry-run")
    assert code == 0
    assert "Would import: created 8, updated 0, unchanged 0, refused 0." in out
    assert "Invitations to set a password: 6 (sent when imported)." in out
    assert User.objects.count() == 1

    code, out = run_command("people", str(path), "--source", "hr")
    assert code == 0, out
    assert "Full Name" in out and "→ Full name" in out
    assert "Imported: created 8, updated 0, unchanged 0, refused 0." in out
    assert "Teams: created 4, updated 0." in out
    assert User.objects.count() == 9

    path.write_bytes(people_csv([*ROWS, ["Wiz", "wiz@acme.io", "", "Wizard", "", "", "", "", ""]]))
    # Ola is an administrator now too: say who imports.
    code, out = run_command("people", str(path), "--source", "hr", "--user", "admin")
    assert code == 1
    assert "line 10, Role: role: 'Wizard' is not a role we know" in out
    assert "Imported: created 0, updated 0, unchanged 8, refused 1." in out
