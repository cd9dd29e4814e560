from django.apps import AppConfig


class CoachingConfig(AppConfig):
    name = "coaching"

    def ready(self) -> None:
        # The audit trail (salesops) links the events about these to their pages.
        from salesops.audit import register_target_page

        register_target_page("coaching.opportunityreview", "coaching:review_detail")
        register_target_page("coaching.coachingsession", "coaching:session_detail")
