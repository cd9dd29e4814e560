"""Queue a deal for insights.facts whenever something its facts or stage stays are drawn
from changes: the deal itself (owner, status, dates, pipeline, import; any deal), its stage
history (any deal), and for a closed deal worked in Salesops its milestone completions,
qualifications and their scores, activities, proposals and their reviews — and every deal
of a pipeline whose structure changes (stage order or outcome, framework, the framework's
elements, a milestone moved to another stage).

Statement-level triggers with transition tables: a bulk import or clean-up queues its
deals with one INSERT per statement, not one per row. The queue is emptied by
insights.facts.refresh, which the study and the results call before reading and the beat
runs every minute. Existing deals are queued here, so the first refresh computes them."""

from django.db import migrations

CLOSED = "o.status IN ('won', 'lost') AND o.imported_at IS NULL"

# How each watched table leads to its deals: (table, SQL giving opportunity ids from the
# transition table `r`).
VIA = {
    "pipeline_milestonecompletion": "SELECT r.opportunity_id FROM {rows} r",
    "pipeline_qualification": "SELECT r.opportunity_id FROM {rows} r",
    "pipeline_activity": "SELECT r.opportunity_id FROM {rows} r",
    "proposals_proposal": "SELECT r.opportunity_id FROM {rows} r",
    "pipeline_qualificationscore": (
        "SELECT q.opportunity_id FROM {rows} r JOIN pipeline_qualification q"
        " ON q.id = r.qualification_id"
    ),
    "proposals_proposalreview": (
        "SELECT p.opportunity_id FROM {rows} r JOIN proposals_proposal p ON p.id = r.proposal_id"
    ),
}

# A deal's own columns the facts depend on; other updates (amount, next step, flags…) do
# not queue it.
DEAL_COLUMNS = ("owner_id", "status", "closed_at", "created_at", "imported_at", "pipeline_id")


def _queue(select: str) -> str:
    return (
        "INSERT INTO insights_staledeal (opportunity_id, queued_at)"
        f" SELECT DISTINCT o.id, now() FROM pipeline_opportunity o WHERE {CLOSED}"
        f" AND o.id IN ({select}) ON CONFLICT DO NOTHING;"
    )


def _queue_stage_history(rows: str) -> str:
    return (
        "INSERT INTO insights_staledeal (opportunity_id, queued_at)"
        f" SELECT DISTINCT r.opportunity_id, now() FROM {rows} r WHERE r.field = 'stage'"
        " ON CONFLICT DO NOTHING;"
    )


HISTORY_FUNCTION = f"""
CREATE FUNCTION insights_queue_pipeline_opportunitychange() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN {_queue_stage_history("new_rows")} END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN {_queue_stage_history("old_rows")} END IF;
    RETURN NULL;
END $$;
""" + "".join(
    f"""
CREATE TRIGGER insights_queue_{event[:3].lower()} AFTER {event} ON pipeline_opportunitychange
    REFERENCING {refs} FOR EACH STATEMENT
    EXECUTE FUNCTION insights_queue_pipeline_opportunitychange();"""
    for event, refs in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    )
)


def _child_function(table: str, via: str) -> str:
    name = f"insights_queue_{table}"
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN {_queue(via.format(rows="new_rows"))} END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN {_queue(via.format(rows="old_rows"))} END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER insights_queue_ins AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}();
CREATE TRIGGER insights_queue_upd AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();
CREATE TRIGGER insights_queue_del AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}();
"""


def _changed(alias_old: str, alias_new: str) -> str:
    return " OR ".join(f"{alias_old}.{c} IS DISTINCT FROM {alias_new}.{c}" for c in DEAL_COLUMNS)


# The deal itself (any deal: its stays count open or closed): inserted, its measured columns
# changed (closing, reopening, a new owner…), deleted (its facts must leave the sums).
# Emptying the deals empties the facts.
DEAL_FUNCTION = f"""
CREATE FUNCTION insights_queue_pipeline_opportunity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO insights_staledeal (opportunity_id, queued_at)
        SELECT n.id, now() FROM new_rows n ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO insights_staledeal (opportunity_id, queued_at)
        SELECT n.id, now() FROM new_rows n JOIN old_rows b ON b.id = n.id
         WHERE {_changed("b", "n")}
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO insights_staledeal (opportunity_id, queued_at)
        SELECT b.id, now() FROM old_rows b ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER insights_queue_ins AFTER INSERT ON pipeline_opportunity
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION insights_queue_pipeline_opportunity();
CREATE TRIGGER insights_queue_upd AFTER UPDATE ON pipeline_opportunity
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION insights_queue_pipeline_opportunity();
CREATE TRIGGER insights_queue_del AFTER DELETE ON pipeline_opportunity
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION insights_queue_pipeline_opportunity();

CREATE FUNCTION insights_facts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM insights_staledeal;
    DELETE FROM insights_dealfact;
    DELETE FROM insights_monthfact;
    DELETE FROM insights_stagestay;
    RETURN NULL;
