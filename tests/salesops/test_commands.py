"""manage.py create_api_key and createsuperuser."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from salesops.models import ApiKey, Role, User, hash_api_key


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_prints_the_key_once_and_stores_its_hash(rep):
    raw, note = run("--user", "rep", "--scopes", "read,write", "--name", "Salesforce")
    key = ApiKey.objects.get(user=rep)
    assert raw.startswith("sk_")
    assert key.hashed_key == hash_api_key(raw)
    assert key.name == "Salesforce"
    assert key.scopes == ["read", "write"]
    assert "shown once" in note


def test_default_name(rep):
    run("--user", "rep", "--scopes", "read")
    assert ApiKey.objects.get(user=rep).name == "CLI key for rep"


def test_unknown_user(db):
    with pytest.raises(CommandError, match="No user with username 'ghost'"):
        run("--user", "ghost", "--scopes", "read")
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("scopes", ["admin", "read,delete", ",", ""])
def test_bad_scopes(rep, scopes):
    with pytest.raises(CommandError, match="scope"):
        run("--user", "rep", "--scopes", scopes)
    assert not ApiKey.objects.exists()


def test_inactive_user(rep):
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    with pytest.raises(CommandError, match="deactivated"):
        run("--user", "rep", "--scopes", "read")


def test_createsuperuser_makes_an_administrator(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-passphrase-42")
    call_command(
        "createsuperuser",
        interactive=False,
        username="founder",
        email="founder@example.com",
        stdout=StringIO(),
    )
    user = User.objects.get(username="founder")
    assert (user.role, user.is_superuser, user.is_staff) == (Role.ADMIN, True, True)
    assert user.get_role_display() == "Administrator"
    assert user.check_password("a-long-admin-passphrase-42")
    # An ordinary user is still a rep unless told otherwise.
    assert User.objects.create_user(username="someone").role == Role.REP
