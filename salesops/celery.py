"""The Celery app, the beat schedule, and the organisation's time zone in tasks and beat."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from celery import Celery, signals
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
    # Every minute: the tasks queued while the broker was away (salesops/outbox.py).
    "drain-task-outbox": {
        "task": "salesops.drain_task_outbox",
        "schedule": crontab(),
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
            # Daily: candidates' personal data past its retention period.
            "anonymise-candidates": {
                "task": "hiring.anonymise_candidates",
                "schedule": crontab(minute=50, hour=3),
            },
            # Every minute: the behaviour facts of deals closed or changed since, so the
            # top-performer study reads them ready.
            "refresh-insights-deal-facts": {
                "task": "insights.refresh_deal_facts",
                "schedule": crontab(),
            },
            # Nightly: the framework suggestions from the top-performer study.
            "refresh-insights-suggestions": {
                "task": "insights.refresh_suggestions",
                "schedule": crontab(minute=35, hour=2),
            },
        }
    )


# --- the organisation's time zone ---------------------------------------------------------
# Django and the apps are imported lazily below: this module is imported while the settings
# are still loading (salesops/__init__.py), before the app registry is ready.

logger = logging.getLogger(__name__)
_task_time_zones: dict[str, Any] = {}


@signals.task_prerun.connect
def _organisation_time_zone_on(task_id: str | None = None, **kwargs: Any) -> None:
    """Each task runs in the organisation's time zone, as a request does (the middleware):
    timezone.localdate() in a task is the organisation's day."""
    from django.utils import timezone

    from salesops import organisation

    try:
        zone = organisation.current().tz()
    except Exception:  # the database is away: the task itself will fail and retry
        logger.warning("Task %s: the organisation's time zone could not be read", task_id)
        return
    override = timezone.override(zone)
    override.__enter__()
    _task_time_zones[task_id or ""] = override


@signals.task_postrun.connect
def _organisation_time_zone_off(task_id: str | None = None, **kwargs: Any) -> None:
    # Restores what was active before: an eager task inside a request leaves the request's.
    override = _task_time_zones.pop(task_id or "", None)
    if override is not None:
        override.__exit__(None, None, None)


@signals.worker_ready.connect
def _drain_outbox_when_ready(sender: Any = None, **kwargs: Any) -> None:
    """A worker that starts (after an outage, a deploy) has the tasks that waited in the
    outbox sent at once rather than at beat's next minute: it queues the drain for itself
    (run in the pool, with the tasks' retries; the broker is reachable: it just connected)."""
    try:
        app.send_task("salesops.drain_task_outbox", ignore_result=True)
    except Exception:  # the broker went away again: beat's drain will do it
        logger.warning("Worker ready: could not queue the outbox drain", exc_info=True)


@signals.beat_init.connect
def _beat_in_organisation_time_zone(sender: Any = None, **kwargs: Any) -> None:
    """The beat schedule's crontabs (the Monday snapshot, the digest hour, the history
    warm-up after midnight) run in the organisation's time zone as it is when beat starts:
    after changing it on /setup/, restart beat (`make run`: restart it)."""
    from salesops import organisation

    zone = organisation.current().time_zone
    if app.conf.timezone != zone:
        logger.info("beat: schedule in the organisation's time zone %s", zone)
        app.conf.timezone = zone
        # Celery caches the zone the schedules read (Celery.timezone, a cached property).
        app.__dict__.pop("timezone", None)
