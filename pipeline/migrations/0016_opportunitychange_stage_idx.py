# The stage history in each deal's order, covering what the insights read (see
# OpportunityChange.Meta). Built CONCURRENTLY: the history takes a row with every deal's
# change, and a plain CREATE INDEX would hold those writes for the build (seconds to
# minutes on a large history).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("pipeline", "0015_stage_rule_changes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="opportunitychange",
            index=models.Index(
                condition=models.Q(("field", "stage")),
                fields=["opportunity", "changed_at", "id"],
                include=("old_value", "new_value", "override_reason"),
                name="opportunitychange_stage_idx",
            ),
        ),
    ]
