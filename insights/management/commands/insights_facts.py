"""`python manage.py insights_facts [--rebuild]` — bring the insights' per-deal facts and
stage stays up to date now.

Without options it computes the deals queued since the last refresh (what the beat does
every minute). `--rebuild` computes every deal's from scratch in one set-based pass — after
loading data with triggers disabled, or to have a large history ready at once after the
migration that introduced the facts (it queues every deal; the refresh would work through
them in batches)."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from insights import facts
from insights.models import DealFact, StageStay
from salesops import audit_context


class Command(BaseCommand):
    help = "Compute the insights' per-deal facts of the queued deals (or of every deal)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--rebuild", action="store_true", help="compute every deal's facts from scratch"
        )

    @audit_context.as_command
    def handle(self, *args: Any, rebuild: bool = False, **options: Any) -> None:
        started = time.perf_counter()
        if rebuild:
            facts.rebuild()
            what = "every deal"
        else:
            what = f"{facts.refresh():,} queued deals"
        self.stdout.write(
            f"Facts of {what} computed in {time.perf_counter() - started:.1f} s: "
            f"{DealFact.objects.values('opportunity_id').distinct().count():,} closed deals "
            f"with facts, {StageStay.objects.count():,} stage stays."
        )
