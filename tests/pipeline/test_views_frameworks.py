"""The qualification framework setup pages (/setup/frameworks/…): administrators and sales
leaders only; a framework and its elements created, edited in place and removed; every
refusal at its field with what was typed kept (400), a refused removal on the element's
card (409); the database after each; fixed query counts."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from pipeline import services
from pipeline.models import (
    AutoCheck,
    MilestoneElementLevel,
    QualificationElement,
    QualificationFramework,
)
from salesops.models import AuditEvent
from tests.factories import (
    MilestoneFactory,
    OpportunityFactory,
    QualificationElementFactory,
    QualificationFrameworkFactory,
)

pytestmark = pytest.mark.django_db

LIST = reverse("pipeline:framework_setup_list")


def detail(framework) -> str:
    return reverse("pipeline:framework_setup_edit", kwargs={"pk": framework.pk})


def url(name: str, obj) -> str:
    return reverse(f"pipeline:{name}", kwargs={"pk": obj.pk})


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def framework(pipeline):
    """Metrics (weight 3), Economic buyer (2), Champion (1), on the pipeline."""
    fw = QualificationFrameworkFactory(name="Acme MEDDICC", description="Enterprise deals")
    fw.metrics = QualificationElementFactory(framework=fw, name="Metrics", weight=3, order=1)
    fw.buyer = QualificationElementFactory(framework=fw, name="Economic buyer", weight=2, order=2)
    fw.champion = QualificationElementFactory(framework=fw, name="Champion", weight=1, order=3)
    pipeline.framework = fw
    pipeline.save(update_fields=["framework"])
    return fw


def field_error(html: str, field_id: str) -> str:
    """The invalid-feedback text crispy renders for the input with id `field_id`."""
    match = re.search(
        rf'id="error_\d+_{re.escape(field_id)}"[^>]*>\s*<strong>(.*?)</strong>', html, re.S
    )
    assert match, f"no error for {field_id}"
    return match.group(1)


def elements(framework) -> list[tuple[str, int, int]]:
    return list(
        QualificationElement.objects.filter(framework=framework)
        .order_by("order", "id")
        .values_list("name", "weight", "order")
    )


def stored() -> tuple:
    """Every framework and element as stored, and the audit trail's length."""
    return (
        sorted(
            QualificationFramework.objects.values_list("pk", "name", "description", "is_active")
        ),
        sorted(
            QualificationElement.objects.values_list(
                "pk", "framework_id", "name", "weight", "order", "guidance"
            )
        ),
        AuditEvent.objects.count(),
    )


# --- who gets in --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_reps_and_managers_are_refused_and_nothing_changes(role, request, framework):
    client = client_for(request.getfixturevalue(role))
    before = stored()
    for path in (LIST, detail(framework), url("element_setup_delete", framework.champion)):
        response = client.get(path)
        assert response.status_code == 403
        assert "Only an administrator or a sales leader" in response.content.decode()
    posts = [
        (LIST, {"name": "Mine"}),
        (detail(framework), {"name": "Renamed", "is_active": "on"}),
        (url("element_setup_create", framework), {"new-name": "Pain", "new-weight": "2"}),
        (
            url("element_setup_edit", framework.metrics),
            {
                f"element-{framework.metrics.pk}-name": "M",
                f"element-{framework.metrics.pk}-weight": "9",
                f"element-{framework.metrics.pk}-order": "1",
            },
        ),
        (url("element_setup_delete", framework.champion), {}),
    ]
    for path, data in posts:
        assert client.post(path, data).status_code == 403
    assert stored() == before
    anonymous = Client().get(LIST)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


def test_unknown_frameworks_and_elements_are_404(leader):
    client = client_for(leader)
    assert client.get("/setup/frameworks/999999999/").status_code == 404
    assert client.post("/setup/elements/999999999/", {}).status_code == 404
    assert client.get("/setup/elements/999999999/delete/").status_code == 404
    assert client.post("/setup/frameworks/999999999/elements/new/", {}).status_code == 404


# --- the list and a new framework -----------------------------------------------------------


def test_the_list_shows_each_framework_with_its_elements_and_where_it_is_used(
    leader, pipeline, framework
):
    MilestoneFactory(stage=pipeline.qualify, auto_check=AutoCheck.QUALIFICATION)
    QualificationFrameworkFactory(name="Acme BANT", is_active=False)

    html = client_for(leader).get(LIST).content.decode()

    rows = dict(
        re.findall(
            r'<tr data-testid="framework-row" data-framework="([^"]+)">(.*?)</tr>', html, re.S
        )
    )

    def cells(row: str) -> list[str]:
        found = re.findall(r'<td[^>]*data-testid="framework-[a-z]+"[^>]*>(.*?)</td>', row, re.S)
        return [" ".join(re.sub(r"<[^>]+>", " ", text).split()) for text in found]

    assert cells(rows["Acme MEDDICC"]) == ["Yes", "3", "New business · checked in Qualify"]
    assert cells(rows["Acme BANT"]) == ["No", "0", "No pipeline"]
    assert detail(framework) in html
    assert reverse("pipeline:pipeline_setup_edit", kwargs={"pk": pipeline.pk}) in html


