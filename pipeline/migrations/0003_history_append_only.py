"""History is append-only: the database itself refuses to UPDATE a recorded change.

Deleting stays possible only as part of deleting the opportunity (cascade), which
only an administrator may do through pipeline.services.opportunity_delete.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION pipeline_opportunitychange_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'pipeline_opportunitychange is append-only: rows cannot be updated'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pipeline_opportunitychange_append_only
    BEFORE UPDATE ON pipeline_opportunitychange
    FOR EACH ROW EXECUTE FUNCTION pipeline_opportunitychange_refuse_update();
"""

DROP = """
DROP TRIGGER IF EXISTS pipeline_opportunitychange_append_only ON pipeline_opportunitychange;
DROP FUNCTION IF EXISTS pipeline_opportunitychange_refuse_update();
"""


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0002_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
