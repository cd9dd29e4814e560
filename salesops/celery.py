"""The Celery app and the beat schedule."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")

app = Celery("salesops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs; the apps add theirs here (flags, snapshots, …).
app.conf.beat_schedule = {
    "purge-idempotency-records": {
        "task": "salesops.purge_idempotency_records",
        "schedule": crontab(minute=17, hour=3),
    },
}
