"""The forecasting pages: the leader dashboard (charts, drill-down to the deals behind every
number, CSV of every table), the rep's and manager's forecast page (the call form beside the
system's numbers, the team roll-up) and forecast meetings.

Every view is thin: read through a selector (outside the user's scope is a 404), validate
with a form, call ONE service, then redirect (PRG) or re-render with the service's error.
"""

from __future__ import annotations

# Re-rendered forms with errors answer 422; base.html tells htmx to swap 422 responses.
INVALID = 422


# --- leader dashboard ---


# --- forecast pages and calls ---


# --- forecast meetings ---
