from django.apps import AppConfig


class ProposalsConfig(AppConfig):
    name = "proposals"

    def ready(self) -> None:
        # The audit trail (salesops) links the events about a proposal to its page.
        from salesops.audit import register_target_page

        register_target_page("proposals.proposal", "proposals:detail")
