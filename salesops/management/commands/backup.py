"""manage.py backup [--output PATH] — a pg_dump archive of the database (salesops.backups)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from salesops import backups


class Command(BaseCommand):
    help = "Write a backup of the database (pg_dump custom format) and print its path."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            help="Where to write it (default: var/backups/salesops-<UTC date-time>.dump).",
        )

    def handle(self, *args, **options):
        path = Path(options["output"]) if options["output"] else backups.default_backup_path()
        try:
            written = backups.backup(path)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        size = written.stat().st_size
        self.stdout.write(f"Backup written: {written} ({size / 1_048_576:.1f} MB)")
        self.stdout.write(f"Restore it with: make restore FILE={written}")
