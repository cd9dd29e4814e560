from django.apps import AppConfig


class CoachingConfig(AppConfig):
    name = "coaching"

    def ready(self) -> None:
        # The audit trail (salesops) links the events about these to their pages.
        from salesops.audit import register_target_page

        register_target_page("coaching.opportunityreview", "coaching:review_detail")
        register_target_page("coaching.coachingsession", "coaching:session_detail")

        # The "Coaching review" card on a deal's page (the pipeline imports no coaching).
        from coaching.deal_page import reviews_card_context
        from pipeline import providers

        providers.register_deal_section(
            providers.DealSection(
                order=20,
                template="coaching/partials/opportunity_reviews_card.html",
                context=reviews_card_context,
            )
        )
