"""The one error type that crosses every boundary.

Services raise these; the API renders {"code", "message", "details"} with
`status`, and pages show `message` (and `details`) in the form.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status = 400
    code = "error"
    default_message = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details or {}
        if code:
            self.code = code
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationFailed(ApplicationError):
    """Bad input. `details` maps field names to lists of messages."""

    status = 400
    code = "invalid"
    default_message = "Some fields are not valid."


class PermissionDenied(ApplicationError):
    status = 403
    code = "permission_denied"
    default_message = "You are not allowed to do this."


class NotFound(ApplicationError):
    status = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(ApplicationError):
    status = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class GateNotMet(Conflict):
    """Required milestones are open. `details["missing"]` lists them."""

    code = "gate_not_met"
    default_message = "Required milestones of this stage are not complete."


class StaleVersion(ApplicationError):
    """Optimistic locking: somebody else changed the record since it was read."""

    status = 412
    code = "stale_version"
    default_message = "This record was changed by someone else. Reload and try again."


class Unprocessable(ApplicationError):
    status = 422
    code = "unprocessable"
    default_message = "The request is well-formed but cannot be processed."