END $$;
CREATE TRIGGER insights_facts_truncated AFTER TRUNCATE ON pipeline_opportunity
    FOR EACH STATEMENT EXECUTE FUNCTION insights_facts_truncated();
"""

# The pipeline's structure: rare changes that alter every closed deal's exits or gates.
STRUCTURE_FUNCTION = f"""
CREATE FUNCTION insights_queue_pipelines(pipeline_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO insights_staledeal (opportunity_id, queued_at)
    SELECT o.id, now() FROM pipeline_opportunity o WHERE o.pipeline_id = ANY(pipeline_ids)
    ON CONFLICT DO NOTHING;
$$;

CREATE FUNCTION insights_queue_structure() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    framework bigint;
BEGIN
    IF TG_TABLE_NAME = 'pipeline_stage' THEN
        PERFORM insights_queue_pipelines(ARRAY[NEW.pipeline_id, OLD.pipeline_id]);
    ELSIF TG_TABLE_NAME = 'pipeline_pipeline' THEN
        PERFORM insights_queue_pipelines(ARRAY[NEW.id]);
    ELSIF TG_TABLE_NAME = 'pipeline_milestone' THEN
        PERFORM insights_queue_pipelines(ARRAY(
            SELECT s.pipeline_id FROM pipeline_stage s WHERE s.id IN (NEW.stage_id, OLD.stage_id)
        ));
    ELSE  -- pipeline_qualificationelement
        IF TG_OP = 'DELETE' THEN framework := OLD.framework_id; ELSE framework := NEW.framework_id; END IF;
        PERFORM insights_queue_pipelines(ARRAY(
            SELECT p.id FROM pipeline_pipeline p
             WHERE p.framework_id = framework
                OR (TG_OP = 'UPDATE' AND p.framework_id = OLD.framework_id)
        ));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER insights_queue_structure AFTER UPDATE OF "order", is_won, is_lost, pipeline_id
    ON pipeline_stage FOR EACH ROW
    WHEN (OLD."order" IS DISTINCT FROM NEW."order" OR OLD.is_won IS DISTINCT FROM NEW.is_won
          OR OLD.is_lost IS DISTINCT FROM NEW.is_lost
          OR OLD.pipeline_id IS DISTINCT FROM NEW.pipeline_id)
    EXECUTE FUNCTION insights_queue_structure();
CREATE TRIGGER insights_queue_structure AFTER UPDATE OF framework_id ON pipeline_pipeline
    FOR EACH ROW WHEN (OLD.framework_id IS DISTINCT FROM NEW.framework_id)
    EXECUTE FUNCTION insights_queue_structure();
CREATE TRIGGER insights_queue_structure AFTER UPDATE OF stage_id ON pipeline_milestone
    FOR EACH ROW WHEN (OLD.stage_id IS DISTINCT FROM NEW.stage_id)
    EXECUTE FUNCTION insights_queue_structure();
CREATE TRIGGER insights_queue_structure AFTER INSERT OR DELETE OR UPDATE OF framework_id
    ON pipeline_qualificationelement FOR EACH ROW
    EXECUTE FUNCTION insights_queue_structure();
"""

QUEUE_EXISTING = """
INSERT INTO insights_staledeal (opportunity_id, queued_at)
SELECT o.id, now() FROM pipeline_opportunity o ON CONFLICT DO NOTHING;
"""

CREATE = "\n".join(
    [DEAL_FUNCTION, HISTORY_FUNCTION, STRUCTURE_FUNCTION]
    + [_child_function(table, via) for table, via in VIA.items()]
    + [QUEUE_EXISTING]
)

DROP = "\n".join(
    [
        f"DROP TRIGGER IF EXISTS {trigger} ON {table};"
        for table in ["pipeline_opportunity", "pipeline_opportunitychange", *VIA]
        for trigger in ("insights_queue_ins", "insights_queue_upd", "insights_queue_del")
    ]
    + [
        f"DROP TRIGGER IF EXISTS insights_queue_structure ON {table};"
        for table in (
            "pipeline_stage",
            "pipeline_pipeline",
            "pipeline_milestone",
            "pipeline_qualificationelement",
        )
    ]
    + [
        "DROP TRIGGER IF EXISTS insights_facts_truncated ON pipeline_opportunity;",
        "DROP FUNCTION IF EXISTS insights_facts_truncated();",
        "DROP FUNCTION IF EXISTS insights_queue_structure();",
        "DROP FUNCTION IF EXISTS insights_queue_pipelines(bigint[]);",
        "DROP FUNCTION IF EXISTS insights_queue_pipeline_opportunity();",
        "DROP FUNCTION IF EXISTS insights_queue_pipeline_opportunitychange();",
    ]
    + [f"DROP FUNCTION IF EXISTS insights_queue_{table}();" for table in VIA]
)


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0003_deal_facts"),
        ("pipeline", "0016_opportunitychange_stage_idx"),
        ("proposals", "0002_review_checklist_seed"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
