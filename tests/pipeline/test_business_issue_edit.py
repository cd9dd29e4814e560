"""Business issues are edited and deleted in place on the opportunity page, through one
service each (issue 16, item 6): a seeded "Our value: not mapped yet" is fixed in place,
not by adding a second issue, and the automatic milestone "a business issue is mapped to
our value" follows at once — in the gate, the milestone panel and its summary."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline import services
from pipeline.models import AutoCheck, BusinessIssue
from salesops.exceptions import Conflict, NotFound, ValidationFailed
from salesops.models import AuditEvent
from tests.factories import BusinessIssueFactory, MilestoneFactory, OpportunityFactory

HTMX = {"HTTP_HX_REQUEST": "true"}
MAPPED_TITLE = "Business issue mapped to our value"


def url(name, *args):
    return reverse(f"pipeline:{name}", args=args)


@pytest.fixture
def mapped_milestone(pipeline):
    """Discover's automatic milestone: a business issue is mapped to our value."""
    return MilestoneFactory(
        stage=pipeline.discover,
        title=MAPPED_TITLE,
        auto_check=AutoCheck.BUSINESS_ISSUE_MAPPED,
        order=3,
    )


@pytest.fixture
def unmapped(opportunity):
    """The demo's "Our value: not mapped yet": an issue recorded without our value."""
    return BusinessIssueFactory(
        opportunity=opportunity,
        issue="Stock-outs cost 2 % of revenue",
        impact="Lost orders every month",
        our_value="",
        quantified_value=None,
    )


def stored(issue) -> tuple:
    issue.refresh_from_db()
    return (issue.issue, issue.impact, issue.our_value, issue.quantified_value)


def blocks(opp, stage) -> list[str]:
    return [m.title for m in services.gate_missing(opp, stage)]


def edit_data(bi, **values) -> dict:
    """What the issue's edit form posts (its fields carry the issue's prefix)."""
    data = {
        "issue": bi.issue,
        "impact": bi.impact,
        "our_value": bi.our_value,
        "quantified_value": "" if bi.quantified_value is None else bi.quantified_value,
    }
    data.update(values)
    return {f"issue-{bi.pk}-{k}": v for k, v in data.items()}


def form_of(body: str, testid: str) -> str:
    """The form with `data-testid=testid`, from its opening tag to its end."""
    before, after = body.split(f'data-testid="{testid}"', 1)
    return "<form" + before.rsplit("<form", 1)[1] + after.split("</form>", 1)[0]


# --- the services -------------------------------------------------------------------------


def test_mapping_the_value_in_place_meets_the_automatic_milestone_at_once(
    rep, opportunity, pipeline, mapped_milestone, unmapped
):
    assert MAPPED_TITLE in blocks(opportunity, pipeline.qualify)
    services.business_issue_update(
        business_issue_id=unmapped.pk,
        actor=rep,
        our_value="Replenishment forecasts cut stock-outs by half",
        quantified_value=Decimal("80000"),
    )
    assert stored(unmapped) == (
        "Stock-outs cost 2 % of revenue",
        "Lost orders every month",
        "Replenishment forecasts cut stock-outs by half",
        Decimal("80000.00"),
    )
    assert MAPPED_TITLE not in blocks(opportunity, pipeline.qualify)
    event = AuditEvent.objects.get(action="business_issue.updated")
    assert event.actor == rep and event.target_id == opportunity.pk
    assert event.data == {"id": unmapped.pk, "fields": ["our_value", "quantified_value"]}

    services.business_issue_delete(business_issue_id=unmapped.pk, actor=rep)
    assert not BusinessIssue.objects.exists()
    assert MAPPED_TITLE in blocks(opportunity, pipeline.qualify)
    assert AuditEvent.objects.filter(action="business_issue.deleted").count() == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"issue": "   "}, "issue"),
        ({"quantified_value": "-5"}, "quantified_value"),
        ({"quantified_value": "lots"}, "quantified_value"),
    ],
)
def test_update_refuses_bad_input_and_changes_nothing(rep, unmapped, values, field):
    before = stored(unmapped)
    with pytest.raises(ValidationFailed) as exc:
        services.business_issue_update(business_issue_id=unmapped.pk, actor=rep, **values)
    assert field in exc.value.details
    assert stored(unmapped) == before
    assert not AuditEvent.objects.filter(action="business_issue.updated").exists()


