"""Who may tick a milestone: one that states the manager's act (`completable_by="manager"`)
is ticked and un-ticked by the owner's manager only — never by the owner on their behalf —
on every path (the service, the page's toggle, the API); automatic ones by nobody. Admins
set it on the setup pages and over the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pipeline import services
from pipeline.blueprints import BLUEPRINTS
from pipeline.models import AutoCheck, Milestone, MilestoneCompletion, Pipeline
from salesops.exceptions import PermissionDenied, ValidationFailed
from salesops.models import AuditEvent
from tests.factories import MilestoneFactory, OpportunityFactory
from tests.pipeline.test_api import assert_error

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
TERMS = "Commercial terms approved internally"


@pytest.fixture
def terms(pipeline) -> Milestone:
    return MilestoneFactory(
        stage=pipeline.discover, title=TERMS, kind="seller_action", completable_by="manager"
    )


def tick(opp, milestone, actor):
    return services.milestone_complete(
        opportunity_id=opp.pk, milestone_id=milestone.pk, actor=actor
    )


# --- the service -----------------------------------------------------------------------------


def test_the_owner_cannot_tick_the_managers_milestone_and_nothing_is_saved(
    opportunity, rep, manager, terms
):
    manager.first_name, manager.last_name = "Maria", "Lopez"
    manager.save(update_fields=["first_name", "last_name"])
    with pytest.raises(PermissionDenied) as exc:
        tick(opportunity, terms, rep)
    assert exc.value.code == "milestone_manager_only"
    assert exc.value.message == (
        f"Only the owner's manager (Maria Lopez) can tick “{TERMS}”: it records their "
        "decision, not the seller's."
    )
    assert exc.value.details == {"milestone": terms.pk, "completable_by": "manager"}
    assert not MilestoneCompletion.objects.exists()
    assert not AuditEvent.objects.filter(action="milestone.completed").exists()


def test_the_manager_ticks_it_and_only_the_manager_unticks_it(opportunity, rep, manager, terms):
    completion = tick(opportunity, terms, manager)
    assert completion.completed_by == manager
    with pytest.raises(PermissionDenied, match="can un-tick"):
        services.milestone_uncomplete(
            opportunity_id=opportunity.pk, milestone_id=terms.pk, actor=rep
        )
    assert MilestoneCompletion.objects.filter(milestone=terms).count() == 1
    services.milestone_uncomplete(
        opportunity_id=opportunity.pk, milestone_id=terms.pk, actor=manager
    )
    assert not MilestoneCompletion.objects.exists()


def test_a_leader_may_tick_it_and_nobody_ticks_it_on_their_own_deal(
    manager, leader, pipeline, terms
):
    own = OpportunityFactory(owner=manager, stage=pipeline.discover)
    with pytest.raises(PermissionDenied):
        tick(own, terms, manager)  # a manager's own deal: their manager's (or a leader's) call
    assert tick(own, terms, leader).completed_by == leader


def test_an_owner_milestone_is_still_ticked_by_the_owner_or_the_manager(
    opportunity, rep, manager, pipeline
):
    pain = pipeline.discover.milestones.get(title="Pain identified")
    assert pain.completable_by == "owner"
    assert tick(opportunity, pain, rep).completed_by == rep


def test_admins_set_who_ticks_it_and_an_automatic_one_names_nobody(admin_user, pipeline):
    milestone = services.milestone_create(
        actor=admin_user,
        stage=pipeline.qualify,
        title="Discount approved",
        kind="seller_action",
        completable_by="manager",
    )
    assert milestone.completable_by == "manager"
    with pytest.raises(ValidationFailed) as exc:
        services.milestone_create(
            actor=admin_user, stage=pipeline.qualify, title="Bad", kind="seller_action",
            completable_by="anyone",
        )  # fmt: skip
    assert "completable_by" in exc.value.details
    with pytest.raises(ValidationFailed) as exc:
        services.milestone_create(
            actor=admin_user, stage=pipeline.qualify, title="Approved", kind="seller_action",
            completable_by="manager", auto_check="proposal_approved",
        )  # fmt: skip
    assert "ticked by anyone" in exc.value.details["completable_by"][0]
    assert not Milestone.objects.filter(title__in=["Bad", "Approved"]).exists()
    # Turning it automatic: nobody ticks it any more, the system checks it.
    services.milestone_update(
        milestone_id=milestone.pk, actor=admin_user, auto_check="proposal_approved"
    )
    milestone.refresh_from_db()
    assert (milestone.auto_check, milestone.completable_by) == ("proposal_approved", "owner")


def test_the_new_business_template_states_nobody_elses_act_as_the_sellers(admin_user):
    pipeline = services.pipeline_create_from_template(
        actor=admin_user, template="new_business", name="Acme"
    )
    milestones = {m.title: m for m in Milestone.objects.filter(stage__pipeline=pipeline)}
    approved = milestones["Proposal with a personalized executive summary approved by the manager"]
    assert approved.auto_check == AutoCheck.PROPOSAL_APPROVED
    terms = milestones["Commercial terms approved internally (discount, payment, term)"]
    assert terms.completable_by == "manager"
    seeds = [m for s in BLUEPRINTS["new_business"].stages for m in s.milestones]
    assert len(milestones) == len(seeds)


# --- the API ---------------------------------------------------------------------------------


def test_api_refuses_the_owner_with_403_and_lets_the_manager_tick(
    opportunity, rep, manager, terms, key_for
):
    path = f"/api/v1/opportunities/{opportunity.pk}/milestones/{terms.pk}/"
    body = assert_error(key_for(rep).post(path + "complete/", {}), 403, "milestone_manager_only")
    assert "owner's manager" in body["message"]
    assert not MilestoneCompletion.objects.exists()
    response = key_for(manager).post(path + "complete/", {})
    assert response.status_code == 200, response.content
    assert response.json()["completed_by"]["id"] == manager.pk
    assert_error(key_for(rep).post(path + "uncomplete/", {}), 403, "milestone_manager_only")
    assert MilestoneCompletion.objects.count() == 1
    states = key_for(rep).get(f"/api/v1/opportunities/{opportunity.pk}/milestones/").json()
    assert {s["id"]: s["completable_by"] for s in states}[terms.pk] == "manager"


def test_api_admins_set_completable_by(admin_user, rep, pipeline, key_for):
    body = {"stage": pipeline.qualify.pk, "title": "Discount approved", "kind": "seller_action"}
    assert_error(key_for(rep).post("/api/v1/milestones/", body), 403)
    client = key_for(admin_user)
    created = client.post("/api/v1/milestones/", {**body, "completable_by": "manager"})
    assert created.status_code == 201, created.content
    assert created.json()["completable_by"] == "manager"
    milestone_id = created.json()["id"]
    refused = client.patch(
        f"/api/v1/milestones/{milestone_id}/", {"completable_by": "nobody"}, format="json"
    )
    assert "completable_by" in assert_error(refused, 400)["details"]
    patched = client.patch(
        f"/api/v1/milestones/{milestone_id}/", {"completable_by": "owner"}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["completable_by"] == "owner"
    assert Milestone.objects.get(pk=milestone_id).completable_by == "owner"


# --- the pages -------------------------------------------------------------------------------


def test_page_toggle_shows_the_refusal_where_the_owner_clicked(
    client, opportunity, rep, manager, terms
):
    client.force_login(rep)
    detail = client.get(reverse("pipeline:opportunity_detail", args=[opportunity.pk]))
    assert "Ticked by the owner's manager, not by you." in detail.content.decode()
    toggle = reverse("pipeline:milestone_toggle", args=[opportunity.pk, terms.pk])
    response = client.post(toggle, {"done": "on", "location": "main"}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="ms-main-{terms.pk}"' in html and 'role="alert"' in html
    assert "Only the owner&#x27;s manager" in html
    assert not MilestoneCompletion.objects.exists()
    # Without htmx: back to the page, with the refusal as a message.
    response = client.post(toggle, {"done": "on"}, follow=True)
    assert "Only the owner&#x27;s manager" in response.content.decode()

    client.force_login(manager)
    response = client.post(toggle, {"done": "on", "location": "main"}, **HTMX)
    assert response.status_code == 200
    assert MilestoneCompletion.objects.get(milestone=terms).completed_by == manager


def test_setup_page_sets_who_ticks_it(client, admin_user, pipeline):
    client.force_login(admin_user)
    create = reverse("pipeline:milestone_setup_create", kwargs={"pk": pipeline.qualify.pk})
    form = client.get(create, **HTMX).content.decode()
    assert 'name="completable_by"' in form
    response = client.post(
        create,
        {"title": "Discount approved", "kind": "seller_action", "completable_by": "manager"},
        **HTMX,
    )
    assert response.status_code == 200
    milestone = Milestone.objects.get(title="Discount approved")
    assert milestone.completable_by == "manager"
    assert 'data-testid="milestone-manager-only"' in response.content.decode()
    refused = client.post(
        create,
        {
            "title": "Proposal approved",
            "kind": "seller_action",
            "auto_check": "proposal_approved",
            "completable_by": "manager",
        },
        **HTMX,
    )
    assert refused.status_code == 422
    assert "ticked by anyone" in refused.content.decode()
    assert 'value="Proposal approved"' in refused.content.decode()
    edit = reverse("pipeline:milestone_setup_edit", kwargs={"pk": milestone.pk})
    assert '<option value="manager" selected>' in client.get(edit).content.decode()
    # Saved without the field (an older client): it stays as it is.
    response = client.post(edit, {"title": "Discount approved", "kind": "seller_action"}, **HTMX)
    assert response.status_code == 200
    milestone.refresh_from_db()
    assert milestone.completable_by == "manager"
    assert Pipeline.objects.count() == 1


def test_migration_makes_the_templates_old_milestones_say_who_ticks_them(pipeline):
    """Pipelines set up from the template before 0017 kept "approved by the manager" as a
    seller's tick: the data migration makes it the automatic check and the terms approval
    the manager's — but leaves a milestone an administrator edited as it is."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("pipeline.migrations.0018_template_milestones_say_who_ticks_them")
    approved = MilestoneFactory(
        stage=pipeline.discover, title=migration.PROPOSAL_APPROVED_TITLE, requires_evidence=True
    )
    terms = MilestoneFactory(stage=pipeline.discover, title=migration.TERMS_APPROVED_TITLE)
    edited = MilestoneFactory(
        stage=pipeline.discover, title=migration.TERMS_APPROVED_TITLE + " by finance"
    )
    migration.say_who_ticks_them(apps, None)
    for milestone in (approved, terms, edited):
        milestone.refresh_from_db()
    assert (approved.auto_check, approved.requires_evidence) == ("proposal_approved", False)
    assert approved.description.startswith("Checked automatically")
    assert terms.completable_by == "manager" and terms.auto_check == ""
    assert edited.completable_by == "owner"
