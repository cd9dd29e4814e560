"""Every write of the pipeline. Pages, the API, imports and tasks all call these.

Each service is keyword-only and atomic; it locks the opportunity it changes,
checks that the actor may see it (outside the actor's scope is NotFound), and
states in its docstring what it refuses.

By entity: deals (`opportunities`), their stage moves and closing (`moves`), the stage
gate (`gate`), milestone ticks
(`milestones`), business issues, activities, accounts, products, qualification,
the sales-process setup of pipelines, stages and milestones (`setup`), qualification
frameworks (`frameworks`) and pipeline templates (`templates`); what they share is in
`common`. Callers read `from pipeline import services`.
"""

from pipeline.services.accounts import (
    ACCOUNT_SHARED,
    account_create,
    account_delete,
    account_update,
    accounts_locked_for,
    can_edit_account,
)
from pipeline.services.activities import activity_log
from pipeline.services.business_issues import (
    business_issue_create,
    business_issue_delete,
    business_issue_update,
)
from pipeline.services.common import MAX_TEXT
from pipeline.services.frameworks import (
    ELEMENT_FIELDS,
    FRAMEWORK_FIELDS,
    element_create,
    element_delete,
    element_update,
    framework_create,
    framework_update,
)
from pipeline.services.gate import automatic_milestone_gaps, gate_missing, met_milestone_ids
from pipeline.services.milestones import milestone_complete, milestone_uncomplete
from pipeline.services.moves import (
    CATEGORY_DECISION_CODE,
    OVERRIDE_REASON_BLANK,
    opportunity_advance,
    opportunity_close_lost,
    opportunity_close_won,
)
from pipeline.services.opportunities import (
    FLAG_INPUT_FIELDS,
    UPDATABLE_FIELDS,
    opportunity_create,
    opportunity_delete,
    opportunity_update,
    opportunity_upsert_by_external_id,
)
from pipeline.services.products import (
    PRODUCT_FIELDS,
    can_manage_products,
    product_create,
    product_delete,
    product_update,
)
from pipeline.services.qualification import (
    latest_valid_qualification,
    qualification_create,
    qualification_validity_days,
)
from pipeline.services.setup import (
    MILESTONE_FIELDS,
    PIPELINE_FIELDS,
    STAGE_FIELDS,
    milestone_create,
    milestone_delete,
    milestone_update,
    pipeline_create,
    pipeline_update,
    stage_create,
    stage_delete,
    stage_move,
    stage_update,
)
from pipeline.services.templates import pipeline_create_from_template

# The API's integer fields read their bound here (services.MAX_INT).
from salesops.cleaning import MAX_INT

__all__ = [
    "ACCOUNT_SHARED",
    "CATEGORY_DECISION_CODE",
    "ELEMENT_FIELDS",
    "FLAG_INPUT_FIELDS",
    "FRAMEWORK_FIELDS",
    "MAX_INT",
    "MAX_TEXT",
    "MILESTONE_FIELDS",
    "OVERRIDE_REASON_BLANK",
    "PIPELINE_FIELDS",
    "PRODUCT_FIELDS",
    "STAGE_FIELDS",
    "UPDATABLE_FIELDS",
    "account_create",
    "account_delete",
    "account_update",
    "accounts_locked_for",
    "activity_log",
    "automatic_milestone_gaps",
    "business_issue_create",
    "business_issue_delete",
    "business_issue_update",
    "can_edit_account",
    "can_manage_products",
    "element_create",
    "element_delete",
    "element_update",
    "framework_create",
    "framework_update",
    "gate_missing",
    "latest_valid_qualification",
    "met_milestone_ids",
    "milestone_complete",
    "milestone_create",
    "milestone_delete",
    "milestone_uncomplete",
    "milestone_update",
    "opportunity_advance",
    "opportunity_close_lost",
    "opportunity_close_won",
    "opportunity_create",
    "opportunity_delete",
    "opportunity_update",
    "opportunity_upsert_by_external_id",
    "pipeline_create",
    "pipeline_create_from_template",
    "pipeline_update",
    "product_create",
    "product_delete",
    "product_update",
    "qualification_create",
    "qualification_validity_days",
    "stage_create",
    "stage_delete",
    "stage_move",
    "stage_update",
]
