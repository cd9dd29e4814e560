"""Forecast meetings: record a team's meeting (meeting_create) and change its notes,
attendees or date (meeting_update).

A team's forecast meeting: the numbers frozen when it is recorded (figures, risks,
changes since the previous meeting; see forecasting.selectors.meeting_numbers), then
only its notes, attendees and date change, each change bumping its version. No delete
(a meeting is the record of what was said about the numbers); the Django admin can."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from forecasting import rules
from forecasting.models import ForecastMeeting
from forecasting.services.common import MAX_ID
from forecasting.services.periods import fiscal_calendar, local_today, period_from_label
from salesops import access
from salesops.cleaning import clean_int, clean_text, query_int
from salesops.exceptions import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from salesops.models import Team, User
from salesops.services import audit_record

MEETING_NOTES_MAX = 20_000
MEETING_MAX_AGE_DAYS = 365
MEETING_MAX_ATTENDEES = 200


class _Unset:
    """An argument that was not given (None and "" are values: they clear a field)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def can_hold_forecast_meeting(actor: User, team_id: int) -> bool:
    """A manager of the team (the teams they manage and their sub-teams) or a leader /
    admin records a forecast meeting and changes it; reps never (they read the meetings
    they attended)."""
    if not (actor.is_authenticated and actor.is_active):
        return False
    if actor.sees_everything:
        return True
    return actor.is_manager and team_id in access.managed_team_ids(actor)


def _clean_meeting_held_on(errors: dict[str, list[str]], held_on: Any, today: dt.date) -> dt.date:
    if held_on in (None, ""):
        return today
    try:
        day = held_on if isinstance(held_on, dt.date) else dt.date.fromisoformat(str(held_on))
    except ValueError:
        errors.setdefault("held_on", []).append("Enter a date as YYYY-MM-DD.")
        return today
    if isinstance(day, dt.datetime):
        day = day.date()
    earliest = today - dt.timedelta(days=MEETING_MAX_AGE_DAYS)
    if day > today:
        errors.setdefault("held_on", []).append(
            "A meeting is recorded once it was held: the date cannot be in the future."
        )
    elif day < earliest:
        errors.setdefault("held_on", []).append(
            f"Choose a date within the last year ({earliest:%d %b %Y} or later)."
        )
    return day


def _clean_attendees(errors: dict[str, list[str]], attendee_ids: Any, team: Team) -> list[User]:
    """The attendees: at least one, each an active member of the team or its sub-teams,
    a manager of the team (or of one above or below it) or a sales leader."""
    from forecasting import selectors as forecasting_selectors  # it imports this module

    if attendee_ids in (None, ""):
        attendee_ids = []
    if isinstance(attendee_ids, str | bytes) or not isinstance(attendee_ids, list | tuple | set):
        errors.setdefault("attendees", []).append("Give a list of user ids.")
        return []
    wanted: list[int] = []
    for value in attendee_ids:
        pk = query_int(value)
        if pk is None:
            errors.setdefault("attendees", []).append(f"{str(value)[:30]!r} is not a user id.")
            return []
        if pk not in wanted:
            wanted.append(pk)
    if not wanted:
        errors.setdefault("attendees", []).append("Choose who attended (at least one person).")
        return []
    if len(wanted) > MEETING_MAX_ATTENDEES:
        errors.setdefault("attendees", []).append(
            f"Choose at most {MEETING_MAX_ATTENDEES} attendees."
        )
        return []
    candidates = {u.pk: u for u in forecasting_selectors.meeting_attendee_candidates(team.pk)}
    outside = [pk for pk in wanted if pk not in candidates]
    if outside:
        names = {u.pk: str(u) for u in User.objects.filter(pk__in=outside)}
        for pk in outside:
            who = names.get(pk, f"User {pk}")
            errors.setdefault("attendees", []).append(
                f"{who} cannot attend: not an active member of {team.name} or its sub-teams, "
                "one of its managers or a sales leader."
            )
        return []
    return [candidates[pk] for pk in wanted]


