"""manage.py restore FILE [--yes] — put a backup back (salesops.backups)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from salesops import backups


class Command(BaseCommand):
    help = (
        "Replace the database with a backup made by `manage.py backup`, all or nothing. "
        "Stop the web server and the workers first."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The backup file (.dump).")
        parser.add_argument("--yes", action="store_true", help="Do not ask: replace the database.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        target = backups.Target.of()
        if not options["yes"]:
            if not sys.stdin.isatty():
                raise CommandError("Restoring replaces the database: add --yes to confirm.")
            answer = input(f"Replace everything in database '{target.name}' with {path}? [y/N] ")
            if answer.strip().lower() not in {"y", "yes"}:
                raise CommandError("Nothing restored.")
        try:
            backups.restore(path, target)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Restored {path} into '{target.name}'.")
