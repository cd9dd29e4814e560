"""`python manage.py demo_remove --user ADMIN` — the Setup page's "Remove the demo
company", from the terminal (demo.services.demo_remove)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.services import demo_remove
from salesops import audit_context
from salesops.exceptions import ApplicationError
from salesops.models import User


class Command(BaseCommand):
    help = "Remove the demo company (its people and everything theirs); keep everything else."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="an administrator (not a demo one)")

    @audit_context.as_command
    def handle(self, *args: Any, **options: Any) -> None:
        actor = User.objects.filter(username=options["user"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user named '{options['user']}'.")
        try:
            removed = demo_remove(actor=actor)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo removed: {removed.people} people, {removed.teams} teams, "
                f"{removed.opportunities} opportunities, {removed.accounts} accounts, "
                f"{removed.pipelines} pipeline(s), {removed.forecast_calls} forecast calls."
            )
        )
