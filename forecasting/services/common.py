"""What the forecasting services share: the bound of the ids they accept."""

from __future__ import annotations

MAX_ID = 2**63 - 1
