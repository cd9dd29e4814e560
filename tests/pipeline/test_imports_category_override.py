"""CSV import and a forecast category set by hand: an import cannot ask, so it keeps the
manual category and says so, unless the row answers in `forecast_category_on_move`."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from pipeline.models import Opportunity, OpportunityChange
from tests.factories import OpportunityFactory
from tests.pipeline.test_imports import run
from tests.pipeline.test_services import tick_all

HEADER = "external_id,name,account,close_date,stage,forecast_category_on_move\n"


@pytest.fixture
def committed(rep, pipeline):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        source="crm",
        external_id="A1",
        name="Acme",
        forecast_category="commit",
        forecast_category_override_reason="Signed LOI",
    )
    tick_all(opp, pipeline.qualify, rep)
    return opp


def test_without_an_answer_the_import_keeps_the_override_and_warns(rep, pipeline, committed):
    report = run(rep, HEADER + "A1,Acme,Acme GmbH,2027-01-31,Proposal,\n")
    assert (report.updated, report.moved, report.failures) == (1, 1, [])
    [warning] = report.warnings
    assert (warning.line, warning.external_id, warning.code) == (
        2,
        "A1",
        "kept_manual_forecast_category",
    )
    assert warning.message.startswith(
        "Kept the manual forecast category Commit (reason: Signed LOI); stage 'Proposal' "
        "defaults to Best case."
    )
    committed.refresh_from_db()
    assert committed.stage == pipeline.proposal
    assert (committed.forecast_category, committed.forecast_category_override_reason) == (
        "commit",
        "Signed LOI",
    )
    # Exactly one move was recorded: the refused first attempt left nothing behind.
    assert committed.changes.filter(field="stage", changed_by=rep).count() == 1


def test_a_column_without_the_header_works_the_same(rep, pipeline, committed):
    text = "external_id,name,account,close_date,stage\nA1,Acme,Acme GmbH,2027-01-31,Proposal\n"
    report = run(rep, text)
    assert report.moved == 1 and len(report.warnings) == 1


def test_the_row_may_answer_follow(rep, pipeline, committed):
    report = run(rep, HEADER + "A1,Acme,Acme GmbH,2027-01-31,Proposal,follow\n")
    assert (report.moved, report.failures, report.warnings) == (1, [], [])
    committed.refresh_from_db()
    assert (committed.forecast_category, committed.forecast_category_override_reason) == (
        "best_case",
        "",
    )
    change = committed.changes.get(field="forecast_category", changed_by=rep)
    assert change.note.startswith("Manual override replaced by the default of stage 'Proposal'")


def test_the_row_may_answer_keep_without_a_warning(rep, pipeline, committed):
    report = run(rep, HEADER + "A1,Acme,Acme GmbH,2027-01-31,Proposal,keep\n")
    assert (report.moved, report.failures, report.warnings) == (1, [], [])
    committed.refresh_from_db()
    assert committed.forecast_category == "commit"


def test_a_bad_answer_refuses_the_row_whole(rep, pipeline, committed):
    before = (committed.version, OpportunityChange.objects.count())
    report = run(rep, HEADER + "A1,Acme renamed,Acme GmbH,2027-01-31,Proposal,maybe\n")
    [failure] = report.failures
    assert failure.code == "invalid" and list(failure.details) == ["forecast_category_on_move"]
    assert report.warnings == []
    committed.refresh_from_db()
    assert committed.name == "Acme"  # the row is saved whole or not at all
    assert (committed.version, OpportunityChange.objects.count()) == before


def test_all_or_nothing_drops_the_warnings_with_the_rows(rep, pipeline, committed):
    text = HEADER + ("A1,Acme,Acme GmbH,2027-01-31,Proposal,\nA2,Broken,Acme GmbH,not-a-date,,\n")
    report = run(rep, text, all_or_nothing=True)
    assert report.rolled_back and report.warnings == []
    committed.refresh_from_db()
    assert committed.stage == pipeline.qualify
    assert Opportunity.objects.count() == 1


def test_the_command_prints_the_warning(rep, pipeline, committed, tmp_path, capsys):
    path = tmp_path / "export.csv"
    path.write_text(HEADER + "A1,Acme,Acme GmbH,2027-01-31,Proposal,\n")
    call_command("import_opportunities", str(path), user="rep", source="crm")
    out = capsys.readouterr().out
    assert "line 2 (A1): Kept the manual forecast category Commit" in out
    assert "Imported: created 0, updated 1, moved 1" in out