def test_update_and_delete_refuse_a_closed_deal_or_someone_outside_scope(
    rep, teammate, opportunity, pipeline, unmapped
):
    before = stored(unmapped)
    for call in (
        lambda actor: services.business_issue_update(
            business_issue_id=unmapped.pk, actor=actor, our_value="x"
        ),
        lambda actor: services.business_issue_delete(business_issue_id=unmapped.pk, actor=actor),
    ):
        with pytest.raises(NotFound):
            call(teammate)
    opportunity.status, opportunity.stage = "lost", pipeline.lost
    opportunity.closed_at, opportunity.loss_reason = timezone.now(), "No budget"
    opportunity.save(update_fields=["status", "stage", "closed_at", "loss_reason"])
    with pytest.raises(Conflict):
        services.business_issue_update(business_issue_id=unmapped.pk, actor=rep, our_value="x")
    with pytest.raises(Conflict):
        services.business_issue_delete(business_issue_id=unmapped.pk, actor=rep)
    assert stored(unmapped) == before


def test_an_update_that_changes_nothing_records_nothing(rep, unmapped):
    services.business_issue_update(
        business_issue_id=unmapped.pk, actor=rep, impact="  Lost orders every month ", our_value=""
    )
    assert not AuditEvent.objects.filter(action="business_issue.updated").exists()
    services.business_issue_update(business_issue_id=unmapped.pk, actor=rep, impact=" ")
    assert stored(unmapped)[1] == ""
    assert list(
        AuditEvent.objects.filter(action="business_issue.updated").values_list("data", flat=True)
    ) == [{"id": unmapped.pk, "fields": ["impact"]}]


# --- the opportunity page -----------------------------------------------------------------


def test_each_issue_has_an_edit_form_with_its_values_and_a_confirmed_delete(
    client, rep, opportunity, unmapped
):
    client.force_login(rep)
    body = client.get(url("opportunity_detail", opportunity.pk)).content.decode()
    card = body.split('id="business-issues"', 1)[1].split('id="proposals', 1)[0]
    # The edit fold-out fetches its form when opened (the page renders no form nobody opens).
    edit_url = url("business_issue_edit", opportunity.pk, unmapped.pk)
    fold_out = card.split(f'id="issue-{unmapped.pk}"', 1)[1].split("</details>", 1)[0]
    assert f'hx-get="{edit_url}"' in fold_out
    assert 'hx-trigger="toggle from:closest details once"' in fold_out
    assert f'href="{edit_url}#business-issues"' in fold_out  # without JavaScript
    assert 'data-testid="issue-edit"' not in card
    fragment = client.get(edit_url, **HTMX)
    assert fragment.status_code == 200
    edit = form_of(fragment.content.decode(), "issue-edit")
    assert f'action="{edit_url}"' in edit
    assert f'name="issue-{unmapped.pk}-issue"' in edit
    assert 'value="Stock-outs cost 2 % of revenue"' in edit
    assert "Lost orders every month</textarea>" in edit
    delete = form_of(card, "issue-delete")
    assert f'action="{url("business_issue_delete", opportunity.pk, unmapped.pk)}"' in delete
    assert "Delete “Stock-outs cost 2 % of revenue”?" in delete  # the confirmation
    assert "<details" in card.split('data-testid="issue-delete"', 1)[0].rsplit("<li", 1)[1]


