"""The default onboarding plan for new account executives: 30/60/90 days of product
training and "how we sell here" — our stages and milestones, qualification with our
framework, the executive-summary standard, a shadowed opportunity review — with the
manager signing off what they must witness. Edited like any template afterwards."""

from django.db import migrations

NAME = "New account executive — 30/60/90 days"

TASKS = [
    ("product", "Product training: what each product does and for whom", 3, False),
    ("how_we_sell", "Our stages and their exit milestones: walk the board with your manager", 5, False),
    ("how_we_sell", "Qualification with our framework: qualify two live deals", 10, False),
    ("how_we_sell", "The executive-summary standard: write one that passes review", 15, False),
    ("shadow", "Shadow an opportunity review", 21, True),
    ("coaching", "30-day check-in with your manager", 30, True),
    ("how_we_sell", "Run a discovery call on your own deal, debriefed", 45, True),
    ("shadow", "Lead the opportunity review of one of your deals", 60, True),
    ("coaching", "90-day review: ramp milestones and next quarter's focus", 90, True),
]


def seed(apps, schema_editor):
    Template = apps.get_model("hiring", "OnboardingTemplate")
    Task = apps.get_model("hiring", "OnboardingTemplateTask")
    template, created = Template.objects.get_or_create(
        name=NAME,
        defaults={"description": "Product first, then how we sell here; coached every week."},
    )
    if created:
        Task.objects.bulk_create(
            Task(template=template, kind=kind, title=title, due_day=day, manager_signs_off=signs)
            for kind, title, day, signs in TASKS
        )


def unseed(apps, schema_editor):
    apps.get_model("hiring", "OnboardingTemplate").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("hiring", "0002_onboarding")]

    operations = [migrations.RunPython(seed, unseed)]
