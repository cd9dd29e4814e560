"""The insights figures are cached under the forecast data version (forecasting.freshness),
so everything they read besides what the forecast already watches must bump it too:
stage history, milestones and their completions, activities, qualifications, proposal
reviews, 1:1s, opportunity reviews, accounts (industry, size) and a stage's rule changes.
The same deferred, once-per-transaction trigger function as forecasting 0005."""

from django.db import migrations

WATCHED = {
    "pipeline_opportunitychange": None,
    "pipeline_milestone": "stage_id, title, required, auto_check, min_qualification_score",
    "pipeline_milestonecompletion": None,
    "pipeline_milestoneelementlevel": None,
    "pipeline_activity": "opportunity_id, kind, occurred_at",
    "pipeline_qualification": "opportunity_id, score_pct, assessed_at, invalidated_at",
    "pipeline_qualificationscore": None,
    "pipeline_account": "industry, employees",
    "pipeline_product": "name",
    "pipeline_stagerulechange": None,
    "proposals_proposalreview": None,
    "proposals_proposal": "opportunity_id",
    "coaching_coachingsession": "rep_id, held_on",
    "coaching_opportunityreview": "rep_id, started_at",
}


def _triggers() -> tuple[str, str]:
    create, drop = [], []
    for table, columns in WATCHED.items():
        update = f"UPDATE OF {columns}" if columns else "UPDATE"
        create.append(
            f"CREATE CONSTRAINT TRIGGER insights_data_changed AFTER INSERT OR DELETE OR {update}"
            f" ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
            " EXECUTE FUNCTION forecasting_data_changed();"
            f" CREATE TRIGGER insights_data_truncated AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION forecasting_data_changed();"
        )
        drop.append(
            f"DROP TRIGGER IF EXISTS insights_data_changed ON {table};"
            f" DROP TRIGGER IF EXISTS insights_data_truncated ON {table};"
        )
    return "\n".join(create), "\n".join(drop)


CREATE_TRIGGERS, DROP_TRIGGERS = _triggers()


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0001_initial"),
        ("forecasting", "0007_submissions_demo_removal"),
        ("pipeline", "0015_stage_rule_changes"),
        ("proposals", "0002_review_checklist_seed"),
        ("coaching", "0003_reviews_sessions_cadence"),
    ]

    operations = [migrations.RunSQL(CREATE_TRIGGERS, DROP_TRIGGERS)]
