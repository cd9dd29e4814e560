"""Every write of coaching. Pages and the API call these; each is keyword-only and atomic,
and states in its docstring what it refuses.

The skills framework is configuration: only administrators change it. A skill assessment
is written by a manager of the rep (never of themselves) or by a leader/admin; reps read
their own assessments but assess nobody.

By entity: the skills framework (`skills`), skill assessments (`assessments`), action
items shared by reviews and 1:1s (`action_items`), opportunity reviews (`reviews`) and
1:1 sessions (`sessions`); what several of them share is in `common`. Callers read
`from coaching import services`.
"""

from coaching.services.action_items import (
    MAX_ACTION_DAYS_AHEAD,
    MAX_ACTION_TITLE,
    action_item_add,
    action_item_link,
    action_item_set_done,
    can_complete_action_item,
    clean_action_item,
)
from coaching.services.assessments import MAX_EVIDENCE, can_assess, skill_assessment_create
from coaching.services.common import MAX_TEXT, coached_person
from coaching.services.reviews import (
    MAX_AGENDA_DETAIL,
    agenda_item_add,
    agenda_item_set_discussed,
    can_change_review,
    can_start_review,
    review_action_item_add,
    review_coaching_point_add,
    review_complete,
    review_finding_add,
    review_start,
)
from coaching.services.sessions import (
    MAX_PRACTICE,
    MAX_SESSION_ACTION_ITEMS,
    MAX_SESSION_AGE_DAYS,
    MAX_SESSION_NOTES,
    SESSION_CHANGE_FIELDS,
    SESSION_ITEM_FIELDS,
    can_change_session,
    can_hold_one_on_ones,
    session_add_action_item,
    session_create,
    session_update,
    session_version,
)
from coaching.services.skills import (
    GUIDE_FIELDS,
    LEVEL_FIELDS,
    MAX_NAME,
    SKILL_FIELDS,
    skill_create,
    skill_update,
)

__all__ = [
    "GUIDE_FIELDS",
    "LEVEL_FIELDS",
    "MAX_ACTION_DAYS_AHEAD",
    "MAX_ACTION_TITLE",
    "MAX_AGENDA_DETAIL",
    "MAX_EVIDENCE",
    "MAX_NAME",
    "MAX_PRACTICE",
    "MAX_SESSION_ACTION_ITEMS",
    "MAX_SESSION_AGE_DAYS",
    "MAX_SESSION_NOTES",
    "MAX_TEXT",
    "SESSION_CHANGE_FIELDS",
    "SESSION_ITEM_FIELDS",
    "SKILL_FIELDS",
    "action_item_add",
    "action_item_link",
    "action_item_set_done",
    "agenda_item_add",
    "agenda_item_set_discussed",
    "can_assess",
    "can_change_review",
    "can_change_session",
    "can_complete_action_item",
    "can_hold_one_on_ones",
    "can_start_review",
    "clean_action_item",
    "coached_person",
    "review_action_item_add",
    "review_coaching_point_add",
    "review_complete",
    "review_finding_add",
    "review_start",
    "session_add_action_item",
    "session_create",
    "session_update",
    "session_version",
    "skill_assessment_create",
    "skill_create",
    "skill_update",
]
