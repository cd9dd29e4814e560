"""A company ready to import into: a five-stage pipeline and the people the corpus names."""

from __future__ import annotations

import pytest

from pipeline.models import Pipeline
from salesops.models import Role
from tests.exchange.corpus import OPEN_STAGES, OWNERS
from tests.factories import PipelineFactory, StageFactory, TeamFactory, UserFactory

PROBABILITIES = {"Discover": 10, "Qualify": 20, "Solution": 40, "Proposal": 60, "Negotiate": 80}
CATEGORIES = {"Proposal": "best_case", "Negotiate": "commit"}


def make_import_pipeline(name: str = "New business") -> Pipeline:
    pipeline = PipelineFactory(name=name)
    for order, name in enumerate(OPEN_STAGES, start=1):
        StageFactory(
            pipeline=pipeline, name=name, order=order, probability=PROBABILITIES[name],
            forecast_category=CATEGORIES.get(name, "pipeline"),
        )  # fmt: skip
    StageFactory(
        pipeline=pipeline,
        name="Closed won",
        order=6,
        probability=100,
        forecast_category="closed",
        is_won=True,
        warn_days=None,
        rot_days=None,
    )
    StageFactory(
        pipeline=pipeline,
        name="Closed lost",
        order=7,
        probability=0,
        forecast_category="omitted",
        is_lost=True,
        warn_days=None,
        rot_days=None,
    )
    return pipeline


@pytest.fixture
def import_pipeline(db) -> Pipeline:
    return make_import_pipeline()


@pytest.fixture
def sellers(db):
    """The four owners of the corpus, as users of one team (with a manager)."""
    team = TeamFactory(name="Field sales")
    people = {}
    for first, last, email in OWNERS:
        people[email] = UserFactory(
            username=email.split("@")[0], email=email, first_name=first, last_name=last,
            role=Role.REP, team=team,
        )  # fmt: skip
    return people
