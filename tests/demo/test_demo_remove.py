"""Removing the demo company keeps everything of the real company's."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from demo.company.cast import DEMO_USERNAMES
from demo.services import demo_remove
from forecasting.models import ForecastSubmission
from hiring.models import Candidate, Position
from pipeline.models import Account, Opportunity, Pipeline
from salesops.exceptions import Conflict, PermissionDenied
from salesops.models import Role, Team, User
from tests.clock import default_clock
from tests.exchange.conftest import make_import_pipeline
from tests.factories import OpportunityFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(default_clock(), tick=False)]


@pytest.fixture
def company(db):
    """The demo, plus a real company beside it: its own admin, pipeline, rep and deal."""
    call_command("seed_demo", stdout=StringIO())
    own_admin = UserFactory(username="founder", role=Role.ADMIN, is_staff=True)
    own_pipeline = make_import_pipeline("Our pipeline")
    own_rep = UserFactory(username="ana", role=Role.REP, team=Team.objects.create(name="Ours"))
    own_deal = OpportunityFactory(
        owner=own_rep, stage=own_pipeline.stages.order_by("order").first(), name="Our deal"
    )
    return own_admin, own_rep, own_deal


def test_the_demo_goes_and_the_company_stays(company):
    own_admin, _, own_deal = company
    assert ForecastSubmission.objects.exists()
    removed = demo_remove(actor=own_admin)
    assert removed.people == len(DEMO_USERNAMES) and removed.opportunities > 300
    assert removed.forecast_calls > 0 and removed.pipelines == 1
    assert not User.objects.filter(username__in=DEMO_USERNAMES).exists()
    assert not Candidate.objects.exists() and not Position.objects.exists()
    assert not Team.objects.filter(name__in=["Enterprise", "Mid-market"]).exists()
    assert list(Opportunity.objects.all()) == [own_deal]
    assert set(Pipeline.objects.values_list("name", flat=True)) == {"Our pipeline"}
    assert Account.objects.filter(pk=own_deal.account_id).exists()
    assert set(User.objects.values_list("username", flat=True)) == {"founder", "ana"}
    assert not ForecastSubmission.objects.exists()


def test_forecast_calls_stay_immutable_outside_the_removal(company):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM forecasting_forecastsubmission")
    assert ForecastSubmission.objects.exists()


def test_refusals_change_nothing(company):
    own_admin, own_rep, own_deal = company
    demo_admin = User.objects.get(username="admin")
    deals = Opportunity.objects.count()
    with pytest.raises(PermissionDenied):
        demo_remove(actor=own_rep)
    with pytest.raises(Conflict) as refused:
        demo_remove(actor=demo_admin)
    assert refused.value.code == "demo_actor"
    # A demo rep owns a deal of the real company's pipeline: the rep is still needed.
    OpportunityFactory(
        owner=User.objects.get(username="rep1"),
        stage=own_deal.stage,
        name="Handed over too late",
    )
    with pytest.raises(Conflict) as refused:
        demo_remove(actor=own_admin)
    assert refused.value.code == "demo_in_use"
    assert Opportunity.objects.count() == deals + 1
    assert User.objects.filter(username__in=DEMO_USERNAMES).count() == len(DEMO_USERNAMES)


def test_the_setup_page_offers_it_and_the_command_does_it(client, company):
    own_admin, _, _ = company
    client.force_login(own_admin)
    assert reverse("demo:remove") in client.get(reverse("setup")).content.decode()
    out = StringIO()
    call_command("demo_remove", "--user", "founder", stdout=out)
    assert "Demo removed: 12 people" in out.getvalue()
    assert reverse("demo:remove") not in client.get(reverse("setup")).content.decode()
    assert client.get(reverse("demo:remove")).status_code == 404
    with pytest.raises(CommandError, match="no demo"):
        call_command("demo_remove", "--user", "founder", stdout=StringIO())
