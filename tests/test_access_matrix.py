"""Every page and every API route, checked for every member of the cast.

The routes come from the URL resolver (pages) and the OpenAPI schema (API). A route
that is not in the matrix below fails `test_every_page_route_is_in_the_matrix` or
`test_every_api_operation_is_in_the_matrix`, so nothing ships unchecked.

Each probe runs in a fresh world: an opportunity of `rep` in Discover with the
Discover milestones met (so an advance succeeds for those allowed to make it), a
business issue, an activity, a spare account, stage and milestone to delete, and
proposals of `rep` on deals of their own: a draft (whose summary passes its checks), one
in review and one approved (`world.proposals`), the seeded skills framework
(`world.skill`) and an assessment of `rep` by their manager (`world.assessment`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from coaching.models import SkillAssessment
from pipeline import services
from pipeline.models import Milestone
from proposals import services as proposal_services
from proposals.models import Proposal, ProposalStatus, ReviewChecklistItem
from salesops.services import api_key_create
from tests.clock import default_clock
from tests.coaching.conftest import ensure_skills
from tests.conftest import make_cast
from tests.factories import (
    AccountFactory,
    BusinessIssueFactory,
    MilestoneFactory,
    NotificationFactory,
    OpportunityFactory,
    OpportunityFlagFactory,
    QualificationElementFactory,
    QualificationFrameworkFactory,
    StageFactory,
)
from tests.proposals.conftest import GOOD_SUMMARY, proposal_data

ROLES = ["anonymous", "rep", "teammate", "manager", "other_manager", "leader", "admin", "ro_key"]
LOGIN = "login"  # a 302 to the login page


def scoped(ok: int, *, anon: Any = LOGIN, ro: Any = None) -> dict[str, Any]:
    """Allowed for the owner, their manager, leader and admin; 404 for everyone else."""
    return {
        "anonymous": anon,
        "rep": ok,
        "teammate": 404,
        "manager": ok,
        "other_manager": 404,
        "leader": ok,
        "admin": ok,
        "ro_key": anon if ro is None else ro,
    }


def everyone(ok: int, *, anon: Any = LOGIN, ro: Any = None) -> dict[str, Any]:
    return {r: ok for r in ROLES} | {"anonymous": anon, "ro_key": anon if ro is None else ro}


def setup_admin(ok: Any) -> dict[str, Any]:
    """A page for administrators: everyone else signed in gets 403."""
    return {r: 403 for r in ROLES} | {"anonymous": LOGIN, "ro_key": LOGIN, "admin": ok}


def admin_only(ok: int, *, read_only_key: int = 403) -> dict[str, Any]:
    return {r: 403 for r in ROLES} | {"anonymous": 401, "admin": ok, "ro_key": read_only_key}


def setup_configurer(ok: Any) -> dict[str, Any]:
    """A page of those who configure the sales process (access.configures_sales_process):
    administrators and sales leaders; everyone else signed in gets 403."""
    return setup_admin(ok) | {"leader": ok}


def configurer_only(ok: int) -> dict[str, Any]:
    """The API's writes of the sales process: administrators and sales leaders."""
    return admin_only(ok) | {"leader": ok}


def api_scoped(ok: int, *, write: bool) -> dict[str, Any]:
    return scoped(ok, anon=401, ro=403 if write else ok)


def api_everyone(ok: int, *, write: bool) -> dict[str, Any]:
    return everyone(ok, anon=401, ro=403 if write else ok)


@dataclass
class Probe:
    method: str
    path: Callable[[Any], str]
    expect: dict[str, Any]
    data: Callable[[Any], dict] = field(default=lambda w: {})
    accept: str = "application/json"


# --- the world ------------------------------------------------------------------------


def _proposals(rep, pipeline) -> SimpleNamespace:
    """Proposals of `rep`, one per state a probe needs, each on a deal of its own (a deal
    has one proposal in progress at a time). The draft's summary passes its checks, so
    its owner may submit it; the others are written straight to the table."""
    acme = OpportunityFactory(
        owner=rep, stage=pipeline.qualify, account=AccountFactory(name="Acme Logistics GmbH")
    )
    BusinessIssueFactory(
        opportunity=acme,
        issue="Manual invoice matching costs 3 FTE",
        our_value="Automated matching frees 2 FTE",
        quantified_value=140000,
    )
    draft = proposal_services.proposal_create(
        actor=rep, opportunity_id=acme.pk, **proposal_data(executive_summary=GOOD_SUMMARY)
    )
    now = timezone.now()

    def stored(status: str, **moments) -> Proposal:
        return Proposal.objects.create(
            opportunity=OpportunityFactory(owner=rep, stage=pipeline.qualify),
            number=1,
            title=f"Proposal {status}",
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            status=status,
            created_by=rep,
            submitted_at=now,
            **moments,
        )

    return SimpleNamespace(
        draft=draft,
        in_review=stored(ProposalStatus.IN_REVIEW),
        approved=stored(ProposalStatus.APPROVED, approved_at=now, approved_by=rep),
    )


def _coaching(rep, manager) -> dict[str, Any]:
    """The skills framework and one assessment of `rep` by their manager."""
    skill = ensure_skills()[0]
    assessment = SkillAssessment.objects.create(
        rep=rep, skill=skill, level=2, assessor=manager, assessed_on=timezone.localdate()
    )
    return {"skill": skill, "assessment": assessment}


# --- opportunity reviews ---
def _opportunity_review(rep, manager, pipeline) -> dict[str, Any]:
    """One open review by `manager` of a deal of `rep` (not world.opp, which stays free
    for starting one) with one action item of `rep`'s."""
    from coaching import services as coaching_services

    deal = OpportunityFactory(owner=rep, stage=pipeline.qualify, name="Reviewed deal")
    review = coaching_services.review_start(actor=manager, opportunity_id=deal.pk)
    item = coaching_services.review_action_item_add(
        actor=manager,
        review_id=review.pk,
        title="Map the decision process",
        due_on=timezone.localdate() + dt.timedelta(days=7),
    )
    return {"review": review, "review_item": item}


# --- 1:1 sessions ---
def _one_on_one(rep, manager) -> dict[str, Any]:
    """One 1:1 of `rep` with their manager a week ago (so recording today's is no double),
    with one open action item of `rep`'s."""
    from coaching.models import ActionItem, CoachingSession

    session = CoachingSession.objects.create(
        rep=rep,
        manager=manager,
        focus_skill=ensure_skills()[0],
        held_on=timezone.localdate() - dt.timedelta(days=7),
        notes="Discovery on the Acme deal",
    )
    ActionItem.objects.create(
        session=session,
        owner=rep,
        title="Send the recap",
        due_on=timezone.localdate() + dt.timedelta(days=3),
        created_by=manager,
    )
    return {"session": session}


def session_writer(ok: Any, *, api: bool = False) -> dict[str, Any]:
    """The manager who held the 1:1, leaders and admins change it; its rep reads it (403
    on a write); everyone else does not find it (404)."""
    return (api_scoped(ok, write=True) if api else scoped(ok)) | {"rep": 403}


def session_form(w) -> dict[str, Any]:
    """What the 1:1 form posts: rep, skill and one action item."""
    return {
        "rep": w.users["rep"].pk,
        "held_on": timezone.localdate().isoformat(),
        "focus_skill": w.skill.pk,
        "items-TOTAL_FORMS": 3,
        "items-INITIAL_FORMS": 0,
        "items-0-title": "Book a role-play",
        "items-0-owner": "rep",
        "items-0-due_on": (timezone.localdate() + dt.timedelta(days=2)).isoformat(),
    }


def review_writer(ok: Any, *, api: bool = False) -> dict[str, Any]:
    """The manager holding the review, leaders and admins change it; its rep reads it
    (403 on a write); everyone else does not find it (404)."""
    return (api_scoped(ok, write=True) if api else scoped(ok)) | {"rep": 403}


def assessor_only(ok: Any, *, reps: int, outside: int = 404, anon: Any = LOGIN) -> dict:
    """Managers of `rep`, leaders and admins assess; reps are refused (`reps`); another
    team's manager does not find `rep` (404)."""
    return {
        "anonymous": anon,
        "rep": reps,
        "teammate": reps,
        "manager": ok,
        "other_manager": outside,
        "leader": ok,
        "admin": ok,
        "ro_key": anon if anon == LOGIN else 403,
    }


SKILL_LEVELS = {f"level_{n}": f"Level {n} looks like this." for n in range(1, 6)}


# --- quotas ---
def _quotas(rep) -> dict[str, Any]:
    """A 2026-Q3 quota of `rep`."""
    from forecasting.models import Quota

    quota = Quota.objects.create(
        period_kind="quarter",
        period_start=dt.date(2026, 7, 1),
        rep=rep,
        amount=100000,
        currency="EUR",
    )
    return {"quota": quota}


# --- week-over-week ---
def _snapshots(opp) -> dict[str, Any]:
    """`opp` in last week's and this week's pipeline snapshots, its amount up since."""
    from forecasting.models import PipelineSnapshot
    from forecasting.rules import week_start

    week = week_start(timezone.localdate())
    for monday, amount in ((week - dt.timedelta(days=7), 8000), (week, opp.amount)):
        PipelineSnapshot.objects.create(
            week=monday,
            opportunity=opp,
            owner=opp.owner,
            team_id=opp.owner.team_id,
            stage=opp.stage,
            forecast_category=opp.forecast_category,
            amount=amount,
            currency=opp.currency,
            close_date=opp.close_date,
            status="open",
        )
    return {"snapshot_week": week.isoformat()}


# --- submissions ---
def _submissions(rep) -> dict[str, Any]:
    """A forecast call of `rep` for 2026-Q3."""
    from forecasting.models import ForecastSubmission
    from forecasting.services import FIGURE_FIELDS

    submission = ForecastSubmission.objects.create(
        period_kind="quarter",
        period_start=dt.date(2026, 7, 1),
        submitter=rep,
        level="rep",
        commit=100,
        best_case=200,
        currency="EUR",
        figures={"currency": "EUR"} | dict.fromkeys(FIGURE_FIELDS, "0.00"),
        submitted_at=timezone.now(),
    )
    return {"submission": submission}


# --- forecast meetings ---
def _meetings(rep, manager) -> dict[str, Any]:
    """A forecast meeting of Team A held a week ago (so recording today's is no double),
    attended by its manager and `rep` (not by `teammate`)."""
    from forecasting.selectors import period_or_current
    from forecasting.services import meeting_create

    period = period_or_current(None)
    meeting = meeting_create(
        actor=manager,
        period=period.label,
        team_id=rep.team_id,
        held_on=timezone.localdate() - dt.timedelta(days=7),
        attendee_ids=[manager.pk, rep.pk],
        notes="Commit holds",
    )
    return {"meeting": meeting, "meeting_period": period.label}


def meeting_form(w) -> dict[str, Any]:
    """What the new-meeting form (and the API) posts: a meeting of rep's team today."""
    return {
        "period": w.meeting_period,
        "team": w.users["rep"].team_id,
        "held_on": timezone.localdate().isoformat(),
        "attendees": [w.users["manager"].pk],
        "notes": "Matrix probe",
    }


def submission_create() -> dict[str, Any]:
    """A team call for rep's team (Team A): its manager and leaders submit; a rep is
    refused (403); another team's manager does not see the team (404)."""
    return api_scoped(201, write=True) | {"rep": 403, "teammate": 403}


def quota_admin(ok: int) -> dict[str, Any]:
    """Administrators and sales leaders change a quota; the others who see it are refused
    (403); 404 outside."""
    return api_scoped(403, write=True) | {"admin": ok, "leader": ok}


# --- products and exports ---
def _catalogue(opp) -> dict[str, Any]:
    """A product `opp` sells (world.product) and a spare one no deal names
    (world.spare_product, which an administrator may delete)."""
    from tests.factories import ProductFactory

    product = ProductFactory(name="Matrix platform")
    opp.product = product
    opp.save(update_fields=["product"])
    return {"product": product, "spare_product": ProductFactory(name="Unsold add-on")}


def page_admin_only(ok: Any) -> dict[str, Any]:
    """Administrators may; everyone else signed in is refused (403)."""
    return {r: 403 for r in ROLES} | {"anonymous": LOGIN, "ro_key": LOGIN, "admin": ok}


def people_reader(ok: Any, *, api: bool = False) -> dict[str, Any]:
    """Managers (their teams), leaders and admins list people; a rep is refused (403)."""
    if api:
        return api_everyone(ok, write=False) | {"rep": 403, "teammate": 403, "ro_key": 403}
    return everyone(ok) | {"rep": 403, "teammate": 403}


# --- imports ---
IMPORT_CSV = (
    b"external_id,name,account,stage,close_date\nM-1,Matrix deal,Matrix Co,Discover,2027-01-31\n"
)


def _imports(leader) -> dict[str, Any]:
    """An import waiting for its mapping (world.draft_import) and one that ran and only
    created records (world.done_import, which an importer may undo)."""
    from exchange import services as exchange_services

    draft = exchange_services.batch_upload(
        actor=leader, kind="opportunities", source="matrix", file_name="m.csv", content=IMPORT_CSV
    )
    done = exchange_services.batch_upload(
        actor=leader, kind="opportunities", source="matrix-done", file_name="d.csv",
        content=IMPORT_CSV,
    )  # fmt: skip
    exchange_services.batch_start(actor=leader, batch_id=done.pk, background=False)
    return {"draft_import": draft, "done_import": done}


