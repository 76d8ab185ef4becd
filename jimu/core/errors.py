"""One error hierarchy for every layer.

Each error carries a stable ``code`` and the HTTP ``status`` it maps to, plus an optional
list of per-field errors, so the API can render any of them as problem+json and the CLI
as a readable message without knowing the concrete class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "FieldError",
    "JimuError",
    "ValidationError",
    "NotFound",
    "Conflict",
    "VersionConflict",
    "PermissionDenied",
    "Unauthenticated",
    "PreconditionRequired",
    "ExpressionError",
    "StockConflict",
    "GuardFailed",
    "TransitionNotAllowed",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "TooManyRequests",
]


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of an input."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class JimuError(Exception):
    """Base of every error Jimu raises on purpose."""

    status: int = 400
    code: str = "jimu.error"
    title: str = "Bad request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.errors: list[FieldError] = list(errors or [])
        self.extra: dict[str, Any] = dict(extra or {})

    def problem(self) -> dict[str, Any]:
        """The problem+json body for this error."""
        body: dict[str, Any] = {
            "type": f"https://jimu.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.message,
            "code": self.code,
            "errors": [e.as_dict() for e in self.errors],
        }
        body.update(self.extra)
        return body

    def __str__(self) -> str:
        if not self.errors:
            return self.message
        lines = [self.message] + [f"  - {e.field}: {e.message}" for e in self.errors]
        return "\n".join(lines)


class ValidationError(JimuError):
    status = 422
    code = "validation"
    title = "Validation failed"


class NotFound(JimuError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(JimuError):
    status = 409
    code = "conflict"
    title = "Conflict"


class VersionConflict(Conflict):
    code = "version_conflict"
    title = "Version conflict"


class StockConflict(Conflict):
    code = "stock.insufficient"
    title = "Not enough stock"


class GuardFailed(Conflict):
    code = "workflow.guard_failed"
    title = "Transition guard failed"


class TransitionNotAllowed(Conflict):
    code = "workflow.transition_not_allowed"
    title = "Transition not allowed"


class PermissionDenied(JimuError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class Unauthenticated(JimuError):
    status = 401
    code = "unauthenticated"
    title = "Unauthenticated"


class PreconditionRequired(JimuError):
    status = 428
    code = "precondition_required"
    title = "Precondition required"


class PayloadTooLarge(JimuError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(JimuError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class TooManyRequests(JimuError):
    status = 429
    code = "too_many_requests"
    title = "Too many requests"


class ExpressionError(ValidationError):
    """An expression that does not parse, type-check or evaluate.

    ``position`` is a 0-based character offset into the source (or None), ``hint`` a
    suggestion such as "did you mean cost_price?".
    """

    code = "expression"
    title = "Invalid expression"

    def __init__(
        self,
        message: str,
        *,
        code: str = "expression.invalid",
        position: int | None = None,
        hint: str | None = None,
        source: str | None = None,
        field: str = "expression",
    ) -> None:
        self.position = position
        self.hint = hint
        self.source = source
        full = message
        if hint:
            full = f"{message} ({hint})"
        super().__init__(
            full,
            code=code,
            errors=[FieldError(field, code, full)],
            extra={"position": position, "hint": hint},
        )
        self.plain_message = message

    def caret(self) -> str:
        """The source with a caret line under the error position."""
        if self.source is None or self.position is None:
            return self.source or ""
        return f"{self.source}\n{' ' * self.position}^"