def _refuse_duplicate_meeting(
    team: Team, period: rules.Period, day: dt.date, *, exclude: int | None = None
) -> None:
    others = ForecastMeeting.objects.filter(
        team=team, period_kind=period.kind.value, period_start=period.start, held_on=day
    )
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        raise Conflict(
            f"{team.name} already has a forecast meeting about {period.label} on {day:%d %b %Y}.",
            code="duplicate_meeting",
            details={"held_on": ["There is already a meeting of this team on this day."]},
        )


def _meeting_team(actor: User, team_id: Any) -> Team:
    """The team of a meeting `actor` records, locked so that two meetings of the team are
    recorded one after the other (the previous meeting and the day check stay true)."""
    if not (actor.is_authenticated and actor.is_active):
        raise PermissionDenied("Sign in to record a forecast meeting.")
    if not (actor.is_manager or actor.sees_everything):
        raise PermissionDenied(
            "Forecast meetings are recorded by the team's manager or a sales leader."
        )
    errors: dict[str, list[str]] = {}
    pk = clean_int(errors, "team", team_id, required=True, minimum=1, maximum=MAX_ID)
    if errors:
        raise ValidationFailed(details=errors)
    assert pk is not None  # required: its None comes with an error (raised above)
    if not can_hold_forecast_meeting(actor, pk):
        raise NotFound("No such team.")
    team = Team.objects.select_for_update().filter(pk=pk).first()
    if team is None:
        raise NotFound("No such team.")
    return team


@transaction.atomic
def meeting_create(
    *,
    actor: User,
    period: Any,
    team_id: Any,
    held_on: Any = None,
    attendee_ids: Any = None,
    notes: Any = "",
    now: dt.datetime | None = None,
) -> ForecastMeeting:
    """Record a forecast meeting of a team about a fiscal month or quarter (`period`, a
    label) held on `held_on` (default today, organisation's timezone), with its attendees
    and notes. Freezes the numbers of that moment (forecasting.selectors.meeting_numbers):
    the team's figures in the organisation's default currency, the deals at risk and the changes
    since the previous meeting of the same team and period.

    Refuses, nothing written: an inactive or anonymous actor, a rep (PermissionDenied);
    a bad team id (ValidationFailed); a team that does not exist or that a manager does
    not manage (NotFound); then, all at once (ValidationFailed): a bad period label, a
    date in the future or more than a year back, no attendees or someone who may not
    attend (an inactive user, or neither a member of the team or its sub-teams, one of
    its managers nor a sales leader), notes over 20,000 characters; finally a second
    meeting of the team about the period on the same day (Conflict `duplicate_meeting`,
    409: a double submit)."""
    from forecasting import selectors as forecasting_selectors  # it imports this module

    now = now or timezone.now()
    team = _meeting_team(actor, team_id)
    errors: dict[str, list[str]] = {}
    try:
        the_period = period_from_label(period)
    except ValidationFailed as exc:
        errors.update(exc.details)
        the_period = None
    day = _clean_meeting_held_on(errors, held_on, local_today(now))
    attendees = _clean_attendees(errors, attendee_ids, team)
    notes_text = clean_text(errors, "notes", notes, required=False, max_length=MEETING_NOTES_MAX)
    if errors:
        raise ValidationFailed(details=errors)
    assert the_period is not None
    _refuse_duplicate_meeting(team, the_period, day)
    numbers = forecasting_selectors.meeting_numbers(
        actor, the_period, team.pk, held_on=day, now=now
    )
    try:
        with transaction.atomic():  # the unique (team, period, day) under a race
            meeting = ForecastMeeting.objects.create(
                period_kind=the_period.kind.value,
                period_start=the_period.start,
                team=team,
                held_on=day,
                notes=notes_text,
                figures=numbers.figures,
                risks=numbers.risks,
                changes=numbers.changes,
                created_by=actor,
            )
    except IntegrityError:
        _refuse_duplicate_meeting(team, the_period, day)
        raise
    meeting.attendees.set(attendees)
    audit_record(
        actor=actor,
        action="forecast_meeting.created",
        target=meeting,
        data={
            "team": team.pk,
            "period": the_period.label,
            "held_on": day.isoformat(),
            "attendees": [u.pk for u in attendees],
            "previous_meeting": numbers.previous.pk if numbers.previous else None,
            "risks": len(numbers.risks),
        },
    )
    return meeting


