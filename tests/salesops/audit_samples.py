"""Sample services for tests/salesops/test_audit_coverage.py: the coverage check must tell
these apart (never imported by the app)."""

from __future__ import annotations

from django.db import transaction

from pipeline import services as pipeline_services
from salesops import services
from salesops.models import AuditEvent, Team
from salesops.services import audit_record


@transaction.atomic
def team_rename_audited(*, actor, team_id: int, name: str) -> None:
    Team.objects.filter(pk=team_id).update(name=name)
    audit_record(actor=actor, action="team.renamed", data={"name": name})


def team_rename_through_helper(*, actor, team_id: int, name: str) -> None:
    _rename_and_record(actor, team_id, name)


def _rename_and_record(actor, team_id: int, name: str) -> None:
    Team.objects.filter(pk=team_id).update(name=name)
    services.audit_record(actor=actor, action="team.renamed")


def account_delete_delegated(*, actor, account_id: int) -> None:
    pipeline_services.account_delete(actor=actor, account_id=account_id)


def teams_bulk_audited(*, actor, names: list[str]) -> None:
    Team.objects.bulk_create([Team(name=n) for n in names])
    AuditEvent.objects.bulk_create([AuditEvent(actor=actor, action="team.created")])


@transaction.atomic
def team_archive(*, team_id: int) -> None:
    Team.objects.filter(pk=team_id).delete()


def team_tidy(*, team_id: int) -> None:
    # No decorator, no write verb in the name: caught by the write itself, one helper down.
    _save_it(Team.objects.get(pk=team_id))


def _save_it(team: Team) -> None:
    team.save()


def team_names() -> list[str]:
    names = {"a": 1}
    names.update(b=2)  # a dict's update is not a write
    return list(names)


def can_create_team(actor) -> bool:
    return actor.is_admin_role


def _private_write(team: Team) -> None:
    team.delete()
