"""The forecast data version: one row bumped, once per transaction and at its commit, by
deferred constraint triggers on everything the forecast numbers read (see
forecasting.models.ForecastDataVersion and forecasting.freshness).

Deferred, so the row is locked only between the trigger and the commit (writers do not
queue behind a long transaction); once per transaction, marked by a transaction-local
setting holding the transaction id, so a million-row statement bumps it once. Columns that
never feed a number (a deal's next step, a user's last login…) do not bump it. TRUNCATE
cannot fire a constraint trigger: a statement trigger bumps it at once instead."""

from django.db import migrations, models

FUNCTION = """
CREATE FUNCTION forecasting_data_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('salesops.forecast_data_bumped', true)
       IS DISTINCT FROM txid_current()::text THEN
        PERFORM set_config('salesops.forecast_data_bumped', txid_current()::text, true);
        UPDATE forecasting_forecastdataversion
           SET version = version + 1, changed_at = clock_timestamp()
         WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$;
"""

# table -> the UPDATE columns that matter (None: every update).
WATCHED = {
    "pipeline_opportunity": (
        "name, owner_id, pipeline_id, stage_id, amount, currency, close_date, "
        "forecast_category, forecast_category_override_reason, status, closed_at, "
        "stage_entered_at"
    ),
    "pipeline_stage": 'name, "order", probability, forecast_category, is_won, is_lost, pipeline_id',
    "salesops_user": "username, first_name, last_name, role, team_id, is_active",
    "salesops_team": None,
    "forecasting_quota": None,
    "forecasting_forecastsubmission": None,
    "forecasting_pipelinesnapshot": None,
}


def _triggers() -> tuple[str, str]:
    create, drop = [], []
    for table, columns in WATCHED.items():
        update = f"UPDATE OF {columns}" if columns else "UPDATE"
        create.append(
            f"CREATE CONSTRAINT TRIGGER forecast_data_changed AFTER INSERT OR DELETE OR {update}"
            f" ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
            " EXECUTE FUNCTION forecasting_data_changed();"
            f" CREATE TRIGGER forecast_data_truncated AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION forecasting_data_changed();"
        )
        drop.append(
            f"DROP TRIGGER IF EXISTS forecast_data_changed ON {table};"
            f" DROP TRIGGER IF EXISTS forecast_data_truncated ON {table};"
        )
    return "\n".join(create), "\n".join(drop)


CREATE_TRIGGERS, DROP_TRIGGERS = _triggers()


class Migration(migrations.Migration):
    dependencies = [
        ("forecasting", "0004_meetings"),
        ("pipeline", "0001_initial"),
        ("salesops", "0005_user_started_on"),
    ]

    operations = [
        migrations.CreateModel(
            name="ForecastDataVersion",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("version", models.BigIntegerField(default=1)),
                ("changed_at", models.DateTimeField(null=True)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(condition=models.Q(id=1), name="data_version_one_row")
                ],
            },
        ),
        migrations.RunSQL(
            "INSERT INTO forecasting_forecastdataversion (id, version) VALUES (1, 1);",
            "DELETE FROM forecasting_forecastdataversion;",
        ),
        migrations.RunSQL(FUNCTION, "DROP FUNCTION IF EXISTS forecasting_data_changed();"),
        migrations.RunSQL(CREATE_TRIGGERS, DROP_TRIGGERS),
    ]
