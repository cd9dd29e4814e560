"""Overdue onboarding tasks as coaching cadence flags: hiring registers this provider with
coaching (coaching.flag_providers) at start-up, and the coaching cadence raises, clears
and notifies them with its own — in the beat's run and at once after a task is done or a
plan is started.

Who is told: the new hire of their own tasks; their team's manager of those the manager
signs off (a shadowed review) — the same person hiring.services.can_sign_off lets sign
it off. A task is overdue the day after it was due, while not done; a deactivated new
hire's tasks raise nothing."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.urls import reverse

from coaching import flag_providers
from coaching.cadence import TODAY_SQL, cadence_refresh, day_sql

KIND = "onboarding_task_overdue"

DESIRED_SQL = f"""
SELECT t.id AS subject_id, p.rep_id,
       CASE WHEN t.manager_signs_off THEN m.id ELSE p.rep_id END AS recipient_id,
       t.title AS subject,
       '“' || t.title || '” ('
           || CASE WHEN t.manager_signs_off
                   THEN 'sign-off for ' || COALESCE(NULLIF(btrim(u.first_name || ' '
                        || u.last_name), ''), u.username)
                   ELSE 'your onboarding' END
           || ') was due on ' || {day_sql("t.due_on")} AS explanation,
       %(onboarding_task_overdue_url)s || p.rep_id || '/' AS link
FROM hiring_onboardingtask t
JOIN hiring_onboardingplan p ON p.id = t.plan_id
JOIN salesops_user u ON u.id = p.rep_id AND u.is_active
LEFT JOIN salesops_team team ON team.id = u.team_id
LEFT JOIN salesops_user m ON m.id = team.manager_id AND m.is_active AND m.id <> u.id
WHERE t.done_at IS NULL AND t.due_on < {TODAY_SQL}
"""


def _params() -> dict[str, object]:
    # The plan page's address without its rep id (the SQL appends it).
    return {"onboarding_task_overdue_url": reverse("hiring:onboarding", args=[0])[:-2]}


PROVIDER = flag_providers.FlagProvider(
    kind=KIND,
    label="Onboarding task overdue",
    plural="onboarding tasks overdue",
    desired_sql=DESIRED_SQL,
    params=_params,
)


def register() -> None:
    flag_providers.register(PROVIDER)


def refresh_on_commit(task_ids: Iterable[int]) -> None:
    """Bring these tasks' flags in line once the caller's transaction commits (a failed
    refresh never undoes the write; the beat's next run catches up)."""
    ids = list(task_ids)
    if ids:
        transaction.on_commit(lambda: cadence_refresh(provided={KIND: ids}), robust=True)