def _insights(spare_stage, spare_milestone, admin_user) -> dict[str, Any]:
    """An open suggestion to require an optional milestone of the spare stage
    (world.suggestion) and one experiment: the spare milestone made optional
    (world.experiment, a StageRuleChange — the pipeline holds deals, so it is logged)."""
    from insights.models import Suggestion, SuggestionKind

    optional = MilestoneFactory(stage=spare_stage, required=False, title="Optional step")
    suggestion = Suggestion.objects.create(
        stage=spare_stage,
        kind=SuggestionKind.REQUIRE_MILESTONE,
        behaviour=f"milestone:{optional.pk}",
        title="Require 'Optional step' before a deal leaves Spare",
        proposal={"milestone": optional.pk},
        evidence={"sentence": "Top performers do it in 90 % of cases, the rest in 40 %."},
        created_at=timezone.now(),
    )
    services.milestone_update(milestone_id=spare_milestone.pk, actor=admin_user, required=False)
    return {"suggestion": suggestion, "experiment": spare_stage.rule_changes.get()}


def _hiring(rep, manager, teammate, admin_user) -> dict[str, Any]:
    """A position of `manager`'s team (its hiring manager) with a candidate and two
    interviews: `teammate`'s, its scorecard a draft (world.draft_interview), and the
    administrator's, submitted (world.submitted_interview)."""
    import datetime as dt_

    from hiring import services as hiring_services

    template = hiring_services.template_create(actor=admin_user, name="Matrix AE")
    attribute = hiring_services.template_attribute_add(
        actor=admin_user, template_id=template.pk, category="aptitude", name="Learning agility"
    )
    position = hiring_services.position_create(
        actor=admin_user, title="Account executive", team=manager.team_id,
        hiring_manager=manager.pk, template=template.pk,
    )  # fmt: skip
    candidate = hiring_services.candidate_create(
        actor=admin_user, position_id=position.pk, name="Dana Fischer"
    )
    when = timezone.now() + dt_.timedelta(days=1)
    draft, submitted = (
        hiring_services.interview_schedule(
            actor=admin_user,
            candidate_id=candidate.pk,
            interviewer=who.pk,
            kind="role_play",
            scheduled_at=when,
            focus=[attribute.pk],
        )
        for who in (teammate, admin_user)
    )
    hiring_services.scorecard_save(
        actor=admin_user, interview_id=submitted.pk,
        ratings={attribute.pk: {"rating": 4, "evidence": "Picked up our pricing fast."}},
        recommendation=4,
    )  # fmt: skip
    hiring_services.scorecard_submit(actor=admin_user, interview_id=submitted.pk)
    spare = hiring_services.template_attribute_add(
        actor=admin_user, template_id=template.pk, category="attitude", name="Unused"
    )
    plan = hiring_services.onboarding_start(rep=rep, started_on=timezone.localdate())
    return {
        "rep_task": plan.tasks.filter(manager_signs_off=False).first(),
        "signoff_task": plan.tasks.filter(manager_signs_off=True).first(),
        "hiring_template": template,
        "spare_attribute": spare,
        "position": position,
        "candidate": candidate,
        "focus_attribute": attribute,
        "draft_interview": draft,
        "submitted_interview": submitted,
    }


def _onboarding_templates(admin_user) -> dict[str, Any]:
    """A second onboarding template, not the default (world.onboarding_template, which an
    administrator may delete), with one task (world.onboarding_template_task)."""
    from hiring import services as hiring_services

    template = hiring_services.onboarding_template_create(
        actor=admin_user, name="Matrix onboarding"
    )
    task = hiring_services.onboarding_template_task_add(
        actor=admin_user, template_id=template.pk, kind="product", title="Product tour",
        due_day=3,
    )  # fmt: skip
    return {"onboarding_template": template, "onboarding_template_task": task}


def _invitation_path(user) -> str:
    """A valid invitation link of `user`, made from the stored user (the world's object may
    carry a sign-in of an earlier probe that was rolled back: a token from it is invalid)."""
    from urllib.parse import urlsplit

    from salesops.models import User
    from salesops.people import invitation_link

    return urlsplit(invitation_link(User.objects.get(pk=user.pk))).path


def importer_api(ok: Any) -> dict[str, Any]:
    """The API of imports: administrators and sales leaders with a read-write key."""
    return {r: 403 for r in ROLES} | {"anonymous": 401, "admin": ok, "leader": ok}


def importer(ok: Any) -> dict[str, Any]:
    """Administrators and sales leaders import; everyone else signed in gets 403."""
    return {r: 403 for r in ROLES} | {
        "anonymous": LOGIN,
        "ro_key": LOGIN,
        "admin": ok,
        "leader": ok,
    }


# --- hiring (helpers) ---
HIRING_NOBODY = {r: 404 for r in ROLES} | {"anonymous": LOGIN, "ro_key": LOGIN}
HIRING_CANDIDATE = HIRING_NOBODY | {"manager": 200, "teammate": 200, "admin": 200}
API_HIRING_NOBODY = {r: 404 for r in ROLES} | {"anonymous": 401}
API_HIRING_CANDIDATE = API_HIRING_NOBODY | {"manager": 200, "teammate": 200, "admin": 200}

# --- forecasting: leader dashboard (helpers) ---
# The top-performer study: managers (their own teams), leaders and admins; reps 403.
INSIGHTS_STUDY = api_everyone(200, write=False) | {"rep": 403, "teammate": 403, "ro_key": 403}
REPS_AWAY = {"rep": 302, "teammate": 302}  # a rep is sent from the dashboard to /forecast/


def _days_ahead(days: int) -> str:
    """A close date ahead of the test's clock: a past one asks for confirmation first."""
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def build_world(rep, teammate, manager, other_manager, other_rep, leader, admin_user, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover, source="crm", external_id="X1")
    for m in Milestone.objects.filter(stage=pipeline.discover):
        services.milestone_complete(
            opportunity_id=opp.pk, milestone_id=m.pk, actor=rep, evidence="Confirmed by the CFO"
        )
    issue = BusinessIssueFactory(opportunity=opp)
    _, ro_raw = api_key_create(user=rep, name="read-only", scopes=["read"])
    rep_key, _ = api_key_create(user=rep, name="rep key", scopes=["read", "write"])
    spare_stage = StageFactory(pipeline=pipeline, name="Spare", order=9)
    framework = QualificationFrameworkFactory(name="Matrix framework")
    elements = QualificationElementFactory.create_batch(2, framework=framework)
    pipeline.framework = framework
    pipeline.save(update_fields=["framework"])
    users = {
        "rep": rep,
        "teammate": teammate,
        "manager": manager,
        "other_manager": other_manager,
        "leader": leader,
        "admin": admin_user,
    }
    spare_milestone = MilestoneFactory(stage=spare_stage)
    return SimpleNamespace(
        opp=opp,
        pipeline=pipeline,
        issue=issue,
        users=users,
        ro_raw=ro_raw,
        rep_key=rep_key,
        account=opp.account,
        spare_account=AccountFactory(name="Unused Ltd"),
        spare_stage=spare_stage,
        spare_milestone=spare_milestone,
        qualify_milestone=Milestone.objects.get(stage=pipeline.qualify),
        framework=framework,
        elements=elements,
        notification=NotificationFactory(recipient=rep, title="Re-qualification due"),
        flag=OpportunityFlagFactory(opportunity=opp),
        # Unscored and required by no milestone: an administrator may delete it.
        spare_element=QualificationElementFactory(
            framework=QualificationFrameworkFactory(name="Spare framework")
        ),
        proposals=_proposals(rep, pipeline),
        **_coaching(rep, manager),
        **_opportunity_review(rep, manager, pipeline),
        **_one_on_one(rep, manager),
        **_quotas(rep),
        **_snapshots(opp),
        **_submissions(rep),
        # --- forecasting: world additions (each helper adds one **_name(...) line) ---
        **_meetings(rep, manager),
        # --- products and exports ---
        **_catalogue(opp),
        # --- imports ---
        **_imports(leader),
        # --- insights ---
        **_insights(spare_stage, spare_milestone, admin_user),
        # --- hiring ---
        **_hiring(rep, manager, teammate, admin_user),
        **_onboarding_templates(admin_user),
    )


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    """The world is built ONCE for the module, in a transaction rolled back when the module
    is done; every probe runs in a savepoint of its own (pytest-django's `db`), so what a
    probe writes is undone before the next one. Building it per probe cost ~0.2 s × every
    probe of the matrix. Built at the run's default moment, where each probe's clock
    starts."""
    with (
        time_machine.travel(default_clock(), tick=False),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        yield build_world(**make_cast())
        transaction.set_rollback(True)


@pytest.fixture
def world(db, _module_world):
    return _module_world


def page_client(world, role: str) -> Client:
    client = Client()
    if role in world.users:
        client.force_login(world.users[role])
    return client


def api_client(world, role: str) -> APIClient:
    client = APIClient()
    if role == "ro_key":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.ro_raw}")
    elif role in world.users:
        _, raw = api_key_create(user=world.users[role], name="probe", scopes=["read", "write"])
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def check(response, expected: Any, role: str, probe: Probe) -> None:
    where = f"{probe.method} {response.request['PATH_INFO']} as {role}"
    if expected == LOGIN:
        assert response.status_code == 302, f"{where}: {response.status_code}, expected login"
        assert response["Location"].startswith("/accounts/login/"), where
    else:
        assert response.status_code == expected, (
            f"{where}: got {response.status_code}, expected {expected}: "
            f"{getattr(response, 'content', b'')[:300]!r}"
        )


# --- pages ------------------------------------------------------------------------------

OPP = "opportunities/<int:pk>/"


def opp_path(suffix: str = "") -> Callable[[Any], str]:
    return lambda w: f"/opportunities/{w.opp.pk}/{suffix}"


def proposal_path(state: str, suffix: str = "") -> Callable[[Any], str]:
    return lambda w: f"/proposals/{getattr(w.proposals, state).pk}/{suffix}"


def owner_only(ok: int, *, others: int = 422) -> dict[str, Any]:
    """The owner may; the others who see the deal are refused (`others`); 404 outside."""
    return scoped(ok) | {"manager": others, "leader": others, "admin": others}


def proposal_form(opp) -> dict[str, Any]:
    """What the proposal form posts: its fields and one section."""
    data = proposal_data()
    return {
        "opportunity": opp.pk,
        "title": data["title"],
        "executive_summary": data["executive_summary"],
        "total_value": data["total_value"],
        "currency": data["currency"],
        "valid_until": data["valid_until"],
        "action": "save",
        "sections-TOTAL_FORMS": 1,
        "sections-INITIAL_FORMS": 0,
        "sections-0-heading": "Scope",
        "sections-0-body": "All suppliers.",
    }


