"""Overdue onboarding tasks raise coaching cadence flags (hiring's provider, run by the
coaching cadence): to the new hire for their own tasks, to their manager for those the
manager signs off; one notification per recipient per run; cleared at once when done,
and by the next run when the hire leaves."""

from __future__ import annotations

import datetime as dt

import pytest

from coaching.cadence import cadence_refresh
from coaching.models import CoachingFlag
from hiring import services
from hiring.models import OnboardingTask
from hiring.onboarding_flags import KIND
from salesops.models import Notification

# Day 22 of Dana's plan (she started on Monday 4 January 2027).
DAY_22 = dt.datetime(2027, 1, 26, 9, tzinfo=dt.UTC)

pytestmark = pytest.mark.time_machine(DAY_22, tick=False)


def _open_flags() -> set[tuple[int, int]]:
    return set(
        CoachingFlag.objects.filter(kind=KIND, cleared_at__isnull=True).values_list(
            "subject_id", "recipient_id"
        )
    )


def test_the_beat_raises_a_flag_per_overdue_task_for_whoever_must_act(hired, manager):
    cadence_refresh(now=DAY_22)
    overdue = OnboardingTask.objects.filter(plan__rep=hired, due_on__lt=dt.date(2027, 1, 26))
    assert overdue.count() == 5  # days 3, 5, 10, 15 (hers) and 21 (a shadowed review)
    assert _open_flags() == {
        (t.pk, manager.pk if t.manager_signs_off else hired.pk) for t in overdue
    }
    flag = CoachingFlag.objects.get(kind=KIND, recipient=manager)
    assert flag.rep_id == hired.pk and flag.link == f"/hiring/onboarding/{hired.pk}/"
    assert flag.explanation == (
        "“Shadow an opportunity review” (sign-off for Dana Fischer) was due on 25 Jan 2027"
    )
    assert flag.kind_label == "Onboarding task overdue"
    # One notification each: hers counts her four tasks; the manager's counts the
    # shadowed review with the 1:1 Dana is owed (none yet since she started).
    hers = Notification.objects.get(recipient=hired)
    assert (hers.title, hers.body) == ("4 coaching items overdue", "onboarding tasks overdue: 4")
    theirs = Notification.objects.get(recipient=manager, body__contains="onboarding")
    assert theirs.body.endswith("onboarding tasks overdue: 1")
    assert theirs.body.startswith("1:1s overdue: ")
    # Idempotent: a rerun raises and notifies nothing.
    again = cadence_refresh(now=DAY_22)
    assert (again.raised, again.notified) == (0, 0)
    assert Notification.objects.filter(recipient=hired).count() == 1


def test_a_single_overdue_task_is_named_and_linked_in_its_notification(hired):
    cadence_refresh(now=dt.datetime(2027, 1, 8, 9, tzinfo=dt.UTC))  # day 3 was 7 Jan
    note = Notification.objects.get(recipient=hired)
    assert (
        note.title
        == "Onboarding task overdue: Product training: what each product does and for whom"
    )
    assert note.body == (
        "“Product training: what each product does and for whom” (your onboarding) was due"
        " on 7 Jan 2027"
    )
    assert note.link == f"/hiring/onboarding/{hired.pk}/"


def test_doing_a_task_clears_its_flag_at_once(hired, manager, django_capture_on_commit_callbacks):
    cadence_refresh(now=DAY_22)
    own = OnboardingTask.objects.filter(plan__rep=hired, manager_signs_off=False).first()
    shadow = OnboardingTask.objects.get(plan__rep=hired, title__startswith="Shadow")
    with django_capture_on_commit_callbacks(execute=True):
        services.onboarding_task_done(actor=hired, task_id=own.pk)
        services.onboarding_task_done(actor=manager, task_id=shadow.pk)
    open_now = _open_flags()
    assert len(open_now) == 3 and own.pk not in {s for s, _ in open_now}
    assert shadow.pk not in {s for s, _ in open_now}
    cleared = CoachingFlag.objects.filter(kind=KIND, cleared_at__isnull=False)
    assert set(cleared.values_list("subject_id", flat=True)) == {own.pk, shadow.pk}


def test_a_hire_who_leaves_has_their_flags_cleared_by_the_next_run(hired):
    cadence_refresh(now=DAY_22)
    hired.is_active = False
    hired.save(update_fields=["is_active"])
    result = cadence_refresh(now=DAY_22)
    assert result.cleared >= 5 and _open_flags() == set()


def test_a_start_date_in_the_past_raises_flags_as_the_hire_commits(
    candidate, manager, django_capture_on_commit_callbacks
):
    services.candidate_move(actor=manager, candidate_id=candidate.pk, stage="offer")
    with django_capture_on_commit_callbacks(execute=True):
        services.candidate_hire(
            actor=manager, candidate_id=candidate.pk, started_on="2027-01-12", reason="Yes"
        )
    candidate.refresh_from_db()
    overdue = OnboardingTask.objects.filter(
        plan__rep=candidate.hired_user, due_on__lt=dt.date(2027, 1, 26)
    )
    assert {s for s, _ in _open_flags()} == set(overdue.values_list("pk", flat=True))
    assert overdue.count() == 3  # days 3, 5 and 10 (15 Jan–22 Jan), all hers


def test_the_hire_sees_the_flag_on_their_coaching_page_with_a_link_to_the_plan(client, hired):
    cadence_refresh(now=DAY_22)
    client.force_login(hired)
    body = client.get("/coaching/").content.decode()
    assert "Onboarding task overdue" in body
    assert f'href="/hiring/onboarding/{hired.pk}/"' in body


def test_the_api_lists_them_and_filters_by_their_kind(key_for, hired):
    cadence_refresh(now=DAY_22)
    answer = key_for(hired).get(f"/api/v1/coaching-flags/?kind={KIND}")
    assert answer.status_code == 200
    rows = answer.json()["results"]
    assert len(rows) == 4 and {r["link"] for r in rows} == {f"/hiring/onboarding/{hired.pk}/"}