def test_without_htmx_the_fold_out_link_opens_the_page_with_that_form_open(
    client, rep, opportunity, unmapped
):
    client.force_login(rep)
    for path, testid in (
        (url("business_issue_edit", opportunity.pk, unmapped.pk), "issue-edit"),
        (url("business_issue_create", opportunity.pk), "issue-create"),
        (url("activity_create", opportunity.pk), "activity-create"),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        assert body.count('data-testid="fold-out-form"') == 2  # the other two fold-outs
        form = form_of(body, testid)
        assert f'action="{path}"' in form
        opened = body.split(f'data-testid="{testid}"', 1)[0].rsplit("<details", 1)[1]
        assert opened.startswith(" open>"), path


def test_a_closed_deal_offers_no_business_issue_form(client, rep, opportunity, unmapped):
    services.opportunity_close_lost(
        opportunity_id=opportunity.pk, actor=rep, loss_reason="Chose a competitor"
    )
    client.force_login(rep)
    for path in (
        url("business_issue_edit", opportunity.pk, unmapped.pk),
        url("business_issue_create", opportunity.pk),
    ):
        fragment = client.get(path, **HTMX)
        assert fragment.status_code == 200
        assert "This deal is closed." in fragment.content.decode()
        assert "<form" not in fragment.content.decode()
        page = client.get(path)
        assert page.status_code == 302
        assert page["Location"] == url("opportunity_detail", opportunity.pk)


def test_edit_with_htmx_maps_the_value_and_the_milestones_follow(
    client, rep, opportunity, mapped_milestone, unmapped
):
    client.force_login(rep)
    response = client.post(
        url("business_issue_edit", opportunity.pk, unmapped.pk),
        edit_data(unmapped, our_value="Replenishment forecasts cut stock-outs by half"),
        **HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "business-issues-changed"
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="business-issues"')
    assert "Replenishment forecasts cut stock-outs by half" in body
    assert "not mapped yet" not in body
    assert stored(unmapped)[2] == "Replenishment forecasts cut stock-outs by half"

    # The milestone panel the event refreshes shows it met, and the gate summary follows.
    panel = client.get(url("milestones_panel", opportunity.pk), **HTMX).content.decode()
    row = panel.split(f'id="ms-main-{mapped_milestone.pk}"', 1)[0].rsplit("<div", 1)[1]
    assert "is-met" in row
    summary = panel.split('id="gate-summary"', 1)[1]
    assert 'hx-swap-oob="true"' in summary.split(">", 1)[0]
    assert "2 required milestones of this stage still open" in summary


def test_edit_refused_keeps_what_was_typed_next_to_the_field(client, rep, opportunity, unmapped):
    client.force_login(rep)
    before = stored(unmapped)
    response = client.post(
        url("business_issue_edit", opportunity.pk, unmapped.pk),
        edit_data(unmapped, issue="   ", our_value="Typed but refused", quantified_value="-3"),
        **HTMX,
    )
    assert response.status_code == 422
    assert "HX-Trigger" not in response
    body = response.content.decode()
    edit = form_of(body, "issue-edit")
    assert "This field is required." in edit
    assert "Typed but refused</textarea>" in edit
    assert "greater than or equal to 0" in edit
    assert " open" in body.split('data-testid="issue-edit"', 1)[0].rsplit("<details", 1)[1]
    assert stored(unmapped) == before


def test_edit_without_javascript_redirects_or_shows_the_page_with_errors(
    client, rep, opportunity, unmapped
):
    client.force_login(rep)
    response = client.post(
        url("business_issue_edit", opportunity.pk, unmapped.pk),
        edit_data(unmapped, our_value="Forecast-driven replenishment"),
    )
    assert response.status_code == 302
    assert response["Location"] == url("opportunity_detail", opportunity.pk) + "#business-issues"
    assert stored(unmapped)[2] == "Forecast-driven replenishment"

    response = client.post(
        url("business_issue_edit", opportunity.pk, unmapped.pk), edit_data(unmapped, issue="")
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "<html" in body
    assert "This field is required." in form_of(body, "issue-edit")


def test_delete_with_htmx_and_without(client, rep, opportunity, unmapped):
    other = BusinessIssueFactory(opportunity=opportunity, issue="Slow month-end close")
    client.force_login(rep)
    response = client.post(url("business_issue_delete", opportunity.pk, unmapped.pk), **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "business-issues-changed"
    body = response.content.decode()
    assert "Stock-outs cost" not in body and "Slow month-end close" in body
    response = client.post(url("business_issue_delete", opportunity.pk, other.pk))
    assert response.status_code == 302
    assert not BusinessIssue.objects.exists()


def test_a_closed_deal_refuses_with_the_message_in_the_card(
    client, rep, opportunity, pipeline, unmapped
):
    opportunity.status, opportunity.stage = "won", pipeline.won
    opportunity.closed_at = timezone.now()
    opportunity.save(update_fields=["status", "stage", "closed_at"])
    client.force_login(rep)
    body = client.get(url("opportunity_detail", opportunity.pk)).content.decode()
    assert 'data-testid="issue-edit"' not in body and 'data-testid="issue-delete"' not in body
    before = stored(unmapped)
    for name, data in (
        ("business_issue_edit", edit_data(unmapped, our_value="Too late")),
        ("business_issue_delete", {}),
    ):
        response = client.post(url(name, opportunity.pk, unmapped.pk), data, **HTMX)
        assert response.status_code == 422
        card = response.content.decode()
        assert 'role="alert"' in card and "closed" in card
    assert stored(unmapped) == before


def test_an_issue_of_another_deal_or_outside_scope_is_404(
    client, rep, teammate, opportunity, unmapped
):
    elsewhere = OpportunityFactory(owner=rep, stage=opportunity.stage)
    client.force_login(rep)
    for name in ("business_issue_edit", "business_issue_delete"):
        response = client.post(url(name, elsewhere.pk, unmapped.pk), edit_data(unmapped))
        assert response.status_code == 404
    client.force_login(teammate)
    for name in ("business_issue_edit", "business_issue_delete"):
        response = client.post(url(name, opportunity.pk, unmapped.pk), edit_data(unmapped))
        assert response.status_code == 404
    assert BusinessIssue.objects.filter(pk=unmapped.pk).exists()


# --- the API: the same services -----------------------------------------------------------


def test_api_patch_maps_the_value_and_delete_unmaps_it(
    key_for, rep, opportunity, pipeline, mapped_milestone, unmapped
):
    client = key_for(rep)
    response = client.patch(
        f"/api/v1/business-issues/{unmapped.pk}/",
        {"our_value": "Replenishment forecasts cut stock-outs by half"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["our_value"] == "Replenishment forecasts cut stock-outs by half"
    assert MAPPED_TITLE not in blocks(opportunity, pipeline.qualify)
    assert AuditEvent.objects.filter(action="business_issue.updated").count() == 1
    response = client.patch(
        f"/api/v1/business-issues/{unmapped.pk}/", {"issue": "  "}, format="json"
    )
    assert response.status_code == 400 and "issue" in response.json()["details"]
    assert client.delete(f"/api/v1/business-issues/{unmapped.pk}/").status_code == 204
    assert MAPPED_TITLE in blocks(opportunity, pipeline.qualify)


def test_other_stages_milestones_are_fetched_when_their_section_opens(
    client, rep, opportunity, pipeline
):
    """The page renders the current stage's milestones; another stage's section holds a
    placeholder that fetches that stage's milestones (with their tick boxes) when opened."""
    client.force_login(rep)
    page = client.get(url("opportunity_detail", opportunity.pk)).content.decode()
    qualify = pipeline.qualify.milestones.get()
    panel = url("milestones_panel", opportunity.pk)
    section = page.split(f'id="stage-{pipeline.qualify.pk}"', 1)[1].split("accordion-item", 1)[0]
    assert f'hx-get="{panel}?stage={pipeline.qualify.pk}"' in section
    assert "show.bs.collapse from:closest .accordion-collapse once" in section
    assert f'id="ms-main-{qualify.pk}"' not in page
    for m in pipeline.discover.milestones.all():  # the current stage: on the page
        assert f'id="ms-main-{m.pk}"' in page

    fragment = client.get(panel, {"stage": pipeline.qualify.pk}, **HTMX)
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert f'id="ms-main-{qualify.pk}"' in body
    assert f'id="ms-main-{qualify.pk}-done"' in body and "Decision process mapped" in body

    assert client.get(panel, {"stage": 999999}, **HTMX).status_code == 404
    assert client.get(panel, {"stage": "x"}, **HTMX).status_code == 404
