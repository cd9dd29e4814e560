from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo company: `seed_demo` builds it through every app's services; `demo_remove`
    (a page on /setup/ and a command) takes it away again. The only app that imports every
    other app."""

    name = "demo"
    verbose_name = "Demo company"

    def ready(self) -> None:
        from demo import setup

        setup.register()