def test_a_leader_creates_a_framework(leader):
    response = client_for(leader).post(LIST, {"name": "Acme SPICED", "description": "WbD"})

    framework = QualificationFramework.objects.get(name="Acme SPICED")
    assert response.status_code == 302 and response["Location"] == detail(framework)
    assert (framework.description, framework.is_active) == ("WbD", True)
    assert AuditEvent.objects.filter(
        action="qualification_framework.created", actor=leader
    ).exists()


def test_a_refused_framework_keeps_what_was_typed(leader, framework):
    before = stored()
    response = client_for(leader).post(LIST, {"name": "ACME meddicc", "description": "Typed"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "A framework with this name exists." in field_error(html, "id_name")
    assert 'value="ACME meddicc"' in html and ">\nTyped</textarea>" in html
    assert stored() == before


# --- the framework's own fields ---------------------------------------------------------


def test_a_leader_renames_and_deactivates_a_framework(leader, framework):
    response = client_for(leader).post(
        detail(framework), {"name": "Acme MEDDPICC", "description": "With paper process"}
    )

    assert response.status_code == 302 and response["Location"] == detail(framework)
    framework.refresh_from_db()
    assert (framework.name, framework.description, framework.is_active) == (
        "Acme MEDDPICC",
        "With paper process",
        False,
    )


def test_a_refused_rename_keeps_what_was_typed(leader, framework):
    before = stored()
    response = client_for(leader).post(
        detail(framework), {"name": "  ", "description": "Still typed", "is_active": "on"}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in field_error(html, "id_name")
    assert ">\nStill typed</textarea>" in html
    assert stored() == before


# --- elements ----------------------------------------------------------------------------


def test_the_page_shows_the_elements_in_order_each_in_its_own_form(leader, framework):
    html = client_for(leader).get(detail(framework)).content.decode()

    names = re.findall(r'data-testid="element-card" data-element="([^"]+)"', html)
    assert names == ["Metrics", "Economic buyer", "Champion"]
    metrics = f"element-{framework.metrics.pk}"
    assert f'name="{metrics}-name"' in html and f'id="id_{metrics}-weight"' in html
    assert url("element_setup_edit", framework.metrics) in html
    assert url("element_setup_delete", framework.champion) in html


def test_a_leader_adds_an_element_last(leader, framework):
    response = client_for(leader).post(
        url("element_setup_create", framework),
        {"new-name": "Paper process", "new-weight": "2", "new-guidance": "Signed off by legal"},
    )

    element = QualificationElement.objects.get(framework=framework, name="Paper process")
    assert response.status_code == 302
    assert response["Location"] == f"{detail(framework)}#element-{element.pk}"
    assert elements(framework)[-1] == ("Paper process", 2, 4)
    assert element.guidance == "Signed off by legal"


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        ({"new-weight": "0"}, "weight", "from 1 to 100"),
        ({"new-weight": "many"}, "weight", "Enter a whole number."),
        ({"new-name": "metrics"}, "name", "already has an element with this name"),
        ({"new-order": "-3"}, "order", "from 0 to 32767"),
    ],
)
def test_a_refused_element_keeps_what_was_typed(leader, framework, typed, field, message):
    before = stored()
    data = {"new-name": "Decision criteria", "new-weight": "2", "new-guidance": "Typed"} | typed

    response = client_for(leader).post(url("element_setup_create", framework), data)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in field_error(html, f"id_new-{field}")
    assert f'value="{data["new-name"]}"' in html and ">\nTyped</textarea>" in html
    assert re.search(r'<details class="card" id="add-element"[^>]* open', html)
    assert stored() == before


def element_data(element, **typed) -> dict[str, str]:
    values = {"name": element.name, "weight": element.weight, "order": element.order}
    values |= {"guidance": element.guidance} | typed
    return {f"element-{element.pk}-{key}": str(value) for key, value in values.items()}


def test_a_leader_edits_an_element_in_place(leader, framework):
    response = client_for(leader).post(
        url("element_setup_edit", framework.champion),
        element_data(framework.champion, name="Coach", weight=4, order=0, guidance="Sells for us"),
    )

    assert response.status_code == 302
    assert response["Location"] == f"{detail(framework)}#element-{framework.champion.pk}"
    assert elements(framework) == [("Coach", 4, 0), ("Metrics", 3, 1), ("Economic buyer", 2, 2)]
    assert QualificationElement.objects.get(pk=framework.champion.pk).guidance == "Sells for us"


def test_a_refused_edit_comes_back_in_its_place(leader, framework):
    before = stored()
    response = client_for(leader).post(
        url("element_setup_edit", framework.champion),
        element_data(framework.champion, name="METRICS", weight=7),
    )

    assert response.status_code == 400
    html = response.content.decode()
    prefix = f"id_element-{framework.champion.pk}"
    assert "already has an element with this name" in field_error(html, f"{prefix}-name")
    assert 'value="METRICS"' in html and 'value="7"' in html
    # The other elements show what is stored, without errors.
    assert f'name="element-{framework.metrics.pk}-name" value="Metrics"' in html
    assert html.count("invalid-feedback") == 1
    assert stored() == before


# --- removing an element ---------------------------------------------------------------------


def test_removing_asks_first_then_removes(leader, framework):
    client = client_for(leader)
    confirm = client.get(url("element_setup_delete", framework.champion))
    assert confirm.status_code == 200
    assert "Remove the element “Champion” from “Acme MEDDICC”?" in confirm.content.decode()
    assert QualificationElement.objects.filter(pk=framework.champion.pk).exists()

    response = client.post(url("element_setup_delete", framework.champion))

    assert response.status_code == 302 and response["Location"] == f"{detail(framework)}#elements"
    assert [name for name, _, _ in elements(framework)] == ["Metrics", "Economic buyer"]
    assert AuditEvent.objects.filter(action="qualification_element.deleted", actor=leader).exists()


def test_an_element_a_milestone_requires_stays_and_the_card_says_why(leader, pipeline, framework):
    milestone = MilestoneFactory(
        stage=pipeline.qualify, title="Buyer engaged", auto_check=AutoCheck.QUALIFICATION
    )
    MilestoneElementLevel.objects.create(milestone=milestone, element=framework.buyer, min_level=2)
    before = stored()

    response = client_for(leader).post(url("element_setup_delete", framework.buyer))

    assert response.status_code == 409
    html = response.content.decode()
    error = re.search(r'data-testid="element-error">(.*?)</div>', html, re.S).group(1)
    assert error == (
        "The element &#x27;Economic buyer&#x27; cannot be removed: the milestone &#x27;Buyer "
        "engaged&#x27; (Qualify) requires a minimum level of it (remove that minimum in the "
        "pipeline setup first)."
    )
    assert "Required at least 2 by “Buyer engaged” (Qualify" in html
    assert stored() == before
    assert MilestoneElementLevel.objects.filter(milestone=milestone).count() == 1


def test_a_scored_element_stays(leader, rep, pipeline, framework):
    opportunity = OpportunityFactory(owner=rep, stage=pipeline.discover)
    services.qualification_create(
        opportunity_id=opportunity.pk,
        actor=rep,
        scores=[{"element": e.pk, "score": 1} for e in framework.elements.all()],
    )
    before = stored()

    response = client_for(leader).post(url("element_setup_delete", framework.metrics))

    assert response.status_code == 409
    assert "1 qualification score use it" in response.content.decode()
    assert "Scored in 1 qualification." in response.content.decode()
    assert stored() == before


# --- links and query counts --------------------------------------------------------------


def test_the_setup_hub_and_the_pipeline_editor_link_to_the_frameworks(leader, pipeline, framework):
    client = client_for(leader)
    assert f'href="{LIST}"' in client.get("/setup/").content.decode()
    editor = reverse("pipeline:pipeline_setup_edit", kwargs={"pk": pipeline.pk})
    html = client.get(editor).content.decode()
    assert f'href="{detail(framework)}"' in html and f'href="{LIST}"' in html


def _many_frameworks_in_use(pipeline) -> None:
    for n in range(6):
        fw = QualificationFrameworkFactory(name=f"Extra {n}")
        QualificationElementFactory.create_batch(4, framework=fw)
        if n % 2:
            other = type(pipeline).objects.create(name=f"Pipeline {n}", framework=fw)
            stage = other.stages.create(name="Qualify", order=1, probability=20)
            MilestoneFactory(stage=stage, auto_check=AutoCheck.QUALIFICATION)


# A request's own (the session, the user, the navbar's counts) and the page's: the list
# reads the frameworks with their element counts, their pipelines and the stages checking
# them; the page the framework, its elements with their score counts, the milestones
# requiring them, its pipelines and their stages.
LIST_QUERIES = 6
PAGE_QUERIES = 8


def test_the_list_costs_the_same_queries_however_many_frameworks(
    leader, pipeline, framework, django_assert_num_queries
):
    client = client_for(leader)
    with django_assert_num_queries(LIST_QUERIES):
        assert client.get(LIST).status_code == 200
    _many_frameworks_in_use(pipeline)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(LIST)
    # Each row says it twice: in its own column, and under the name on a phone.
    assert response.content.decode().count("checked in Qualify") == 2 * 3


def test_the_page_costs_the_same_queries_however_many_elements(
    leader, pipeline, framework, django_assert_num_queries
):
    client = client_for(leader)
    with django_assert_num_queries(PAGE_QUERIES):
        assert client.get(detail(framework)).status_code == 200
    for n in range(8):
        element = QualificationElementFactory(framework=framework, name=f"Extra {n}")
        milestone = MilestoneFactory(stage=pipeline.qualify, auto_check=AutoCheck.QUALIFICATION)
        MilestoneElementLevel.objects.create(milestone=milestone, element=element, min_level=1)
    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(detail(framework))
    assert response.content.decode().count('data-testid="element-card"') == 11
