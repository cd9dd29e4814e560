"""manage.py drain_task_outbox — send the tasks queued while the broker was away."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from salesops.outbox import outbox_drain


class Command(BaseCommand):
    help = (
        "Send the queued tasks that are waiting in the outbox (kept while the broker, Redis, "
        "was unreachable), oldest first. Beat does this every minute and a worker when it "
        "starts; exits with an error while tasks remain unsent."
    )

    def handle(self, *args, **options):
        result = outbox_drain()
        if result.waiting:
            raise CommandError(
                f"Sent {result.sent} queued task(s); {result.waiting} task(s) still waiting "
                "(the broker refused or is unreachable: see the warnings above). They are "
                "kept; run this again once the broker is back."
            )
        self.stdout.write(f"Sent {result.sent} queued task(s); none waiting.")
