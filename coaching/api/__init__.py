"""The coaching REST API (/api/v1/): serializers and thin views — validate, call one
service or selector, serialize.

By entity: the skills framework and skill assessments (`skills`), coaching coverage and
coaching flags (`coverage`), 1:1 sessions (`sessions`), opportunity reviews (`reviews`)
and action items (`action_items`); what they share is in `common`. Callers (the router in
coaching/api_urls.py) read `from coaching import api`.
"""

from coaching.api.action_items import ActionItemViewSet
from coaching.api.coverage import CoachingCoverageViewSet, CoachingFlagViewSet
from coaching.api.reviews import OpportunityReviewViewSet
from coaching.api.sessions import CoachingSessionViewSet
from coaching.api.skills import SkillAssessmentViewSet, SkillViewSet

__all__ = [
    "ActionItemViewSet",
    "CoachingCoverageViewSet",
    "CoachingFlagViewSet",
    "CoachingSessionViewSet",
    "OpportunityReviewViewSet",
    "SkillAssessmentViewSet",
    "SkillViewSet",
]
