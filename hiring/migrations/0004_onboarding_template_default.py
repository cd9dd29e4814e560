"""One onboarding template is the default: the one a new hire's plan is copied from. The
template new hires got until now (the first by id: the seeded 30/60/90-day plan) becomes
it, so nobody's next plan changes."""

from django.db import migrations, models

SEEDED = "New account executive — 30/60/90 days"  # 0003_default_onboarding_plan


def mark_default(apps, schema_editor):
    Template = apps.get_model("hiring", "OnboardingTemplate")
    if Template.objects.filter(is_default=True).exists():
        return
    chosen = Template.objects.filter(name=SEEDED).first() or Template.objects.order_by("pk").first()
    if chosen is not None:
        Template.objects.filter(pk=chosen.pk).update(is_default=True)


class Migration(migrations.Migration):
    dependencies = [("hiring", "0003_default_onboarding_plan")]

    operations = [
        migrations.AddField(
            model_name="onboardingtemplate",
            name="is_default",
            field=models.BooleanField(default=False),
        ),
        migrations.AddConstraint(
            model_name="onboardingtemplate",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_default", True)),
                fields=("is_default",),
                name="onboarding_template_one_default",
            ),
        ),
        migrations.RunPython(mark_default, migrations.RunPython.noop),
    ]
