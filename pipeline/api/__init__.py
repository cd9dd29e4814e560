"""The pipeline's REST API (/api/v1/): serializers and thin views.

A view validates input with a serializer (types only — the services hold the rules),
calls one selector or service, and serializes the result. Reads go through
pipeline.selectors, so an opportunity outside the user's scope is a 404 on every
endpoint, nested ones and actions included. Writes go through pipeline.services.

By entity: deals (`opportunities` the viewset, `opportunity_serializers` its serializers
and filters), an opportunity's milestone ticks (`milestones`), activities, business
issues, qualifications (`qualification`), attention flags (`flags`), accounts, products,
the sales-process setup of pipelines, stages and milestones (`setup`), qualification
frameworks and their elements (`frameworks`) and the CSV exports (`csv_exports`); what
they share is in `common`. Callers read `from pipeline import api` (pipeline/api_urls.py)
or `from pipeline.api import <name>`.
"""

from pipeline.api.accounts import AccountInput, AccountOutput, AccountViewSet
from pipeline.api.activities import ActivityInput, ActivityOutput, ActivityViewSet
from pipeline.api.business_issues import (
    BusinessIssueInput,
    BusinessIssueOutput,
    BusinessIssueViewSet,
)
from pipeline.api.common import (
    SET_AT_CREATION,
    AccountRefOutput,
    FrameworkViewSet,
    ProductRefOutput,
    RefOutput,
    StageRefOutput,
    TextFilter,
    UserRefOutput,
    datetime_text,
    list_errors_by_element,
)
from pipeline.api.csv_exports import (
    AccountExportViewSet,
    OpportunityExportViewSet,
    ProductExportViewSet,
)
from pipeline.api.flags import FlagFilter, FlagOutput, FlagOwnerOutput, FlagViewSet
from pipeline.api.frameworks import (
    FrameworkElementCreateInput,
    FrameworkElementFilter,
    FrameworkElementInlineOutput,
    FrameworkElementOutput,
    FrameworkElementUpdateInput,
    FrameworkElementViewSet,
    QualificationFrameworkInput,
    QualificationFrameworkOutput,
    QualificationFrameworkViewSet,
)
from pipeline.api.milestones import (
    CompletionOutput,
    CompletionStateOutput,
    MilestoneCompleteInput,
    MilestoneStateOutput,
)
from pipeline.api.opportunities import EXTERNAL_PARAMS, MILESTONE_ID, OPP_ID, OpportunityViewSet
from pipeline.api.opportunity_serializers import (
    CATEGORY_DECISION_409,
    OPPORTUNITY_COLUMNS,
    OPPORTUNITY_READ_ONLY_HINTS,
    AdvanceInput,
    CloseLostInput,
    CloseWonInput,
    LatestQualificationOutput,
    OpenFlagOutput,
    OpportunityChangeOutput,
    OpportunityCreateInput,
    OpportunityFilter,
    OpportunityOutput,
    OpportunityUpdateInput,
    OpportunityUpsertInput,
    OpportunityWriteFields,
)
from pipeline.api.products import (
    ProductInput,
    ProductOutput,
    ProductQuery,
    ProductViewSet,
    product_query,
)
from pipeline.api.qualification import (
    QualificationInput,
    QualificationOutput,
    QualificationScoreInput,
    QualificationScoreOutput,
)
from pipeline.api.setup import (
    ElementLevelInput,
    ElementLevelOutput,
    MilestoneCreateInput,
    MilestoneFilter,
    MilestoneOutput,
    MilestoneUpdateInput,
    MilestoneViewSet,
    PipelineInput,
    PipelineOutput,
    PipelineStageOutput,
    PipelineTemplateInput,
    PipelineViewSet,
    StageCreateInput,
    StageFilter,
    StageMoveInput,
    StageOutput,
    StageUpdateInput,
    StageViewSet,
)

__all__ = [
    "CATEGORY_DECISION_409",
    "EXTERNAL_PARAMS",
    "MILESTONE_ID",
    "OPPORTUNITY_COLUMNS",
    "OPPORTUNITY_READ_ONLY_HINTS",
    "OPP_ID",
    "SET_AT_CREATION",
    "AccountExportViewSet",
    "AccountInput",
    "AccountOutput",
    "AccountRefOutput",
    "AccountViewSet",
    "ActivityInput",
    "ActivityOutput",
    "ActivityViewSet",
    "AdvanceInput",
    "BusinessIssueInput",
    "BusinessIssueOutput",
    "BusinessIssueViewSet",
    "CloseLostInput",
    "CloseWonInput",
    "CompletionOutput",
    "CompletionStateOutput",
    "ElementLevelInput",
    "ElementLevelOutput",
    "FlagFilter",
    "FlagOutput",
    "FlagOwnerOutput",
    "FlagViewSet",
    "FrameworkElementCreateInput",
    "FrameworkElementFilter",
    "FrameworkElementInlineOutput",
    "FrameworkElementOutput",
    "FrameworkElementUpdateInput",
    "FrameworkElementViewSet",
    "FrameworkViewSet",
    "LatestQualificationOutput",
    "MilestoneCompleteInput",
    "MilestoneCreateInput",
    "MilestoneFilter",
    "MilestoneOutput",
    "MilestoneStateOutput",
    "MilestoneUpdateInput",
    "MilestoneViewSet",
    "OpenFlagOutput",
    "OpportunityChangeOutput",
    "OpportunityCreateInput",
    "OpportunityExportViewSet",
    "OpportunityFilter",
    "OpportunityOutput",
    "OpportunityUpdateInput",
    "OpportunityUpsertInput",
    "OpportunityViewSet",
    "OpportunityWriteFields",
    "PipelineInput",
    "PipelineOutput",
    "PipelineStageOutput",
    "PipelineTemplateInput",
    "PipelineViewSet",
    "ProductExportViewSet",
    "ProductInput",
    "ProductOutput",
    "ProductQuery",
    "ProductRefOutput",
    "ProductViewSet",
    "QualificationFrameworkInput",
    "QualificationFrameworkOutput",
    "QualificationFrameworkViewSet",
    "QualificationInput",
    "QualificationOutput",
    "QualificationScoreInput",
    "QualificationScoreOutput",
    "RefOutput",
    "StageCreateInput",
    "StageFilter",
    "StageMoveInput",
    "StageOutput",
    "StageRefOutput",
    "StageUpdateInput",
    "StageViewSet",
    "TextFilter",
    "UserRefOutput",
    "datetime_text",
    "list_errors_by_element",
    "product_query",
]