PAGES: dict[str, list[Probe]] = {
    "": [Probe("GET", lambda w: "/", everyone(200))],
    "opportunities/": [Probe("GET", lambda w: "/opportunities/", everyone(200))],
    "opportunities/new/": [
        Probe("GET", lambda w: "/opportunities/new/", everyone(200)),
        Probe(
            "POST",
            lambda w: "/opportunities/new/",
            everyone(302),
            data=lambda w: {
                "name": "New deal",
                "account": w.account.pk,
                "amount": "100",
                "currency": "EUR",
                "close_date": _days_ahead(120),
            },
        ),
    ],
    OPP: [Probe("GET", opp_path(), scoped(200))],
    OPP + "edit/": [
        Probe(
            "POST",
            opp_path("edit/"),
            scoped(302),
            data=lambda w: {
                "version": 1,
                "amount": "25000",
                "close_date": _days_ahead(60),
                "next_step": "Call",
                "forecast_category": "pipeline",
                "forecast_category_override_reason": "",
            },
        )
    ],
    OPP + "advance/": [
        Probe(
            "POST",
            opp_path("advance/"),
            scoped(302),
            data=lambda w: {"stage": w.pipeline.qualify.pk},
        )
    ],
    OPP + "close-won/": [Probe("POST", opp_path("close-won/"), scoped(422))],
    OPP + "close-lost/": [
        Probe(
            "POST",
            opp_path("close-lost/"),
            scoped(302),
            data=lambda w: {"loss_reason": "No budget this year"},
        )
    ],
    OPP + "milestones/": [Probe("GET", opp_path("milestones/"), scoped(200))],
    OPP + "milestones/<int:milestone_id>/toggle/": [
        Probe(
            "POST",
            lambda w: f"/opportunities/{w.opp.pk}/milestones/{w.qualify_milestone.pk}/toggle/",
            scoped(302),
            data=lambda w: {"done": "on"},
        )
    ],
    OPP + "issues/new/": [
        Probe("GET", opp_path("issues/new/"), scoped(200)),
        Probe(
            "POST",
            opp_path("issues/new/"),
            scoped(302),
            data=lambda w: {"issue": "Churn of 8 % a year"},
        ),
    ],
    OPP + "issues/<int:issue_id>/edit/": [
        Probe("GET", lambda w: f"/opportunities/{w.opp.pk}/issues/{w.issue.pk}/edit/", scoped(200)),
        Probe(
            "POST",
            lambda w: f"/opportunities/{w.opp.pk}/issues/{w.issue.pk}/edit/",
            scoped(302),
            data=lambda w: {
                f"issue-{w.issue.pk}-issue": "Churn of 8 % a year",
                f"issue-{w.issue.pk}-our_value": "Renewal playbook halves it",
            },
        ),
    ],
    OPP + "issues/<int:issue_id>/delete/": [
        Probe(
            "POST",
            lambda w: f"/opportunities/{w.opp.pk}/issues/{w.issue.pk}/delete/",
            scoped(302),
        )
    ],
    OPP + "activities/new/": [
        Probe("GET", opp_path("activities/new/"), scoped(200)),
        Probe(
            "POST",
            opp_path("activities/new/"),
            scoped(302),
            data=lambda w: {"kind": "call", "subject": "Intro call"},
        ),
    ],
    OPP + "qualify/": [
        Probe("GET", opp_path("qualify/"), scoped(200)),
        Probe(
            "POST",
            opp_path("qualify/"),
            scoped(302),
            data=lambda w: {f"score_{e.pk}": "1" for e in w.elements},
        ),
    ],
    "attention/": [Probe("GET", lambda w: "/attention/", everyone(200))],
    # The attention list's quick actions: the opportunity page's services, its scope.
    "attention/<int:pk>/activity/": [
        Probe(
            "POST",
            lambda w: f"/attention/{w.opp.pk}/activity/",
            scoped(302),
            data=lambda w: {"kind": "call", "subject": "Intro call", "back": "sort=age"},
        )
    ],
    "attention/<int:pk>/next-step/": [
        Probe(
            "POST",
            lambda w: f"/attention/{w.opp.pk}/next-step/",
            scoped(302),
            data=lambda w: {
                "version": w.opp.version,
                "next_step": "Demo",
                "next_step_date": "2030-01-31",
            },
        )
    ],
    # --- proposals. Only the owner writes, submits, sends and deletes; only a manager of
    # the owner (or a leader) reviews; both comment. Everyone else who may see the
    # proposal gets the page back with the service's refusal (422).
    "proposals/": [Probe("GET", lambda w: "/proposals/", everyone(200))],
    # A rep gets an explanation of who reviews, not a 403.
    "proposals/review/": [Probe("GET", lambda w: "/proposals/review/", everyone(200))],
    "proposals/check-summary/": [
        Probe(
            "POST",
            lambda w: "/proposals/check-summary/",
            scoped(200),
            data=lambda w: {"opportunity": w.opp.pk, "executive_summary": "Our offer."},
        )
    ],
    "opportunities/<int:pk>/proposals/new/": [
        Probe("GET", opp_path("proposals/new/"), owner_only(200, others=302)),
        Probe(
            "POST",
            opp_path("proposals/new/"),
            owner_only(302),
            data=lambda w: proposal_form(w.opp),
        ),
    ],
    "proposals/<int:pk>/": [Probe("GET", proposal_path("draft"), scoped(200))],
    "proposals/<int:pk>/edit/": [
        Probe("GET", proposal_path("draft", "edit/"), owner_only(200, others=302)),
        Probe(
            "POST",
            proposal_path("draft", "edit/"),
            owner_only(302),
            data=lambda w: proposal_form(w.proposals.draft.opportunity),
        ),
    ],
    "proposals/<int:pk>/print/": [Probe("GET", proposal_path("draft", "print/"), scoped(200))],
    "proposals/<int:pk>/submit/": [
        Probe("POST", proposal_path("draft", "submit/"), owner_only(302))
    ],
    "proposals/<int:pk>/delete/": [
        Probe("POST", proposal_path("draft", "delete/"), owner_only(302))
    ],
    "proposals/<int:pk>/comments/": [
        Probe(
            "POST",
            proposal_path("draft", "comments/"),
            scoped(302),
            data=lambda w: {"body": "Looks good."},
        )
    ],
    "proposals/<int:pk>/approve/": [
        Probe(
            "POST",
            proposal_path("in_review", "approve/"),
            scoped(302) | {"rep": 422},
            data=lambda w: {
                "checklist": list(
                    ReviewChecklistItem.objects.filter(is_active=True).values_list("pk", flat=True)
                )
            },
        )
    ],
    "proposals/<int:pk>/request-changes/": [
        Probe(
            "POST",
            proposal_path("in_review", "request-changes/"),
            scoped(302) | {"rep": 422},
            data=lambda w: {"comment": "Lower the price."},
        )
    ],
    "proposals/<int:pk>/mark-sent/": [
        Probe("POST", proposal_path("approved", "mark-sent/"), owner_only(302))
    ],
    "proposals/<int:pk>/new-version/": [
        Probe("POST", proposal_path("approved", "new-version/"), owner_only(302))
    ],
    # --- coaching. Everyone reads the framework and their matrix (a rep: their own row);
    # managers of the rep, leaders and admins assess; a rep is refused, another team's
    # manager does not find the rep.
    # --- coaching home (cadence and coverage): everyone has one (a rep: their next 1:1);
    # a team outside the manager's teams is a 404.
    "coaching/": [
        Probe("GET", lambda w: "/coaching/", everyone(200)),
        Probe(
            "GET",
            lambda w: f"/coaching/?team={w.users['rep'].team_id}&days=90",
            everyone(200) | {"other_manager": 404},
        ),
    ],
    "coaching/skills/": [Probe("GET", lambda w: "/coaching/skills/", everyone(200))],
    "coaching/skills-matrix/": [Probe("GET", lambda w: "/coaching/skills-matrix/", everyone(200))],
    "coaching/assessments/new/": [
        # A rep is sent to their matrix instead of a form the service would refuse.
        Probe(
            "GET",
            lambda w: "/coaching/assessments/new/",
            everyone(200) | {"rep": 302, "teammate": 302},
        ),
        Probe(
            "POST",
            lambda w: "/coaching/assessments/new/",
            assessor_only(302, reps=403),
            data=lambda w: {"rep": w.users["rep"].pk, "skill": w.skill.pk, "level": 3},
        ),
    ],
    # --- opportunity reviews. Everyone opens the list and the queue (a rep: theirs, and a
    # page saying who reviews); a review is seen in scope; its manager, leaders and admins
    # change it, its rep reads it (403 on a write). Starting one: a rep is told no (a
    # message, back to the deal: 302), outside the team 404.
    "coaching/reviews/": [Probe("GET", lambda w: "/coaching/reviews/", everyone(200))],
    "coaching/reviews/queue/": [Probe("GET", lambda w: "/coaching/reviews/queue/", everyone(200))],
    "opportunities/<int:pk>/review/": [Probe("POST", opp_path("review/"), scoped(302))],
    "coaching/reviews/<int:pk>/": [
        Probe("GET", lambda w: f"/coaching/reviews/{w.review.pk}/", scoped(200))
    ],
    "coaching/reviews/<int:pk>/agenda/": [
        Probe(
            "POST",
            lambda w: f"/coaching/reviews/{w.review.pk}/agenda/",
            review_writer(302),
            data=lambda w: {"title": "Who signs?"},
        )
    ],
    "coaching/reviews/<int:pk>/agenda/<int:item_id>/discussed/": [
        Probe(
            "POST",
            lambda w: (
                f"/coaching/reviews/{w.review.pk}/agenda/"
                f"{w.review.agenda_items.first().pk}/discussed/"
            ),
            review_writer(302),
            data=lambda w: {"discussed": "1"},
        )
    ],
    "coaching/reviews/<int:pk>/findings/": [
        Probe(
            "POST",
            lambda w: f"/coaching/reviews/{w.review.pk}/findings/",
            review_writer(302),
            data=lambda w: {"text": "No champion yet"},
        )
    ],
    "coaching/reviews/<int:pk>/coaching-points/": [
        Probe(
            "POST",
            lambda w: f"/coaching/reviews/{w.review.pk}/coaching-points/",
            review_writer(302),
            data=lambda w: {"skill": w.skill.pk, "text": "Ask why now"},
        )
    ],
    "coaching/reviews/<int:pk>/action-items/": [
        Probe(
            "POST",
            lambda w: f"/coaching/reviews/{w.review.pk}/action-items/",
            review_writer(302),
            data=lambda w: {
                "title": "Send the recap",
                "due_on": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
                "owner": w.users["rep"].pk,
            },
        )
    ],
    "coaching/reviews/<int:pk>/complete/": [
        Probe(
            "POST",
            lambda w: f"/coaching/reviews/{w.review.pk}/complete/",
            review_writer(302),
            data=lambda w: {"confirm": "1"},  # its agenda points were not discussed
        )
    ],
    # Its owner (rep), the manager who set it, leaders and admins tick an item off.
    "coaching/action-items/<int:pk>/done/": [
        Probe(
            "POST",
            lambda w: f"/coaching/action-items/{w.review_item.pk}/done/",
            scoped(302),
            data=lambda w: {"done": "1"},
        )
    ],
    "notifications/": [Probe("GET", lambda w: "/notifications/", everyone(200))],
    # Only the recipient may mark a notification read; for everyone else it does not exist.
    "notifications/<int:pk>/read/": [
        Probe(
            "POST",
            lambda w: f"/notifications/{w.notification.pk}/read/",
            {r: 404 for r in ROLES} | {"anonymous": LOGIN, "ro_key": LOGIN, "rep": 302},
        )
    ],
    "notifications/read-all/": [Probe("POST", lambda w: "/notifications/read-all/", everyone(302))],
    # --- setup: the hub is for administrators and sales leaders (everyone else 403), its
    # organisation form for administrators; the first-run page exists only while nobody
    # has an account — the world has users: 404 for everyone.
    "setup/": [
        Probe("GET", lambda w: "/setup/", setup_configurer(200)),
        Probe(
            "POST",
            lambda w: "/setup/",
            setup_admin(302),
            data=lambda w: {
                "name": "Matrix Ltd",
                "default_currency": "EUR",
                "fiscal_year_start_month": 1,
                "time_zone": "Europe/Berlin",
            },
        ),
    ],
    "setup/first-admin/": [
        Probe("GET", lambda w: "/setup/first-admin/", {r: 404 for r in ROLES}),
        Probe(
            "POST",
            lambda w: "/setup/first-admin/",
            {r: 404 for r in ROLES},
            data=lambda w: {
                "username": "second_first",
                "email": "second@example.com",
                "password": "a-long-passphrase",
                "password_again": "a-long-passphrase",
            },
        ),
    ],
    "favicon.ico": [Probe("GET", lambda w: "/favicon.ico", everyone(200, anon=200, ro=200))],
    "accounts/login/": [
        Probe("GET", lambda w: "/accounts/login/", everyone(302, anon=200) | {"ro_key": 200})
    ],
    "accounts/logout/": [
        Probe("POST", lambda w: "/accounts/logout/", everyone(302, anon=302) | {"ro_key": 302})
    ],
    # Ends every session of the signed-in user (this one too): back to the sign-in page.
    "accounts/sign-out-everywhere/": [
        Probe("GET", lambda w: "/accounts/sign-out-everywhere/", everyone(405)),
        Probe("POST", lambda w: "/accounts/sign-out-everywhere/", everyone(302)),
    ],
    # The link of an invitation to set a password (salesops.people.invitation_link): open to
    # anyone holding it; a wrong or used link shows a page that says so.
    "accounts/reset/<uidb64>/<token>/": [
        Probe("GET", lambda w: "/accounts/reset/MQ/not-a-token/", everyone(200, anon=200, ro=200)),
        Probe(
            "GET",
            lambda w: _invitation_path(w.users["rep"]),
            everyone(302, anon=302, ro=302),  # on to the set-password form
        ),
    ],
    "accounts/reset/done/": [
        Probe("GET", lambda w: "/accounts/reset/done/", everyone(200, anon=200, ro=200))
    ],
    "settings/api-keys/": [
        Probe("GET", lambda w: "/settings/api-keys/", everyone(200)),
        Probe(
            "POST",
            lambda w: "/settings/api-keys/",
            everyone(200),
            data=lambda w: {"name": "CRM sync", "scopes": ["read"]},
        ),
    ],
    "settings/api-keys/<int:pk>/revoke/": [
        Probe(
            "POST",
            lambda w: f"/settings/api-keys/{w.rep_key.pk}/revoke/",
            {r: 404 for r in ROLES} | {"anonymous": LOGIN, "ro_key": LOGIN, "rep": 302},
        )
    ],
    # --- 1:1 sessions: read in scope; recorded by a manager of the rep (or a leader), a
    # rep is sent to their 1:1s (GET) or refused (POST); changed by the manager who held it.
    "coaching/sessions/": [Probe("GET", lambda w: "/coaching/sessions/", everyone(200))],
    "coaching/sessions/new/": [
        Probe(
            "GET",
            lambda w: f"/coaching/sessions/new/?rep={w.users['rep'].pk}&focus_skill={w.skill.pk}",
            everyone(200) | {"rep": 302, "teammate": 302},
        ),
        Probe(
            "POST",
            lambda w: "/coaching/sessions/new/",
            assessor_only(302, reps=403),
            data=session_form,
        ),
    ],
    "coaching/sessions/<int:pk>/": [
        Probe("GET", lambda w: f"/coaching/sessions/{w.session.pk}/", scoped(200))
    ],
    "coaching/sessions/<int:pk>/edit/": [
        Probe(
            "POST",
            lambda w: f"/coaching/sessions/{w.session.pk}/edit/",
            session_writer(302),
            data=lambda w: {"focus_skill": w.skill.pk, "notes": "Revised notes"},
        )
    ],
    "coaching/sessions/<int:pk>/action-items/": [
        Probe(
            "POST",
            lambda w: f"/coaching/sessions/{w.session.pk}/action-items/",
            session_writer(302),
            data=lambda w: {
                "title": "Call the CFO",
                "owner": "rep",
                "due_on": (timezone.localdate() + dt.timedelta(days=2)).isoformat(),
            },
        )
    ],
    # --- forecasting: leader dashboard ---
    # The dashboard is for managers (their teams) and leaders/admins (the company); a rep is
    # sent to their forecast page (302); a team outside the manager's teams is a 404. The
    # drill-down lists the deals behind a number for everyone in their own scope: a rep may
    # not pick a team (404) nor another person (404).
    # --- insights ---
    # Everyone sees their own results; the study (top performers, gaps, suggestions,
    # experiments) is for managers (their teams), leaders and admins. A rep naming a team,
    # or a manager another manager's team, is a 404. Those who configure the sales process
    # (administrators and sales leaders) decide on a suggestion (403 for the others).
    "insights/": [
        Probe("GET", lambda w: "/insights/", everyone(200)),
        Probe(
            "GET",
            lambda w: f"/insights/?team={w.users['rep'].team_id}&group_by=team",
            scoped(200) | {"rep": 404},
        ),
        Probe("GET", lambda w: "/insights/?format=csv", everyone(200)),
    ],
    "insights/suggestions/<int:pk>/accept/": [
        Probe(
            "POST",
            lambda w: f"/insights/suggestions/{w.suggestion.pk}/accept/",
            setup_configurer(302),
        )
    ],
    "insights/suggestions/<int:pk>/dismiss/": [
        Probe(
            "POST",
            lambda w: f"/insights/suggestions/{w.suggestion.pk}/dismiss/",
            setup_configurer(302),
            data=lambda w: {"reason": "We require it elsewhere already."},
        )
    ],
    # --- hiring ---
    # Candidate data is personal: recruiters and administrators, the hiring manager
    # (`manager`) and the candidate's interviewers (`teammate`) see the candidate; everyone
    # else gets a 404 — a leader too. Independence: an interviewer who owes a scorecard sees
    # no other (404), a draft is its author's only.
    "hiring/": [Probe("GET", lambda w: "/hiring/", everyone(200))],
    "hiring/templates/": [
        Probe("GET", lambda w: "/hiring/templates/", setup_admin(200)),
        Probe(
            "POST",
            lambda w: "/hiring/templates/",
            setup_admin(302),
            data=lambda w: {"name": "Probe template"},
        ),
    ],
    "hiring/templates/<int:pk>/": [
        Probe("GET", lambda w: f"/hiring/templates/{w.hiring_template.pk}/", setup_admin(200)),
        Probe(
            "POST",
            lambda w: f"/hiring/templates/{w.hiring_template.pk}/",
            setup_admin(302),
            data=lambda w: {"category": "aptitude", "name": "Structured thinking"},
        ),
    ],
    "hiring/attributes/<int:pk>/remove/": [
        Probe(
            "POST",
            lambda w: f"/hiring/attributes/{w.spare_attribute.pk}/remove/",
            setup_admin(302),
        )
    ],
    # Onboarding templates: recruiters and administrators (of the cast: admin); the
    # others signed in get 403.
    "hiring/onboarding-templates/": [
        Probe("GET", lambda w: "/hiring/onboarding-templates/", setup_admin(200)),
        Probe(
            "POST",
            lambda w: "/hiring/onboarding-templates/",
            setup_admin(302),
            data=lambda w: {"name": "Probe onboarding"},
        ),
    ],
    "hiring/onboarding-templates/<int:pk>/": [
        Probe(
            "GET",
            lambda w: f"/hiring/onboarding-templates/{w.onboarding_template.pk}/",
            setup_admin(200),
        ),
        Probe(
            "POST",
            lambda w: f"/hiring/onboarding-templates/{w.onboarding_template.pk}/",
            setup_admin(302),
            data=lambda w: {"name": "Matrix onboarding", "description": "", "is_default": "on"},
        ),
    ],
    "hiring/onboarding-templates/<int:pk>/delete/": [
        Probe(
            "POST",
            lambda w: f"/hiring/onboarding-templates/{w.onboarding_template.pk}/delete/",
            setup_admin(302),
        )
    ],
    "hiring/onboarding-templates/<int:pk>/tasks/": [
        Probe(
            "POST",
            lambda w: f"/hiring/onboarding-templates/{w.onboarding_template.pk}/tasks/",
            setup_admin(302),
            data=lambda w: {"kind": "shadow", "title": "Shadow a demo", "due_day": "7"},
        )
    ],
    "hiring/onboarding-templates/tasks/<int:pk>/": [
        Probe(
            "POST",
            lambda w: f"/hiring/onboarding-templates/tasks/{w.onboarding_template_task.pk}/",
            setup_admin(302),
            data=lambda w: {"kind": "product", "title": "Product tour", "due_day": "5"},
        )
    ],
    "hiring/onboarding-templates/tasks/<int:pk>/remove/": [
        Probe(
            "POST",
            lambda w: f"/hiring/onboarding-templates/tasks/{w.onboarding_template_task.pk}/remove/",
            setup_admin(302),
        )
    ],
    "hiring/positions/new/": [
        Probe("GET", lambda w: "/hiring/positions/new/", setup_admin(200)),
        Probe(
            "POST",
            lambda w: "/hiring/positions/new/",
            setup_admin(302),
            data=lambda w: {
                "title": "SDR",
                "team": w.users["manager"].team_id,
                "hiring_manager": w.users["manager"].pk,
                "template": w.hiring_template.pk,
            },
        ),
    ],
    "hiring/positions/<int:pk>/": [
        Probe(
            "GET",
            lambda w: f"/hiring/positions/{w.position.pk}/",
            HIRING_NOBODY | {"manager": 200, "admin": 200},
        ),
        Probe(
            "POST",
            lambda w: f"/hiring/positions/{w.position.pk}/",
            HIRING_NOBODY | {"manager": 302, "admin": 302},
            data=lambda w: {"name": "Kim Lee", "email": "kim@example.com"},
        ),
    ],
    "hiring/candidates/<int:pk>/interviews/": [
        Probe(
            "POST",
            lambda w: f"/hiring/candidates/{w.candidate.pk}/interviews/",
            HIRING_CANDIDATE | {"manager": 302, "admin": 302, "teammate": 403},
            data=lambda w: {
                "interviewer": w.users["manager"].pk,
                "kind": "hiring_manager",
                "scheduled_at": "2030-01-15T10:00",
                "focus": [w.focus_attribute.pk],
            },
        ),
    ],
    "hiring/candidates/<int:pk>/": [
        Probe("GET", lambda w: f"/hiring/candidates/{w.candidate.pk}/", HIRING_CANDIDATE)
    ],
    "hiring/candidates/<int:pk>/move/": [
        Probe(
            "POST",
            lambda w: f"/hiring/candidates/{w.candidate.pk}/move/",
            HIRING_CANDIDATE | {"manager": 302, "admin": 302, "teammate": 403},
            data=lambda w: {"stage": "screen"},
        )
    ],
    "hiring/candidates/<int:pk>/decision/": [
        Probe(
            "GET",
            lambda w: f"/hiring/candidates/{w.candidate.pk}/decision/",
            HIRING_CANDIDATE | {"teammate": 404},
        )
    ],
    "hiring/candidates/<int:pk>/hire/": [
        Probe(
            "POST",
            lambda w: f"/hiring/candidates/{w.candidate.pk}/hire/",
            HIRING_CANDIDATE | {"manager": 302, "admin": 302, "teammate": 403},
            data=lambda w: {"started_on": "2030-02-01", "reason": "Strong on every attribute"},
        )  # the candidate is not at the offer stage: refused with a message (302)
    ],
    "hiring/candidates/<int:pk>/export/": [
        Probe(
            "GET",
            lambda w: f"/hiring/candidates/{w.candidate.pk}/export/",
            HIRING_NOBODY | {"admin": 200},
        )
    ],
    "hiring/candidates/<int:pk>/erase/": [
        Probe(
            "POST",
            lambda w: f"/hiring/candidates/{w.candidate.pk}/erase/",
            HIRING_NOBODY | {"admin": 302, "manager": 403, "teammate": 403},
        )
    ],
    "hiring/onboarding/<int:rep_id>/": [
        Probe("GET", lambda w: f"/hiring/onboarding/{w.users['rep'].pk}/", scoped(200))
    ],
    "hiring/ramp/": [
        Probe("GET", lambda w: "/hiring/ramp/", everyone(200) | {"rep": 403, "teammate": 403})
    ],
    "hiring/onboarding/tasks/<int:pk>/done/": [
        Probe(
            "POST",
            lambda w: f"/hiring/onboarding/tasks/{w.rep_task.pk}/done/",
            scoped(403) | {"rep": 302},
        ),
        Probe(
            "POST",
            lambda w: f"/hiring/onboarding/tasks/{w.signoff_task.pk}/done/",
            scoped(403) | {"manager": 302, "admin": 302},
        ),
    ],
    "hiring/interviews/<int:pk>/scorecard/": [
        Probe(
            "GET",
            lambda w: f"/hiring/interviews/{w.draft_interview.pk}/scorecard/",
            HIRING_NOBODY | {"teammate": 200},
        ),
        Probe(
            "POST",
            lambda w: f"/hiring/interviews/{w.draft_interview.pk}/scorecard/",
            HIRING_NOBODY | {"teammate": 302},
            data=lambda w: {
                f"rating_{w.focus_attribute.pk}": "3",
                "recommendation": "4",
                "save": "1",
            },
        ),
        Probe(
            "GET",
            lambda w: f"/hiring/interviews/{w.submitted_interview.pk}/scorecard/",
            HIRING_NOBODY | {"admin": 200, "manager": 200},
        ),
    ],
    "forecast/dashboard/": [
        Probe("GET", lambda w: "/forecast/dashboard/", everyone(200) | REPS_AWAY),
        Probe(
            "GET",
            lambda w: f"/forecast/dashboard/?period=2026-Q3&team={w.users['rep'].team_id}",
            scoped(200) | REPS_AWAY,
        ),
        Probe(
            "GET",
            lambda w: "/forecast/dashboard/?format=csv&table=by_team",
            everyone(200) | REPS_AWAY,
        ),
    ],
    "forecast/deals/": [
        Probe("GET", lambda w: "/forecast/deals/?figure=commit&period=2026-Q3", everyone(200)),
        Probe(
            "GET",
            lambda w: f"/forecast/deals/?figure=pipeline&team={w.users['rep'].team_id}",
            scoped(200) | {"rep": 404},
        ),
        Probe(
            "GET",
            lambda w: f"/forecast/deals/?figure=closed_won&owner={w.users['rep'].pk}",
            scoped(200),
        ),
        Probe(
            "GET",
            lambda w: f"/forecast/deals/?change=amount_up&week={w.snapshot_week}",
            everyone(200),
        ),
        Probe(
            "GET",
            lambda w: f"/forecast/deals/?category=any&week={w.snapshot_week}&format=csv",
            everyone(200),
        ),
    ],
    # --- forecasting: forecast pages and calls ---
    # Everyone has a forecast page: a rep their own, a manager their first team, a leader
    # any team. A team outside the user's teams (any, for a rep) is a 404. Calls are made
    # for a future period (2099-Q4: always open): a rep their own (the others are told to
    # give a team: 422), a manager or leader a team's (a rep giving a team: 403; another
    # manager's team: 404). The team call differs from its reps' calls, so it has a note.
    "forecast/": [
        Probe("GET", lambda w: "/forecast/", everyone(200)),
        Probe(
            "GET",
            lambda w: f"/forecast/?period=2099-Q4&team={w.users['rep'].team_id}",
            scoped(200) | {"rep": 404},
        ),
        Probe("GET", lambda w: "/forecast/?format=csv&table=calls", everyone(200)),
        Probe(
            "GET",
            lambda w: f"/forecast/?format=csv&table=rollup&team={w.users['rep'].team_id}",
            scoped(200) | {"rep": 404},
        ),
    ],
    "forecast/calls/": [
        Probe(
            "POST",
            lambda w: "/forecast/calls/",
            everyone(422) | {"rep": 302, "teammate": 302},
            data=lambda w: {"period": "2099-Q4", "commit": "100", "best_case": "200"},
        ),
        Probe(
            "POST",
            lambda w: "/forecast/calls/",
            scoped(302) | {"rep": 403, "teammate": 403},
            data=lambda w: {
                "period": "2099-Q4",
                "team": w.users["rep"].team_id,
                "commit": "100",
                "best_case": "200",
                "adjustment_note": "Acme signs early",
            },
        ),
    ],
    # --- forecasting: forecast meetings ---
    # Read in scope (a rep: the meetings they attended — world.meeting has rep, not
    # teammate); recorded by a manager of the team or a leader (a rep is sent to the list,
    # or refused on POST; another team's manager cannot pick Team A: 422); changed by a
    # manager of the team or a leader (its rep reads it: 403).
    "forecast/meetings/": [Probe("GET", lambda w: "/forecast/meetings/", everyone(200))],
    "forecast/meetings/new/": [
        Probe(
            "GET",
            lambda w: "/forecast/meetings/new/",
            everyone(200) | {"rep": 302, "teammate": 302},
        ),
        Probe(
            "POST",
            lambda w: "/forecast/meetings/new/",
            assessor_only(302, reps=403, outside=422),
            data=meeting_form,
        ),
    ],
    "forecast/meetings/<int:pk>/": [
        Probe("GET", lambda w: f"/forecast/meetings/{w.meeting.pk}/", scoped(200)),
        Probe(
            "GET",
            lambda w: f"/forecast/meetings/{w.meeting.pk}/?format=csv&table=risks",
            scoped(200),
        ),
    ],
    "forecast/meetings/<int:pk>/edit/": [
        Probe(
            "POST",
            lambda w: f"/forecast/meetings/{w.meeting.pk}/edit/",
            session_writer(302),
            data=lambda w: {
                "held_on": w.meeting.held_on.isoformat(),
                "attendees": [w.users["manager"].pk, w.users["rep"].pk],
                "notes": "Revised notes",
            },
        )
    ],
    # --- the demo's removal: administrators (the cast's "admin" and "leader" carry demo
    # usernames, so a demo is "here"; an admin who is one of its people is refused, 409).
    "setup/demo/remove/": [
        Probe("GET", lambda w: "/setup/demo/remove/", setup_admin(200)),
        Probe("POST", lambda w: "/setup/demo/remove/", setup_admin(409)),
    ],
    # --- imports: administrators and sales leaders (everyone else 403) ---
    "imports/": [
        Probe("GET", lambda w: "/imports/", importer(200)),
        Probe(
            "POST",
            lambda w: "/imports/",
            importer(422),  # no file: the form says so
            data=lambda w: {"kind": "opportunities", "source": "matrix"},
        ),
    ],
    "imports/<int:pk>/": [
        Probe("GET", lambda w: f"/imports/{w.draft_import.pk}/", importer(200)),
        Probe("GET", lambda w: f"/imports/{w.done_import.pk}/", importer(200)),
    ],
    "imports/<int:pk>/configure/": [
        Probe(
            "POST",
            lambda w: f"/imports/{w.draft_import.pk}/configure/",
            importer(302),
            data=lambda w: {
                **{f"map_{i}": c for i, c in enumerate(w.draft_import.header)},
                "decimal_comma": "auto",
                "blank_close_date": "quarter_end",
                "blank_account": "unknown",
                "blank_amount": "zero",
                "blank_owner": "importer",
            },
        )
    ],
    "imports/<int:pk>/progress/": [
        Probe("GET", lambda w: f"/imports/{w.done_import.pk}/progress/", importer(200))
    ],
    "imports/<int:pk>/undo/": [
        Probe("POST", lambda w: f"/imports/{w.done_import.pk}/undo/", importer(302))
    ],
    "imports/<int:pk>/rejected.csv": [
        Probe("GET", lambda w: f"/imports/{w.done_import.pk}/rejected.csv", importer(200))
    ],
    # --- pipeline: category override on stage moves ---
    # --- accounts, products, people and their CSV exports: everyone works with accounts
    # and reads the catalogue; administrators change it; people are listed by managers,
    # leaders and admins.
    "accounts/": [
        Probe("GET", lambda w: "/accounts/", everyone(200)),
        Probe("GET", lambda w: "/accounts/?search=Unused&format=csv", everyone(200)),
    ],
    "accounts/new/": [
        Probe("GET", lambda w: "/accounts/new/", everyone(200)),
        Probe(
            "POST",
            lambda w: "/accounts/new/",
            everyone(302),
            data=lambda w: {"name": "Matrix account", "country": "Germany"},
        ),
    ],
    "accounts/<int:pk>/edit/": [
        Probe("GET", lambda w: f"/accounts/{w.spare_account.pk}/edit/", everyone(200)),
        Probe(
            "POST",
            lambda w: f"/accounts/{w.spare_account.pk}/edit/",
            everyone(302),
            data=lambda w: {"name": "Unused Ltd", "country": "Austria"},
        ),
        # world.account is on rep's deal: a teammate (a rep) may not change it; rep, the
        # managers, leader and admin may. The page itself opens for everyone (read-only,
        # with the reason, for the teammate).
        Probe("GET", lambda w: f"/accounts/{w.account.pk}/edit/", everyone(200)),
        Probe(
            "POST",
            lambda w: f"/accounts/{w.account.pk}/edit/",
            everyone(302) | {"teammate": 403},
            data=lambda w: {"name": "Matrix account", "country": "Austria"},
        ),
    ],
    "products/": [
        Probe("GET", lambda w: "/products/", everyone(200)),
        Probe("GET", lambda w: "/products/?active=true&format=csv", everyone(200)),
    ],
    "products/new/": [
        Probe("GET", lambda w: "/products/new/", page_admin_only(200)),
        Probe(
            "POST",
            lambda w: "/products/new/",
            page_admin_only(302),
            data=lambda w: {"name": "Matrix add-on", "is_active": "on"},
        ),
    ],
    "products/<int:pk>/edit/": [
        Probe("GET", lambda w: f"/products/{w.product.pk}/edit/", page_admin_only(200)),
        Probe(
            "POST",
            lambda w: f"/products/{w.product.pk}/edit/",
            page_admin_only(302),
            data=lambda w: {"name": "Matrix platform", "family": "Core"},
        ),
    ],
    "products/<int:pk>/delete/": [
        Probe("POST", lambda w: f"/products/{w.spare_product.pk}/delete/", page_admin_only(302))
    ],
    # The audit trail and its CSV: administrators only.
    "audit/": [
        Probe("GET", lambda w: "/audit/?channel=page", page_admin_only(200)),
        Probe("GET", lambda w: "/audit/?format=csv", page_admin_only(200)),
    ],
    "people/": [
        Probe("GET", lambda w: "/people/", people_reader(200)),
        Probe(
            "GET",
            lambda w: f"/people/?team={w.users['rep'].team_id}&format=csv",
            people_reader(200),
        ),
    ],
    # --- pipeline setup: administrators and sales leaders (everyone else signed in 403).
    # The spare stage (no deals) and its milestone are the ones edited, moved and deleted.
    "setup/pipelines/": [
        Probe("GET", lambda w: "/setup/pipelines/", setup_configurer(200)),
        Probe(
            "POST",
            lambda w: "/setup/pipelines/",
            setup_configurer(302),
            data=lambda w: {"template": "blank", "name": "Matrix blank"},
        ),
    ],
    "setup/pipelines/<int:pk>/": [
        Probe("GET", lambda w: f"/setup/pipelines/{w.pipeline.pk}/", setup_configurer(200)),
        Probe(
            "POST",
            lambda w: f"/setup/pipelines/{w.pipeline.pk}/",
            setup_configurer(302),
            data=lambda w: {
                "name": "New business",
                "description": "Net-new",
                "is_active": "on",
                "framework": w.framework.pk,
            },
        ),
    ],
    "setup/pipelines/<int:pk>/stages/new/": [
        Probe(
            "GET", lambda w: f"/setup/pipelines/{w.pipeline.pk}/stages/new/", setup_configurer(200)
        ),
        Probe(
            "POST",
            lambda w: f"/setup/pipelines/{w.pipeline.pk}/stages/new/",
            setup_configurer(302),
            data=lambda w: {
                "name": "Matrix stage",
                "probability": "30",
                "forecast_category": "pipeline",
                "outcome": "open",
            },
        ),
    ],
    "setup/stages/<int:pk>/": [
        Probe("GET", lambda w: f"/setup/stages/{w.spare_stage.pk}/", setup_configurer(200)),
        Probe(
            "POST",
            lambda w: f"/setup/stages/{w.spare_stage.pk}/",
            setup_configurer(302),
            data=lambda w: {
                "name": "Spare",
                "probability": "5",
                "forecast_category": "pipeline",
                "outcome": "open",
                "no_activity_days": "10",
            },
        ),
    ],
    "setup/stages/<int:pk>/move/": [
        Probe(
            "POST",
            lambda w: f"/setup/stages/{w.spare_stage.pk}/move/",
            setup_configurer(302),
            data=lambda w: {"direction": "up"},
        )
    ],
    "setup/stages/<int:pk>/delete/": [
        Probe("GET", lambda w: f"/setup/stages/{w.spare_stage.pk}/delete/", setup_configurer(200)),
        Probe("POST", lambda w: f"/setup/stages/{w.spare_stage.pk}/delete/", setup_configurer(302)),
    ],
    "setup/stages/<int:pk>/milestones/new/": [
        Probe(
            "GET",
            lambda w: f"/setup/stages/{w.spare_stage.pk}/milestones/new/",
            setup_configurer(200),
        ),
        Probe(
            "POST",
            lambda w: f"/setup/stages/{w.spare_stage.pk}/milestones/new/",
            setup_configurer(302),
            data=lambda w: {"title": "Matrix milestone", "kind": "buyer_commitment"},
        ),
    ],
    "setup/milestones/<int:pk>/": [
        Probe("GET", lambda w: f"/setup/milestones/{w.spare_milestone.pk}/", setup_configurer(200)),
        Probe(
            "POST",
            lambda w: f"/setup/milestones/{w.spare_milestone.pk}/",
            setup_configurer(302),
            data=lambda w: {"title": "Renamed milestone", "kind": "seller_action"},
        ),
    ],
    "setup/milestones/<int:pk>/delete/": [
        Probe(
            "GET",
            lambda w: f"/setup/milestones/{w.spare_milestone.pk}/delete/",
            setup_configurer(200),
        ),
        Probe(
            "POST",
            lambda w: f"/setup/milestones/{w.spare_milestone.pk}/delete/",
            setup_configurer(302),
        ),
    ],
    # --- qualification frameworks: administrators and sales leaders (everyone else signed
    # in 403). The matrix framework's first element is edited; the spare framework's element
    # (nothing scores it, no milestone requires it) is the one removed.
    "setup/frameworks/": [
        Probe("GET", lambda w: "/setup/frameworks/", setup_configurer(200)),
        Probe(
            "POST",
            lambda w: "/setup/frameworks/",
            setup_configurer(302),
            data=lambda w: {"name": "Matrix GPCTBA", "description": "Inbound deals"},
        ),
    ],
    "setup/frameworks/<int:pk>/": [
        Probe("GET", lambda w: f"/setup/frameworks/{w.framework.pk}/", setup_configurer(200)),
        Probe(
            "POST",
            lambda w: f"/setup/frameworks/{w.framework.pk}/",
            setup_configurer(302),
            data=lambda w: {"name": "Matrix framework", "description": "", "is_active": "on"},
        ),
    ],
    "setup/frameworks/<int:pk>/elements/new/": [
        Probe(
            "POST",
            lambda w: f"/setup/frameworks/{w.framework.pk}/elements/new/",
            setup_configurer(302),
            data=lambda w: {"new-name": "Competition", "new-weight": "2", "new-guidance": ""},
        )
    ],
    "setup/elements/<int:pk>/": [
        Probe(
            "POST",
            lambda w: f"/setup/elements/{w.elements[0].pk}/",
            setup_configurer(302),
            data=lambda w: {
                f"element-{w.elements[0].pk}-name": "Metrics",
                f"element-{w.elements[0].pk}-weight": "3",
                f"element-{w.elements[0].pk}-order": "0",
                f"element-{w.elements[0].pk}-guidance": "Quantified by the buyer",
            },
        )
    ],
    "setup/elements/<int:pk>/delete/": [
        Probe(
            "GET", lambda w: f"/setup/elements/{w.spare_element.pk}/delete/", setup_configurer(200)
        ),
        Probe(
            "POST", lambda w: f"/setup/elements/{w.spare_element.pk}/delete/", setup_configurer(302)
        ),
    ],
    # --- quotas page: everyone signed in reads it in their scope (a rep their own row, as
    # the API); administrators and sales leaders save it.
    "forecast/quotas/": [
        Probe("GET", lambda w: "/forecast/quotas/?period=2026-Q3", everyone(200)),
        Probe(
            "POST",
            lambda w: "/forecast/quotas/",
            setup_configurer(302),
            data=lambda w: {
                "period": "2026-Q3",
                f"rep-{w.users['rep'].pk}-amount": "120000",
                f"rep-{w.users['rep'].pk}-currency": "EUR",
                f"rep-{w.users['rep'].pk}-was": "100000.00 EUR",
            },
        ),
    ],
    # The Django admin is one probe: only staff get in.
    "admin/": [
        Probe(
            "GET",
            lambda w: "/admin/",
            everyone(302) | {"admin": 200, "anonymous": 302, "ro_key": 302},
        )
    ],
}


