"""`python manage.py import_csv {people,accounts,products,opportunities} FILE …` — the same
import as the pages and the API (exchange.services), reported the same way.

  import_csv opportunities deals.csv --source Salesforce --user admin \\
      --map "Opportunity Owner=owner" --value-map "stage:Closed Won=Closed won" \\
      --date-format dmy --dry-run

Without --map the mapping is the one saved for the source, else proposed from the header
(the report shows it). Exit status: 0 when every row was imported or unchanged, 1 when
some rows were refused (the others are imported; --dry-run writes nothing), 2 for a
problem with the command itself.
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from exchange import services
from exchange.rules import DATE_FIELDS, FIELDS, ImportKind
from pipeline import lookups
from salesops import audit_context, organisation
from salesops.cleaning import name_key
from salesops.exceptions import ApplicationError
from salesops.models import Role, User
from salesops.selectors import people_lookup


def _pairs(values: list[str], what: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        left, sep, right = value.partition("=")
        if not sep or not left.strip():
            raise CommandError(f"{what} '{value}': write it as left=right.")
        pairs.append((left.strip(), right.strip()))
    return pairs


class Command(BaseCommand):
    help = (
        "Import people, accounts, products or opportunities from a CRM export (CSV), with "
        "the same rules, mapping and report as the import pages."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("kind", choices=[k.value for k in ImportKind])
        parser.add_argument("file", help="the CSV file ('-' reads standard input)")
        parser.add_argument("--source", default="csv", help="the system the rows come from")
        parser.add_argument(
            "--user", help="who imports (an admin or sales leader); default: the only admin"
        )
        parser.add_argument(
            "--map", action="append", default=[], metavar="COLUMN=FIELD",
            help="map a file column to a field ('COLUMN=' ignores it); repeatable",
        )  # fmt: skip
        parser.add_argument(
            "--value-map", action="append", default=[], metavar="FIELD:VALUE=OURS",
            help="stage:Closed Won=Closed won, owner:A. Souza=ana@acme.com; repeatable",
        )  # fmt: skip
        parser.add_argument(
            "--date-format", action="append", default=[], metavar="[FIELD=]mdy|dmy",
            help="how slashed dates read: mdy (3/14/2024) or dmy (14/3/2024)",
        )  # fmt: skip
        parser.add_argument(
            "--option",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="blank_close_date=reject, blank_account=reject, create_unknown_owners=1, "
            "pipeline_id=3, decimal_comma=comma …",
        )
        parser.add_argument("--dry-run", action="store_true", help="report; write nothing")

    @organisation.in_time_zone
    @audit_context.as_command
    def handle(self, *args: Any, **options: Any) -> None:
        actor = self._actor(options["user"])
        content = self._read(options["file"])
        try:
            batch = services.batch_upload(
                actor=actor,
                kind=options["kind"],
                source=options["source"],
                file_name=options["file"],
                content=content,
            )
            batch = services.batch_configure(
                actor=actor,
                batch_id=batch.pk,
                mapping=self._mapping(batch, options["map"]),
                value_maps=self._value_maps(batch, options["value_map"]),
                options=self._options(batch, options),
            )
            self._print_mapping(batch)
            if options["dry_run"]:
                report = services.batch_preview(actor=actor, batch_id=batch.pk)
                self._print_report(
                    batch.kind, report.counts, report.problems, report.warnings, dry=True
                )
                refused = report.counts["rejected"]
            else:
                batch = services.batch_start(
                    actor=actor, batch_id=batch.pk, background=False, on_progress=self._progress
                )
                self.stderr.write("")
                self._print_report(
                    batch.kind, batch.counts, batch.problems, batch.warnings, dry=False
                )
                refused = batch.counts.get("rejected", 0)
        except ApplicationError as exc:
            details = "; ".join(
                f"{key}: {' '.join(map(str, value)) if isinstance(value, list) else value}"
                for key, value in (exc.details or {}).items()
            )
            raise CommandError(f"{exc.message} {details}".strip()) from exc
        if refused:
            self.stderr.write(f"{refused} row(s) refused: see the problems above.")
            sys.exit(1)

    # --- arguments ---

    def _actor(self, username: str | None) -> User:
        if username:
            actor = User.objects.filter(username=username, is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user named '{username}'.")
            return actor
        admins = list(User.objects.filter(role=Role.ADMIN, is_active=True)[:2])
        if len(admins) != 1:
            raise CommandError("Say who imports: --user USERNAME (an admin or sales leader).")
        return admins[0]

    def _read(self, path: str) -> bytes:
        if path == "-":
            return sys.stdin.buffer.read()
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc

    def _mapping(self, batch: Any, pairs: list[str]) -> dict[str, str] | None:
        if not pairs:
            return dict(batch.mapping)
        mapping = dict(batch.mapping)
        for column, name in _pairs(pairs, "--map"):
            if column not in mapping:
                raise CommandError(
                    f"--map: the file has no column '{column}'. Columns: " + ", ".join(batch.header)
                )
            if name:
                # A field is taken by one column: the one named here.
                mapping = {c: ("" if f == name else f) for c, f in mapping.items()}
            mapping[column] = name
        return mapping

    def _value_maps(self, batch: Any, values: list[str]) -> dict[str, dict[str, int]]:
        maps: dict[str, dict[str, int]] = {k: dict(v) for k, v in batch.value_maps.items()}
        if not values:
            return maps
        pipeline = lookups.import_pipeline(batch.options.get("pipeline_id"))
        our_stages = lookups.stages_of(pipeline.pk) if pipeline else []
        stages = {name_key(s.name): s.pk for s in our_stages}
        people = people_lookup()
        for value in values:
            field_name, sep, rest = value.partition(":")
            if not sep:
                raise CommandError(f"--value-map '{value}': write it as field:value=ours.")
            ((theirs, ours),) = _pairs([rest], "--value-map")
            if field_name == "stage":
                target = stages.get(name_key(ours))
                if target is None:
                    raise CommandError(f"--value-map: no stage '{ours}' in the pipeline.")
            elif field_name == "owner":
                target = people.get(ours.casefold())
                if target is None:
                    raise CommandError(f"--value-map: no one with the email or username '{ours}'.")
            else:
                raise CommandError("--value-map: only stage and owner values are mapped.")
            maps.setdefault(field_name, {})[theirs] = target
        return maps

    def _options(self, batch: Any, options: dict[str, Any]) -> dict[str, Any]:
        chosen = dict(batch.options)
        for name, value in _pairs(options["option"], "--option"):
            chosen[name] = value
        orders = dict(chosen.get("date_orders") or {})
        for value in options["date_format"]:
            field_name, sep, order = value.rpartition("=")
            order = {"m/d/yyyy": "mdy", "d/m/yyyy": "dmy"}.get(order.casefold(), order)
            for name in [field_name] if sep else sorted(DATE_FIELDS):
                orders[name] = order
        chosen["date_orders"] = orders
        return chosen

    # --- output ---

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"\r  {done:,} of {total:,} rows", ending="")
        self.stderr.flush()

    def _print_mapping(self, batch: Any) -> None:
        labels = {f.name: f.label for f in FIELDS[ImportKind(batch.kind)]}
        self.stdout.write(f"{batch.row_count:,} rows, columns:")
        for column, name in batch.mapping.items():
            self.stdout.write(f"  {column:<32} → {labels.get(name, '(ignored)')}")

    def _print_report(
        self,
        kind: str,
        counts: dict[str, int],
        problems: list[dict],
        warnings: list[dict],
        *,
        dry: bool,
    ) -> None:
        for problem in problems:
            column = f", {problem['column']}" if problem.get("column") else ""
            self.stdout.write(f"line {problem['line']}{column}: {problem['message']}")
        for warning in warnings:
            self.stdout.write(f"line {warning['line']} (note): {warning['message']}")
        verb = "Would import" if dry else "Imported"
        # Only deals move between stages; people come with teams and invitations.
        moved = f"moved {counts.get('moved', 0)}, " if kind == ImportKind.OPPORTUNITIES else ""
        self.stdout.write(
            f"{verb}: created {counts.get('created', 0)}, updated {counts.get('updated', 0)}, "
            f"{moved}unchanged {counts.get('unchanged', 0)}, "
            f"refused {counts.get('rejected', 0)}."
        )
        if kind == ImportKind.PEOPLE:
            self.stdout.write(
                f"Teams: created {counts.get('teams_created', 0)}, updated "
                f"{counts.get('teams_updated', 0)}. Invitations to set a password: "
                f"{counts.get('invited', 0)}{' (sent when imported)' if dry else ''}."
            )
