"""The import_incomplete attention flag: an imported deal asks its owner for what the
import could not give — the fields it filled by a rule and the milestones of the stages
it skipped the gate for (pipeline.rules.import_incomplete_flag).

The flag schedule's triggers (migration 0008) learn its inputs, so that no write leaves an
imported deal's flag stale until a full run, whatever the path:
- the deal itself: `imported_at`, `import_gaps`, and — while they are gaps, because the
  explanation names them — its account, amount and currency;
- its milestone completions (added, removed, moved);
- the milestones of its pipeline (added, removed; required, automatic, title, order or
  stage changed), for the deals in the stages after theirs;
- the order of its pipeline's stages, and whether a stage is won or lost;
- the name of its account, while the account is a gap.
Each marks only open imported deals due: other deals never carry this flag. The
statement-level triggers (transition tables) mark a bulk write's deals in one UPDATE.
"""

from django.db import migrations, models

MARK_DUE = "UPDATE pipeline_flagschedule SET due_at = '-infinity', version = version + 1"

OPPORTUNITY_TRIGGER = """
DROP TRIGGER pipeline_opportunity_flags_due ON pipeline_opportunity;
CREATE TRIGGER pipeline_opportunity_flags_due
    AFTER UPDATE ON pipeline_opportunity
    FOR EACH ROW
    WHEN ((OLD.status, OLD.pipeline_id, OLD.stage_id, OLD.stage_entered_at, OLD.close_date,
           OLD.next_step, OLD.next_step_date, OLD.last_activity_at, OLD.created_at,
           OLD.latest_qualification_id{imported})
          IS DISTINCT FROM
          (NEW.status, NEW.pipeline_id, NEW.stage_id, NEW.stage_entered_at, NEW.close_date,
           NEW.next_step, NEW.next_step_date, NEW.last_activity_at, NEW.created_at,
           NEW.latest_qualification_id{imported_new}){gap_values})
    EXECUTE FUNCTION pipeline_opportunity_flags_due();
"""

CREATE = (
    OPPORTUNITY_TRIGGER.format(
        imported=", OLD.imported_at, OLD.import_gaps",
        imported_new=", NEW.imported_at, NEW.import_gaps",
        gap_values="""
          OR (NEW.imported_at IS NOT NULL AND NEW.import_gaps <> '{}'
              AND (OLD.account_id, OLD.amount, OLD.currency)
                  IS DISTINCT FROM (NEW.account_id, NEW.amount, NEW.currency))""",
    )
    + f"""
-- The open imported deals among the opportunities of a statement's completions. The
-- transition tables are joined, not turned into an array: `id = ANY(array)` would search
-- the array once per deal (2 s for 100,000 completions of 18,000 deals).
CREATE FUNCTION pipeline_milestonecompletion_flags_due() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {MARK_DUE} WHERE opportunity_id IN (
            SELECT o.id FROM pipeline_opportunity o
            WHERE o.id IN (SELECT opportunity_id FROM new_rows)
              AND o.imported_at IS NOT NULL AND o.status = 'open');
    ELSIF TG_OP = 'DELETE' THEN
        {MARK_DUE} WHERE opportunity_id IN (
            SELECT o.id FROM pipeline_opportunity o
            WHERE o.id IN (SELECT opportunity_id FROM old_rows)
              AND o.imported_at IS NOT NULL AND o.status = 'open');
    ELSE
        {MARK_DUE} WHERE opportunity_id IN (
            SELECT o.id FROM pipeline_opportunity o
            WHERE o.id IN (
                SELECT unnest(ARRAY[b.opportunity_id, n.opportunity_id])
                FROM old_rows b JOIN new_rows n ON n.id = b.id
                WHERE (b.opportunity_id, b.milestone_id) IS DISTINCT FROM
                      (n.opportunity_id, n.milestone_id))
              AND o.imported_at IS NOT NULL AND o.status = 'open');
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_milestonecompletion_flags_due_insert
    AFTER INSERT ON pipeline_milestonecompletion
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline_milestonecompletion_flags_due();
CREATE TRIGGER pipeline_milestonecompletion_flags_due_update
    AFTER UPDATE ON pipeline_milestonecompletion
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline_milestonecompletion_flags_due();
CREATE TRIGGER pipeline_milestonecompletion_flags_due_delete
    AFTER DELETE ON pipeline_milestonecompletion
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline_milestonecompletion_flags_due();

-- The open imported deals in the stages after `stage_ids` (a milestone of those stages is
-- one their gate asked for).
CREATE FUNCTION pipeline_imported_after_stages_flags_due(stage_ids bigint[]) RETURNS void AS $$
    {MARK_DUE} WHERE opportunity_id IN (
        SELECT o.id FROM pipeline_opportunity o
        WHERE o.imported_at IS NOT NULL AND o.status = 'open'
          AND o.stage_id IN (
              SELECT later.id FROM pipeline_stage ms
              JOIN pipeline_stage later ON later.pipeline_id = ms.pipeline_id
                                       AND later."order" > ms."order"
              WHERE ms.id = ANY(stage_ids)));
$$ LANGUAGE sql;

CREATE FUNCTION pipeline_milestone_flags_due() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pipeline_imported_after_stages_flags_due(
            ARRAY(SELECT DISTINCT stage_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pipeline_imported_after_stages_flags_due(
            ARRAY(SELECT DISTINCT stage_id FROM old_rows));
    ELSE
        PERFORM pipeline_imported_after_stages_flags_due(ARRAY(
            SELECT unnest(ARRAY[o.stage_id, n.stage_id])
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.stage_id, o.required, o.auto_check, o.title, o."order")
                  IS DISTINCT FROM (n.stage_id, n.required, n.auto_check, n.title, n."order")));
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_milestone_flags_due_insert
    AFTER INSERT ON pipeline_milestone
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline_milestone_flags_due();
CREATE TRIGGER pipeline_milestone_flags_due_update
    AFTER UPDATE ON pipeline_milestone
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline_milestone_flags_due();
CREATE TRIGGER pipeline_milestone_flags_due_delete
    AFTER DELETE ON pipeline_milestone
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline_milestone_flags_due();

-- Reordering stages (or turning one won or lost) changes which stages lie before a deal's:
-- every open imported deal of the pipeline. Stage renames and limits: migration 0008.
CREATE FUNCTION pipeline_stage_order_flags_due() RETURNS trigger AS $$
BEGIN
    {MARK_DUE} WHERE opportunity_id IN (
        SELECT o.id FROM pipeline_opportunity o
        WHERE o.imported_at IS NOT NULL AND o.status = 'open'
          AND o.pipeline_id IN (
              SELECT unnest(ARRAY[s.pipeline_id, n.pipeline_id])
              FROM old_rows s JOIN new_rows n ON n.id = s.id
              WHERE (s.pipeline_id, s."order", s.is_won, s.is_lost)
                    IS DISTINCT FROM (n.pipeline_id, n."order", n.is_won, n.is_lost)));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_stage_order_flags_due
    AFTER UPDATE ON pipeline_stage
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline_stage_order_flags_due();

-- An explanation names the account an import put on a deal ("Unknown account").
CREATE FUNCTION pipeline_account_flags_due() RETURNS trigger AS $$
BEGIN
    {MARK_DUE} WHERE opportunity_id IN (
        SELECT o.id FROM pipeline_opportunity o
        WHERE o.account_id = NEW.id AND o.imported_at IS NOT NULL AND o.status = 'open'
          AND 'account' = ANY(o.import_gaps));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_account_flags_due
    AFTER UPDATE ON pipeline_account
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION pipeline_account_flags_due();
"""
)

