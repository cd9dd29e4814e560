"""`manage.py import_csv opportunities …`: the same import from the terminal."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from exchange.models import ImportBatch
from pipeline.models import Opportunity
from tests.clock import default_clock
from tests.exchange import corpus

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_csv", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def export_file(tmp_path):
    path = tmp_path / "pipedrive.csv"
    path.write_bytes(corpus.pipedrive(corpus.true_deals(default_clock().date(), count=25)))
    return path


def test_dry_run_then_import_then_reimport(leader, import_pipeline, sellers, export_file):
    out, _ = run("opportunities", str(export_file), "--source", "Pipedrive", "--user", "leader",
                 "--dry-run")  # fmt: skip
    assert "Deal - Owner                     → Owner" in out
    assert "Would import: created 25, updated 0, moved 0, unchanged 0, refused 0." in out
    assert not Opportunity.objects.exists()

    out, err = run("opportunities", str(export_file), "--source", "Pipedrive", "--user", "leader")
    assert "Imported: created 25" in out and "25 of 25 rows" in err
    assert Opportunity.objects.filter(source="Pipedrive").count() == 25

    # The unchanged file again: unchanged, not a failure (no SystemExit).
    out, _ = run("opportunities", str(export_file), "--source", "Pipedrive", "--user", "leader")
    assert "created 0, updated 0, moved 0, unchanged 25, refused 0." in out


def test_maps_values_and_dates_given_on_the_command_line(leader, import_pipeline, sellers,
                                                         tmp_path):  # fmt: skip
    path = tmp_path / "sheet.csv"
    path.write_text(
        "Ref,Title,Client,Seller,Where,Worth,When\n"
        "S-1,Big one,Initech,A. Souza,Thinking,100,03/04/2027\n",
        encoding="utf-8",
    )
    out, _ = run(
        "opportunities", str(path), "--source", "sheet", "--user", "leader",
        "--map", "Ref=external_id", "--map", "Title=name", "--map", "Client=account",
        "--map", "Seller=owner", "--map", "Where=stage", "--map", "Worth=amount",
        "--map", "When=close_date",
        "--value-map", "stage:Thinking=Qualify",
        "--value-map", "owner:A. Souza=ana.souza@example.com",
        "--date-format", "dmy",
    )  # fmt: skip
    deal = Opportunity.objects.get(external_id="S-1")
    assert (deal.stage.name, deal.owner.email) == ("Qualify", "ana.souza@example.com")
    assert deal.close_date.isoformat() == "2027-04-03"  # 3 April: day/month
    assert "created 1" in out


def test_refused_rows_exit_1_after_importing_the_rest(leader, import_pipeline, sellers,
                                                      tmp_path):  # fmt: skip
    path = tmp_path / "bad.csv"
    path.write_text(
        "Opportunity ID,Opportunity Name,Account Name,Opportunity Owner,Stage,Close Date\n"
        "B-1,Fine,Initech,Ana Souza,Discover,3/14/2027\n"
        "B-2,Broken,Initech,Ana Souza,Discover,2/30/2027\n",
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as exit_:
        run("opportunities", str(path), "--source", "x", "--user", "leader")
    assert exit_.value.code == 1
    assert list(Opportunity.objects.values_list("external_id", flat=True)) == ["B-1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody"], "No active user named 'nobody'"),
        (["--user", "leader", "--map", "Nope=name"], "the file has no column 'Nope'"),
        (["--user", "leader", "--value-map", "stage:X=Nowhere"], "no stage 'Nowhere'"),
        (["--user", "rep"], "Only administrators and sales leaders can import"),
    ],
)
def test_command_problems_are_said_not_raised(
    leader, rep, import_pipeline, export_file, args, message
):
    with pytest.raises(CommandError, match=message):
        run("opportunities", str(export_file), "--source", "x", *args)
    assert not Opportunity.objects.exists()
    assert not ImportBatch.objects.filter(status="done").exists()
