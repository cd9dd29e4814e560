"""Forecast calls stay immutable, with one way out: removing the demo company
(demo.services.demo_remove) deletes the demo people's calls. It says so for its own
transaction only (set_config('salesops.removing_demo', 'on', true)); every other UPDATE or
DELETE is refused as before."""

from django.db import migrations

ALLOW_DEMO_REMOVAL = """
CREATE OR REPLACE FUNCTION forecasting_forecastsubmission_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('salesops.removing_demo', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'forecasting_forecastsubmission is immutable: rows cannot be %',
        lower(TG_OP) || 'd'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""

IMMUTABLE_ALWAYS = """
CREATE OR REPLACE FUNCTION forecasting_forecastsubmission_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'forecasting_forecastsubmission is immutable: rows cannot be %',
        lower(TG_OP) || 'd'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("forecasting", "0006_snapshot_totals")]

    operations = [migrations.RunSQL(ALLOW_DEMO_REMOVAL, IMMUTABLE_ALWAYS)]
