"""The Celery app and the beat schedule."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from celery import Celery
from celery.schedules import crontab

from salesops.tasking import VisibilityLease

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")

app = Celery("salesops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Short Redis visibility timeout without duplicates: see salesops/tasking.py.
app.steps["consumer"].add(VisibilityLease)

# Periodic jobs; the apps add theirs here (flags, snapshots, …).
app.conf.beat_schedule = {
    "purge-idempotency-records": {
        "task": "salesops.purge_idempotency_records",
        "schedule": crontab(minute=17, hour=3),
    },
}


@app.on_after_configure.connect
def _schedule_from_settings(sender: Celery, **kwargs: Any) -> None:
    """Entries whose timing comes from Django settings (read once the app is configured,
    not at import: this module is imported while the settings are still loading)."""
    from django.conf import settings

    sender.conf.beat_schedule.update(
        {
            "refresh-attention-flags": {
                "task": "pipeline.refresh_flags",
                "schedule": timedelta(minutes=settings.FLAGS_REFRESH_MINUTES),
            },
            "refresh-coaching-cadence": {
                "task": "coaching.refresh_cadence",
                "schedule": timedelta(minutes=settings.COACHING_CADENCE_REFRESH_MINUTES),
            },
            "send-notification-digest": {
                "task": "salesops.send_notification_digest",
                "schedule": crontab(minute=0, hour=settings.NOTIFICATION_DIGEST_HOUR),
            },
            # Mondays, early (CELERY_TIMEZONE is the organisation's): the week's snapshot.
            "take-pipeline-snapshot": {
                "task": "forecasting.take_pipeline_snapshot",
                "schedule": crontab(
                    minute=0, hour=settings.PIPELINE_SNAPSHOT_HOUR, day_of_week="mon"
                ),
            },
            # Just after the organisation's midnight: the day's win rates from history, so
            # the first dashboard of the day does not wait for them.
            "warm-history-rates": {
                "task": "forecasting.warm_history_rates",
                "schedule": crontab(minute=5, hour=0),
            },
        }
    )
