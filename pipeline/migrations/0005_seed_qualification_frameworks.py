"""The standard qualification frameworks, with their real elements, as editable data."""

from django.db import migrations

from pipeline.standard_frameworks import ELEMENTS, FRAMEWORKS

# The data lives in pipeline.standard_frameworks (plain data, no models), shared with the
# pipeline templates that recreate a deleted framework.


def seed(apps, schema_editor):
    framework_model = apps.get_model("pipeline", "QualificationFramework")
    element_model = apps.get_model("pipeline", "QualificationElement")
    for name, elements in FRAMEWORKS.items():
        framework, created = framework_model.objects.get_or_create(name=name)
        if not created:
            continue
        element_model.objects.bulk_create(
            element_model(framework=framework, name=element, guidance=ELEMENTS[element],
                          weight=1, order=i)
            for i, element in enumerate(elements, start=1)
        )


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0004_qualification_and_flags")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
