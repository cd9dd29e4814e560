from django.apps import AppConfig


class HiringConfig(AppConfig):
    name = "hiring"
    verbose_name = "Hiring and onboarding"

    def ready(self) -> None:
        # Coaching is a lower app: hiring registers with it what only hiring knows —
        # overdue onboarding tasks as cadence flags, a new hire's first 1:1 focus skills.
        from coaching import focus_suggestions
        from hiring import onboarding_flags, selectors

        onboarding_flags.register()
        focus_suggestions.register("hiring", selectors.first_one_on_ones_focus)
