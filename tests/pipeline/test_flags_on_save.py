"""A deal's attention flags follow its creation and its changes at once, on every path (the
page, the API's create, PATCH and upsert, the import), not at the next hourly run; the
pages ask before saving a close date in the past on an open deal, the API does not."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from pipeline import services
from pipeline.models import Opportunity, OpportunityFlag
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = [
    pytest.mark.django_db,
    # A Wednesday mid-quarter at 10:00 in the organisation's time zone (Europe/Berlin).
    pytest.mark.time_machine(dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC), tick=False),
]

PAST = dt.date(2020, 3, 31)
PAST_EXPLANATION = "Close date 31 Mar 2020 has passed"
CONFIRM = "confirm_past_close_date"


def open_flags(opp: Opportunity) -> dict[str, tuple[str, str]]:
    return {
        f.kind: (f.severity, f.explanation)
        for f in OpportunityFlag.objects.filter(opportunity=opp, cleared_at__isnull=True)
    }


@pytest.fixture
def account(db):
    return AccountFactory(name="Initech")


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


# --- the service: every path ---------------------------------------------------------------


def test_create_decides_the_new_deals_flags_at_once(rep, pipeline, account):
    opp = services.opportunity_create(
        actor=rep, name="Late deal", account=account, close_date=PAST, amount="1000"
    )
    assert open_flags(opp)["past_close_date"] == ("critical", PAST_EXPLANATION)


def test_upsert_creating_a_deal_decides_its_flags_at_once(rep, pipeline, account):
    opp, created = services.opportunity_upsert_by_external_id(
        actor=rep,
        source="hubspot",
        external_id="77",
        data={"name": "Synced", "account": account, "close_date": PAST},
    )
    assert created
    assert open_flags(opp)["past_close_date"] == ("critical", PAST_EXPLANATION)


def test_create_with_a_future_close_date_raises_no_flag(rep, pipeline, account):
    opp = services.opportunity_create(
        actor=rep, name="On time", account=account, close_date=dt.date(2027, 3, 31)
    )
    assert open_flags(opp) == {}


# --- the API: never asks, flags in the response ----------------------------------------------


def test_api_create_with_a_past_close_date_is_created_with_its_flag(
    rep, pipeline, account, key_for
):
    response = key_for(rep).post(
        "/api/v1/opportunities/",
        {"name": "Late deal", "account": account.pk, "amount": "10", "close_date": "2020-03-31"},
    )
    assert response.status_code == 201, response.content
    flags = {f["kind"]: f["explanation"] for f in response.json()["open_flags"]}
    assert flags == {"past_close_date": PAST_EXPLANATION}
    assert open_flags(Opportunity.objects.get())["past_close_date"][1] == PAST_EXPLANATION


def test_api_upsert_create_and_patch_have_their_flags_in_the_response(
    rep, pipeline, account, key_for
):
    client = key_for(rep)
    path = "/api/v1/opportunities/by-external-id/salesforce/006X/"
    created = client.put(
        path, {"name": "Synced", "account": account.pk, "close_date": "2020-03-31"}
    )
    assert created.status_code == 201, created.content
    assert [f["kind"] for f in created.json()["open_flags"]] == ["past_close_date"]
    opp = Opportunity.objects.get()
    patched = client.patch(f"/api/v1/opportunities/{opp.pk}/", {"close_date": "2027-01-15"})
    assert patched.status_code == 200, patched.content
    assert patched.json()["open_flags"] == []
    assert open_flags(opp) == {}


# --- the pages: ask first, then save with the flag -------------------------------------------


def create_form(account, **extra) -> dict:
    return {
        "name": "Late deal",
        "account": account.pk,
        "amount": "25000",
        "currency": "EUR",
        "close_date": "2020-03-31",
        "next_step": "Call the CFO",
        **extra,
    }


def test_page_create_asks_before_saving_a_past_close_date(logged_in, rep, pipeline, account):
    client = logged_in(rep)
    response = client.post(reverse("pipeline:opportunity_create"), create_form(account))
    assert response.status_code == 422
    assert not Opportunity.objects.exists()
    form = response.context["form"]
    assert "is in the past" in " ".join(form.errors["close_date"])
    body = response.content.decode()
    # What the user typed is kept, and the page offers the confirmation.
    assert 'value="2020-03-31"' in body and 'value="Late deal"' in body
    assert "Call the CFO" in body
    assert f'name="{CONFIRM}"' in body

    response = client.post(
        reverse("pipeline:opportunity_create"), create_form(account, **{CONFIRM: "on"})
    )
    assert response.status_code == 302
    opp = Opportunity.objects.get()
    assert opp.close_date == PAST
    assert open_flags(opp)["past_close_date"] == ("critical", PAST_EXPLANATION)
    page = client.get(response["Location"]).content.decode()
    assert PAST_EXPLANATION in page


def test_page_create_with_a_future_date_does_not_ask(logged_in, rep, pipeline, account):
    response = logged_in(rep).post(
        reverse("pipeline:opportunity_create"), create_form(account, close_date="2027-02-01")
    )
    assert response.status_code == 302
    assert open_flags(Opportunity.objects.get()) == {}


def test_page_create_first_render_does_not_offer_the_confirmation(logged_in, rep, pipeline):
    body = logged_in(rep).get(reverse("pipeline:opportunity_create")).content.decode()
    assert f'name="{CONFIRM}"' not in body


def edit_form(opp, **extra) -> dict:
    return {
        "version": opp.version,
        "amount": "15000",
        "close_date": "2020-03-31",
        "next_step": "Chase the PO",
        "forecast_category": opp.forecast_category,
        **extra,
    }


def test_page_edit_asks_before_moving_the_close_date_into_the_past(logged_in, rep, opportunity):
    client = logged_in(rep)
    before = opportunity.close_date
    url = reverse("pipeline:opportunity_edit", args=[opportunity.pk])
    response = client.post(url, edit_form(opportunity))
    assert response.status_code == 422
    assert "is in the past" in " ".join(response.context["edit_form"].errors["close_date"])
    body = response.content.decode()
    assert 'value="2020-03-31"' in body and "Chase the PO" in body and 'value="15000"' in body
    opportunity.refresh_from_db()
    assert opportunity.close_date == before and opportunity.next_step == ""

    response = client.post(url, edit_form(opportunity, **{CONFIRM: "on"}))
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.close_date == PAST
    assert open_flags(opportunity)["past_close_date"] == ("critical", PAST_EXPLANATION)


def test_page_edit_of_a_deal_already_past_its_close_date_does_not_ask_again(
    logged_in, rep, pipeline
):
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover, close_date=PAST)
    response = logged_in(rep).post(
        reverse("pipeline:opportunity_edit", args=[opp.pk]), edit_form(opp)
    )
    assert response.status_code == 302
    opp.refresh_from_db()
    assert opp.next_step == "Chase the PO"
