"""The pipeline setup pages: administrators and sales leaders only; every form works with
and without htmx; a refusal comes back at its field (or on its stage's card) with what was
typed."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pipeline import services
from pipeline.models import Milestone, MilestoneElementLevel, Pipeline, Stage
from tests.factories import (
    MilestoneFactory,
    OpportunityFactory,
    PipelineFactory,
    QualificationElementFactory,
    QualificationFrameworkFactory,
    StageFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = reverse("pipeline:pipeline_setup_list")


def editor(pipeline) -> str:
    return reverse("pipeline:pipeline_setup_edit", kwargs={"pk": pipeline.pk})


def url(name: str, obj) -> str:
    return reverse(f"pipeline:{name}", kwargs={"pk": obj.pk})


@pytest.fixture
def client_admin(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def stage_data(**changes) -> dict:
    data = {
        "name": "Negotiate",
        "probability": "80",
        "forecast_category": "commit",
        "outcome": "open",
        "guidance": "Trade, never concede.",
        "expected_days": "14",
        "warn_days": "21",
        "rot_days": "40",
        "qualification_validity_days": "",
        "no_activity_days": "",
    }
    return data | changes


def names(pipeline) -> list[str]:
    return list(pipeline.stages.order_by("order").values_list("name", flat=True))


def field_error(html: str, field_id: str) -> str:
    """The invalid-feedback text crispy renders for the input with `field_id`."""
    match = re.search(
        rf'id="error_\d+_[\w-]*?{re.escape(field_id)}"[^>]*>\s*<strong>(.*?)</strong>', html
    )
    assert match, f"no error for {field_id}"
    return match.group(1)


# --- who gets in ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_only_administrators_and_leaders(role, request, pipeline):
    client = Client()
    client.force_login(request.getfixturevalue(role))
    for path in (LIST, editor(pipeline), url("stage_setup_edit", pipeline.discover)):
        response = client.get(path)
        assert response.status_code == 403
        assert "Only an administrator or a sales leader" in response.content.decode()
    response = client.post(LIST, {"template": "blank", "name": "Mine"})
    assert response.status_code == 403
    assert not Pipeline.objects.filter(name="Mine").exists()
    anonymous = Client().get(LIST)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


def test_a_sales_leader_sets_up_pipelines_stages_and_milestones(leader, pipeline):
    client = Client()
    client.force_login(leader)
    assert client.get(LIST).status_code == 200
    assert client.get(editor(pipeline)).status_code == 200
    response = client.post(LIST, {"template": "blank", "name": "Leader's renewals"})
    assert response.status_code == 302
    created = Pipeline.objects.get(name="Leader's renewals")
    response = client.post(
        url("stage_setup_edit", pipeline.discover), stage_data(name="Discovery", probability="12")
    )
    assert response.status_code == 302
    assert Stage.objects.get(pk=pipeline.discover.pk).name == "Discovery"
    response = client.post(
        url("milestone_setup_create", pipeline.discover),
        {"title": "Pain confirmed by the buyer", "kind": "buyer_commitment", "required": "on"},
    )
    assert response.status_code == 302
    assert Milestone.objects.filter(stage=pipeline.discover, title__startswith="Pain").exists()
    assert created.stages.count() > 0


# --- the list and a pipeline from a template ---------------------------------------------


def test_list_shows_each_pipeline_with_its_counts(client_admin, pipeline, rep):
    OpportunityFactory(owner=rep, stage=pipeline.discover)
    OpportunityFactory(owner=rep, stage=pipeline.won, status="won", closed_at=timezone.now())
    PipelineFactory(name="Renewals", is_active=False)

    html = client_admin.get(LIST).content.decode()

    rows = re.findall(r'<tr data-testid="pipeline-row">(.*?)</tr>', html, re.S)
    assert len(rows) == 2
    cells = [re.sub(r"<[^>]+>|\s+", " ", row).split() for row in rows]
    assert cells[0][:2] == ["New", "business"] and cells[0][-3:] == ["5", "4", "1"]
    assert "inactive" in rows[1]
    assert 'value="new_business"' in html and 'value="blank"' in html


def test_new_pipeline_from_a_template(client_admin):
    response = client_admin.post(LIST, {"template": "new_business", "name": "Acme new business"})

    pipeline = Pipeline.objects.get(name="Acme new business")
    assert response.status_code == 302 and response["Location"] == editor(pipeline)
    assert pipeline.framework.name == "MEDDICC"
    assert len(names(pipeline)) == 7
    page = client_admin.get(response["Location"]).content.decode()
    assert "Acme new business” created with 7 stages" in page
    assert "Economic buyer confirmed the problem is worth solving" in page


def test_a_refused_template_keeps_what_was_typed(client_admin, pipeline):
    before = Pipeline.objects.count()
    response = client_admin.post(LIST, {"template": "blank", "name": "NEW BUSINESS"})

    assert response.status_code == 422
    html = response.content.decode()
    assert "A pipeline with this name exists." in field_error(html, "name")
    assert 'value="NEW BUSINESS"' in html
    assert re.search(r'value="blank"[^>]*checked', html)
    response = client_admin.post(LIST, {"template": "other", "name": "X"})
    assert response.status_code == 422
    assert Pipeline.objects.count() == before


# --- the editor: the pipeline's own fields ----------------------------------------------


def test_editor_lists_the_stages_and_milestones_in_order(client_admin, pipeline):
    html = client_admin.get(editor(pipeline)).content.decode()

    assert re.findall(r'data-stage="([^"]+)"', html) == names(pipeline)
    assert html.index("Pain identified") < html.index("Economic buyer confirmed")
    assert html.index("Economic buyer confirmed") < html.index("Decision process mapped")
    # The first stage cannot move up, the last not down.
    first, last = pipeline.discover.pk, pipeline.lost.pk
    card = html[html.index(f'id="stage-{first}"') :]
    assert re.search(r'data-testid="stage-up" disabled', card[: card.index("</article>")])
    card = html[html.index(f'id="stage-{last}"') :]
    assert re.search(r'data-testid="stage-down" disabled', card[: card.index("</article>")])


def test_editor_saves_the_pipeline(client_admin, pipeline):
    framework = QualificationFrameworkFactory(name="BANT (ours)")
    response = client_admin.post(
        editor(pipeline),
        {"name": "New logos", "description": "Net-new", "framework": framework.pk},
    )
    assert response.status_code == 302
    pipeline.refresh_from_db()
    assert (pipeline.name, pipeline.description, pipeline.is_active) == (
        "New logos",
        "Net-new",
        False,
    )
    assert pipeline.framework == framework


def test_editor_refusal_at_the_field(client_admin, pipeline):
    PipelineFactory(name="Renewals")
    framework = QualificationFrameworkFactory(name="Ours")
    element = QualificationElementFactory(framework=framework, name="Pain")
    pipeline.framework = framework
    pipeline.save(update_fields=["framework"])
    MilestoneFactory(stage=pipeline.qualify, title="Qualified", auto_check="qualification", order=2)
    MilestoneElementLevel.objects.create(
        milestone=Milestone.objects.get(title="Qualified"), element=element, min_level=2
    )

    response = client_admin.post(
        editor(pipeline), {"name": "renewals", "description": "typed", "is_active": "on"}
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert "A pipeline with this name exists." in field_error(html, "name")
    assert "need a framework" in field_error(html, "framework")
    assert 'value="renewals"' in html and "typed</textarea>" in html
    pipeline.refresh_from_db()
    assert pipeline.name == "New business" and pipeline.framework == framework


# --- stages -------------------------------------------------------------------------------


def test_add_a_stage_with_htmx(client_admin, pipeline):
    response = client_admin.post(
        url("stage_setup_create", pipeline), stage_data(no_activity_days="10"), **HTMX
    )

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#stages"
    html = response.content.decode()
    assert html.startswith('<section id="stages"')
    assert "Stage “Negotiate” added at position 4." in html
    assert names(pipeline) == [
        "Discover", "Qualify", "Proposal", "Negotiate", "Closed won", "Closed lost",
    ]  # fmt: skip
    stage = pipeline.stages.get(name="Negotiate")
    assert (stage.probability, stage.forecast_category, stage.rot_days) == (80, "commit", 40)
    assert (stage.no_activity_days, stage.qualification_validity_days) == (10, None)


def test_a_refused_stage_keeps_what_was_typed(client_admin, pipeline):
    data = stage_data(name="qualify", warn_days="50", guidance="Keep this text")
    response = client_admin.post(url("stage_setup_create", pipeline), data, **HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert '<details class="card" id="add-stage" data-testid="add-stage" open>' in html
    assert "already has a stage with this name" in field_error(html, "name")
    assert "warn_days ≤ rot_days" in field_error(html, "warn_days")
    assert 'value="qualify"' in html and "Keep this text</textarea>" in html
    assert len(names(pipeline)) == 5

    # Without htmx: the whole editor, the form open with the same errors.
    response = client_admin.post(url("stage_setup_create", pipeline), data)
    assert response.status_code == 422
    assert "<h1" in response.content.decode() and "Keep this text" in response.content.decode()


def test_add_a_stage_without_javascript(client_admin, pipeline):
    assert client_admin.get(url("stage_setup_create", pipeline)).status_code == 200
    response = client_admin.post(url("stage_setup_create", pipeline), stage_data())
    stage = pipeline.stages.get(name="Negotiate")
    assert response.status_code == 302
    assert response["Location"] == f"{editor(pipeline)}#stage-{stage.pk}"


def test_edit_a_stage(client_admin, pipeline):
    stage = pipeline.qualify
    # htmx: the form in place of the card; without it, a page of its own.
    card = client_admin.get(url("stage_setup_edit", stage), **HTMX).content.decode()
    assert card.startswith(f'<article class="card mb-3 border-primary" id="stage-{stage.pk}"')
    assert 'hx-post="' in card and 'value="Qualify"' in card
    page = client_admin.get(url("stage_setup_edit", stage)).content.decode()
    assert "<!doctype html>" in page and "Edit stage “Qualify”" in page
    assert 'data-testid="stage-form"' in page and "hx-post" not in page

    response = client_admin.post(
        url("stage_setup_edit", stage),
        stage_data(name="Qualified", forecast_category="pipeline", probability="30"),
        **HTMX,
    )
    assert response.status_code == 200 and response["HX-Retarget"] == "#stages"
    stage.refresh_from_db()
    assert (stage.name, stage.probability, stage.guidance) == (
        "Qualified",
        30,
        "Trade, never concede.",
    )


def test_a_refused_stage_edit_stays_in_place(client_admin, pipeline, rep):
    OpportunityFactory(owner=rep, stage=pipeline.proposal)
    stage = pipeline.proposal
    response = client_admin.post(
        url("stage_setup_edit", stage),
        stage_data(name="Proposal", outcome="won", probability="140"),
        **HTMX,
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert html.startswith(f'<article class="card mb-3 border-primary" id="stage-{stage.pk}"')
    assert "0 to 100" in field_error(html, "probability")
    assert 'value="140"' in html
    response = client_admin.post(
        url("stage_setup_edit", stage), stage_data(name="Proposal", outcome="won"), **HTMX
    )
    assert response.status_code == 422
    assert "Opportunities are in this stage" in field_error(response.content.decode(), "outcome")
    stage.refresh_from_db()
    assert (stage.is_won, stage.probability) == (False, 60)
    # Without htmx: the stage's own page, 422.
    response = client_admin.post(url("stage_setup_edit", stage), stage_data(outcome="won"))
    assert response.status_code == 422
    assert "<!doctype html>" in response.content.decode()
    assert "Opportunities are in this stage" in response.content.decode()


def test_move_a_stage(client_admin, pipeline):
    move = url("stage_setup_move", pipeline.proposal)
    response = client_admin.post(move, {"direction": "up"}, **HTMX)
    assert response.status_code == 200
    assert "“Proposal” is now stage 2." in response.content.decode()
    assert names(pipeline)[:3] == ["Discover", "Proposal", "Qualify"]

    response = client_admin.post(move, {"direction": "down"})
    assert response.status_code == 302
    assert names(pipeline)[:3] == ["Discover", "Qualify", "Proposal"]
    assert list(pipeline.stages.order_by("order").values_list("order", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
    ]


def test_a_refused_move_is_said_on_the_card(client_admin, pipeline):
    response = client_admin.post(
        url("stage_setup_move", pipeline.discover), {"direction": "up"}, **HTMX
    )
    assert response.status_code == 422
    assert "“Discover” is the first stage already." in response.content.decode()
    response = client_admin.post(url("stage_setup_move", pipeline.lost), {"direction": "down"})
    assert response.status_code == 422
    assert "“Closed lost” is the last stage already." in response.content.decode()
    response = client_admin.post(url("stage_setup_move", pipeline.lost), {"direction": "x"})
    assert response.status_code == 422
    assert names(pipeline)[0] == "Discover"


def test_delete_a_stage(client_admin, pipeline):
    spare = StageFactory(pipeline=pipeline, name="Spare", order=9)
    MilestoneFactory(stage=spare)
    confirm = client_admin.get(url("stage_setup_delete", spare))
    assert confirm.status_code == 200 and "Delete the stage “Spare”?" in confirm.content.decode()

    response = client_admin.post(url("stage_setup_delete", spare), **HTMX)
    assert response.status_code == 200
    assert "Stage “Spare” deleted." in response.content.decode()
    assert not Stage.objects.filter(pk=spare.pk).exists()


def test_a_stage_with_deals_is_not_deleted_and_says_why_on_its_card(client_admin, pipeline, rep):
    OpportunityFactory(owner=rep, stage=pipeline.qualify)
    response = client_admin.post(url("stage_setup_delete", pipeline.qualify), **HTMX)

    assert response.status_code == 422
    assert response["HX-Retarget"] == "#stages"
    html = response.content.decode()
    card = html[html.index(f'id="stage-{pipeline.qualify.pk}"') :]
    card = card[: card.index("</article>")]
    assert "1 opportunity is in the stage &#x27;Qualify&#x27;; move them first." in card
    assert Stage.objects.filter(pk=pipeline.qualify.pk).exists()
    # Without htmx: the editor with the refusal on the card.
    response = client_admin.post(url("stage_setup_delete", pipeline.qualify))
    assert response.status_code == 422 and 'data-testid="stage-error"' in response.content.decode()


# --- milestones ---------------------------------------------------------------------------


@pytest.fixture
def framework(pipeline):
    framework = QualificationFrameworkFactory(name="Ours")
    elements = [
        QualificationElementFactory(framework=framework, name=name, order=i)
        for i, name in enumerate(["Pain", "Champion", "Economic buyer"])
    ]
    pipeline.framework = framework
    pipeline.save(update_fields=["framework"])
    framework.parts = elements
    return framework


def test_add_a_milestone_with_qualification_minimums(client_admin, pipeline, framework):
    pain, champion, _ = framework.parts
    create = url("milestone_setup_create", pipeline.qualify)
    form = client_admin.get(create, **HTMX).content.decode()
    assert 'data-testid="new-milestone"' in form and f'name="level_{pain.pk}"' in form

    response = client_admin.post(
        create,
        {
            "title": "Qualified: pain and champion",
            "kind": "buyer_commitment",
            "required": "on",
            "auto_check": "qualification",
            "min_qualification_score": "40",
            f"level_{pain.pk}": "2",
            f"level_{champion.pk}": "1",
        },
        **HTMX,
    )

    assert response.status_code == 200 and response["HX-Retarget"] == "#stages"
    milestone = Milestone.objects.get(title="Qualified: pain and champion")
    assert (milestone.kind, milestone.auto_check, milestone.min_qualification_score) == (
        "buyer_commitment",
        "qualification",
        40,
    )
    assert milestone.order == 2  # after the stage's one milestone
    levels = {(lvl.element_id, lvl.min_level) for lvl in milestone.element_levels.all()}
    assert levels == {(pain.pk, 2), (champion.pk, 1)}
    assert "Pain ≥ 2, Champion ≥ 1" in response.content.decode()


def test_a_refused_milestone_keeps_what_was_typed(client_admin, pipeline):
    # No framework: the qualification check is refused at its field.
    response = client_admin.post(
        url("milestone_setup_create", pipeline.qualify),
        {
            "title": "Keep me",
            "kind": "seller_action",
            "auto_check": "qualification",
            "min_qualification_score": "140",
        },
        **HTMX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-testid="new-milestone"' in html
    assert "from 0 to 100" in field_error(html, "min_qualification_score")
    assert 'value="Keep me"' in html and 'value="140"' in html
    response = client_admin.post(
        url("milestone_setup_create", pipeline.qualify),
        {"title": "Keep me", "kind": "seller_action", "auto_check": "qualification"},
        **HTMX,
    )
    assert "has no qualification framework" in field_error(response.content.decode(), "auto_check")
    # A closed stage has no milestones; without htmx, the page of its own.
    response = client_admin.post(
        url("milestone_setup_create", pipeline.won), {"title": "Signed", "kind": "seller_action"}
    )
    assert response.status_code == 422
    assert "A closed stage has no exit milestones." in response.content.decode()
    assert not Milestone.objects.filter(title__in=["Keep me", "Signed"]).exists()


def test_edit_a_milestone_and_turn_its_check_off(client_admin, admin_user, pipeline, framework):
    pain = framework.parts[0]
    milestone = services.milestone_create(
        actor=admin_user,
        stage=pipeline.qualify,
        title="Qualified",
        kind="seller_action",
        auto_check="qualification",
        min_qualification_score=50,
        element_levels=[{"element": pain.pk, "min_level": 2}],
    )
    edit = url("milestone_setup_edit", milestone)
    form = client_admin.get(edit, **HTMX).content.decode()
    assert form.startswith(
        f'<li class="so-setup-milestone is-editing" id="milestone-{milestone.pk}"'
    )
    assert re.search(rf'name="level_{pain.pk}".*?<option value="2" selected>', form, re.S)

    # The check off, the minimums left as they were: they go with the check.
    response = client_admin.post(
        edit,
        {
            "title": "Qualified by hand",
            "kind": "seller_action",
            "required": "on",
            "auto_check": "",
            "min_qualification_score": "50",
            f"level_{pain.pk}": "2",
        },
        **HTMX,
    )
    assert response.status_code == 200
    milestone.refresh_from_db()
    assert (milestone.title, milestone.auto_check, milestone.min_qualification_score) == (
        "Qualified by hand",
        "",
        None,
    )
    assert not milestone.element_levels.exists()

    # A minimum typed without the check is refused at its field, the typed value kept.
    response = client_admin.post(
        edit,
        {"title": "Qualified by hand", "kind": "seller_action", f"level_{pain.pk}": "3"},
        **HTMX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Only a milestone with auto_check" in field_error(html, "auto_check")
    assert re.search(rf'name="level_{pain.pk}".*?<option value="3" selected>', html, re.S)


def test_delete_a_milestone(client_admin, pipeline):
    milestone = Milestone.objects.get(title="Pain identified")
    confirm = client_admin.get(url("milestone_setup_delete", milestone))
    assert confirm.status_code == 200
    response = client_admin.post(url("milestone_setup_delete", milestone))
    assert response.status_code == 302
    assert response["Location"] == f"{editor(pipeline)}#stage-{pipeline.discover.pk}"
    assert not Milestone.objects.filter(pk=milestone.pk).exists()


@pytest.mark.parametrize(
    "path",
    [
        "/setup/pipelines/999999/",
        "/setup/stages/999999/",
        "/setup/milestones/999999/",
        "/setup/stages/999999/milestones/new/",
        "/setup/pipelines/999999/stages/new/",
    ],
)
def test_no_such_object_is_a_404(client_admin, path):
    assert client_admin.get(path).status_code == 404


def test_junk_input_is_never_a_500(client_admin, pipeline):
    for path, data in [
        (LIST, {"template": ["a", "b"], "name": "\x00"}),
        (editor(pipeline), {"name": "x" * 500, "framework": "abc"}),
        (url("stage_setup_create", pipeline), {"probability": "1e99", "outcome": "both"}),
        (url("stage_setup_edit", pipeline.discover), {"expected_days": "-5", "name": "D"}),
        (url("stage_setup_move", pipeline.discover), {"direction": ["up", "down"]}),
        (url("milestone_setup_create", pipeline.discover), {"kind": "x", "level_1": "9"}),
    ]:
        response = client_admin.post(path, data)
        assert response.status_code in (302, 422), (path, response.status_code)


# --- fixed query counts -----------------------------------------------------------------


@pytest.mark.parametrize("many", [False, True])
def test_list_query_count(client_admin, pipeline, rep, django_assert_max_num_queries, many):
    if many:
        for i in range(12):
            other = PipelineFactory(name=f"Pipeline {i}")
            stage = StageFactory(pipeline=other, name="Only", order=1)
            MilestoneFactory(stage=stage)
            OpportunityFactory(owner=rep, stage=stage)
    with django_assert_max_num_queries(8):
        assert client_admin.get(LIST).status_code == 200


@pytest.mark.parametrize("many", [False, True])
def test_editor_query_count(client_admin, pipeline, rep, django_assert_max_num_queries, many):
    if many:
        for i in range(10):
            stage = StageFactory(pipeline=pipeline, name=f"Extra {i}", order=10 + i)
            for j in range(4):
                MilestoneFactory(stage=stage, title=f"M{i}.{j}", order=j)
            OpportunityFactory(owner=rep, stage=stage)
    with django_assert_max_num_queries(12):
        assert client_admin.get(editor(pipeline)).status_code == 200
