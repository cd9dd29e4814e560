from django.apps import AppConfig


class HiringConfig(AppConfig):
    name = "hiring"
    verbose_name = "Hiring and onboarding"

    def ready(self) -> None:
        # Coaching is a lower app: hiring registers with it what only hiring knows —
        # overdue onboarding tasks as cadence flags, a new hire's first 1:1 focus skills.
        from coaching import focus_suggestions
        from hiring import onboarding_flags, selectors
        from salesops.audit import register_target_page

        onboarding_flags.register()
        register_target_page("hiring.candidate", "hiring:candidate")
        register_target_page("hiring.position", "hiring:position")
        focus_suggestions.register("hiring", selectors.first_one_on_ones_focus)
