from django.apps import AppConfig


class ProposalsConfig(AppConfig):
    name = "proposals"

    def ready(self) -> None:
        # The audit trail (salesops) links the events about a proposal to its page.
        from salesops.audit import register_target_page

        register_target_page("proposals.proposal", "proposals:detail")

        # The pipeline's gate, navbar and deal page learn about proposals from here (the
        # pipeline, a lower app, imports nothing of proposals).
        from pipeline import providers
        from proposals import selectors
        from proposals.deal_page import proposals_card_context

        providers.register_approved_proposals(
            lambda opportunity_id: selectors.approved_proposal_count(opportunity_id=opportunity_id)
        )
        providers.register_review_queue(selectors.awaiting_review_for)
        providers.register_deal_section(
            providers.DealSection(
                order=10,
                template="proposals/partials/opportunity_card.html",
                context=proposals_card_context,
            )
        )
