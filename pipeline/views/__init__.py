"""The pipeline pages: board, list, new opportunity and the opportunity page.

Every view is thin: read through a selector (which enforces who sees what — outside
the user's scope is a 404), validate with a form, call ONE service, then redirect or
re-render a partial for htmx. A service's ApplicationError is shown on the page,
never turned into a 500.

By topic: the board and its move responses (`board_page`), the list, the new
opportunity form and the opportunity page (`opportunities`), stage moves (`moves`),
milestone ticks and the milestones panel (`milestones`), business issues, activities and
qualification; what they share is in `common`. pipeline/urls.py reads
`from pipeline import views`.
"""

from pipeline.views.activities import activity_create
from pipeline.views.board_page import BOARD_CARDS_PER_COLUMN, board
from pipeline.views.business_issues import (
    business_issue_create,
    business_issue_delete,
    business_issue_edit,
)
from pipeline.views.common import INVALID, form_messages
from pipeline.views.milestones import milestone_toggle, milestones_panel
from pipeline.views.moves import opportunity_advance, opportunity_close_lost, opportunity_close_won
from pipeline.views.opportunities import (
    LIST_PAGE_SIZE,
    opportunity_create,
    opportunity_detail,
    opportunity_edit,
    opportunity_list,
)
from pipeline.views.qualification import opportunity_qualify

__all__ = [
    "BOARD_CARDS_PER_COLUMN",
    "INVALID",
    "LIST_PAGE_SIZE",
    "activity_create",
    "board",
    "business_issue_create",
    "business_issue_delete",
    "business_issue_edit",
    "form_messages",
    "milestone_toggle",
    "milestones_panel",
    "opportunity_advance",
    "opportunity_close_lost",
    "opportunity_close_won",
    "opportunity_create",
    "opportunity_detail",
    "opportunity_edit",
    "opportunity_list",
    "opportunity_qualify",
]
