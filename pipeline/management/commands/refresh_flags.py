"""Refresh the attention flags now, synchronously: the same service as the beat task."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from pipeline.flags import FlagRefreshResult, flags_refresh
from salesops import audit_context, organisation


class Command(BaseCommand):
    help = (
        "Raise new attention flags, update changed ones and clear resolved ones — on the deals "
        "due for a look (their schedule), or on every deal with --full."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--full",
            action="store_true",
            help="decide every deal, not only the due ones (e.g. after restoring a backup)",
        )

    @organisation.in_time_zone
    @audit_context.as_command
    def handle(self, *args, **options) -> None:
        started = time.perf_counter()

        def batch_done(total: FlagRefreshResult, number: int, batches: int) -> None:
            # A first run on a large database goes in batches: say how far it is.
            self.stdout.write(
                f"batch {number} of {batches}: {total.checked} deals decided, "
                f"{total.raised} flags raised"
            )

        result = flags_refresh(full=options["full"], progress=batch_done)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"raised {result.raised}, cleared {result.cleared}, updated {result.updated}, "
            f"notified {result.notified} in {elapsed:.2f} s "
            f"({result.checked} deals checked{', all' if result.full else ''})"
        )
