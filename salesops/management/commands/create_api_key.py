"""manage.py create_api_key --user USERNAME --scopes read,write [--name NAME]"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from salesops import audit_context
from salesops.exceptions import ApplicationError
from salesops.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a user and print it once (it is stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username the key acts as.")
        parser.add_argument(
            "--scopes", default="read", help="Comma-separated scopes: read, write (default: read)."
        )
        parser.add_argument("--name", default="", help="A label, e.g. the calling system.")

    @audit_context.as_command
    def handle(self, *args, **options):
        username = options["user"]
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user with username '{username}'.")
        if not user.is_active:
            raise CommandError(f"User '{username}' is deactivated; activate them first.")
        scopes = [s.strip() for s in options["scopes"].split(",")]
        name = options["name"] or f"CLI key for {username}"
        try:
            key, raw = api_key_create(user=user, name=name, scopes=scopes)
        except ApplicationError as exc:
            problems = (
                "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.details.items())
                or exc.message
            )
            raise CommandError(problems) from exc
        self.stderr.write(
            f"Created key '{key.name}' for {username} with scopes "
            f"{', '.join(key.scopes)}. It is shown once; store it now:"
        )
        self.stdout.write(raw)