def page_routes() -> set[str]:
    """Every page route of the resolver, as its route string; the admin counts as one."""
    routes: set[str] = set()

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if route.startswith("admin/"):
                routes.add("admin/")
            elif route.startswith("api/v1/"):
                continue  # the API is enumerated from its OpenAPI schema below
            elif isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern):
                routes.add(route)

    walk(get_resolver().url_patterns, "")
    return routes


def test_every_page_route_is_in_the_matrix():
    missing = page_routes() - set(PAGES)
    assert not missing, f"Pages missing from the access matrix: {sorted(missing)}"
    stale = set(PAGES) - page_routes()
    assert not stale, f"Matrix entries for routes that no longer exist: {sorted(stale)}"


PAGE_CASES = [
    (route, i, role)
    for route, probes in PAGES.items()
    for i in range(len(probes))
    for role in ROLES
]


@pytest.mark.parametrize(("route", "index", "role"), PAGE_CASES)
def test_page_access(world, route, index, role):
    probe = PAGES[route][index]
    client = page_client(world, role)
    if role == "ro_key":  # an API key opens no page
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.ro_raw}"
    response = client.generic(
        probe.method,
        probe.path(world),
        **(
            {
                "data": _form_encode(probe.data(world)),
                "content_type": "application/x-www-form-urlencoded",
            }
            if probe.method == "POST"
            else {}
        ),
    )
    check(response, probe.expect[role], role, probe)


