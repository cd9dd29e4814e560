"""The weekly snapshot totals (forecasting.models.PipelineSnapshotTotal) and the statement
triggers that keep them exact whatever writes the snapshot table: each statement adds one
row per key it touched (inserted rows their sums, deleted rows their negated sums; an
update both). The totals of the snapshots already taken are filled in here."""

from django.db import migrations, models

GROUPED = """
    SELECT week, owner_id, team_id, date_trunc('month', close_date)::date, forecast_category,
           currency, {sign} count(*), {sign} sum(amount)
    FROM {rows}
    GROUP BY week, owner_id, team_id, date_trunc('month', close_date)::date,
             forecast_category, currency
"""
INSERT = (
    "INSERT INTO forecasting_pipelinesnapshottotal"
    " (week, owner_id, team_id, close_month, forecast_category, currency, deals, amount)"
)


def _function(name: str, *parts: str) -> str:
    body = ";\n".join(f"{INSERT} {part}" for part in parts)
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body};
    RETURN NULL;
END
$$;
"""


FUNCTIONS = (
    _function("forecasting_snapshot_totals_added", GROUPED.format(sign="", rows="new_rows"))
    + _function("forecasting_snapshot_totals_removed", GROUPED.format(sign="-", rows="old_rows"))
    + _function(
        "forecasting_snapshot_totals_changed",
        GROUPED.format(sign="-", rows="old_rows"),
        GROUPED.format(sign="", rows="new_rows"),
    )
    + """
CREATE FUNCTION forecasting_snapshot_totals_emptied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM forecasting_pipelinesnapshottotal;
    RETURN NULL;
END
$$;
"""
)
DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS forecasting_snapshot_totals_added();
DROP FUNCTION IF EXISTS forecasting_snapshot_totals_removed();
DROP FUNCTION IF EXISTS forecasting_snapshot_totals_changed();
DROP FUNCTION IF EXISTS forecasting_snapshot_totals_emptied();
"""

TABLE = "forecasting_pipelinesnapshot"
TRIGGERS = f"""
CREATE TRIGGER snapshot_totals_insert AFTER INSERT ON {TABLE}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forecasting_snapshot_totals_added();
CREATE TRIGGER snapshot_totals_delete AFTER DELETE ON {TABLE}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forecasting_snapshot_totals_removed();
CREATE TRIGGER snapshot_totals_update AFTER UPDATE ON {TABLE}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forecasting_snapshot_totals_changed();
CREATE TRIGGER snapshot_totals_truncate AFTER TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION forecasting_snapshot_totals_emptied();
"""
DROP_TRIGGERS = "".join(
    f"DROP TRIGGER IF EXISTS snapshot_totals_{event} ON {TABLE};\n"
    for event in ("insert", "delete", "update", "truncate")
)
BACKFILL = f"{INSERT} {GROUPED.format(sign='', rows=TABLE)};"


class Migration(migrations.Migration):
    dependencies = [("forecasting", "0005_data_version")]

    operations = [
        migrations.CreateModel(
            name="PipelineSnapshotTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("week", models.DateField()),
                ("owner_id", models.BigIntegerField(null=True)),
                ("team_id", models.BigIntegerField(null=True)),
                (
                    "close_month",
                    models.DateField(help_text="The first day of the close date's month."),
                ),
                (
                    "forecast_category",
                    models.CharField(
                        choices=[
                            ("pipeline", "Pipeline"),
                            ("best_case", "Best case"),
                            ("commit", "Commit"),
                            ("closed", "Closed"),
                            ("omitted", "Omitted"),
                        ],
                        max_length=16,
                    ),
                ),
                ("currency", models.CharField(max_length=3)),
                ("deals", models.IntegerField()),
                ("amount", models.DecimalField(decimal_places=2, max_digits=18)),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["close_month", "week"], name="snapshot_total_month_week_idx"
                    )
                ],
            },
        ),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
