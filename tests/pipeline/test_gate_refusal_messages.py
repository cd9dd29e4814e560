"""Every refusal of the move panel says why, where the user is looking (issue 16, item 8).

A gate override with a reason of only spaces used to come back as the same gate with no
word about the reason; a close-won form error and a hidden field's error were never
rendered. The service says what is wrong (the API shows it too), the panel, the board's
dialog and the full page show it next to the control it is about.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from pipeline import services
from pipeline.models import Milestone, OpportunityChange
from salesops.exceptions import GateNotMet, PermissionDenied

HTMX = {"HTTP_HX_REQUEST": "true"}
BLANK = "  \n\t  "


def url(name, *args):
    return reverse(f"pipeline:{name}", args=args)


def snapshot(opp) -> tuple:
    opp.refresh_from_db()
    return (
        opp.stage_id,
        opp.status,
        opp.version,
        OpportunityChange.objects.filter(opportunity=opp).count(),
    )


def gate_part(body: str) -> str:
    assert 'data-testid="gate-refused"' in body, body
    return body.split('data-testid="gate-refused"', 1)[1]


def override_box(body: str) -> str:
    """The override form of the gate: from its textarea to the end of its form."""
    gate = gate_part(body)
    assert 'name="override_reason"' in gate
    return gate.split('name="override_reason"', 1)[1].split("</form>", 1)[0]


# --- the service: one rule for every path ---------------------------------------------


@pytest.mark.parametrize("move", ["advance", "close_won"])
def test_a_blank_override_reason_is_refused_with_a_message_about_the_reason(
    opportunity, manager, pipeline, move
):
    before = snapshot(opportunity)
    with pytest.raises(GateNotMet) as exc:
        if move == "advance":
            services.opportunity_advance(
                opportunity_id=opportunity.pk,
                stage_id=pipeline.qualify.pk,
                actor=manager,
                override_reason=BLANK,
            )
        else:
            services.opportunity_close_won(
                opportunity_id=opportunity.pk, actor=manager, override_reason=BLANK
            )
    assert exc.value.details["override_reason"] == [
        "Write why the deal may move without these milestones: the reason is recorded in "
        "the history and shows up in reviews."
    ]
    assert exc.value.message.startswith("An override needs a written reason")
    expected = ["Pain identified", "Economic buyer confirmed the problem is worth solving"]
    if move == "close_won":  # closing skips Qualify: its milestone is missing too
        expected.append("Decision process mapped with the customer")
    assert [m["title"] for m in exc.value.details["missing"]] == expected
    assert exc.value.details["can_override"] is True
    assert snapshot(opportunity) == before


def test_a_rep_blank_override_is_an_override_attempt_and_refused_as_such(
    opportunity, rep, pipeline
):
    before = snapshot(opportunity)
    with pytest.raises(PermissionDenied) as exc:
        services.opportunity_advance(
            opportunity_id=opportunity.pk,
            stage_id=pipeline.qualify.pk,
            actor=rep,
            override_reason=BLANK,
        )
    assert exc.value.code == "override_not_allowed"
    assert snapshot(opportunity) == before


def test_no_reason_at_all_is_the_plain_gate_refusal(opportunity, manager, pipeline):
    with pytest.raises(GateNotMet) as exc:
        services.opportunity_advance(
            opportunity_id=opportunity.pk, stage_id=pipeline.qualify.pk, actor=manager
        )
    assert "override_reason" not in exc.value.details
    assert exc.value.message.startswith("2 required milestones must be met")


def test_a_blank_reason_on_a_move_that_needs_no_override_is_ignored(
    opportunity, manager, rep, pipeline
):
    for m in Milestone.objects.filter(stage=pipeline.discover):
        services.milestone_complete(
            opportunity_id=opportunity.pk, milestone_id=m.pk, actor=rep, evidence="CFO email"
        )
    services.opportunity_advance(
        opportunity_id=opportunity.pk,
        stage_id=pipeline.qualify.pk,
        actor=manager,
        override_reason=BLANK,
    )
    change = OpportunityChange.objects.get(opportunity=opportunity, field="stage", old_value__gt="")
    assert change.new_display == "Qualify" and change.override_reason == ""


def test_an_over_long_loss_reason_is_reported_on_the_loss_reason(opportunity, rep):
    from salesops.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        services.opportunity_close_lost(
            opportunity_id=opportunity.pk, actor=rep, loss_reason="x" * 10_001
        )
    assert list(exc.value.details) == ["loss_reason"]


# --- the API ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["advance/", "close-won/"])
def test_api_blank_override_reason_answers_what_is_wrong(
    manager, pipeline, opportunity, key_for, suffix
):
    before = snapshot(opportunity)
    data = {"override_reason": BLANK}
    if suffix == "advance/":
        data["stage"] = pipeline.qualify.pk
    response = key_for(manager).post(
        f"/api/v1/opportunities/{opportunity.pk}/{suffix}", data, format="json"
    )
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "gate_not_met"
    assert body["message"].startswith("An override needs a written reason")
    assert body["details"]["override_reason"]
    assert snapshot(opportunity) == before


# --- the opportunity page's move panel -------------------------------------------------


@pytest.mark.parametrize("name", ["opportunity_advance", "opportunity_close_won"])
def test_panel_blank_override_shows_the_message_under_the_reason(
    client, manager, opportunity, pipeline, name
):
    client.force_login(manager)
    before = snapshot(opportunity)
    data = {"override_reason": BLANK, "version": opportunity.version}
    if name == "opportunity_advance":
        data["stage"] = pipeline.qualify.pk
    response = client.post(url(name, opportunity.pk), data, **HTMX)
    assert response.status_code == 422
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="advance-panel"')
    assert "The override needs a reason" in gate_part(body)
    box = override_box(body)
    assert "is-invalid" in box.split(">", 1)[0] and "autofocus" in box.split(">", 1)[0]
    assert 'role="alert"' in box
    assert "Write why the deal may move without these milestones" in box
    # The override goes to the same move it was refused for.
    form = gate_part(body).split('name="override_reason"', 1)[0].rsplit("<form", 1)[1]
    assert f'hx-post="{url(name, opportunity.pk)}"' in form
    assert snapshot(opportunity) == before


def test_page_without_javascript_shows_the_same_message(client, manager, opportunity, pipeline):
    client.force_login(manager)
    response = client.post(
        url("opportunity_advance", opportunity.pk),
        {"stage": pipeline.qualify.pk, "override_reason": BLANK, "version": 1},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "<html" in body
    assert "Write why the deal may move without these milestones" in override_box(body)


def test_board_dialog_blank_override_shows_the_message(client, manager, opportunity, pipeline):
    client.force_login(manager)
    response = client.post(
        url("opportunity_advance", opportunity.pk),
        {"stage": pipeline.qualify.pk, "override_reason": BLANK, "version": 1, "board": "1"},
        **HTMX,
    )
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#board-move-content"
    body = response.content.decode()
    assert 'data-testid="board-move"' in body
    assert "Write why the deal may move without these milestones" in override_box(body)


def test_close_won_form_errors_are_shown_in_the_panel(client, manager, opportunity):
    client.force_login(manager)
    before = snapshot(opportunity)
    response = client.post(
        url("opportunity_close_won", opportunity.pk),
        {"override_reason": "x" * 10_001, "version": opportunity.version},
        **HTMX,
    )
    assert response.status_code == 422
    body = response.content.decode()
    alerts = body.split('role="alert"')[1:]
    assert any("at most 10000 characters" in a.split("</div>", 1)[0] for a in alerts), body
    assert snapshot(opportunity) == before


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("opportunity_advance", {"stage": "QUALIFY", "version": "abc"}),
        ("opportunity_close_won", {"version": "abc"}),
        ("opportunity_close_lost", {"loss_reason": "No budget", "version": "abc"}),
    ],
)
def test_a_hidden_field_error_is_never_silent(client, rep, opportunity, pipeline, name, data):
    client.force_login(rep)
    data = {k: pipeline.qualify.pk if v == "QUALIFY" else v for k, v in data.items()}
    before = snapshot(opportunity)
    response = client.post(url(name, opportunity.pk), data, **HTMX)
    assert response.status_code == 422
    body = response.content.decode()
    assert "Version: Enter a whole number." in body
    assert snapshot(opportunity) == before
