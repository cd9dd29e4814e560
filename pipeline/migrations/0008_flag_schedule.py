"""The flag schedule: when the refresh must look at each deal again (FlagSchedule).

Triggers keep it honest on every path, so that no write can leave a deal's flags stale
until its next scheduled check:
- a new opportunity gets its row (due at once when open; never (NULL) when created
  closed);
- a change to anything a flag rule reads marks the deal due (-infinity) and bumps the
  row's version: the deal's own inputs, its qualifications (added, voided, removed), its
  stage's name and limits, its pipeline's framework, that framework's name.
Existing opportunities are backfilled the same way.

`Opportunity.latest_qualification` becomes a database invariant too (the refresh and the
lists read it instead of searching the history): a new qualification becomes the latest
when it is the newest by (assessed_at, id), and changing or deleting one re-points it. Fillfactor 50 leaves room on every
page for the refresh's HOT updates of due_at.
"""

import django.db.models.deletion
from django.db import migrations, models

MARK_DUE = "UPDATE pipeline_flagschedule SET due_at = '-infinity', version = version + 1"

CREATE = f"""
ALTER TABLE pipeline_flagschedule SET (fillfactor = 50);

INSERT INTO pipeline_flagschedule (opportunity_id, due_at, version)
SELECT id, CASE WHEN status = 'open' THEN '-infinity'::timestamptz END, 0
FROM pipeline_opportunity;

CREATE FUNCTION pipeline_flagschedule_add() RETURNS trigger AS $$
BEGIN
    INSERT INTO pipeline_flagschedule (opportunity_id, due_at, version)
    SELECT n.id, CASE WHEN n.status = 'open' THEN '-infinity'::timestamptz END, 0
    FROM new_rows n
    ON CONFLICT (opportunity_id) DO NOTHING;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_opportunity_flag_schedule_add
    AFTER INSERT ON pipeline_opportunity
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline_flagschedule_add();

CREATE FUNCTION pipeline_opportunity_flags_due() RETURNS trigger AS $$
BEGIN
    {MARK_DUE} WHERE opportunity_id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_opportunity_flags_due
    AFTER UPDATE ON pipeline_opportunity
    FOR EACH ROW
    WHEN ((OLD.status, OLD.pipeline_id, OLD.stage_id, OLD.stage_entered_at, OLD.close_date,
           OLD.next_step, OLD.next_step_date, OLD.last_activity_at, OLD.created_at,
           OLD.latest_qualification_id)
          IS DISTINCT FROM
          (NEW.status, NEW.pipeline_id, NEW.stage_id, NEW.stage_entered_at, NEW.close_date,
           NEW.next_step, NEW.next_step_date, NEW.last_activity_at, NEW.created_at,
           NEW.latest_qualification_id))
    EXECUTE FUNCTION pipeline_opportunity_flags_due();

CREATE FUNCTION pipeline_qualification_flags_due() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        {MARK_DUE} WHERE opportunity_id = OLD.opportunity_id;
    ELSE
        {MARK_DUE} WHERE opportunity_id = NEW.opportunity_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_qualification_flags_due
    AFTER INSERT OR UPDATE OR DELETE ON pipeline_qualification
    FOR EACH ROW EXECUTE FUNCTION pipeline_qualification_flags_due();

CREATE FUNCTION pipeline_qualification_latest_added() RETURNS trigger AS $$
BEGIN
    UPDATE pipeline_opportunity o SET latest_qualification_id = n.id
    FROM (SELECT DISTINCT ON (opportunity_id) opportunity_id, id, assessed_at
          FROM new_rows ORDER BY opportunity_id, assessed_at DESC, id DESC) n
    WHERE o.id = n.opportunity_id
      AND (o.latest_qualification_id IS NULL
           OR (SELECT (q.assessed_at, q.id) FROM pipeline_qualification q
               WHERE q.id = o.latest_qualification_id) < (n.assessed_at, n.id));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_qualification_latest_added
    AFTER INSERT ON pipeline_qualification
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline_qualification_latest_added();

CREATE FUNCTION pipeline_qualification_latest_changed() RETURNS trigger AS $$
BEGIN
    UPDATE pipeline_opportunity o SET latest_qualification_id = latest.id
    FROM (SELECT (SELECT q.id FROM pipeline_qualification q
                  WHERE q.opportunity_id = OLD.opportunity_id
                  ORDER BY q.assessed_at DESC, q.id DESC LIMIT 1) AS id) latest
    WHERE o.id = OLD.opportunity_id
      AND o.latest_qualification_id IS DISTINCT FROM latest.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_qualification_latest_changed
    AFTER UPDATE OF assessed_at OR DELETE ON pipeline_qualification
    FOR EACH ROW EXECUTE FUNCTION pipeline_qualification_latest_changed();

CREATE FUNCTION pipeline_stage_flags_due() RETURNS trigger AS $$
BEGIN
    {MARK_DUE} WHERE opportunity_id IN (
        SELECT id FROM pipeline_opportunity WHERE stage_id = NEW.id AND status = 'open');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_stage_flags_due
    AFTER UPDATE ON pipeline_stage
    FOR EACH ROW
    WHEN ((OLD.name, OLD.warn_days, OLD.rot_days, OLD.no_activity_days,
           OLD.qualification_validity_days)
          IS DISTINCT FROM
          (NEW.name, NEW.warn_days, NEW.rot_days, NEW.no_activity_days,
           NEW.qualification_validity_days))
    EXECUTE FUNCTION pipeline_stage_flags_due();

CREATE FUNCTION pipeline_pipeline_flags_due() RETURNS trigger AS $$
BEGIN
    {MARK_DUE} WHERE opportunity_id IN (
        SELECT id FROM pipeline_opportunity WHERE pipeline_id = NEW.id AND status = 'open');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_pipeline_flags_due
    AFTER UPDATE ON pipeline_pipeline
    FOR EACH ROW WHEN (OLD.framework_id IS DISTINCT FROM NEW.framework_id)
    EXECUTE FUNCTION pipeline_pipeline_flags_due();

CREATE FUNCTION pipeline_framework_flags_due() RETURNS trigger AS $$
BEGIN
    {MARK_DUE} WHERE opportunity_id IN (
        SELECT o.id FROM pipeline_opportunity o
        JOIN pipeline_pipeline p ON p.id = o.pipeline_id
        WHERE p.framework_id = NEW.id AND o.status = 'open');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_framework_flags_due
    AFTER UPDATE ON pipeline_qualificationframework
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION pipeline_framework_flags_due();
"""

