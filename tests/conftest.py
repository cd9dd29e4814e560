"""The fixed cast and a small pipeline every test can use.

Cast: `rep` and `teammate` in team A managed by `manager`; `other_rep` in team B
managed by `other_manager`; `leader` sees everything; `admin` administers.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from pipeline.models import MilestoneKind, Pipeline
from salesops.models import Role, Team, User
from salesops.services import api_key_create
from tests.factories import (
    MilestoneFactory,
    OpportunityFactory,
    PipelineFactory,
    StageFactory,
    TeamFactory,
    UserFactory,
)

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
