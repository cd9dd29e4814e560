"""The fixed cast and a small pipeline every test can use; the servers and the clock.

Cast: `rep` and `teammate` in team A managed by `manager`; `other_rep` in team B
managed by `other_manager`; `leader` sees everything; `admin` administers.

The clock: no test reads the real one. The whole run starts on ``DEFAULT_CLOCK`` (a
Wednesday mid-quarter, 10:00 in the organisation's timezone) and every test starts
there again, on a ticking clock, unless it says otherwise: a test whose outcome depends
on a particular date says which (``pytest.mark.time_machine(...)`` on the test or in
its module's ``pytestmark``, or the ``time_machine`` fixture). Factories stamp their rows
from that clock. ``SALESOPS_TEST_CLOCK=<ISO datetime with offset>`` moves the default
(tests/clock.py): `.ci/run` runs the suite a second time about a year ahead, on the last
day of a fiscal quarter, which proves that the tests without a date of their own hold on
any date.
"""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.apps import apps as django_apps
from django.conf import settings
from django.core import serializers
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.signals import post_migrate
from rest_framework.test import APIClient

from pipeline.models import MilestoneKind, Pipeline
from salesops import organisation
from salesops.models import Role, Team, User
from salesops.services import api_key_create
from tests.clock import default_clock
from tests.factories import (
    MilestoneFactory,
    OpportunityFactory,
    PipelineFactory,
    StageFactory,
    TeamFactory,
    UserFactory,
)


def pytest_configure(config: pytest.Config) -> None:
    # The whole process, from collection on (module constants, session fixtures), never
    # stopped; each test then starts on its own clock (below).
    time_machine.travel(default_clock(), tick=True).start()
    # Module and session fixtures too read the organisation's defaults, not the database.
    organisation.pin()


@pytest.fixture(autouse=True)
def _test_clock(request: pytest.FixtureRequest):
    """Every test starts at the default moment, unless it set its own clock with the
    time_machine marker (the plugin then moves the clock itself)."""
    if request.node.get_closest_marker("time_machine"):
        yield
        return
    with time_machine.travel(default_clock(), tick=True):
        yield


@pytest.fixture(autouse=True)
def _organisation_defaults():
    """Every test starts with the organisation's settings at the environment's defaults,
    pinned in the memo: no test pays a query for them, and a test that changes them through
    organisation_update sees the change at once (salesops/organisation.py)."""
    organisation.pin()
    yield
    organisation.pin()


@pytest.fixture(scope="session", autouse=True)
def embedded_servers() -> None:
    """Without DATABASE_URL / REDIS_URL the suite runs on the embedded servers; settings
    only say where they listen, so start (or attach to) them before anything connects."""
    if settings.EMBEDDED_SERVERS:
        from salesops import embedded

        embedded.start(
            settings.EMBEDDED_SERVERS,
            expected={"postgres": settings.DATABASE_URL, "redis": settings.REDIS_URL},
        )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(embedded_servers, django_db_modify_db_settings_parallel_suffix):
    """pytest-django's hook before the test database is made: the servers are up by then."""


# --- what the migrations seeded outlives a transactional test ------------------------------
# A transactional test (a real Celery worker, the browser's live server) ends by emptying
# every table, including the rows the migrations seeded (qualification frameworks, skills,
# checklists, the data-version row). Run one after the other, pytest-django puts such tests
# last; in parallel a worker runs whole files in turn, so a later file would find them
# gone. The rows are kept when the database is made and written back after each flush.
OUR_APPS = ("salesops", "pipeline", "proposals", "coaching", "forecasting", "hiring")
_seeded_rows: dict[str, str] = {}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        rows = (row for model in _our_models() for row in model._default_manager.order_by("pk"))
        _seeded_rows[DEFAULT_DB_ALIAS] = serializers.serialize("json", rows)
    # flush ends with post_migrate, once per app: write back after the last of ours.
    post_migrate.connect(
        _write_back_seeded_rows, sender=django_apps.get_app_config(OUR_APPS[-1]),
        dispatch_uid="tests.write_back_seeded_rows",
    )  # fmt: skip


def _our_models() -> list[type]:
    return [
        model
        for app in OUR_APPS
        for model in django_apps.get_app_config(app).get_models()
        if model._meta.managed and not model._meta.proxy
    ]


