"""Typed outcomes of a call to a target, so callers decide without parsing strings or status codes."""

from __future__ import annotations

from typing import Any


class TargetError(Exception):
    """Something went wrong talking to an accounting target."""


class TransientTargetError(TargetError):
    """Worth retrying later (connection lost, timeout, rate limited, 5xx) and still failing after the
    hook's own retries. A write that ended this way may or may not have been committed: the caller must
    look the document up by its key before sending it again."""


class OutcomeUnknownError(TransientTargetError):
    """A write whose connection broke or whose server failed (5xx) after it was sent: the target may have
    committed it. The hook never repeats such a write blindly; the sender looks up what the lost attempt
    may have created (by the document's key, or by the POS key it stores) before sending it again."""


class RejectedError(TargetError):
    """The target refused the request for good (a 4xx other than 429): retrying the same request cannot
    help. ``message`` is the target's own wording, for the record's failure reason."""

    def __init__(self, message: str, *, status: int, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
