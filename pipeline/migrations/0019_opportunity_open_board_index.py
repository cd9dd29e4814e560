# The board's counts and totals of open deals, read from the index alone (see
# Opportunity.Meta). Built CONCURRENTLY: a plain CREATE INDEX would hold every write to the
# deals for the build (seconds on a large table).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("pipeline", "0018_template_milestones_say_who_ticks_them"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="opportunity",
            index=models.Index(
                condition=models.Q(("status", "open")),
                fields=["pipeline", "owner", "stage", "currency"],
                include=("amount",),
                name="opportunity_open_board_idx",
            ),
        ),
    ]
