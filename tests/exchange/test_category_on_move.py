"""An import that moves a deal whose forecast category was set by hand: it cannot ask, so
it keeps the manual category and says so, unless the row answers in
`forecast_category_on_move` (keep or follow) — as the page and the API ask."""

from __future__ import annotations

import pytest

from exchange import services
from pipeline.models import Opportunity
from tests.factories import OpportunityFactory
from tests.pipeline.test_services import tick_all

pytestmark = pytest.mark.django_db
HEADER = "external_id,name,account,close_date,stage,forecast_category_on_move\n"


@pytest.fixture
def committed(rep, pipeline):
    """A deal of `rep` from "crm" in Qualify, its gate met, set to Commit by hand."""
    opp = OpportunityFactory(
        owner=rep, stage=pipeline.qualify, source="crm", external_id="A1", name="Acme",
        forecast_category="commit", forecast_category_override_reason="Signed LOI",
    )  # fmt: skip
    tick_all(opp, pipeline.qualify, rep)
    return opp


def run(actor, text: str):
    batch = services.batch_upload(
        actor=actor, kind="opportunities", source="crm", file_name="f.csv", content=text.encode()
    )
    return services.batch_start(actor=actor, batch_id=batch.pk, background=False)


def test_without_an_answer_the_import_keeps_the_override_and_says_so(
    leader, rep, pipeline, committed
):
    batch = run(leader, HEADER + "A1,Acme,Acme GmbH,2027-01-31,Proposal,\n")
    assert batch.counts["moved"] == 1 and batch.counts["rejected"] == 0
    [warning] = [w for w in batch.warnings if w["field"] == "forecast_category_on_move"]
    assert warning["line"] == 2
    assert warning["message"].startswith(
        "Kept the manual forecast category Commit (reason: Signed LOI); the stage defaults "
        "to Best case."
    )
    committed.refresh_from_db()
    assert committed.stage == pipeline.proposal
    assert (committed.forecast_category, committed.forecast_category_override_reason) == (
        "commit", "Signed LOI",
    )  # fmt: skip
    # One move recorded: the refused first attempt left nothing behind.
    assert committed.changes.filter(field="stage", changed_by=leader).count() == 1


def test_the_row_may_answer_follow(leader, pipeline, committed):
    batch = run(leader, HEADER + "A1,Acme,Acme GmbH,2027-01-31,Proposal,follow\n")
    assert batch.counts["moved"] == 1 and not [
        w for w in batch.warnings if w["field"] == "forecast_category_on_move"
    ]
    committed.refresh_from_db()
    assert (committed.forecast_category, committed.forecast_category_override_reason) == (
        "best_case", "",
    )  # fmt: skip


def test_a_bad_answer_refuses_the_row_whole(leader, pipeline, committed):
    batch = run(leader, HEADER + "A1,Acme renamed,Acme GmbH,2027-01-31,Proposal,maybe\n")
    assert batch.counts["rejected"] == 1
    assert "'maybe' is not keep or follow" in batch.problems[0]["message"]
    committed.refresh_from_db()
    assert (committed.stage, committed.name) == (pipeline.qualify, "Acme")
    assert Opportunity.objects.count() == 1
