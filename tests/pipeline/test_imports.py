"""CSV import: the same services and gate as every other path; rows whole or not at all."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from pipeline import services
from pipeline.imports import opportunities_import_csv
from pipeline.models import Account, Milestone, Opportunity, OpportunityChange
from salesops.exceptions import ValidationFailed

HEADER = "external_id,name,account,amount,currency,close_date,owner,next_step,stage\n"


def run(actor, text, **kwargs):
    return opportunities_import_csv(actor=actor, source="crm", stream=io.StringIO(text), **kwargs)


def test_import_creates_then_updates_without_duplicates(rep, pipeline):
    text = HEADER + (
        "A1,Acme rollout,Acme GmbH,12000,EUR,2027-01-31,,Send deck,\n"
        "A2,Globex pilot,Globex,5000,EUR,2027-02-28,rep,,\n"
    )
    report = run(rep, text)
    assert (report.created, report.updated, report.failures) == (2, 0, [])
    report = run(rep, text.replace("12000", "15000"))
    assert (report.created, report.updated) == (0, 2)
    assert Opportunity.objects.count() == 2 and Account.objects.count() == 2
    acme = Opportunity.objects.get(external_id="A1")
    assert acme.amount == Decimal("15000.00") and acme.owner == rep
    assert acme.changes.filter(field="amount", new_value="15000.00").exists()


def test_import_goes_through_the_gate(rep, pipeline):
    report = run(rep, HEADER + "A1,Acme,Acme GmbH,1,EUR,2027-01-31,,,Qualify\n")
    assert report.created == 0
    [failure] = report.failures
    assert failure.line == 2 and failure.code == "gate_not_met"
    assert [m["title"] for m in failure.details["missing"]] == [
        "Pain identified",
        "Economic buyer confirmed the problem is worth solving",
    ]
    # the row is saved whole or not at all: no opportunity without its stage
    assert Opportunity.objects.count() == 0 and OpportunityChange.objects.count() == 0


def test_import_moves_when_the_gate_is_met(rep, pipeline):
    run(rep, HEADER + "A1,Acme,Acme GmbH,1,EUR,2027-01-31,,,\n")
    opp = Opportunity.objects.get()
    for m in Milestone.objects.filter(stage=pipeline.discover):
        services.milestone_complete(
            opportunity_id=opp.pk, milestone_id=m.pk, actor=rep, evidence="CFO call"
        )
    report = run(rep, HEADER + "A1,Acme,Acme GmbH,1,EUR,2027-01-31,,,qualify\n")
    assert (report.updated, report.moved, report.failures) == (1, 1, [])
    opp.refresh_from_db()
    assert opp.stage == pipeline.qualify


def test_bad_rows_are_reported_and_good_rows_kept(rep, teammate, pipeline):
    text = HEADER + (
        "A1,Good,Acme GmbH,100,EUR,2027-01-31,,,\n"
        "A2,Negative,Acme GmbH,-5,EUR,2027-01-31,,,\n"
        "A3,Bad date,Acme GmbH,5,EUR,31/01/2027,,,\n"
        "A4,Not mine to assign,Acme GmbH,5,EUR,2027-01-31,teammate,,\n"
        "A5,Unknown stage,Acme GmbH,5,EUR,2027-01-31,,,Haggling\n"
    )
    report = run(rep, text)
    assert report.created == 1
    fields = {f.line: set(f.details) for f in report.failures}
    assert fields == {3: {"amount"}, 4: {"close_date"}, 5: {"owner"}, 6: {"stage"}}
    assert list(Opportunity.objects.values_list("external_id", flat=True)) == ["A1"]


def test_all_or_nothing_keeps_nothing_when_a_row_fails(rep, pipeline):
    text = (
        HEADER + "A1,Good,Acme GmbH,100,EUR,2027-01-31,,,\nA2,Bad,Acme GmbH,x,EUR,2027-01-31,,,\n"
    )
    report = run(rep, text, all_or_nothing=True)
    assert report.rolled_back and report.created == 0 and len(report.failures) == 1
    assert Opportunity.objects.count() == 0 and Account.objects.count() == 0


def test_header_is_checked_before_anything_is_saved(rep, pipeline):
    with pytest.raises(ValidationFailed) as exc:
        run(rep, "id,title\n1,x\n")
    assert "external_id" in exc.value.details["columns"][0]
    assert Opportunity.objects.count() == 0


def test_command_reports_refusals_and_exit_status(rep, pipeline, tmp_path, capsys):
    path = tmp_path / "export.csv"
    path.write_text(
        HEADER + "A1,Good,Acme GmbH,100,EUR,2027-01-31,,,\nA2,Bad,Acme,-1,EUR,2027-01-31,,,\n"
    )
    with pytest.raises(CommandError, match="created 1, updated 0, moved 0, refused 1"):
        call_command("import_opportunities", str(path), user="rep", source="crm")
    assert "line 3 (A2)" in capsys.readouterr().err
    path.write_text(HEADER + "A3,Fine,Acme GmbH,100,EUR,2027-01-31,,,\n")
    call_command("import_opportunities", str(path), user="rep", source="crm")
    assert "Imported: created 1" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No active user"):
        call_command("import_opportunities", str(path), user="nobody", source="crm")