DROP = """
DROP TRIGGER IF EXISTS pipeline_framework_flags_due ON pipeline_qualificationframework;
DROP FUNCTION IF EXISTS pipeline_framework_flags_due();
DROP TRIGGER IF EXISTS pipeline_pipeline_flags_due ON pipeline_pipeline;
DROP FUNCTION IF EXISTS pipeline_pipeline_flags_due();
DROP TRIGGER IF EXISTS pipeline_stage_flags_due ON pipeline_stage;
DROP FUNCTION IF EXISTS pipeline_stage_flags_due();
DROP TRIGGER IF EXISTS pipeline_qualification_latest_changed ON pipeline_qualification;
DROP FUNCTION IF EXISTS pipeline_qualification_latest_changed();
DROP TRIGGER IF EXISTS pipeline_qualification_latest_added ON pipeline_qualification;
DROP FUNCTION IF EXISTS pipeline_qualification_latest_added();
DROP TRIGGER IF EXISTS pipeline_qualification_flags_due ON pipeline_qualification;
DROP FUNCTION IF EXISTS pipeline_qualification_flags_due();
DROP TRIGGER IF EXISTS pipeline_opportunity_flags_due ON pipeline_opportunity;
DROP FUNCTION IF EXISTS pipeline_opportunity_flags_due();
DROP TRIGGER IF EXISTS pipeline_opportunity_flag_schedule_add ON pipeline_opportunity;
DROP FUNCTION IF EXISTS pipeline_flagschedule_add();
"""


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0007_opportunity_latest_qualification")]

    operations = [
        migrations.CreateModel(
            name="FlagRefreshState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("rules_fingerprint", models.CharField(max_length=64)),
                ("last_run_at", models.DateTimeField()),
                ("last_full_run_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="FlagSchedule",
            fields=[
                (
                    "opportunity",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="flag_schedule",
                        serialize=False,
                        to="pipeline.opportunity",
                    ),
                ),
                ("due_at", models.DateTimeField(blank=True, null=True)),
                ("version", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
