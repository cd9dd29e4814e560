"""What the coaching pages share."""

from __future__ import annotations

# Re-rendered forms with errors answer 422; base.html tells htmx to swap 422 responses.
INVALID = 422
