"""The reviewer checklist every organisation starts with; admins edit it afterwards."""

from django.db import migrations

ITEMS = [
    "Pricing and discounts are approved",
    "Scope and deliverables are clear",
    "Next steps and the decision date are agreed with the customer",
    "Terms are standard, or the exceptions are approved",
]


def seed(apps, schema_editor):
    item = apps.get_model("proposals", "ReviewChecklistItem")
    for order, text in enumerate(ITEMS, start=1):
        item.objects.get_or_create(text=text, defaults={"order": order})


def unseed(apps, schema_editor):
    apps.get_model("proposals", "ReviewChecklistItem").objects.filter(text__in=ITEMS).delete()


class Migration(migrations.Migration):
    dependencies = [("proposals", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
