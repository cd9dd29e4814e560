"""The coaching pages.

Every view is thin: read through a selector (outside the user's scope is a 404), validate
with a form, call ONE service, then redirect (PRG) or re-render with the service's error.

By page: the skills framework, the skills matrix and the assessment form (`skills`),
ticking off an action item (`action_items`), opportunity reviews (`reviews`), the coaching
home with cadence and coverage (`home`) and 1:1 sessions (`sessions`); what they share is
in `common`. coaching/urls.py reads `from coaching import views`.
"""

from coaching.views.action_items import action_item_done
from coaching.views.home import coaching_home
from coaching.views.reviews import (
    review_action_add,
    review_agenda_add,
    review_agenda_discussed,
    review_complete,
    review_detail,
    review_finding_add,
    review_list,
    review_point_add,
    review_queue,
    review_start,
)
from coaching.views.sessions import (
    session_action_item_add,
    session_create,
    session_detail,
    session_edit,
    session_list,
)
from coaching.views.skills import assessment_create, skill_framework, skills_matrix

__all__ = [
    "action_item_done",
    "assessment_create",
    "coaching_home",
    "review_action_add",
    "review_agenda_add",
    "review_agenda_discussed",
    "review_complete",
    "review_detail",
    "review_finding_add",
    "review_list",
    "review_point_add",
    "review_queue",
    "review_start",
    "session_action_item_add",
    "session_create",
    "session_detail",
    "session_edit",
    "session_list",
    "skill_framework",
    "skills_matrix",
]
