"""Application errors. The API maps each class to one HTTP status in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One thing wrong with the input: where (row, field) and why."""

    field: str
    reason: str
    row: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"field": self.field, "reason": self.reason}
        if self.row is not None:
            out["row"] = self.row
        return out


class DomainError(Exception):
    """Base of every error the service reports to its callers."""

    def __init__(self, detail: str, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = problems or []


class InvalidInput(DomainError):
    """Input that cannot be parsed or decoded (malformed JSON/CSV, bad bytes): HTTP 400."""


class RuleViolation(DomainError):
    """Well-formed input that breaks a rule (unknown parent, duplicate code): HTTP 422."""


class NotFound(DomainError):
    """The addressed thing does not exist (or is outside the caller's scope): HTTP 404."""


class Conflict(DomainError):
    """The request clashes with the current state (immutable, already exists): HTTP 409."""


class Forbidden(DomainError):
    """The caller's role or unit scope does not allow this: HTTP 403."""


class TooLarge(DomainError):
    """A body beyond what this kind of request accepts: HTTP 413."""


def field_error(field: str, reason: str, row: int | None = None) -> RuleViolation:
    """Shorthand for a single-field rule violation."""
    return RuleViolation(f"{field}: {reason}", [FieldProblem(field, reason, row)])


MAX_REPORTED_PROBLEMS = 100
"""Bulk uploads report at most this many row problems (the first ones found)."""
