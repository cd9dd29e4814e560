"""A comment on a proposal is audited; a refused one records nothing."""

from __future__ import annotations

import pytest

from proposals import services
from proposals.models import ProposalComment
from salesops.exceptions import NotFound, ValidationFailed
from salesops.models import AuditEvent
from tests.proposals.conftest import proposal_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def proposal(rep, deal):
    return services.proposal_create(actor=rep, opportunity_id=deal.pk, **proposal_data())


def test_a_comment_is_audited_on_the_proposal(manager, proposal):
    section = proposal.sections.first()
    comment = services.proposal_comment_add(
        actor=manager, proposal_id=proposal.pk, body="Tighten the pricing.", section_id=section.pk
    )
    event = AuditEvent.objects.get(action="proposal.comment_added")
    assert (event.actor, event.target_type, event.target_id) == (
        manager, "proposals.proposal", proposal.pk,
    )  # fmt: skip
    assert event.data == {"comment": comment.pk, "section": section.pk}


def test_a_refused_comment_records_nothing(teammate, manager, proposal):
    with pytest.raises(NotFound):  # outside the teammate's scope
        services.proposal_comment_add(actor=teammate, proposal_id=proposal.pk, body="Hi")
    with pytest.raises(ValidationFailed):
        services.proposal_comment_add(actor=manager, proposal_id=proposal.pk, body="   ")
    assert not ProposalComment.objects.exists()
    assert not AuditEvent.objects.filter(action="proposal.comment_added").exists()
