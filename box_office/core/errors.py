"""The one error the pure rules raise."""

from __future__ import annotations


class RuleError(ValueError):
    """A request the rules refuse; ``code`` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