def _write_back_seeded_rows(sender, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    with transaction.atomic(using=using):
        for row in serializers.deserialize("json", _seeded_rows.get(using, "[]"), using=using):
            row.save(using=using)
        # As loaddata does: the sequences continue after the ids written back.
        with connections[using].cursor() as cursor:
            for sql in connections[using].ops.sequence_reset_sql(no_style(), _our_models()):
                cursor.execute(sql)


# --- builders: the fixtures below use them, and so does a module-wide cast
# (`make_cast`, for tests that build one world for many probes) ---------------------------


def make_manager(team: Team, username: str) -> User:
    user = UserFactory(username=username, role=Role.MANAGER, team=team)
    team.manager = user
    team.save(update_fields=["manager"])
    return user


def make_rep(team: Team, username: str) -> User:
    return UserFactory(username=username, role=Role.REP, team=team)


def make_leader() -> User:
    return UserFactory(username="leader", role=Role.LEADER)


def make_admin() -> User:
    return UserFactory(username="admin", role=Role.ADMIN, is_staff=True, is_superuser=True)


def make_pipeline() -> Pipeline:
    """New business: Discover → Qualify → Proposal → Closed won / Closed lost, with
    two milestones in Discover (one needs evidence), one in Qualify, one optional in Proposal."""
    p = PipelineFactory(name="New business")
    discover = StageFactory(
        pipeline=p, name="Discover", order=1, probability=10, forecast_category="pipeline"
    )
    qualify = StageFactory(
        pipeline=p, name="Qualify", order=2, probability=25, forecast_category="pipeline"
    )
    proposal = StageFactory(
        pipeline=p, name="Proposal", order=3, probability=60, forecast_category="best_case"
    )
    won = StageFactory(
        pipeline=p,
        name="Closed won",
        order=4,
        probability=100,
        forecast_category="closed",
        is_won=True,
        warn_days=None,
        rot_days=None,
    )
    lost = StageFactory(
        pipeline=p,
        name="Closed lost",
        order=5,
        probability=0,
        forecast_category="omitted",
        is_lost=True,
        warn_days=None,
        rot_days=None,
    )
    MilestoneFactory(
        stage=discover, title="Pain identified", kind=MilestoneKind.SELLER_ACTION, order=1
    )
    MilestoneFactory(
        stage=discover,
        title="Economic buyer confirmed the problem is worth solving",
        kind=MilestoneKind.BUYER_COMMITMENT,
        requires_evidence=True,
        order=2,
    )
    MilestoneFactory(
        stage=qualify,
        title="Decision process mapped with the customer",
        kind=MilestoneKind.BUYER_COMMITMENT,
        order=1,
    )
    MilestoneFactory(
        stage=proposal,
        title="Proposal reviewed with champion",
        kind=MilestoneKind.SELLER_ACTION,
        required=False,
        order=1,
    )
    p.discover, p.qualify, p.proposal, p.won, p.lost = discover, qualify, proposal, won, lost
    return p


def make_cast() -> dict[str, Any]:
    """The whole cast and the pipeline at once, as the fixtures of the same names make
    them."""
    team_a, team_b = TeamFactory(name="Team A"), TeamFactory(name="Team B")
    manager = make_manager(team_a, "manager")
    other_manager = make_manager(team_b, "other_manager")
    return {
        "rep": make_rep(team_a, "rep"),
        "teammate": make_rep(team_a, "teammate"),
        "manager": manager,
        "other_manager": other_manager,
        "other_rep": make_rep(team_b, "other_rep"),
        "leader": make_leader(),
        "admin_user": make_admin(),
        "pipeline": make_pipeline(),
    }


# --- the cast ------------------------------------------------------------------------------


@pytest.fixture
def team_a(db):
    return TeamFactory(name="Team A")


@pytest.fixture
def team_b(db):
    return TeamFactory(name="Team B")


@pytest.fixture
def manager(team_a):
    return make_manager(team_a, "manager")


@pytest.fixture
def other_manager(team_b):
    return make_manager(team_b, "other_manager")


@pytest.fixture
def rep(team_a, manager):
    return make_rep(team_a, "rep")


@pytest.fixture
def teammate(team_a, manager):
    return make_rep(team_a, "teammate")


@pytest.fixture
def other_rep(team_b, other_manager):
    return make_rep(team_b, "other_rep")


@pytest.fixture
def leader(db):
    return make_leader()


@pytest.fixture
def admin_user(db):
    return make_admin()


@pytest.fixture
def pipeline(db):
    """New business: Discover → Qualify → Proposal → Closed won / Closed lost, with
    two milestones in Discover (one needs evidence), one in Qualify, one optional in Proposal."""
    return make_pipeline()


@pytest.fixture
def opportunity(rep, pipeline):
    return OpportunityFactory(owner=rep, stage=pipeline.discover, name="Acme rollout")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def key_for():
    """key_for(user, scopes=("read", "write")) -> an APIClient authenticated with a new key."""

    def make(user, scopes=("read", "write")):
        _, raw = api_key_create(user=user, name="test", scopes=list(scopes))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make
