"""The qualification form, the qualification card and automatic milestones' gaps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline import services
from pipeline.models import (
    AutoCheck,
    MilestoneElementLevel,
    MilestoneKind,
    Qualification,
    QualificationScore,
)
from tests.factories import (
    MilestoneFactory,
    OpportunityFactory,
    QualificationElementFactory,
    QualificationFrameworkFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, *args):
    return reverse(f"pipeline:{name}", args=args)


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def framework(pipeline):
    fw = QualificationFrameworkFactory(name="Test MEDDICC")
    fw.metrics = QualificationElementFactory(
        framework=fw, name="Metrics", order=1, weight=2, guidance="A number the CFO agreed to."
    )
    fw.buyer = QualificationElementFactory(
        framework=fw, name="Economic buyer", order=2, guidance="Met, and owns the budget."
    )
    fw.champion = QualificationElementFactory(
        framework=fw, name="Champion", order=3, guidance="Sells for us when we are not there."
    )
    pipeline.framework = fw
    pipeline.save(update_fields=["framework"])
    return fw


def _post_data(framework, **overrides):
    data = {
        f"score_{framework.metrics.pk}": "3",
        f"evidence_{framework.metrics.pk}": "CFO: saves 2 FTE (email 3 March)",
        f"source_{framework.metrics.pk}": "email",
        f"score_{framework.buyer.pk}": "1",
        f"evidence_{framework.buyer.pk}": "",
        f"source_{framework.buyer.pk}": "",
        f"score_{framework.champion.pk}": "0",
        "note": "First pass",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _qualify(opp, actor, framework, levels, *, when=None):
    q = services.qualification_create(
        opportunity_id=opp.pk,
        actor=actor,
        scores=[
            {
                "element": e.pk,
                "score": level,
                "evidence": "Said so on the call" if level >= 2 else "",
                "source": "call" if level >= 2 else "",
            }
            for e, level in zip(
                (framework.metrics, framework.buyer, framework.champion), levels, strict=True
            )
        ],
    )
    if when is not None:
        Qualification.objects.filter(pk=q.pk).update(assessed_at=when)
        q.refresh_from_db()
    return q


# --- the form -------------------------------------------------------------------------------


def test_form_shows_each_element_with_guidance_levels_and_current_values(
    logged_in, rep, opportunity, framework
):
    _qualify(opportunity, rep, framework, [3, 2, 0])
    response = logged_in(rep).get(url("opportunity_qualify", opportunity.pk))
    assert response.status_code == 200
    body = response.content.decode()
    # In the framework's order, with the guidance and all four level names.
    assert body.index("Metrics") < body.index("Economic buyer") < body.index("Champion")
    assert "A number the CFO agreed to." in body
    for name in ("unknown", "identified", "partly validated", "validated with evidence"):
        assert name in body
    # The current scores, evidence and source are the starting values.
    assert f'name="score_{framework.metrics.pk}" id="score-{framework.metrics.pk}-3" value="3"' in (
        body
    )
    assert 'value="3" autocomplete="off" checked' in body
    assert "Said so on the call" in body
    assert '<option value="call" selected>' in body
    assert "Re-qualify" in body


def test_form_success_saves_qualification_and_scores(logged_in, rep, opportunity, framework):
    response = logged_in(rep).post(
        url("opportunity_qualify", opportunity.pk), _post_data(framework)
    )
    assert response.status_code == 302
    assert response["Location"] == url("opportunity_detail", opportunity.pk) + "#qualification"
    q = Qualification.objects.get()
    assert q.opportunity == opportunity and q.assessed_by == rep and q.note == "First pass"
    # (2×3 + 1 + 0) / (3 × 4) = 58.33 %
    assert q.score_pct == Decimal("58.33")
    scores = {s.element_id: s for s in q.scores.all()}
    assert scores[framework.metrics.pk].score == 3
    assert scores[framework.metrics.pk].source == "email"
    assert scores[framework.buyer.pk].score == 1
    assert scores[framework.champion.pk].score == 0
    page = logged_in(rep).get(response["Location"]).content.decode()
    assert "Qualified at 58 %" in page


def _assert_nothing_saved():
    assert not Qualification.objects.exists()
    assert not QualificationScore.objects.exists()


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("score_out_of_range", "score_{metrics}", "Score each element 0–3"),
        ("score_not_a_number", "score_{metrics}", "Choose a level from 0 to 3."),
        ("evidence_missing", "evidence_{buyer}", "needs evidence"),
        ("source_missing", "source_{buyer}", "Say where the evidence comes from"),
        ("element_missing", "score_{champion}", "Score 'Champion' too (0 if unknown)."),
    ],
)
def test_form_refusals_put_errors_on_the_row_and_keep_input(
    logged_in, rep, opportunity, framework, case, field, message
):
    ids = {"metrics": framework.metrics.pk, "buyer": framework.buyer.pk}
    ids["champion"] = framework.champion.pk
    overrides = {
        "score_out_of_range": {f"score_{ids['metrics']}": "7"},
        "score_not_a_number": {f"score_{ids['metrics']}": "three"},
        "evidence_missing": {f"score_{ids['buyer']}": "2", f"source_{ids['buyer']}": "call"},
        "source_missing": {
            f"score_{ids['buyer']}": "2",
            f"evidence_{ids['buyer']}": "CFO owns the budget (meeting notes)",
        },
        "element_missing": {f"score_{ids['champion']}": None},
    }[case]
    response = logged_in(rep).post(
        url("opportunity_qualify", opportunity.pk), _post_data(framework, **overrides)
    )
    assert response.status_code == 422
    form = response.context["form"]
    errors = " ".join(form.errors.get(field.format(**ids), []))
    assert message in errors, form.errors
    body = response.content.decode()
    assert message.replace("'", "&#x27;") in body
    # What the user typed is all still there.
    assert "CFO: saves 2 FTE (email 3 March)" in body
    assert "First pass" in body
    if case == "source_missing":
        assert "CFO owns the budget (meeting notes)" in body
    if case == "evidence_missing":
        assert f'id="score-{ids["buyer"]}-2" value="2" autocomplete="off" checked' in body
    _assert_nothing_saved()


def test_form_refuses_an_element_of_another_framework(logged_in, rep, opportunity, framework):
    foreign = QualificationElementFactory(name="Budget")  # of another framework
    response = logged_in(rep).post(
        url("opportunity_qualify", opportunity.pk),
        _post_data(framework, **{f"score_{foreign.pk}": "1"}),
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert f"Element #{foreign.pk}: Not an element of this deal&#x27;s framework." in body
    _assert_nothing_saved()


def test_form_tampered_source_is_refused(logged_in, rep, opportunity, framework):
    response = logged_in(rep).post(
        url("opportunity_qualify", opportunity.pk),
        _post_data(framework, **{f"source_{framework.metrics.pk}": "rumour"}),
    )
    assert response.status_code == 422
    assert response.context["form"].errors[f"source_{framework.metrics.pk}"]
    _assert_nothing_saved()


def test_form_without_framework_says_so_and_saves_nothing(logged_in, rep, opportunity, pipeline):
    client = logged_in(rep)
    body = client.get(url("opportunity_qualify", opportunity.pk)).content.decode()
    assert 'data-testid="no-framework"' in body
    assert 'data-testid="qualify-form"' not in body
    response = client.post(url("opportunity_qualify", opportunity.pk), {"score_1": "1"})
    assert response.status_code == 422
    assert "has no qualification framework" in response.content.decode()
    _assert_nothing_saved()


def test_closed_deal_is_read_only(logged_in, rep, opportunity, framework):
    _qualify(opportunity, rep, framework, [2, 2, 2])
    services.opportunity_close_lost(opportunity_id=opportunity.pk, actor=rep, loss_reason="Budget")
    client = logged_in(rep)
    body = client.get(url("opportunity_qualify", opportunity.pk)).content.decode()
    assert 'data-testid="read-only"' in body
    assert 'data-testid="save-qualification"' not in body
    assert "disabled" in body
    detail = client.get(url("opportunity_detail", opportunity.pk)).content.decode()
    assert 'data-testid="qualify-button"' not in detail
    response = client.post(url("opportunity_qualify", opportunity.pk), _post_data(framework))
    assert response.status_code == 422
    assert "closed" in response.content.decode()
    assert Qualification.objects.count() == 1


@pytest.mark.parametrize("whose", ["teammate", "other_rep"])
def test_form_outside_scope_is_404(logged_in, rep, teammate, other_rep, pipeline, framework, whose):
    opp = OpportunityFactory(
        owner={"teammate": teammate, "other_rep": other_rep}[whose], stage=pipeline.discover
    )
    client = logged_in(rep)
    assert client.get(url("opportunity_qualify", opp.pk)).status_code == 404
    assert client.post(url("opportunity_qualify", opp.pk), _post_data(framework)).status_code == 404
    _assert_nothing_saved()


def test_manager_may_qualify_a_team_deal(logged_in, manager, opportunity, framework):
    response = logged_in(manager).post(
        url("opportunity_qualify", opportunity.pk), _post_data(framework)
    )
    assert response.status_code == 302
    assert Qualification.objects.get().assessed_by == manager


def test_user_text_is_escaped_on_the_form_and_the_card(logged_in, rep, opportunity, framework):
    framework.buyer.name = "<b>Buyer</b>"
    framework.buyer.guidance = "<script>alert(1)</script>"
    framework.buyer.save()
    client = logged_in(rep)
    client.post(
        url("opportunity_qualify", opportunity.pk),
        _post_data(
            framework,
            **{
                f"score_{framework.buyer.pk}": "2",
                f"evidence_{framework.buyer.pk}": "<img src=x onerror=alert(1)>",
                f"source_{framework.buyer.pk}": "call",
            },
        ),
    )
    for page in ("opportunity_qualify", "opportunity_detail"):
        body = client.get(url(page, opportunity.pk)).content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "<img src=x" not in body
        assert "<b>Buyer</b>" not in body and "&lt;b&gt;Buyer&lt;/b&gt;" in body


# --- the qualification card -------------------------------------------------------------------


def test_card_before_any_qualification(logged_in, rep, opportunity, framework):
    body = logged_in(rep).get(url("opportunity_detail", opportunity.pk)).content.decode()
    assert "Not qualified yet." in body
    assert ">Qualify</a>" in body


def test_card_shows_latest_score_validity_levels_history_and_trend(
    logged_in, rep, manager, opportunity, framework
):
    _qualify(opportunity, rep, framework, [1, 0, 0], when=timezone.now() - dt.timedelta(days=9))
    _qualify(opportunity, manager, framework, [2, 1, 1], when=timezone.now() - dt.timedelta(days=5))
    latest = _qualify(opportunity, rep, framework, [3, 2, 3])
    response = logged_in(rep).get(url("opportunity_detail", opportunity.pk))
    body = response.content.decode()
    card = body[body.index('data-testid="qualification-card"') :]
    assert f"{latest.score_pct:.0f} %" in card  # 92 %
    until = latest.assessed_at + dt.timedelta(days=30)
    assert f"valid until {until.day} {until:%b}" in card
    # Per-element levels with their colour bands.
    assert 'class="so-element so-band-green" data-element="Metrics" data-level="3"' in card
    assert 'class="so-element so-band-amber" data-element="Economic buyer" data-level="2"' in card
    # The history, newest first, and the trend oldest → newest drawn server-side.
    assert card.count("<tr") >= 4
    assert card.index(str(manager)) > card.index("latest")
    assert '<svg class="so-sparkline"' in card and 'data-points="3"' in card
    assert "Score trend: 17 % → 50 % → 92 %" in card
    assert "Re-qualify" in card


def test_card_expired_and_voided(logged_in, rep, opportunity, framework):
    q = _qualify(
        opportunity, rep, framework, [3, 3, 3], when=timezone.now() - dt.timedelta(days=33)
    )
    client = logged_in(rep)
    body = client.get(url("opportunity_detail", opportunity.pk)).content.decode()
    assert "expired 3\xa0days ago" in body  # timesince keeps number and unit together
    Qualification.objects.filter(pk=q.pk).update(
        invalidated_at=timezone.now(),
        invalidated_reason="Close date pushed from Nov 2025 to Dec 2025.",
    )
    body = client.get(url("opportunity_detail", opportunity.pk)).content.decode()
    assert "voided: Close date pushed from Nov 2025 to Dec 2025." in body


def test_one_element_levels_have_red_band_for_0_and_1(logged_in, rep, opportunity, framework):
    _qualify(opportunity, rep, framework, [1, 0, 2])
    body = logged_in(rep).get(url("opportunity_detail", opportunity.pk)).content.decode()
    assert 'so-band-red" data-element="Metrics" data-level="1"' in body
    assert 'so-band-red" data-element="Economic buyer" data-level="0"' in body


# --- automatic qualification milestones show their gaps ---------------------------------------


@pytest.fixture
def auto_milestone(pipeline, framework):
    m = MilestoneFactory(
        stage=pipeline.discover,
        title="Qualified to at least 50 %",
        kind=MilestoneKind.SELLER_ACTION,
        auto_check=AutoCheck.QUALIFICATION,
        min_qualification_score=50,
        order=9,
    )
    MilestoneElementLevel.objects.create(milestone=m, element=framework.buyer, min_level=2)
    return m


def test_milestone_list_shows_gaps_in_words(logged_in, rep, opportunity, framework, auto_milestone):
    client = logged_in(rep)
    body = client.get(url("opportunity_detail", opportunity.pk)).content.decode()
    assert "No valid qualification: qualify (or re-qualify) the deal." in body
    _qualify(opportunity, rep, framework, [1, 1, 0])
    body = client.get(url("opportunity_detail", opportunity.pk)).content.decode()
    assert "Qualification score 25 % is below the required 50 %." in body
    assert "Economic buyer is 1 (identified); at least 2 is required." in body
    _qualify(opportunity, rep, framework, [3, 2, 1])
    body = client.get(url("opportunity_detail", opportunity.pk)).content.decode()
    assert 'data-testid="milestone-gaps"' not in body
    assert f'id="ms-main-{auto_milestone.pk}"' in body


def test_gate_panel_shows_the_services_gaps(logged_in, rep, opportunity, framework, auto_milestone):
    for m in opportunity.stage.milestones.exclude(pk=auto_milestone.pk):
        services.milestone_complete(
            opportunity_id=opportunity.pk, milestone_id=m.pk, actor=rep, evidence="CFO said so"
        )
    _qualify(opportunity, rep, framework, [3, 1, 3])
    response = logged_in(rep).post(
        url("opportunity_advance", opportunity.pk),
        {"stage": opportunity.pipeline.qualify.pk, "version": 1},
        **HTMX,
    )
    assert response.status_code == 422
    body = response.content.decode()
    gate = body[body.index('data-testid="missing-milestones"') :]
    assert "Qualified to at least 50 %" in gate
    assert "Economic buyer is 1 (identified); at least 2 is required." in gate
