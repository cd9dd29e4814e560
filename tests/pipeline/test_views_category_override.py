"""The opportunity page and the board ask before a stage move overwrites a forecast
category set by hand — with htmx and without — and the answer re-submits the move."""

from __future__ import annotations

import re
from html import unescape

import pytest

from pipeline.models import Opportunity, OpportunityChange
from tests.factories import OpportunityFactory
from tests.pipeline.test_services import tick_all
from tests.pipeline.test_views import HTMX, _column, url

pytestmark = pytest.mark.django_db

QUESTION = (
    "This deal&#x27;s forecast category was set by hand to Commit (reason: Signed LOI). "
    "Stage &#x27;Proposal&#x27; defaults to Best case. Keep Commit or use Best case?"
)


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def committed(rep, pipeline):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        name="Acme rollout",
        forecast_category="commit",
        forecast_category_override_reason="Signed LOI",
    )
    tick_all(opp, pipeline.qualify, rep)
    return opp


def question_form(body: str) -> tuple[str, dict[str, str], list[str]]:
    """The question's form: its hx-target, its hidden fields, the radio values offered."""
    assert body.count('data-testid="category-question"') == 1, body
    form = body.split('data-testid="category-question"')[1].split("</form>")[0]
    target = re.search(r'hx-target="([^"]*)"', form).group(1)
    hidden = {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    }
    radios = re.findall(
        r'type="radio" name="forecast_category_on_move" id="[^"]+" value="([^"]+)" required',
        form,
    )
    return target, hidden, radios


def state(opp: Opportunity) -> tuple:
    opp.refresh_from_db()
    return (
        opp.stage_id,
        opp.forecast_category,
        opp.forecast_category_override_reason,
        opp.version,
        OpportunityChange.objects.filter(opportunity=opp).count(),
    )


def post_move(client, opp, data, *, htmx=True):
    return client.post(url("opportunity_advance", opp.pk), data, **(HTMX if htmx else {}))


