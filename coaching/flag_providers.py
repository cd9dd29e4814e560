"""Cadence flags other apps raise through the coaching cadence: a higher app (hiring's
overdue onboarding tasks) registers a provider at start-up, and coaching.cadence raises,
clears and notifies its flags with its own, in the same statements — so every overdue
thing a person is told about lives in one list, with one notification per run.

A provider names its flag kind and gives the SQL of the flags that should be open now,
one row per subject: `subject_id` (the provider's own id of the thing, e.g. the task),
`rep_id` (the person it is about), `recipient_id` (who is told), `subject` (a short name
for a notification title), `explanation` (≤ 300 characters; name dates, never day
counts, so an unchanged flag is not rewritten as days pass) and `link` (where to act).
The SQL may use the cadence's parameters `%(now)s` and `%(tz)s` (coaching.cadence
TODAY_SQL is today in the organisation's time zone) and those its `params()` returns,
whose names it prefixes with its kind. Nothing here imports a model, so coaching.models
can read the registered kinds for its choices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FlagProvider:
    kind: str  # stored in CoachingFlag.kind: at most 24 characters
    label: str  # one flag: "Onboarding task overdue"
    plural: str  # counted in a notification: "onboarding tasks overdue"
    desired_sql: str
    params: Callable[[], dict[str, object]] = field(default=dict)

    def __post_init__(self) -> None:
        if not 0 < len(self.kind) <= 24:
            raise ValueError(f"A flag kind has 1-24 characters: {self.kind!r}.")


_PROVIDERS: dict[str, FlagProvider] = {}


def register(provider: FlagProvider) -> None:
    """Add a provider (from its app's ready()); registering the same kind again replaces
    it, so a reloaded app does not count twice."""
    _PROVIDERS[provider.kind] = provider


def providers() -> list[FlagProvider]:
    """The registered providers, in the order of their kinds (stable SQL and parameters)."""
    return [_PROVIDERS[kind] for kind in sorted(_PROVIDERS)]


def provider(kind: str) -> FlagProvider | None:
    return _PROVIDERS.get(kind)
