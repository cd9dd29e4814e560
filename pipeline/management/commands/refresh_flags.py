"""Refresh the attention flags now, synchronously: the same service as the beat task."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from pipeline.flags import flags_refresh


class Command(BaseCommand):
    help = "Raise new attention flags, update changed ones and clear resolved ones."

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        result = flags_refresh()
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"raised {result.raised}, cleared {result.cleared}, updated {result.updated}, "
            f"notified {result.notified} in {elapsed:.2f} s"
        )
