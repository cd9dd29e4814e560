"""The fixed cast and a small pipeline every test can use.

Cast: `rep` and `teammate` in team A managed by `manager`; `other_rep` in team B
managed by `other_manager`; `leader` sees everything; `admin` administers.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from pipeline.models import MilestoneKind
from salesops.models import Role
from salesops.services import api_key_create
from tests.factories import (
    MilestoneFactory,
    OpportunityFactory,
    PipelineFactory,
    StageFactory,
    TeamFactory,
    UserFactory,
)


@pytest.fixture
def team_a(db):
    return TeamFactory(name="Team A")


@pytest.fixture
def team_b(db):
    return TeamFactory(name="Team B")


@pytest.fixture
def manager(team_a):
    user = UserFactory(username="manager", role=Role.MANAGER, team=team_a)
    team_a.manager = user
    team_a.save(update_fields=["manager"])
    return user


@pytest.fixture
def other_manager(team_b):
    user = UserFactory(username="other_manager", role=Role.MANAGER, team=team_b)
    team_b.manager = user
    team_b.save(update_fields=["manager"])
    return user


@pytest.fixture
def rep(team_a, manager):
    return UserFactory(username="rep", role=Role.REP, team=team_a)


@pytest.fixture
def teammate(team_a, manager):
    return UserFactory(username="teammate", role=Role.REP, team=team_a)


@pytest.fixture
def other_rep(team_b, other_manager):
    return UserFactory(username="other_rep", role=Role.REP, team=team_b)


@pytest.fixture
def leader(db):
    return UserFactory(username="leader", role=Role.LEADER)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role=Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def pipeline(db):
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