def _form_encode(data: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(data, doseq=True)


# --- API ----------------------------------------------------------------------------------


def opp_api(suffix: str = "") -> Callable[[Any], str]:
    return lambda w: f"/api/v1/opportunities/{w.opp.pk}/{suffix}"


def proposal_api(state: str, suffix: str = "") -> Callable[[Any], str]:
    return lambda w: f"/api/v1/proposals/{getattr(w.proposals, state).pk}/{suffix}"


def owner_api(ok: int) -> dict[str, Any]:
    """The deal's owner may; the others who see it are refused (403); 404 outside."""
    return api_scoped(ok, write=True) | {"manager": 403, "leader": 403, "admin": 403}


def reviewer_api(ok: int) -> dict[str, Any]:
    """A manager of the owner, a leader or an admin may; never the owner (403)."""
    return api_scoped(ok, write=True) | {"rep": 403}


API: dict[tuple[str, str], Probe] = {
    ("/api/v1/opportunities/", "GET"): Probe(
        "GET", lambda w: "/api/v1/opportunities/", api_everyone(200, write=False)
    ),
    ("/api/v1/opportunities/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/opportunities/",
        api_everyone(201, write=True),
        data=lambda w: {
            "name": "API deal",
            "account": w.account.pk,
            "amount": "10",
            "close_date": "2027-02-28",
        },
    ),
    ("/api/v1/opportunities/{id}/", "GET"): Probe("GET", opp_api(), api_scoped(200, write=False)),
    ("/api/v1/opportunities/{id}/", "PATCH"): Probe(
        "PATCH", opp_api(), api_scoped(200, write=True), data=lambda w: {"amount": "123.45"}
    ),
    ("/api/v1/opportunities/{id}/", "DELETE"): Probe(
        "DELETE", opp_api(), api_scoped(403, write=True) | {"admin": 204}
    ),
    ("/api/v1/opportunities/{id}/activities/", "GET"): Probe(
        "GET", opp_api("activities/"), api_scoped(200, write=False)
    ),
    ("/api/v1/opportunities/{id}/activities/", "POST"): Probe(
        "POST",
        opp_api("activities/"),
        api_scoped(201, write=True),
        data=lambda w: {"kind": "meeting", "subject": "Workshop"},
    ),
    ("/api/v1/opportunities/{id}/advance/", "POST"): Probe(
        "POST",
        opp_api("advance/"),
        api_scoped(200, write=True),
        data=lambda w: {"stage": w.pipeline.qualify.pk},
    ),
    ("/api/v1/opportunities/{id}/business-issues/", "GET"): Probe(
        "GET", opp_api("business-issues/"), api_scoped(200, write=False)
    ),
    ("/api/v1/opportunities/{id}/business-issues/", "POST"): Probe(
        "POST",
        opp_api("business-issues/"),
        api_scoped(201, write=True),
        data=lambda w: {"issue": "Stock-outs cost 2 % of revenue"},
    ),
    ("/api/v1/opportunities/{id}/close-lost/", "POST"): Probe(
        "POST",
        opp_api("close-lost/"),
        api_scoped(200, write=True),
        data=lambda w: {"loss_reason": "Went with the incumbent"},
    ),
    ("/api/v1/opportunities/{id}/close-won/", "POST"): Probe(
        "POST", opp_api("close-won/"), api_scoped(409, write=True)
    ),
    ("/api/v1/opportunities/{id}/history/", "GET"): Probe(
        "GET", opp_api("history/"), api_scoped(200, write=False)
    ),
    ("/api/v1/opportunities/{id}/milestones/", "GET"): Probe(
        "GET", opp_api("milestones/"), api_scoped(200, write=False)
    ),
    ("/api/v1/opportunities/{id}/milestones/{milestone_id}/complete/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/opportunities/{w.opp.pk}/milestones/{w.qualify_milestone.pk}/complete/",
        api_scoped(200, write=True),
        data=lambda w: {"evidence": "Mapped with the buyer"},
    ),
    ("/api/v1/opportunities/{id}/milestones/{milestone_id}/uncomplete/", "POST"): Probe(
        "POST",
        lambda w: (
            f"/api/v1/opportunities/{w.opp.pk}/milestones/"
            f"{Milestone.objects.filter(stage=w.pipeline.discover).first().pk}/uncomplete/"
        ),
        api_scoped(204, write=True),
    ),
    ("/api/v1/opportunities/by-external-id/{source}/{external_id}/", "GET"): Probe(
        "GET",
        lambda w: "/api/v1/opportunities/by-external-id/crm/X1/",
        api_scoped(200, write=False),
    ),
    # Another team's sync of a taken external id is the 404 its GET answers (never a
    # second record, and no sign that the record exists).
    ("/api/v1/opportunities/by-external-id/{source}/{external_id}/", "PUT"): Probe(
        "PUT",
        lambda w: "/api/v1/opportunities/by-external-id/crm/X1/",
        api_scoped(200, write=True),
        data=lambda w: {
            "name": "Synced name",
            "account": w.account.pk,
            "close_date": "2027-04-30",
            "amount": "500",
        },
    ),
    ("/api/v1/activities/", "GET"): Probe(
        "GET", lambda w: "/api/v1/activities/", api_everyone(200, write=False)
    ),
    ("/api/v1/business-issues/", "GET"): Probe(
        "GET", lambda w: "/api/v1/business-issues/", api_everyone(200, write=False)
    ),
    ("/api/v1/business-issues/{id}/", "GET"): Probe(
        "GET", lambda w: f"/api/v1/business-issues/{w.issue.pk}/", api_scoped(200, write=False)
    ),
    ("/api/v1/business-issues/{id}/", "PATCH"): Probe(
        "PATCH",
        lambda w: f"/api/v1/business-issues/{w.issue.pk}/",
        api_scoped(200, write=True),
        data=lambda w: {"impact": "Two people full-time"},
    ),
    ("/api/v1/business-issues/{id}/", "DELETE"): Probe(
        "DELETE", lambda w: f"/api/v1/business-issues/{w.issue.pk}/", api_scoped(204, write=True)
    ),
    ("/api/v1/accounts/", "GET"): Probe(
        "GET", lambda w: "/api/v1/accounts/", api_everyone(200, write=False)
    ),
    ("/api/v1/accounts/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/accounts/",
        api_everyone(201, write=True),
        data=lambda w: {"name": "Initech"},
    ),
    ("/api/v1/accounts/{id}/", "GET"): Probe(
        "GET", lambda w: f"/api/v1/accounts/{w.account.pk}/", api_everyone(200, write=False)
    ),
    ("/api/v1/accounts/{id}/", "PATCH"): Probe(
        "PATCH",
        lambda w: f"/api/v1/accounts/{w.account.pk}/",
        # On rep's deal: a teammate may not change it (pipeline.services.accounts_locked_for).
        api_everyone(200, write=True) | {"teammate": 403},
        data=lambda w: {"industry": "Logistics"},
    ),
    ("/api/v1/accounts/{id}/", "DELETE"): Probe(
        "DELETE", lambda w: f"/api/v1/accounts/{w.spare_account.pk}/", admin_only(204)
    ),
    ("/api/v1/pipelines/", "GET"): Probe(
        "GET", lambda w: "/api/v1/pipelines/", api_everyone(200, write=False)
    ),
    ("/api/v1/pipelines/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/pipelines/",
        configurer_only(201),
        data=lambda w: {"name": "Renewals"},
    ),
    ("/api/v1/pipelines/{id}/", "GET"): Probe(
        "GET", lambda w: f"/api/v1/pipelines/{w.pipeline.pk}/", api_everyone(200, write=False)
    ),
    ("/api/v1/pipelines/{id}/", "PATCH"): Probe(
        "PATCH",
        lambda w: f"/api/v1/pipelines/{w.pipeline.pk}/",
        configurer_only(200),
        data=lambda w: {"description": "Land new logos"},
    ),
    ("/api/v1/stages/", "GET"): Probe(
        "GET", lambda w: "/api/v1/stages/", api_everyone(200, write=False)
    ),
    ("/api/v1/stages/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/stages/",
        configurer_only(201),
        data=lambda w: {
            "pipeline": w.pipeline.pk,
            "name": "Security review",
            "order": 12,
            "probability": 70,
            "forecast_category": "best_case",
        },
    ),
    ("/api/v1/stages/{id}/", "GET"): Probe(
        "GET", lambda w: f"/api/v1/stages/{w.spare_stage.pk}/", api_everyone(200, write=False)
    ),
    ("/api/v1/stages/{id}/", "PATCH"): Probe(
        "PATCH",
        lambda w: f"/api/v1/stages/{w.spare_stage.pk}/",
        configurer_only(200),
        data=lambda w: {"guidance": "Confirm the security questionnaire."},
    ),
    ("/api/v1/stages/{id}/", "DELETE"): Probe(
        "DELETE", lambda w: f"/api/v1/stages/{w.spare_stage.pk}/", configurer_only(204)
    ),
    ("/api/v1/milestones/", "GET"): Probe(
        "GET", lambda w: "/api/v1/milestones/", api_everyone(200, write=False)
    ),
    ("/api/v1/milestones/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/milestones/",
        configurer_only(201),
        data=lambda w: {
            "stage": w.spare_stage.pk,
            "title": "Security sign-off",
            "kind": "buyer_commitment",
        },
    ),
    ("/api/v1/milestones/{id}/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/milestones/{w.spare_milestone.pk}/",
        api_everyone(200, write=False),
    ),
    ("/api/v1/milestones/{id}/", "PATCH"): Probe(
        "PATCH",
        lambda w: f"/api/v1/milestones/{w.spare_milestone.pk}/",
        configurer_only(200),
        data=lambda w: {"required": False},
    ),
    ("/api/v1/milestones/{id}/", "DELETE"): Probe(
        "DELETE", lambda w: f"/api/v1/milestones/{w.spare_milestone.pk}/", configurer_only(204)
    ),
    # --- qualification and flags
    ("/api/v1/opportunities/{id}/qualifications/", "GET"): Probe(
        "GET", opp_api("qualifications/"), api_scoped(200, write=False)
    ),
    ("/api/v1/opportunities/{id}/qualifications/", "POST"): Probe(
        "POST",
        opp_api("qualifications/"),
        api_scoped(201, write=True),
        data=lambda w: {
            "scores": [
                {"element": e.pk, "score": 2, "evidence": "CFO on the call", "source": "call"}
                for e in w.elements
            ]
        },
    ),
    ("/api/v1/flags/", "GET"): Probe(
        "GET", lambda w: "/api/v1/flags/", api_everyone(200, write=False)
    ),
    ("/api/v1/frameworks/", "GET"): Probe(
        "GET", lambda w: "/api/v1/frameworks/", api_everyone(200, write=False)
    ),
    ("/api/v1/frameworks/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/frameworks/",
        configurer_only(201),
        data=lambda w: {"name": "GPCTBA"},
    ),
    ("/api/v1/frameworks/{id}/", "GET"): Probe(
        "GET", lambda w: f"/api/v1/frameworks/{w.framework.pk}/", api_everyone(200, write=False)
    ),
    ("/api/v1/frameworks/{id}/", "PATCH"): Probe(
        "PATCH",
        lambda w: f"/api/v1/frameworks/{w.framework.pk}/",
        configurer_only(200),
        data=lambda w: {"description": "For enterprise deals"},
    ),
    ("/api/v1/framework-elements/", "GET"): Probe(
        "GET", lambda w: "/api/v1/framework-elements/", api_everyone(200, write=False)
    ),
    ("/api/v1/framework-elements/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/framework-elements/",
        configurer_only(201),
        data=lambda w: {"framework": w.framework.pk, "name": "Competition", "weight": 2},
    ),
    ("/api/v1/framework-elements/{id}/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/framework-elements/{w.elements[0].pk}/",
        api_everyone(200, write=False),
    ),
    ("/api/v1/framework-elements/{id}/", "PATCH"): Probe(
        "PATCH",
        lambda w: f"/api/v1/framework-elements/{w.elements[0].pk}/",
        configurer_only(200),
        data=lambda w: {"weight": 5},
    ),
    ("/api/v1/framework-elements/{id}/", "DELETE"): Probe(
        "DELETE",
        lambda w: f"/api/v1/framework-elements/{w.spare_element.pk}/",
        configurer_only(204),
    ),
    # --- proposals: the owner writes, submits, sends; a manager of the owner (or a
    # leader, or an admin) reviews; both comment. A read-only key writes nothing.
    ("/api/v1/proposals/", "GET"): Probe(
        "GET", lambda w: "/api/v1/proposals/", api_everyone(200, write=False)
    ),
    ("/api/v1/proposals/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/proposals/",
        owner_api(201),
        data=lambda w: {"opportunity": w.opp.pk, **proposal_data()},
    ),
    ("/api/v1/proposals/{id}/", "GET"): Probe(
        "GET", proposal_api("draft"), api_scoped(200, write=False)
    ),
    ("/api/v1/proposals/{id}/", "PATCH"): Probe(
        "PATCH", proposal_api("draft"), owner_api(200), data=lambda w: {"title": "Renamed"}
    ),
    ("/api/v1/proposals/{id}/", "DELETE"): Probe("DELETE", proposal_api("draft"), owner_api(204)),
    ("/api/v1/proposals/{id}/submit/", "POST"): Probe(
        "POST", proposal_api("draft", "submit/"), owner_api(200)
    ),
    ("/api/v1/proposals/{id}/approve/", "POST"): Probe(
        "POST",
        proposal_api("in_review", "approve/"),
        reviewer_api(200),
        data=lambda w: {
            "checklist": list(ReviewChecklistItem.objects.values_list("id", flat=True))
        },
    ),
    ("/api/v1/proposals/{id}/request-changes/", "POST"): Probe(
        "POST",
        proposal_api("in_review", "request-changes/"),
        reviewer_api(200),
        data=lambda w: {"comment": "Add the payment terms."},
    ),
    ("/api/v1/proposals/{id}/mark-sent/", "POST"): Probe(
        "POST", proposal_api("approved", "mark-sent/"), owner_api(200)
    ),
    ("/api/v1/proposals/{id}/new-version/", "POST"): Probe(
        "POST", proposal_api("approved", "new-version/"), owner_api(201)
    ),
    ("/api/v1/proposals/{id}/comments/", "POST"): Probe(
        "POST",
        proposal_api("draft", "comments/"),
        api_scoped(201, write=True),
        data=lambda w: {"body": "Looks good."},
    ),
    ("/api/v1/proposals/check-summary/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/proposals/check-summary/",
        api_scoped(200, write=True),
        data=lambda w: {"opportunity": w.opp.pk, "executive_summary": "Our offer."},
    ),
    # --- coaching: everyone reads the skills framework, administrators write it;
    # assessments are read in scope and written by a manager of the rep or a leader.
    ("/api/v1/skills/", "GET"): Probe(
        "GET", lambda w: "/api/v1/skills/", api_everyone(200, write=False)
    ),
    ("/api/v1/skills/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/skills/",
        admin_only(201),
        data=lambda w: {"name": "Account planning", **SKILL_LEVELS},
    ),
    ("/api/v1/skills/{id}/", "GET"): Probe(
        "GET", lambda w: f"/api/v1/skills/{w.skill.pk}/", api_everyone(200, write=False)
    ),
    ("/api/v1/skills/{id}/", "PATCH"): Probe(
        "PATCH",
        lambda w: f"/api/v1/skills/{w.skill.pk}/",
        admin_only(200),
        data=lambda w: {"questions": "Which accounts this week, and why?"},
    ),
    ("/api/v1/skill-assessments/", "GET"): Probe(
        "GET", lambda w: "/api/v1/skill-assessments/", api_everyone(200, write=False)
    ),
    # --- coaching coverage: managers and leaders (a rep 403; another team's manager does
    # not find rep's team: 404); everyone reads the coaching flags in their scope.
    ("/api/v1/coaching/coverage/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/coaching/coverage/?team={w.users['rep'].team_id}&days=90",
        assessor_only(200, reps=403, anon=401),
    ),
    ("/api/v1/coaching-flags/", "GET"): Probe(
        "GET",
        lambda w: "/api/v1/coaching-flags/?kind=one_on_one_overdue",
        api_everyone(200, write=False),
    ),
    ("/api/v1/skill-assessments/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/skill-assessments/",
        assessor_only(201, reps=403, anon=401),
        data=lambda w: {"rep": w.users["rep"].pk, "skill": w.skill.pk, "level": 3},
    ),
    ("/api/v1/skill-assessments/{id}/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/skill-assessments/{w.assessment.pk}/",
        api_scoped(200, write=False),
    ),
    # --- opportunity reviews: read in scope; a manager of the owner (or a leader) starts
    # one (reps 403, another team's manager 404); the manager holding it, leaders and
    # admins change it, its rep reads it (403 on a write).
    ("/api/v1/opportunity-reviews/", "GET"): Probe(
        "GET", lambda w: "/api/v1/opportunity-reviews/", api_everyone(200, write=False)
    ),
    ("/api/v1/opportunity-reviews/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/opportunity-reviews/",
        assessor_only(201, reps=403, anon=401),
        data=lambda w: {"opportunity": w.opp.pk},
    ),
    ("/api/v1/opportunity-reviews/{id}/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/opportunity-reviews/{w.review.pk}/",
        api_scoped(200, write=False),
    ),
    ("/api/v1/opportunity-reviews/{id}/agenda/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/opportunity-reviews/{w.review.pk}/agenda/",
        api_scoped(200, write=False),
    ),
    ("/api/v1/opportunity-reviews/{id}/agenda/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/opportunity-reviews/{w.review.pk}/agenda/",
        review_writer(201, api=True),
        data=lambda w: {"title": "Who signs?"},
    ),
    ("/api/v1/opportunity-reviews/{id}/agenda/{item_id}/discussed/", "POST"): Probe(
        "POST",
        lambda w: (
            f"/api/v1/opportunity-reviews/{w.review.pk}/agenda/"
            f"{w.review.agenda_items.first().pk}/discussed/"
        ),
        review_writer(200, api=True),
        data=lambda w: {"discussed": True},
    ),
    ("/api/v1/opportunity-reviews/{id}/findings/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/opportunity-reviews/{w.review.pk}/findings/",
        review_writer(201, api=True),
        data=lambda w: {"text": "No champion yet"},
    ),
    ("/api/v1/opportunity-reviews/{id}/coaching-points/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/opportunity-reviews/{w.review.pk}/coaching-points/",
        review_writer(201, api=True),
        data=lambda w: {"skill": w.skill.pk, "text": "Ask why now"},
    ),
    ("/api/v1/opportunity-reviews/{id}/action-items/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/opportunity-reviews/{w.review.pk}/action-items/",
        review_writer(201, api=True),
        data=lambda w: {
            "title": "Send the recap",
            "due_on": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
        },
    ),
    ("/api/v1/opportunity-reviews/{id}/complete/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/opportunity-reviews/{w.review.pk}/complete/",
        review_writer(200, api=True),
        data=lambda w: {"confirm": True},  # its agenda points were not discussed
    ),
    ("/api/v1/action-items/", "GET"): Probe(
        "GET", lambda w: "/api/v1/action-items/", api_everyone(200, write=False)
    ),
    ("/api/v1/action-items/{id}/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/action-items/{w.review_item.pk}/",
        api_scoped(200, write=False),
    ),
    ("/api/v1/action-items/{id}/complete/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/action-items/{w.review_item.pk}/complete/",
        api_scoped(200, write=True),
    ),
    ("/api/v1/action-items/{id}/reopen/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/action-items/{w.review_item.pk}/reopen/",
        api_scoped(200, write=True),
    ),
    # --- 1:1 sessions: read in scope; recorded by a manager of the rep or a leader (a rep
    # 403, another team's manager 404); changed by the manager who held it or a leader.
    ("/api/v1/coaching-sessions/", "GET"): Probe(
        "GET", lambda w: "/api/v1/coaching-sessions/", api_everyone(200, write=False)
    ),
    ("/api/v1/coaching-sessions/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/coaching-sessions/",
        assessor_only(201, reps=403, anon=401),
        data=lambda w: {
            "rep": w.users["rep"].pk,
            "focus_skill": w.skill.pk,
            "action_items": [
                {
                    "title": "Book a role-play",
                    "due_on": (timezone.localdate() + dt.timedelta(days=2)).isoformat(),
                }
            ],
        },
    ),
    ("/api/v1/coaching-sessions/{id}/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/coaching-sessions/{w.session.pk}/",
        api_scoped(200, write=False),
    ),
    ("/api/v1/coaching-sessions/{id}/", "PATCH"): Probe(
        "PATCH",
        lambda w: f"/api/v1/coaching-sessions/{w.session.pk}/",
        session_writer(200, api=True),
        data=lambda w: {"notes": "Revised notes"},
    ),
    ("/api/v1/coaching-sessions/{id}/action-items/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/coaching-sessions/{w.session.pk}/action-items/",
        session_writer(201, api=True),
        data=lambda w: {
            "title": "Call the CFO",
            "due_on": (timezone.localdate() + dt.timedelta(days=2)).isoformat(),
        },
    ),
    # --- quotas: read in scope, written by administrators and sales leaders; the forecast
    # summary of an owner is read by those who see the owner.
    ("/api/v1/quotas/", "GET"): Probe(
        "GET", lambda w: "/api/v1/quotas/", api_everyone(200, write=False)
    ),
    ("/api/v1/quotas/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/quotas/",
        configurer_only(201),
        data=lambda w: {"period": "2031-Q1", "rep": w.users["rep"].pk, "amount": "5000"},
    ),
    ("/api/v1/quotas/{id}/", "GET"): Probe(
        "GET", lambda w: f"/api/v1/quotas/{w.quota.pk}/", api_scoped(200, write=False)
    ),
    ("/api/v1/quotas/{id}/", "PATCH"): Probe(
        "PATCH",
        lambda w: f"/api/v1/quotas/{w.quota.pk}/",
        quota_admin(200),
        data=lambda w: {"amount": "90000"},
    ),
    ("/api/v1/quotas/{id}/", "DELETE"): Probe(
        "DELETE", lambda w: f"/api/v1/quotas/{w.quota.pk}/", quota_admin(204)
    ),
    ("/api/v1/forecast/summary/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/forecast/summary/?period=2026-Q3&owner={w.users['rep'].pk}",
        api_scoped(200, write=False),
    ),
    # --- week-over-week: the changes and the trend of an owner are read by those who see
    # the owner (rep's deal is in this and last week's snapshots: world.snapshot_week).
    ("/api/v1/forecast/changes/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/forecast/changes/?week={w.snapshot_week}&owner={w.users['rep'].pk}",
        api_scoped(200, write=False),
    ),
    ("/api/v1/forecast/trend/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/forecast/trend/?weeks=4&owner={w.users['rep'].pk}",
        api_scoped(200, write=False),
    ),
    # --- forecast from history: rep's open pipeline, read by those who see rep ---
    ("/api/v1/forecast/history/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/forecast/history/?period=2026-Q3&owner={w.users['rep'].pk}",
        api_scoped(200, write=False),
    ),
    # --- submissions: read in scope (rep's call: world.submission); a team call is made by
    # the team's manager or a leader; no update, no delete.
    ("/api/v1/forecast/submissions/", "GET"): Probe(
        "GET", lambda w: "/api/v1/forecast/submissions/", api_everyone(200, write=False)
    ),
    ("/api/v1/forecast/submissions/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/forecast/submissions/",
        submission_create(),
        data=lambda w: {
            "period": f"{timezone.localdate().year + 1}-Q1",
            "commit": "0",
            "best_case": "0",
            "team": w.users["rep"].team_id,
            "adjustment_note": "Matrix probe",
        },
    ),
    ("/api/v1/forecast/submissions/{id}/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/forecast/submissions/{w.submission.pk}/",
        api_scoped(200, write=False),
    ),
    ("/api/v1/forecast/submissions/missing/", "GET"): Probe(
        "GET",
        lambda w: "/api/v1/forecast/submissions/missing/?period=2026-Q3",
        api_everyone(200, write=False),
    ),
    # --- forecasting: accuracy and snapshots ---
    # rep's accuracy and rep's rows of the snapshots (world.snapshot_week) are read by those
    # who see rep; anyone else asking for rep: 404.
    ("/api/v1/forecast/accuracy/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/forecast/accuracy/?person={w.users['rep'].pk}&periods=2",
        api_scoped(200, write=False),
    ),
    ("/api/v1/forecast/snapshots/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/forecast/snapshots/?week={w.snapshot_week}&owner={w.users['rep'].pk}",
        api_scoped(200, write=False),
    ),
    # --- forecasting: forecast meetings ---
    # Read in scope (world.meeting: rep attended it, teammate did not); recorded by a
    # manager of the team or a leader; changed by them (its rep reads it: 403). No PUT,
    # no DELETE.
    # --- hiring ---
    ("/api/v1/hiring/positions/", "GET"): Probe(
        "GET", lambda w: "/api/v1/hiring/positions/", api_everyone(200, write=False)
    ),
    ("/api/v1/hiring/positions/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/hiring/positions/",
        {r: 403 for r in ROLES} | {"anonymous": 401, "admin": 201},
        data=lambda w: {
            "title": "SDR",
            "team": w.users["manager"].team_id,
            "hiring_manager": w.users["manager"].pk,
            "template": w.hiring_template.pk,
        },
    ),
    ("/api/v1/hiring/candidates/", "GET"): Probe(
        "GET", lambda w: "/api/v1/hiring/candidates/", api_everyone(200, write=False)
    ),
    ("/api/v1/hiring/candidates/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/hiring/candidates/",
        {r: 403 for r in ROLES} | {"anonymous": 401, "admin": 201, "manager": 201},
        data=lambda w: {"position": w.position.pk, "name": "Kim Lee"},
    ),
    ("/api/v1/hiring/candidates/{id}/", "GET"): Probe(
        "GET", lambda w: f"/api/v1/hiring/candidates/{w.candidate.pk}/", API_HIRING_CANDIDATE
    ),
    ("/api/v1/hiring/candidates/{id}/decision/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/hiring/candidates/{w.candidate.pk}/decision/",
        API_HIRING_NOBODY | {"manager": 200, "admin": 200},
    ),
    ("/api/v1/hiring/candidates/{id}/move/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/hiring/candidates/{w.candidate.pk}/move/",
        API_HIRING_NOBODY | {"manager": 200, "admin": 200, "teammate": 403, "ro_key": 403},
        data=lambda w: {"stage": "screen"},
    ),
    ("/api/v1/hiring/candidates/{id}/hire/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/hiring/candidates/{w.candidate.pk}/hire/",
        API_HIRING_NOBODY | {"manager": 409, "admin": 409, "teammate": 403, "ro_key": 403},
        data=lambda w: {"started_on": "2030-02-01", "reason": "Strong on every attribute"},
    ),
    ("/api/v1/hiring/candidates/{id}/export/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/hiring/candidates/{w.candidate.pk}/export/",
        API_HIRING_NOBODY | {"admin": 200},
    ),
    ("/api/v1/hiring/candidates/{id}/erase/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/hiring/candidates/{w.candidate.pk}/erase/",
        API_HIRING_NOBODY | {"admin": 200, "manager": 403, "teammate": 403, "ro_key": 403},
    ),
    ("/api/v1/hiring/interviews/", "GET"): Probe(
        "GET", lambda w: "/api/v1/hiring/interviews/", api_everyone(200, write=False)
    ),
    ("/api/v1/hiring/interviews/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/hiring/interviews/",
        API_HIRING_NOBODY | {"manager": 201, "admin": 201, "teammate": 403, "ro_key": 403},
        data=lambda w: {
            "candidate": w.candidate.pk,
            "interviewer": w.users["manager"].pk,
            "kind": "hiring_manager",
            "scheduled_at": "2030-01-15T10:00:00Z",
            "focus": [w.focus_attribute.pk],
        },
    ),
    ("/api/v1/hiring/scorecards/{id}/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/hiring/scorecards/{w.draft_interview.pk}/",
        API_HIRING_NOBODY | {"teammate": 200},
    ),
    ("/api/v1/hiring/scorecards/{id}/submit/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/hiring/scorecards/{w.draft_interview.pk}/submit/",
        API_HIRING_NOBODY | {"teammate": 200, "ro_key": 403},
        data=lambda w: {
            "ratings": [{"attribute": w.focus_attribute.pk, "rating": 4, "evidence": "Sharp"}],
            "recommendation": 4,
        },
    ),
    # Onboarding: rep's plan (started today) is seen by them, their manager, leaders and
    # admins; the new hire ticks their own tasks (their manager and others who see the
    # plan 403; the sign-off tasks: tests/hiring/test_api_onboarding.py). Ramp: not reps.
    ("/api/v1/hiring/onboarding-plans/", "GET"): Probe(
        "GET", lambda w: "/api/v1/hiring/onboarding-plans/", api_everyone(200, write=False)
    ),
    ("/api/v1/hiring/onboarding-plans/{rep_id}/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/hiring/onboarding-plans/{w.users['rep'].pk}/",
        api_scoped(200, write=False),
    ),
    ("/api/v1/hiring/onboarding-tasks/{id}/done/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/hiring/onboarding-tasks/{w.rep_task.pk}/done/",
        api_scoped(403, write=True) | {"rep": 200},
    ),
    ("/api/v1/hiring/ramp/", "GET"): Probe(
        "GET",
        lambda w: "/api/v1/hiring/ramp/",
        api_everyone(200, write=False) | {"rep": 403, "teammate": 403, "ro_key": 403},
    ),
    # --- insights ---
    ("/api/v1/insights/results/", "GET"): Probe(
        "GET", lambda w: "/api/v1/insights/results/", api_everyone(200, write=False)
    ),
    ("/api/v1/insights/behaviours/", "GET"): Probe(
        "GET", lambda w: "/api/v1/insights/behaviours/", INSIGHTS_STUDY
    ),
    ("/api/v1/insights/suggestions/", "GET"): Probe(
        "GET", lambda w: "/api/v1/insights/suggestions/", INSIGHTS_STUDY
    ),
    ("/api/v1/insights/suggestions/{id}/", "GET"): Probe(
        "GET", lambda w: f"/api/v1/insights/suggestions/{w.suggestion.pk}/", INSIGHTS_STUDY
    ),
    ("/api/v1/insights/suggestions/{id}/accept/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/insights/suggestions/{w.suggestion.pk}/accept/",
        configurer_only(200),
    ),
    ("/api/v1/insights/suggestions/{id}/dismiss/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/insights/suggestions/{w.suggestion.pk}/dismiss/",
        configurer_only(200),
        data=lambda w: {"reason": "Already covered by our legal review."},
    ),
    ("/api/v1/insights/experiments/", "GET"): Probe(
        "GET", lambda w: "/api/v1/insights/experiments/", INSIGHTS_STUDY
    ),
    ("/api/v1/insights/experiments/{id}/", "GET"): Probe(
        "GET", lambda w: f"/api/v1/insights/experiments/{w.experiment.pk}/", INSIGHTS_STUDY
    ),
    ("/api/v1/forecast/meetings/", "GET"): Probe(
        "GET", lambda w: "/api/v1/forecast/meetings/", api_everyone(200, write=False)
    ),
    ("/api/v1/forecast/meetings/", "POST"): Probe(
        "POST", lambda w: "/api/v1/forecast/meetings/", submission_create(), data=meeting_form
    ),
    ("/api/v1/forecast/meetings/{id}/", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/forecast/meetings/{w.meeting.pk}/",
        api_scoped(200, write=False),
    ),
    ("/api/v1/forecast/meetings/{id}/", "PATCH"): Probe(
        "PATCH",
        lambda w: f"/api/v1/forecast/meetings/{w.meeting.pk}/",
        session_writer(200, api=True),
        data=lambda w: {"notes": "Revised notes"},
    ),
    # --- pipeline: category override on stage moves ---
    # --- products (everyone reads, administrators write), CSV exports, people ---
    ("/api/v1/products/", "GET"): Probe(
        "GET", lambda w: "/api/v1/products/", api_everyone(200, write=False)
    ),
    ("/api/v1/products/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/products/",
        admin_only(201),
        data=lambda w: {"name": "API add-on", "list_price": "990", "currency": "EUR"},
    ),
    ("/api/v1/products/{id}/", "GET"): Probe(
        "GET", lambda w: f"/api/v1/products/{w.product.pk}/", api_everyone(200, write=False)
    ),
    ("/api/v1/products/{id}/", "PATCH"): Probe(
        "PATCH",
        lambda w: f"/api/v1/products/{w.product.pk}/",
        admin_only(200),
        data=lambda w: {"family": "Core"},
    ),
    ("/api/v1/products/{id}/", "DELETE"): Probe(
        "DELETE", lambda w: f"/api/v1/products/{w.spare_product.pk}/", admin_only(204)
    ),
    ("/api/v1/products/export.csv", "GET"): Probe(
        "GET", lambda w: "/api/v1/products/export.csv", api_everyone(200, write=False)
    ),
    ("/api/v1/accounts/export.csv", "GET"): Probe(
        "GET", lambda w: "/api/v1/accounts/export.csv", api_everyone(200, write=False)
    ),
    ("/api/v1/opportunities/export.csv", "GET"): Probe(
        "GET",
        lambda w: f"/api/v1/opportunities/export.csv?team={w.users['rep'].team_id}&source=crm",
        api_everyone(200, write=False),
        accept="text/csv",
    ),
    # --- notifications: everyone reads and marks their own (another's: 404) ---
    ("/api/v1/notifications/", "GET"): Probe(
        "GET", lambda w: "/api/v1/notifications/", api_everyone(200, write=False)
    ),
    ("/api/v1/notifications/{id}/read/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/notifications/{w.notification.pk}/read/",
        {r: 404 for r in ROLES} | {"anonymous": 401, "ro_key": 403, "rep": 200},
    ),
    ("/api/v1/notifications/read-all/", "POST"): Probe(
        "POST", lambda w: "/api/v1/notifications/read-all/", api_everyone(200, write=True)
    ),
    ("/api/v1/people/", "GET"): Probe(
        "GET", lambda w: "/api/v1/people/", people_reader(200, api=True)
    ),
    ("/api/v1/audit-events/", "GET"): Probe(
        "GET", lambda w: "/api/v1/audit-events/?action=opportunity.", admin_only(200)
    ),
    ("/api/v1/people/export.csv", "GET"): Probe(
        "GET", lambda w: "/api/v1/people/export.csv", people_reader(200, api=True)
    ),
    # The setup pages' pipeline from a template and stage moves, over the API
    # (administrators and sales leaders).
    ("/api/v1/pipelines/from-template/", "POST"): Probe(
        "POST",
        lambda w: "/api/v1/pipelines/from-template/",
        configurer_only(201),
        data=lambda w: {"template": "blank", "name": "Matrix pipeline"},
    ),
    ("/api/v1/stages/{id}/move/", "POST"): Probe(
        "POST",
        lambda w: f"/api/v1/stages/{w.spare_stage.pk}/move/",
        configurer_only(200),
        data=lambda w: {"position": 1},
    ),
    # --- the organisation's settings: everyone reads them, administrators change them ---
    ("/api/v1/organisation/", "GET"): Probe(
        "GET", lambda w: "/api/v1/organisation/", api_everyone(200, write=False)
    ),
    ("/api/v1/organisation/", "PATCH"): Probe(
        "PATCH",
        lambda w: "/api/v1/organisation/",
        admin_only(200),
        data=lambda w: {"name": "Matrix Ltd"},
    ),
}

# Routes under /api/v1/ that are not operations of the schema itself. The schema and
# its docs need a session or a key, as any API read (public only with API_SCHEMA_PUBLIC).
API["/api/v1/imports/", "GET"] = Probe("GET", lambda w: "/api/v1/imports/", importer_api(200))
API["/api/v1/imports/", "POST"] = Probe(
    "POST",
    lambda w: "/api/v1/imports/",
    importer_api(400),  # no file: the 400 says so
)
API["/api/v1/imports/{id}/", "GET"] = Probe(
    "GET", lambda w: f"/api/v1/imports/{w.draft_import.pk}/", importer_api(200)
)
API["/api/v1/imports/{id}/", "PATCH"] = Probe(
    "PATCH",
    lambda w: f"/api/v1/imports/{w.draft_import.pk}/",
    importer_api(200),
    data=lambda w: {"options": {"blank_amount": "reject"}},
)
API["/api/v1/imports/{id}/preview/", "POST"] = Probe(
    "POST", lambda w: f"/api/v1/imports/{w.draft_import.pk}/preview/", importer_api(200)
)
API["/api/v1/imports/{id}/run/", "POST"] = Probe(
    "POST", lambda w: f"/api/v1/imports/{w.draft_import.pk}/run/", importer_api(200)
)
API["/api/v1/imports/{id}/undo/", "POST"] = Probe(
    "POST", lambda w: f"/api/v1/imports/{w.done_import.pk}/undo/", importer_api(200)
)
API["/api/v1/imports/{id}/rejected.csv", "GET"] = Probe(
    "GET",
    lambda w: f"/api/v1/imports/{w.done_import.pk}/rejected.csv",
    importer_api(200),
    accept="text/csv",
)


API_EXTRA: dict[tuple[str, str], Probe] = {
    ("/api/v1/schema/", "GET"): Probe(
        "GET", lambda w: "/api/v1/schema/", api_everyone(200, write=False)
    ),
    # A page for people: an anonymous visitor is sent to sign in.
    ("/api/v1/docs/", "GET"): Probe(
        "GET", lambda w: "/api/v1/docs/", everyone(200, ro=200), accept="text/html"
    ),
}


def schema_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (path, method.upper())
        for path, ops in schema["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_every_api_operation_is_in_the_matrix():
    operations = schema_operations()
    missing = operations - set(API)
    assert not missing, f"API operations missing from the access matrix: {sorted(missing)}"
    stale = set(API) - operations
    assert not stale, f"Matrix entries for operations that no longer exist: {sorted(stale)}"


API_CASES = [(key, role) for key in [*API, *API_EXTRA] for role in ROLES]


@pytest.mark.parametrize(
    ("key", "role"), API_CASES, ids=[f"{m} {p} {r}" for (p, m), r in API_CASES]
)
def test_api_access(world, key, role):
    probe = API.get(key) or API_EXTRA[key]
    client = api_client(world, role)
    response = client.generic(
        probe.method,
        probe.path(world),
        data=__import__("json").dumps(probe.data(world)),
        content_type="application/json",
        HTTP_ACCEPT=probe.accept,
    )
    check(response, probe.expect[role], role, probe)
