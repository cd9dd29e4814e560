"""Taking the demo company away again, keeping everything of the real company's.

`make run` loads the demo on a first run; a company that tried Salesops on it and then set
itself up (its own administrator, pipeline, imports) removes it with `demo_remove` — the
Setup page's button or `manage.py demo_remove`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Model, ProtectedError, Q, RestrictedError

from coaching.models import (
    ActionItem,
    CoachingFlag,
    CoachingSession,
    OpportunityReview,
    SkillAssessment,
)
from demo.company.cast import ACCOUNTS, DEMO_USERNAMES, PIPELINE_NAME, TEAMS
from demo.company.hiring_demo import delete_hiring_demo
from forecasting.models import ForecastMeeting, Quota
from pipeline.models import Account, Opportunity, Pipeline
from proposals.models import Proposal
from salesops.exceptions import Conflict, PermissionDenied
from salesops.models import Team, User
from salesops.services import audit_record


@dataclass(frozen=True)
class DemoRemoved:
    people: int
    teams: int
    opportunities: int
    accounts: int
    pipelines: int
    forecast_calls: int


def demo_present() -> bool:
    """Whether any of the demo's people is still here."""
    return User.objects.filter(username__in=DEMO_USERNAMES).exists()


def _count(deleted: tuple[int, dict[str, int]], model: type[Model]) -> int:
    return deleted[1].get(model._meta.label, 0)


@transaction.atomic
def demo_remove(*, actor: User) -> DemoRemoved:
    """Delete the demo's people and everything that is theirs: their demo deals (with history,
    proposals, reviews, flags, snapshots), their 1:1s and assessments, their forecast calls
    and quotas, the demo teams once nobody else is in them, the demo's accounts and its
    "New business" pipeline once no other deal uses them. Everyone and everything else
    stays.

    Refuses: anyone but an administrator (PermissionDenied); an administrator who is one of
    the demo's people — create your own first (Conflict `demo_actor`); no demo here
    (Conflict `no_demo`); and, deleting nothing, demo people that records of the real
    company still need (e.g. a demo rep owning a deal you imported: Conflict
    `demo_in_use`, naming them)."""
    if not actor.is_admin_role:
        raise PermissionDenied("Only administrators can remove the demo company.")
    if actor.username in DEMO_USERNAMES:
        raise Conflict(
            f"You are signed in as the demo's '{actor.username}': create your own "
            "administrator first (Setup, or manage.py createsuperuser) and sign in as them.",
            code="demo_actor",
        )
    people = list(User.objects.select_for_update().filter(username__in=DEMO_USERNAMES))
    if not people:
        raise Conflict("There is no demo company here.", code="no_demo")
    ids = [p.pk for p in people]
    teams = list(Team.objects.filter(name__in=TEAMS))
    team_ids = [t.pk for t in teams]
    # Forecast calls never change, except that the demo's go with it (this transaction).
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('salesops.removing_demo', 'on', true)")
        cursor.execute(
            "DELETE FROM forecasting_forecastsubmission WHERE submitter_id = ANY(%s)", [ids]
        )
        calls = cursor.rowcount
    ForecastMeeting.objects.filter(Q(team__in=team_ids) | Q(created_by__in=ids)).delete()
    delete_hiring_demo(ids)
    Quota.objects.filter(Q(rep__in=ids) | Q(team__in=team_ids)).delete()
    for model, who in (
        (CoachingFlag, Q(rep__in=ids) | Q(recipient__in=ids)),
        (ActionItem, Q(owner__in=ids) | Q(created_by__in=ids)),
        (CoachingSession, Q(rep__in=ids) | Q(manager__in=ids)),
        (OpportunityReview, Q(rep__in=ids) | Q(manager__in=ids)),
        (SkillAssessment, Q(rep__in=ids) | Q(assessor__in=ids)),
    ):
        model.objects.filter(who).delete()
    # The demo's own deals: in its pipeline, neither imported nor synced from a CRM. A deal
    # of yours that a demo person owns keeps that person (and the removal is refused).
    deals = Opportunity.objects.filter(
        owner__in=ids, pipeline__name=PIPELINE_NAME, imported_at__isnull=True, source=""
    )
    Proposal.objects.filter(opportunity__in=deals).delete()
    opportunities = _count(deals.delete(), Opportunity)
    accounts = _count(
        Account.objects.filter(name__in=[name for name, *_ in ACCOUNTS], opportunities=None)
        .distinct()
        .delete(),
        Account,
    )
    pipelines = _count(
        Pipeline.objects.filter(name=PIPELINE_NAME, opportunities=None).delete(), Pipeline
    )
    Team.objects.filter(pk__in=team_ids).update(manager=None)
    try:
        deleted_people = _count(User.objects.filter(pk__in=ids).delete(), User)
    except (ProtectedError, RestrictedError) as exc:
        needed = getattr(exc, "protected_objects", ()) or getattr(exc, "restricted_objects", ())
        blocking = sorted({f"{obj._meta.verbose_name} “{obj}”" for obj in needed})[:5]
        raise Conflict(
            "The demo's people are still needed by your own records"
            + (f" ({', '.join(blocking)})" if blocking else "")
            + ": hand those over to your own people first, then remove the demo.",
            code="demo_in_use",
        ) from exc
    empty_teams = Team.objects.filter(pk__in=team_ids, members=None, children=None)
    deleted_teams = _count(empty_teams.delete(), Team)
    removed = DemoRemoved(
        people=deleted_people,
        teams=deleted_teams,
        opportunities=opportunities,
        accounts=accounts,
        pipelines=pipelines,
        forecast_calls=calls,
    )
    audit_record(actor=actor, action="demo.removed", data=removed.__dict__)
    return removed
