"""Every write of structured hiring and onboarding, by entity: scorecard templates
(`templates`), positions (`positions`), candidates, the hire and their personal data
(`candidates`), interviews and scorecards (`interviews`), onboarding plans and tasks
(`onboarding`), onboarding templates and their tasks (`onboarding_templates`).
Keyword-only, atomic; refusals raise salesops.exceptions errors and change nothing.
Callers read `from hiring import services`."""

from hiring.services.candidates import (
    ANONYMISED_NAME,
    CANDIDATE_FIELDS,
    can_decide,
    can_manage_candidate,
    candidate_create,
    candidate_erase,
    candidate_hire,
    candidate_move,
    candidate_update,
    candidates_anonymise,
    lock_candidate_to_manage,
)
from hiring.services.common import MAX_TEXT, by_id, refuse_unless_recruiter
from hiring.services.interviews import interview_schedule, scorecard_save, scorecard_submit
from hiring.services.onboarding import (
    FOCUS_SKILLS,
    can_sign_off,
    onboarding_start,
    onboarding_task_done,
    weakest_selling_skills,
)
from hiring.services.onboarding_templates import (
    ONBOARDING_TASK_FIELDS,
    ONBOARDING_TEMPLATE_FIELDS,
    onboarding_template_create,
    onboarding_template_delete,
    onboarding_template_task_add,
    onboarding_template_task_remove,
    onboarding_template_task_update,
    onboarding_template_update,
)
from hiring.services.positions import position_create, position_update
from hiring.services.templates import (
    ATTRIBUTE_FIELDS,
    TEMPLATE_FIELDS,
    template_attribute_add,
    template_attribute_remove,
    template_attribute_update,
    template_create,
)

__all__ = [
    "ANONYMISED_NAME",
    "ATTRIBUTE_FIELDS",
    "CANDIDATE_FIELDS",
    "FOCUS_SKILLS",
    "MAX_TEXT",
    "ONBOARDING_TASK_FIELDS",
    "ONBOARDING_TEMPLATE_FIELDS",
    "TEMPLATE_FIELDS",
    "by_id",
    "can_decide",
    "can_manage_candidate",
    "can_sign_off",
    "candidate_create",
    "candidate_erase",
    "candidate_hire",
    "candidate_move",
    "candidate_update",
    "candidates_anonymise",
    "interview_schedule",
    "lock_candidate_to_manage",
    "onboarding_start",
    "onboarding_task_done",
    "onboarding_template_create",
    "onboarding_template_delete",
    "onboarding_template_task_add",
    "onboarding_template_task_remove",
    "onboarding_template_task_update",
    "onboarding_template_update",
    "position_create",
    "position_update",
    "refuse_unless_recruiter",
    "scorecard_save",
    "scorecard_submit",
    "template_attribute_add",
    "template_attribute_remove",
    "template_attribute_update",
    "template_create",
    "weakest_selling_skills",
]