def test_page_htmx_asks_then_keep_moves(logged_in, rep, committed, pipeline):
    client = logged_in(rep)
    before = state(committed)
    response = post_move(
        client, committed, {"stage": pipeline.proposal.pk, "version": committed.version}
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="advance-panel"')  # the panel partial only
    assert QUESTION in body
    target, hidden, radios = question_form(body)
    assert target == "#advance-panel"
    assert hidden == {
        "csrfmiddlewaretoken": hidden["csrfmiddlewaretoken"],
        "version": str(committed.version),
        "stage": str(pipeline.proposal.pk),
    }
    assert radios == ["keep", "follow"]
    assert "Keep Commit" in body and "Use Best case" in body
    assert state(committed) == before

    response = post_move(client, committed, {**hidden, "forecast_category_on_move": "keep"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == url("opportunity_detail", committed.pk)
    committed.refresh_from_db()
    assert (committed.stage, committed.forecast_category) == (pipeline.proposal, "commit")
    assert committed.forecast_category_override_reason == "Signed LOI"


def test_page_without_js_asks_then_follow_moves_and_shows_history(
    logged_in, rep, committed, pipeline
):
    client = logged_in(rep)
    before = state(committed)
    response = post_move(
        client,
        committed,
        {"stage": pipeline.proposal.pk, "version": committed.version},
        htmx=False,
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "<html" in body and QUESTION in body
    _, hidden, _ = question_form(body)
    assert "board" not in hidden
    assert state(committed) == before

    response = post_move(
        client, committed, {**hidden, "forecast_category_on_move": "follow"}, htmx=False
    )
    assert response.status_code == 302
    assert response["Location"] == url("opportunity_detail", committed.pk)
    committed.refresh_from_db()
    assert (committed.stage, committed.forecast_category) == (pipeline.proposal, "best_case")
    assert committed.forecast_category_override_reason == ""
    page = client.get(response["Location"]).content.decode()
    history = page.split('data-testid="history"')[1]
    assert "Manual override replaced by the default of stage" in history


def test_an_unanswered_question_is_asked_again(logged_in, rep, committed, pipeline):
    client = logged_in(rep)
    data = {"stage": pipeline.proposal.pk, "version": committed.version}
    before = state(committed)
    assert post_move(client, committed, data).status_code == 422
    response = post_move(client, committed, {**data, "forecast_category_on_move": ""})
    assert response.status_code == 422
    assert QUESTION in response.content.decode()
    assert state(committed) == before


@pytest.mark.parametrize("htmx", [True, False])
def test_a_bad_answer_is_shown_as_an_error(logged_in, rep, committed, pipeline, htmx):
    before = state(committed)
    response = post_move(
        logged_in(rep),
        committed,
        {
            "stage": pipeline.proposal.pk,
            "version": committed.version,
            "forecast_category_on_move": "maybe",
        },
        htmx=htmx,
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "Choose &#x27;keep&#x27; (keep the manual forecast category)" in body
    assert 'data-testid="category-question"' not in body
    assert state(committed) == before


def test_a_manager_gate_override_travels_with_the_answer(logged_in, manager, rep, pipeline):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        forecast_category="commit",
        forecast_category_override_reason="Signed LOI",
    )  # Qualify's milestone is open: the gate blocks first
    client = logged_in(manager)
    before = state(opp)
    gate = post_move(client, opp, {"stage": pipeline.proposal.pk, "version": opp.version})
    assert gate.status_code == 422
    assert 'data-testid="gate-refused"' in gate.content.decode()
    assert 'data-testid="category-question"' not in gate.content.decode()

    response = post_move(
        client,
        opp,
        {
            "stage": pipeline.proposal.pk,
            "version": opp.version,
            "override_reason": 'Verbal yes from the CFO <b>"today"</b>',
        },
    )
    assert response.status_code == 422
    _, hidden, _ = question_form(response.content.decode())
    assert hidden["override_reason"] == 'Verbal yes from the CFO <b>"today"</b>'
    assert state(opp) == before

    response = post_move(client, opp, {**hidden, "forecast_category_on_move": "keep"})
    assert response.status_code == 200
    opp.refresh_from_db()
    assert (opp.stage, opp.forecast_category) == (pipeline.proposal, "commit")
    change = OpportunityChange.objects.get(opportunity=opp, field="stage", changed_by=manager)
    assert change.override_reason == 'Verbal yes from the CFO <b>"today"</b>'


# --- the board ------------------------------------------------------------------------


def test_board_drop_asks_in_the_dialog_then_keep_moves_the_card(
    logged_in, manager, rep, committed, pipeline
):
    client = logged_in(manager)
    before = state(committed)
    response = post_move(
        client,
        committed,
        {
            "board": "1",
            "stage": pipeline.proposal.pk,
            "version": committed.version,
            "owner": rep.pk,
        },
    )
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#board-move-content"
    assert "board-move-refused" in response["HX-Trigger-After-Swap"]
    body = response.content.decode()
    assert "Move “Acme rollout” to Proposal" in body and QUESTION in body
    assert 'data-testid="retry-move"' not in body  # the question's form is the retry
    target, hidden, radios = question_form(body)
    assert target == "#board" and radios == ["keep", "follow"]
    assert (hidden["board"], hidden["owner"], hidden["stage"]) == (
        "1",
        str(rep.pk),
        str(pipeline.proposal.pk),
    )
    assert state(committed) == before

    response = post_move(client, committed, {**hidden, "forecast_category_on_move": "keep"})
    assert response.status_code == 200
    assert "board-moved" in response["HX-Trigger-After-Swap"]
    assert "Acme rollout" in _column(response.content.decode(), "Proposal")
    committed.refresh_from_db()
    assert (committed.stage, committed.forecast_category) == (pipeline.proposal, "commit")


def test_board_without_js_asks_on_the_page_then_returns_to_the_board(
    logged_in, rep, committed, pipeline
):
    client = logged_in(rep)
    response = post_move(
        client,
        committed,
        {"board": "1", "stage": pipeline.proposal.pk, "version": committed.version},
        htmx=False,
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "<html" in body and QUESTION in body
    _, hidden, _ = question_form(body)
    assert hidden["board"] == "1"
    response = post_move(
        client, committed, {**hidden, "forecast_category_on_move": "follow"}, htmx=False
    )
    assert response.status_code == 302
    assert response["Location"] == f"{url('board')}?pipeline={pipeline.pk}"
    committed.refresh_from_db()
    assert (committed.stage, committed.forecast_category) == (pipeline.proposal, "best_case")


def test_board_bad_answer_is_shown_in_the_dialog(logged_in, rep, committed, pipeline):
    before = state(committed)
    response = post_move(
        logged_in(rep),
        committed,
        {
            "board": "1",
            "stage": pipeline.proposal.pk,
            "version": committed.version,
            "forecast_category_on_move": "x" * 50,
        },
    )
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#board-move-content"
    assert 'class="alert alert-danger py-2" role="alert"' in response.content.decode()
    assert state(committed) == before


def test_moves_without_an_override_do_not_ask(logged_in, rep, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.qualify)
    tick_all(opp, pipeline.qualify, rep)
    response = post_move(
        logged_in(rep), opp, {"board": "1", "stage": pipeline.proposal.pk, "version": opp.version}
    )
    assert response.status_code == 200
    opp.refresh_from_db()
    assert (opp.stage, opp.forecast_category) == (pipeline.proposal, "best_case")