@transaction.atomic
def meeting_update(
    *,
    actor: User,
    meeting_id: Any,
    expected_version: int | None = None,
    notes: Any = UNSET,
    attendee_ids: Any = UNSET,
    held_on: Any = UNSET,
    now: dt.datetime | None = None,
) -> ForecastMeeting:
    """Change a meeting's notes, attendees and/or date (only what is given). The frozen
    numbers never change: they stay those of the moment the meeting was recorded, and
    its changes keep naming the meeting they were compared with. Changing nothing saves
    nothing; a change bumps `version`.

    Refuses, nothing written: a meeting outside `actor`'s scope (NotFound); anyone but a
    manager of the team or a leader/admin, e.g. a rep who attended (PermissionDenied); a
    stale `expected_version` (StaleVersion, 412); the date, attendee and notes rules of
    meeting_create (ValidationFailed); a date another meeting of the team about the
    period already has (Conflict `duplicate_meeting`)."""
    from forecasting import selectors as forecasting_selectors  # it imports this module

    pk = clean_int({}, "id", meeting_id, required=False, minimum=1, maximum=MAX_ID)
    # A bad id (None) matches nothing, so it is NotFound below; the stubs refuse pk=None.
    visible = forecasting_selectors.meetings_for(actor).filter(pk=pk).values("pk")  # type: ignore[misc]
    meeting = (
        ForecastMeeting.objects.select_for_update(of=("self",))
        .select_related("team")
        .filter(pk__in=visible)
        .first()
        if pk is not None
        else None
    )
    if meeting is None:
        raise NotFound("No such forecast meeting.")
    if not can_hold_forecast_meeting(actor, meeting.team_id):
        raise PermissionDenied(
            "Only a manager of the team (or a sales leader) can change its forecast meetings."
        )
    if expected_version is not None and expected_version != meeting.version:
        raise StaleVersion()
    errors: dict[str, list[str]] = {}
    changed: list[str] = []
    if notes is not UNSET:
        text = clean_text(errors, "notes", notes, required=False, max_length=MEETING_NOTES_MAX)
        if text != meeting.notes:
            meeting.notes = text
            changed.append("notes")
    day = meeting.held_on
    if held_on is not UNSET:
        day = _clean_meeting_held_on(errors, held_on, local_today(now))
    attendees = None
    if attendee_ids is not UNSET:
        attendees = _clean_attendees(errors, attendee_ids, meeting.team)
    if errors:
        raise ValidationFailed(details=errors)
    if day != meeting.held_on:
        period = fiscal_calendar().period_of(meeting.period_start, meeting.period_kind)
        _refuse_duplicate_meeting(meeting.team, period, day, exclude=meeting.pk)
        meeting.held_on = day
        changed.append("held_on")
    if attendees is not None:
        current = set(meeting.attendees.values_list("pk", flat=True))
        if current != {u.pk for u in attendees}:
            meeting.attendees.set(attendees)
            changed.append("attendees")
    if not changed:
        return meeting
    meeting.version += 1
    meeting.save(update_fields=[f for f in changed if f != "attendees"] + ["version", "updated_at"])
    audit_record(
        actor=actor,
        action="forecast_meeting.updated",
        target=meeting,
        data={
            "fields": changed,
            "held_on": meeting.held_on.isoformat(),
            "attendees": [u.pk for u in attendees] if attendees is not None else None,
        },
    )
    return meeting
