"""`python manage.py import_opportunities FILE.csv --user USERNAME --source crm`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from pipeline.imports import COLUMNS, opportunities_import_csv
from salesops import organisation
from salesops.exceptions import ApplicationError
from salesops.models import User


class Command(BaseCommand):
    help = (
        "Create or update opportunities from a CSV export, by (source, external_id). "
        f"Columns: {', '.join(COLUMNS)}. Rows run through the same services and stage "
        "gate as the pages and the API; a refused row is reported and the others are kept "
        "(or none, with --all-or-nothing)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file with a header row ('-' for stdin)")
        parser.add_argument("--user", required=True, help="the user the import acts as")
        parser.add_argument("--source", required=True, help="the system the rows come from")
        parser.add_argument("--all-or-nothing", action="store_true")

    @organisation.in_time_zone
    def handle(self, *args, **options):
        actor = User.objects.filter(username=options["user"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user named '{options['user']}'.")
        try:
            if options["file"] == "-":
                import sys

                report = self._run(actor, options, sys.stdin)
            else:
                with open(options["file"], newline="", encoding="utf-8-sig") as stream:
                    report = self._run(actor, options, stream)
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror}.") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{options['file']} is not UTF-8 text.") from exc
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} {exc.details}") from exc
        for failure in report.failures:
            self.stderr.write(
                f"line {failure.line} ({failure.external_id or 'no external_id'}): "
                f"{failure.message} {failure.details or ''}".rstrip()
            )
        for warning in report.warnings:
            self.stdout.write(
                f"line {warning.line} ({warning.external_id or 'no external_id'}): "
                f"{warning.message}"
            )
        summary = (
            f"created {report.created}, updated {report.updated}, moved {report.moved}, "
            f"refused {len(report.failures)}"
        )
        if report.rolled_back:
            raise CommandError(f"Nothing imported (--all-or-nothing): {summary}.")
        if report.failures:
            raise CommandError(f"Imported with refusals: {summary}.")
        self.stdout.write(self.style.SUCCESS(f"Imported: {summary}."))

    def _run(self, actor, options, stream):
        return opportunities_import_csv(
            actor=actor, source=options["source"], stream=stream,
            all_or_nothing=options["all_or_nothing"],
        )  # fmt: skip
