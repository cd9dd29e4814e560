from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from pipeline import selectors
from salesops import access
from salesops.models import Role
from tests.factories import OpportunityFactory, TeamFactory, UserFactory


def test_visibility_cast(
    rep, teammate, manager, other_manager, other_rep, leader, admin_user, pipeline
):
    mine = OpportunityFactory(owner=rep, stage=pipeline.discover)
    teammates = OpportunityFactory(owner=teammate, stage=pipeline.discover)
    others = OpportunityFactory(owner=other_rep, stage=pipeline.discover)

    def ids(user):
        return set(selectors.opportunity_list_for(user).values_list("pk", flat=True))

    assert ids(rep) == {mine.pk}
    assert ids(teammate) == {teammates.pk}
    assert ids(manager) == {mine.pk, teammates.pk}
    assert ids(other_manager) == {others.pk}
    assert ids(leader) == ids(admin_user) == {mine.pk, teammates.pk, others.pk}


def test_manager_sees_sub_teams(manager, team_a, pipeline):
    sub = TeamFactory(name="Sub", parent=team_a)
    sub_rep = UserFactory(team=sub)
    opp = OpportunityFactory(owner=sub_rep, stage=pipeline.discover)
    assert sub.pk in access.managed_team_ids(manager)
    assert selectors.opportunity_list_for(manager).filter(pk=opp.pk).exists()


def test_override_rights(rep, teammate, manager, other_manager, leader):
    assert access.can_override_gate(manager, rep)
    assert access.can_override_gate(leader, rep)
    assert not access.can_override_gate(rep, rep)
    assert not access.can_override_gate(teammate, rep)
    assert not access.can_override_gate(other_manager, rep)


def test_inactive_user_sees_nothing(rep, pipeline):
    OpportunityFactory(owner=rep, stage=pipeline.discover)
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    assert selectors.opportunity_list_for(rep).count() == 0


def test_administrators_and_leaders_configure_the_sales_process(rep, manager, leader, admin_user):
    assert access.configures_sales_process(admin_user)
    assert access.configures_sales_process(leader)
    assert access.configures_sales_process(UserFactory(role=Role.REP, is_superuser=True))
    assert not access.configures_sales_process(manager)
    assert not access.configures_sales_process(rep)
    assert not access.configures_sales_process(AnonymousUser())
    leader.is_active = False
    assert not access.configures_sales_process(leader)