DROP = (
    """
DROP TRIGGER IF EXISTS pipeline_account_flags_due ON pipeline_account;
DROP FUNCTION IF EXISTS pipeline_account_flags_due();
DROP TRIGGER IF EXISTS pipeline_stage_order_flags_due ON pipeline_stage;
DROP FUNCTION IF EXISTS pipeline_stage_order_flags_due();
DROP TRIGGER IF EXISTS pipeline_milestone_flags_due_insert ON pipeline_milestone;
DROP TRIGGER IF EXISTS pipeline_milestone_flags_due_update ON pipeline_milestone;
DROP TRIGGER IF EXISTS pipeline_milestone_flags_due_delete ON pipeline_milestone;
DROP FUNCTION IF EXISTS pipeline_milestone_flags_due();
DROP FUNCTION IF EXISTS pipeline_imported_after_stages_flags_due(bigint[]);
DROP TRIGGER IF EXISTS pipeline_milestonecompletion_flags_due_insert
    ON pipeline_milestonecompletion;
DROP TRIGGER IF EXISTS pipeline_milestonecompletion_flags_due_update
    ON pipeline_milestonecompletion;
DROP TRIGGER IF EXISTS pipeline_milestonecompletion_flags_due_delete
    ON pipeline_milestonecompletion;
DROP FUNCTION IF EXISTS pipeline_milestonecompletion_flags_due();
"""
    # Back to migration 0008's trigger.
    + OPPORTUNITY_TRIGGER.format(imported="", imported_new="", gap_values="")
)


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0013_opportunity_import_gaps")]

    operations = [
        migrations.AlterField(
            model_name="opportunityflag",
            name="kind",
            field=models.CharField(
                choices=[
                    ("requalify_due", "Re-qualification due"),
                    ("stuck_in_stage", "Stuck in stage"),
                    ("past_close_date", "Close date passed"),
                    ("no_activity", "No customer activity"),
                    ("next_step_overdue", "Next step overdue"),
                    ("import_incomplete", "Complete the imported deal"),
                ],
                max_length=24,
            ),
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
